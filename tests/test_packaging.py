"""What `pip install` puts on the import path: every package folder, under names that can't collide."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_folder_is_installed() -> None:
    folders = {v: k for k, v in _setuptools()["package-dir"].items()}
    folders["rag"] = "rag"
    found = set()
    for folder, name in folders.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            found.add(".".join([name, *init.parent.relative_to(ROOT / folder).parts]))
    assert sorted(_setuptools()["packages"]) == sorted(found)


def test_installed_top_level_names_cannot_collide_with_generic_modules() -> None:
    top_level = {name.split(".")[0] for name in _setuptools()["packages"]}
    assert all(name == "rag" or name.startswith("rag_") for name in top_level), top_level


def test_the_installed_names_import_from_the_card_folders() -> None:
    import rag_app
    import rag_eval
    import rag_ingest
    import rag_ui

    for module, folder in ((rag_app, "app"), (rag_eval, "eval"), (rag_ingest, "ingest"), (rag_ui, "ui")):
        assert Path(module.__file__).resolve().parent == ROOT / folder
