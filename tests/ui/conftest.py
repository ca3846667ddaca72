"""A knowledge-base folder holding the tiny bilingual corpus, and the app pointed at it (extractive mode)."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY_DOCS

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp/data/documents`` with the tiny corpus; the app's environment points at it."""
    root = tmp_path / "data"
    (root / "documents").mkdir(parents=True)
    for name, text in TINY_DOCS.items():
        (root / "documents" / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("RAG_DATA_DIR", str(root))
    monkeypatch.setenv("RAG_ANSWER_MODE", "extractive")
    for name in ("RAG_INDEX_DIR", "RAG_UI_MAX_UPLOAD_MB", "RAG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return root


def start_app():
    """A started `AppTest` of ui/app.py on the environment's data directory."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(data_dir: Path):
    """The app on `data_dir` (the first run builds its index, about a second)."""
    return start_app()
