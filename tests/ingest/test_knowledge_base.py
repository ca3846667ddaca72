"""The knowledge-base folder: upload validation, writes confined to the data directory, rollback, seeding."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.core.config import Config
from rag.core.errors import RagError
from rag_ingest.builder import IndexBuilder
from rag_ingest.knowledge_base import KnowledgeBase, UploadRejected, safe_name
from tests.conftest import TINY_DOCS

NOTE = "# Note\n\n## Why test?\n\nTests keep the knowledge base honest and the index consistent.\n".encode()


@pytest.fixture
def collection(tmp_path: Path, keyword_embedder) -> KnowledgeBase:
    documents = tmp_path / "data" / "documents"
    documents.mkdir(parents=True)
    for name, text in TINY_DOCS.items():
        (documents / name).write_text(text, encoding="utf-8")
    folder = KnowledgeBase(tmp_path / "data", IndexBuilder(Config(), keyword_embedder), max_upload_bytes=1000)
    folder.rebuild()
    return folder


@pytest.mark.parametrize("name, expected", [
    ("notes.md", "notes.md"),
    ("Notes.TXT", "Notes.TXT"),
    ("paper.pdf", "paper.pdf"),
    ("report.docx", "report.docx"),
    ("page.html", "page.html"),
    ("PAGE.HTM", "PAGE.HTM"),
    ("folder/sub/notes.md", "notes.md"),  # a browser's relative path: only the name is kept
    ("folder\\notes.md", "notes.md"),
    ("量子 计算.md", "量子 计算.md"),
])
def test_safe_names(name: str, expected: str) -> None:
    assert safe_name(name) == expected


@pytest.mark.parametrize("name, reason", [
    ("../notes.md", "'..'"),
    ("a/../../notes.md", "'..'"),
    ("..\\..\\notes.md", "'..'"),
    ("/etc/passwd.md", "absolute"),
    ("C:\\Users\\x\\notes.md", "absolute"),
    (".hidden.md", "hidden"),
    ("notes.exe", "unsupported file type '.exe'"),
    ("notes", "unsupported file type '(none)'"),
    ("notes.md\x00.txt", "control characters"),
    ("", "no name"),
    ("dir/", "no name"),
    ("a" * 300 + ".md", "longer than"),
])
def test_unsafe_names_are_rejected(name: str, reason: str) -> None:
    with pytest.raises(UploadRejected, match=re.escape(reason)):
        safe_name(name)


def test_add_indexes_good_files_and_reports_bad_ones(collection: KnowledgeBase) -> None:
    progress: list[tuple[float, str]] = []
    result = collection.add(
        [("note.md", NOTE), ("big.md", b"x" * 1001), ("empty.txt", b""), ("copy.md", TINY_DOCS["attention.md"].encode())],
        progress=lambda fraction, text: progress.append((fraction, text)),
    )
    assert result.added == ["note.md"] and result.report is not None
    reasons = dict(result.rejected)
    assert reasons["big.md"] == "the file is 1001 bytes; the limit is 1000 bytes"
    assert reasons["empty.txt"] == "empty file"
    assert reasons["copy.md"] == "same content as 'attention.md', which is already in the knowledge base"
    assert [d.doc_id for d in collection.documents()] == ["attention.md", "mixed-precision.md", "note.md"]
    assert progress[-1] == (1.0, "Done") and all(0 <= f <= 1 for f, _ in progress)
    assert sorted(p.name for p in collection.root.iterdir()) == ["documents", "index", "index.lock"]  # no staging left


def test_gbk_text_is_accepted(collection: KnowledgeBase) -> None:
    result = collection.add([("gbk.txt", "混合精度训练可以节省显存，也能加快训练速度。".encode("gb18030"))])
    assert result.added == ["gbk.txt"]
    assert next(d for d in collection.documents() if d.doc_id == "gbk.txt").encoding == "gb18030"


def test_nothing_accepted_leaves_the_index_alone(collection: KnowledgeBase) -> None:
    manifest = collection.index_dir / "CURRENT"  # the pointer to the current generation
    before = manifest.stat().st_mtime_ns
    result = collection.add([("evil.sh", b"rm -rf /"), ("../x.md", NOTE)])
    assert result.report is None and len(result.rejected) == 2
    assert manifest.stat().st_mtime_ns == before
    assert not (collection.root / "x.md").exists() and not (collection.root.parent / "x.md").exists()


def test_same_name_replaces_the_file(collection: KnowledgeBase) -> None:
    result = collection.add([("attention.md", NOTE)])
    assert result.replaced == ["attention.md"] and result.added == []
    assert (collection.documents_dir / "attention.md").read_bytes() == NOTE


def test_a_failed_build_undoes_the_upload(collection: KnowledgeBase, monkeypatch) -> None:
    original = (collection.documents_dir / "attention.md").read_bytes()

    def broken(*args, **kwargs):
        raise RagError("disk full")

    monkeypatch.setattr(collection.builder, "apply", broken)
    with pytest.raises(RagError, match="disk full"):
        collection.add([("note.md", NOTE), ("attention.md", NOTE)])
    assert sorted(p.name for p in collection.files()) == ["attention.md", "mixed-precision.md"]
    assert (collection.documents_dir / "attention.md").read_bytes() == original
    with pytest.raises(RagError, match="disk full"):
        collection.remove("attention.md")
    assert (collection.documents_dir / "attention.md").is_file()


def test_remove(collection: KnowledgeBase) -> None:
    collection.remove("attention.md")
    assert [d.doc_id for d in collection.documents()] == ["mixed-precision.md"]
    with pytest.raises(RagError, match="last document"):
        collection.remove("mixed-precision.md")
    with pytest.raises(RagError, match="not in the knowledge base"):
        collection.remove("nope.md")
    with pytest.raises(RagError, match="not in the knowledge base"):
        collection.remove("../index/manifest.json")


def test_an_empty_collection_is_seeded_and_indexed(tmp_path: Path, tiny_corpus: Path, keyword_embedder) -> None:
    seed_files = sorted(tiny_corpus.iterdir())
    prebuilt = tmp_path / "prebuilt"
    IndexBuilder(Config(), keyword_embedder).build(seed_files, prebuilt, progress=False)
    folder = KnowledgeBase(tmp_path / "fresh", IndexBuilder(Config(), keyword_embedder), max_upload_bytes=1000)
    calls = keyword_embedder.passage_calls
    assert folder.ensure_ready(seed_files, seed_index=prebuilt) is True
    assert keyword_embedder.passage_calls == calls, "the prebuilt index's vectors were reused"
    assert [p.name for p in folder.files()] == ["attention.md", "mixed-precision.md"]
    assert [d.doc_id for d in folder.documents()] == ["attention.md", "mixed-precision.md"]
    assert folder.ensure_ready(seed_files) is False  # current: no second build
