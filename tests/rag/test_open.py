"""`RAG.open` only opens indexes; setting up the knowledge base is the front doors' job (`rag_ingest.default_index`)."""
from pathlib import Path

import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import IndexNotFoundError
from rag.core.paths import knowledge_base_index


def test_open_without_a_knowledge_base_names_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with pytest.raises(IndexNotFoundError, match=r"has not been set up yet\. Set it up .* with: rag ingest"):
        RAG.open(config=Config.load(env={}))
    assert not (tmp_path / "rag").exists(), "nothing was built"


def test_open_rag_seeds_the_knowledge_base_on_first_use(tmp_path: Path, tiny_corpus: Path, keyword_embedder, monkeypatch) -> None:
    from rag_ingest import default_index, knowledge_base

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(knowledge_base, "default_corpus_files", lambda: sorted(tiny_corpus.iterdir()))
    monkeypatch.setattr(default_index, "make_embedder", lambda spec: keyword_embedder)
    rag = default_index.open_rag(config=Config.load(env={}), progress=False)
    assert rag.store.path == tmp_path / "data" / "rag" / "collection" / "index"
    assert rag.retrieve("KV cache", k=1)[0].chunk.doc_id == "attention.md"
    calls = keyword_embedder.passage_calls
    default_index.open_rag(config=Config.load(env={}), progress=False)
    assert keyword_embedder.passage_calls == calls, "seeded once"
    assert knowledge_base_index() == rag.store.path, "RAG.open() opens the same one"
