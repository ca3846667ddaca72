"""The layers of DESIGN.md hold, checked on the source:

- front doors (``app/``: CLI and HTTP server) may import everything; ``ui/`` and ``eval/`` import ``ingest/``
  and ``rag/`` but never each other (nor ``app/``); ``ingest/`` imports only ``rag/``; ``rag/`` imports none of
  them (each folder but ``rag/`` is installed as ``rag_<folder>``, see pyproject.toml);
- inside ``rag``, each stage package imports only the stages its docstring's "May import:" line names, so
  the documented rules and the code cannot drift apart;
- importing every ``rag`` module in a fresh interpreter loads nothing above the library.

The scan sees every import statement, including imports inside functions.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IMPORT_NAME = {"rag": "rag", "ingest": "rag_ingest", "ui": "rag_ui", "eval": "rag_eval", "app": "rag_app"}
"""Folder -> the name it is imported by."""
TOP_LEVEL = tuple(IMPORT_NAME.values())
MAY_IMPORT = {
    "rag": set(),
    "rag_ingest": {"rag"},
    "rag_ui": {"rag", "rag_ingest"},
    "rag_eval": {"rag", "rag_ingest"},
    "rag_app": {"rag", "rag_ingest", "rag_ui", "rag_eval"},
}
STAGES = sorted(p.parent.name for p in (ROOT / "rag").glob("*/__init__.py") if p.parent.name != "integrations")


def _imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
    return names


def _imports_of(folder: Path) -> list[tuple[str, int, str]]:
    return [
        (str(path.relative_to(ROOT)), line, name)
        for path in sorted(folder.rglob("*.py"))
        for line, name in _imported_names(ast.parse(path.read_text(encoding="utf-8")))
    ]


@pytest.mark.parametrize("folder", IMPORT_NAME)
def test_top_level_packages_import_only_the_layers_below(folder: str) -> None:
    package = IMPORT_NAME[folder]
    allowed = MAY_IMPORT[package] | {package}
    offences = [
        f"{path}:{line} imports {name}"
        for path, line, name in _imports_of(ROOT / folder)
        if name.split(".")[0] in TOP_LEVEL + tuple(IMPORT_NAME) and name.split(".")[0] not in allowed
    ]
    assert offences == []


def _allowed_stages(stage: str) -> set[str]:
    """The stages named on the "May import:" line of `rag/<stage>/__init__.py`'s docstring."""
    docstring = ast.get_docstring(ast.parse((ROOT / "rag" / stage / "__init__.py").read_text(encoding="utf-8"))) or ""
    line = next((line for line in docstring.splitlines() if line.startswith("May import:")), None)
    assert line is not None, f"rag/{stage}/__init__.py: the docstring needs a 'May import:' line"
    return set(re.findall(r"`rag\.(\w+)`", line))


def test_every_stage_documents_what_it_may_import() -> None:
    assert {"core", "index", "retrieval", "refusal", "generation", "answering"} <= set(STAGES)
    for stage in STAGES:
        assert _allowed_stages(stage) <= set(STAGES), stage
    assert _allowed_stages("core") == set()


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_the_stages_it_documents(stage: str) -> None:
    allowed = _allowed_stages(stage) | {stage}
    offences = [
        f"{path}:{line} imports {name}"
        for path, line, name in _imports_of(ROOT / "rag" / stage)
        if name.split(".")[0] == "rag" and (name == "rag" or name.split(".")[1] not in allowed)
    ]
    assert offences == []


def test_importing_every_rag_module_loads_nothing_above_it() -> None:
    above = tuple(name for name in TOP_LEVEL if name != "rag")
    script = (
        "import importlib, json, pkgutil, sys, rag\n"
        "for info in pkgutil.walk_packages(rag.__path__, prefix='rag.'):\n"
        "    importlib.import_module(info.name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {above!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_scan_sees_imports_inside_functions() -> None:
    tree = ast.parse("def f():\n    from rag_ingest.builder import IndexBuilder\n    import rag_ui.state\n")
    assert [name for _, name in _imported_names(tree)] == ["rag_ingest.builder", "rag_ui.state"]
