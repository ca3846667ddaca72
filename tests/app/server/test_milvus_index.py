"""`rag serve --index milvus:...`: a replica serving a Milvus index read-only, following its rebuilds."""
from pathlib import Path

from rag.core.config import Config
from rag_app.server.application import build_services, create_app
from rag_ingest.builder import IndexBuilder
from tests.app.server.conftest import (
    ADMIN_KEY,
    KEYS,
    KV_ANSWER,
    LiveServer,
    serve_in_thread,
)
from tests.conftest import TINY_DOCS, ScriptedGenerator


def test_a_replica_serves_a_milvus_index_and_picks_up_a_rebuild(tmp_path: Path, e5) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in TINY_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    uri = f"milvus:{tmp_path / 'kb.db'}"
    IndexBuilder(Config(), e5).build([corpus], uri, progress=False)
    config = Config(index_dir=uri)
    config.answer.mode = "extractive"
    options = config.server
    services = build_services(config, embedder=e5, generator=ScriptedGenerator(KV_ANSWER))
    server, thread, url = serve_in_thread(create_app(services, options, KEYS), options)
    try:
        live = LiveServer(url, services, server)
        live.wait_ready()
        with live.client(ADMIN_KEY) as client:
            listed = client.get("/v1/documents").json()
            assert listed["read_only"] and [d["doc_id"] for d in listed["documents"]] == ["attention.md", "mixed-precision.md"]
            hit = client.post("/v1/search", json={"question": "KV cache 有什么作用", "top_k": 1}).json()["hits"][0]
            assert hit["doc_id"] == "attention.md"
            assert client.post("/v1/documents", files={"files": ("x.md", b"# x\n\ntext", "text/markdown")}).status_code == 409

            (corpus / "quantum.md").write_text("# 量子\n\n量子隧穿是粒子穿过经典力学中无法越过的势垒的现象。\n", encoding="utf-8")
            IndexBuilder(Config(), e5).build([corpus], uri, progress=False)  # the one writer, elsewhere
            hit = client.post("/v1/search", json={"question": "什么是量子隧穿？", "top_k": 1}).json()["hits"][0]
            assert hit["doc_id"] == "quantum.md", "the replica reloaded on the new generation"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
