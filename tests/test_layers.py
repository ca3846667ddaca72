"""The library sits below its front ends: nothing under rag/ imports ingest/, eval/, ui/ or app/.

Two checks: a scan of every import statement in rag/ (catches imports inside functions too), and
importing every rag module in a fresh interpreter, then looking at what got loaded.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABOVE_THE_LIBRARY = ("ingest", "eval", "ui", "app")


def _imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
    return names


def test_no_rag_module_imports_a_layer_above() -> None:
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "rag").rglob("*.py"))
        for line, name in _imported_names(ast.parse(path.read_text(encoding="utf-8")))
        if name.split(".")[0] in ABOVE_THE_LIBRARY
    ]
    assert offences == []


def test_importing_every_rag_module_loads_nothing_above_it() -> None:
    script = (
        "import importlib, json, pkgutil, sys, rag\n"
        "for info in pkgutil.walk_packages(rag.__path__, prefix='rag.'):\n"
        "    importlib.import_module(info.name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {ABOVE_THE_LIBRARY!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_scan_sees_imports_inside_functions() -> None:
    tree = ast.parse("def f():\n    from ingest.builder import IndexBuilder\n    import ui.state\n")
    assert [name for _, name in _imported_names(tree)] == ["ingest.builder", "ui.state"]
