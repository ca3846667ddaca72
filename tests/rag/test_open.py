"""`RAG.open` only opens indexes; building the default one is the front doors' job (`rag_ingest.default_index`)."""
from pathlib import Path

import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import IndexNotFoundError


def test_open_without_the_default_index_names_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(IndexNotFoundError, match=r"has not been built yet\. Build it .* with: rag ingest"):
        RAG.open(config=Config.load(env={}))
    assert not (tmp_path / "rag").exists(), "nothing was built"


def test_open_rag_builds_the_default_index_on_first_use(tmp_path: Path, tiny_corpus: Path, keyword_embedder, monkeypatch) -> None:
    from rag_ingest import default_index

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(default_index, "default_corpus_files", lambda: sorted(tiny_corpus.iterdir()))
    monkeypatch.setattr(default_index, "make_embedder", lambda spec: keyword_embedder)
    rag = default_index.open_rag(config=Config.load(env={}), progress=False)
    assert rag.store.path == tmp_path / "cache" / "rag" / "default-index"
    assert rag.retrieve("KV cache", k=1)[0].chunk.doc_id == "attention.md"
    calls = keyword_embedder.passage_calls
    default_index.open_rag(config=Config.load(env={}), progress=False)
    assert keyword_embedder.passage_calls == calls, "built once"
