"""`export_index`: a local index moves into Milvus with its vectors, nothing embedded again."""
from pathlib import Path

import numpy as np
import pytest

from ingest.builder import IndexBuilder
from ingest.export import export_index
from rag.config import Config
from rag.errors import ConfigError
from rag.stores import open_store, store_manifest


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
