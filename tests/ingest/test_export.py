"""`export_index`: a local index moves into Milvus with its vectors, nothing embedded again."""
from pathlib import Path

import numpy as np
import pytest

from rag.core.config import Config
from rag.core.errors import ConfigError
from rag.index.stores import open_store, store_manifest
from rag_ingest.builder import IndexBuilder
from rag_ingest.export import export_index


def test_export_copies_rows_and_vectors_without_embedding(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    folder = tmp_path / "index"
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], folder, progress=False)
    calls = keyword_embedder.passage_calls
    target = f"milvus:{tmp_path / 'kb.db'}"
    summary = export_index(folder, target, progress=False)
    local, exported = open_store(folder), open_store(target)
    assert summary["chunks"] == len(local.chunks) == len(exported.chunks)
    assert [c.id for c in exported.chunks] == [c.id for c in local.chunks]
    assert np.allclose(exported.embeddings, local.embeddings)
    assert np.array_equal(exported.sentences, local.sentences)
    assert np.allclose(exported.sentence_embeddings, local.sentence_embeddings)
    assert exported.documents == local.documents
    assert store_manifest(target)["settings"] == local.manifest["settings"]
    assert keyword_embedder.passage_calls == calls
    report = IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], target, progress=False)
    assert report.embedded_chunks == 0 and report.reused_documents == 2, "ingest into the export reuses its vectors"


def test_export_needs_a_milvus_target(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    with pytest.raises(ConfigError, match="not a Milvus store"):
        export_index(tmp_path / "index", str(tmp_path / "other"))


def test_a_failed_write_is_an_ingest_error_and_the_next_ingest_completes(tiny_corpus: Path, tmp_path: Path, keyword_embedder, monkeypatch) -> None:
    from pymilvus.exceptions import MilvusException

    from rag.core.errors import IngestError
    from rag_ingest import milvus_writer

    uri = f"milvus:{tmp_path / 'kb.db'}"
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], uri, progress=False)
    before = open_store(uri)
    (tiny_corpus / "attention.md").unlink()
    real = milvus_writer._write_sentences

    def lost_connection(*args, **kwargs):
        raise MilvusException(message="connection lost")

    monkeypatch.setattr(milvus_writer, "_write_sentences", lost_connection)
    with pytest.raises(IngestError, match=r"Could not write the index to 'milvus:.*connection lost.*run the same rag ingest again"):
        IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], uri, progress=False)
    assert before.latest_generation() == before.generation, "readers were not switched to a half-written index"
    monkeypatch.setattr(milvus_writer, "_write_sentences", real)
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], uri, progress=False)
    after = open_store(uri)
    assert after.generation != before.generation and {c.doc_id for c in after.chunks} == {"mixed-precision.md"}
