"""One knowledge base: a document added through the CLI, the HTTP API or the chat UI is answerable (and listed,
and removable) through the others, with every door on its default settings (no --index, no --data-dir)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from rag.core.config import Config
from rag_app import cli
from tests.app.server.conftest import serve_in_thread
from tests.conftest import ScriptedGenerator

QUANTUM = "# 量子计算\n\n## 量子比特\n\n量子比特可以同时处于零和一的叠加态，量子纠缠让多个量子比特的状态彼此关联。\n"
PLANTS = "# Plants\n\n## Photosynthesis\n\nPhotosynthesis turns light, water and carbon dioxide into sugar and oxygen in the chloroplasts.\n"


@pytest.fixture
def defaults(tmp_path: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Per-user folders in `tmp_path`, no settings pointing anywhere else, the tiny corpus as the bundled seed."""
    from rag_ingest import knowledge_base

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    monkeypatch.setenv("RAG_ANSWER_MODE", "extractive")
    for name in ("RAG_DATA_DIR", "RAG_INDEX_DIR", "RAG_CONFIG", "RAG_UI_MAX_UPLOAD_MB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./rag.toml
    monkeypatch.setattr(knowledge_base, "default_corpus_files", lambda: sorted(tiny_corpus.iterdir()))
    return tmp_path / "data-home" / "rag" / "collection"


def _cli_json(capsys, *argv: str) -> list[dict]:
    assert cli.main(list(argv)) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_document_added_through_any_door_is_answerable_through_the_others(defaults: Path, tmp_path: Path, capsys) -> None:
    from streamlit.testing.v1 import AppTest

    from rag_app.server.application import build_services, create_app
    from rag_app.server.auth import KeyRing
    from tests.ui.conftest import APP

    # The CLI adds a file where it is.
    note = tmp_path / "notes" / "quantum.md"
    note.parent.mkdir()
    note.write_text(QUANTUM, encoding="utf-8")
    assert cli.main(["ingest", str(note), "--quiet"]) == 0
    assert "Added: quantum.md" in capsys.readouterr().out
    assert [r["doc_id"] for r in _cli_json(capsys, "list", "--json")] == ["attention.md", "mixed-precision.md", "quantum.md"]

    # The HTTP server (no --data-dir) serves that knowledge base, and takes an upload.
    config = Config.load()
    services = build_services(config, generator=ScriptedGenerator("unused"))
    server, thread, url = serve_in_thread(create_app(services, config.server, KeyRing(())))
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            assert "quantum.md" in {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}
            answer = client.post("/v1/ask", json={"question": "什么是量子比特？", "mode": "extractive"}).json()
            assert not answer["abstained"] and {c["doc_id"] for c in answer["citations"]} == {"quantum.md"}
            job = client.post("/v1/documents", files={"files": ("plants.md", PLANTS.encode(), "text/markdown")}).json()
            until = time.monotonic() + 60
            while client.get(f"/v1/documents/jobs/{job['id']}").json()["status"] not in ("done", "failed"):
                assert time.monotonic() < until
                time.sleep(0.05)
            assert client.get(f"/v1/documents/jobs/{job['id']}").json()["status"] == "done"
    finally:
        server.should_exit = True
        thread.join(10)
    assert (defaults / "documents" / "plants.md").is_file()

    # The CLI answers from the upload.
    (answer,) = _cli_json(capsys, "ask", "What does photosynthesis turn light and water into?", "--json")
    assert not answer["abstained"] and {c["doc_id"] for c in answer["citations"]} == {"plants.md"}

    # The chat UI lists both, answers from the CLI's document, and removes it for everyone.
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.chat_input(key="question").set_value("什么是量子比特？").run()
    assert "量子比特可以同时处于零和一的叠加态" in at.chat_message[-1].markdown[0].value
    at.sidebar.radio(key="page").set_value("Knowledge base").run()
    assert set(at.dataframe[0].value["document"]) == {"attention.md", "mixed-precision.md", "quantum.md", "plants.md"}
    at.selectbox(key="kb-remove-choice").set_value("quantum.md").run()
    at.button(key="kb-remove").click().run()
    assert not at.exception, at.exception
    assert [r["doc_id"] for r in _cli_json(capsys, "list", "--json")] == ["attention.md", "mixed-precision.md", "plants.md"]
    assert note.is_file(), "a document added from elsewhere leaves its file alone when removed"
