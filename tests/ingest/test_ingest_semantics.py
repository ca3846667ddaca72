"""What an ingest does to the documents an index holds: add or update and keep the rest, --sync, remove, refresh."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.core.config import Config
from rag.core.errors import IngestError
from rag.index.local import IndexStore, read_manifest
from rag_ingest.builder import IndexBuilder
from rag_ingest.document_set import UnknownDocuments
from tests.conftest import TINY_DOCS

PLAIN = "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen in the chloroplasts of plants.\n"


@pytest.fixture
def builder(keyword_embedder) -> IndexBuilder:
    return IndexBuilder(Config(), keyword_embedder)


def _ids(index_dir: Path) -> list[str]:
    return [d["doc_id"] for d in read_manifest(index_dir)["documents"]]


def test_ingesting_one_more_file_adds_it_and_keeps_the_rest(builder, tiny_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    plain = tmp_path / "plain.txt"
    plain.write_text(PLAIN, encoding="utf-8")
    report = builder.add([plain], index_dir, progress=False)
    assert _ids(index_dir) == ["attention.md", "mixed-precision.md", "plain.txt"]
    assert report.added == ["plain.txt"] and report.kept == ["attention.md", "mixed-precision.md"]
    assert report.embedded_chunks == 1, "only the new file is embedded"
    assert "Added 1, updated 0, removed 0" in report.summary() and "holds 3 documents" in report.summary()
    documents = {d["doc_id"]: d for d in read_manifest(index_dir)["documents"]}
    assert documents["plain.txt"]["source"] == str(plain.resolve())
    assert documents["attention.md"]["added_at"] <= documents["plain.txt"]["added_at"]
    assert IndexStore.open(index_dir).documents["plain.txt"] == PLAIN


def test_a_changed_file_is_updated_under_its_id_and_an_unchanged_index_is_not_rewritten(builder, tiny_corpus, tmp_path) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    first = read_manifest(index_dir)
    again = builder.add([tiny_corpus], index_dir, progress=False)
    assert not again.written and again.unchanged == ["attention.md", "mixed-precision.md"]
    assert "Nothing changed" in again.summary() and read_manifest(index_dir)["built_at"] == first["built_at"]
    (tiny_corpus / "attention.md").write_text(TINY_DOCS["attention.md"] + "\n## 位置编码\n\nRoPE 旋转位置编码。\n", encoding="utf-8")
    report = builder.add([tiny_corpus / "attention.md"], index_dir, progress=False)
    assert report.updated == ["attention.md"] and report.kept == ["mixed-precision.md"]
    entry = {d["doc_id"]: d for d in read_manifest(index_dir)["documents"]}["attention.md"]
    before = {d["doc_id"]: d for d in first["documents"]}["attention.md"]
    assert entry["added_at"] == before["added_at"] and entry["sha256"] != before["sha256"]
    assert "RoPE" in IndexStore.open(index_dir).documents["attention.md"]


def test_sync_makes_the_index_hold_exactly_the_paths_and_says_what_it_removed(builder, tiny_corpus, tmp_path) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    plain = tmp_path / "plain.txt"
    plain.write_text(PLAIN, encoding="utf-8")
    report = builder.build([plain], index_dir, progress=False)  # rag ingest --sync
    assert _ids(index_dir) == ["plain.txt"]
    assert sorted(report.removed) == ["attention.md", "mixed-precision.md"]
    assert "Removed: attention.md, mixed-precision.md" in report.summary()
    assert read_manifest(index_dir)["sources"] == [str(plain.resolve())]


def test_remove_drops_documents_and_a_refresh_does_not_bring_them_back(builder, tiny_corpus, tmp_path) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    report = builder.remove(["attention.md"], index_dir, progress=False)
    assert report.removed == ["attention.md"] and _ids(index_dir) == ["mixed-precision.md"]
    assert all(c.doc_id != "attention.md" for c in IndexStore.open(index_dir).chunks)
    (tiny_corpus / "new.md").write_text("# New\n\nA new note about gradient checkpointing and memory.\n", encoding="utf-8")
    refreshed = builder.refresh(index_dir, progress=False)
    assert refreshed.added == ["new.md"] and _ids(index_dir) == ["mixed-precision.md", "new.md"]
    builder.add([tiny_corpus / "attention.md"], index_dir, progress=False)  # named again: back in
    assert "attention.md" in _ids(index_dir) and read_manifest(index_dir)["excluded"] == []
    with pytest.raises(UnknownDocuments, match="Not in the index: nope.md"):
        builder.remove(["nope.md"], index_dir, progress=False)
    with pytest.raises(IngestError, match="without documents"):
        builder.remove(_ids(index_dir), index_dir, progress=False)
    assert len(_ids(index_dir)) == 3, "a refused change leaves the index as it was"


def test_a_document_whose_file_is_gone_is_kept_and_reported(builder, tiny_corpus, tmp_path) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    (tiny_corpus / "attention.md").unlink()
    report = builder.refresh(index_dir, progress=False)
    assert report.missing == ["attention.md"] and "attention.md" in _ids(index_dir)
    assert "rag remove" in report.summary()
    synced = builder.refresh(index_dir, sync=True, progress=False)
    assert synced.removed == ["attention.md"] and _ids(index_dir) == ["mixed-precision.md"]


def test_same_name_from_another_folder_gets_a_longer_id_and_same_content_is_a_duplicate(builder, tiny_corpus, tmp_path) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "attention.md").write_text("# Other\n\nA different note that happens to share the file name.\n", encoding="utf-8")
    (other / "copy.md").write_text(TINY_DOCS["mixed-precision.md"], encoding="utf-8")
    report = builder.add([other], index_dir, progress=False)
    assert report.added == ["other/attention.md"]
    assert [s.reason for s in report.skipped] == ["same content as 'mixed-precision.md', already in the index"]
    assert sorted(_ids(index_dir)) == ["attention.md", "mixed-precision.md", "other/attention.md"]


def test_a_failed_ingest_leaves_the_previous_index(builder, tiny_corpus, tmp_path, monkeypatch) -> None:
    index_dir = tmp_path / "index"
    builder.add([tiny_corpus], index_dir, progress=False)
    before = json.dumps(read_manifest(index_dir), sort_keys=True)
    plain = tmp_path / "plain.txt"
    plain.write_text(PLAIN, encoding="utf-8")

    def broken(texts):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(builder.embedder, "embed_passages", broken)
    with pytest.raises(OSError):
        builder.add([plain], index_dir, progress=False)
    assert json.dumps(read_manifest(index_dir), sort_keys=True) == before
    assert IndexStore.open(index_dir).documents.keys() == {"attention.md", "mixed-precision.md"}
