"""Bounded work per input: capped passage size, passages per document, PDF decompression, file size."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from rag.core.config import ChunkingConfig, Config, LimitsConfig
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder
from rag_ingest.chunker import Chunker, hard_split
from rag_ingest.loaders import SkippedFile, SourceDocument, load_documents, read_file
from tests.conftest import KeywordEmbedder
from tests.ingest.pdfs import pdf_bytes


def _bomb(decompressed_bytes: int) -> bytes:
    """A small PDF whose content stream inflates to `decompressed_bytes` (mostly spaces)."""
    content = b"BT /F1 12 Tf 72 720 Td (boom) Tj ET\n" + b" " * decompressed_bytes
    return pdf_bytes(content, compress=True)


def test_pdf_bomb_is_skipped_and_the_folder_still_ingests(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = _bomb(80_000_000)  # inflates past the 50 MB default
    assert len(bomb) < 200_000
    (docs / "bomb.pdf").write_bytes(bomb)
    (docs / "good.md").write_text("# 好文档\n\n这份文档可以正常索引，内容完整。\n", encoding="utf-8")
    (docs / "ok.pdf").write_bytes(pdf_bytes(b"BT /F1 12 Tf 72 720 Td (Mixed precision uses FP16) Tj ET", compress=True))
    started = time.perf_counter()
    result = load_documents([docs])
    assert time.perf_counter() - started < 30
    assert sorted(d.doc_id for d in result.documents) == ["good.md", "ok.pdf"]
    [skipped] = result.skipped
    assert skipped.path.endswith("bomb.pdf") and "max_pdf_decompressed_bytes" in skipped.reason


def test_pdf_limit_is_configurable(tmp_path: Path) -> None:
    file = tmp_path / "medium.pdf"
    file.write_bytes(_bomb(2_000_000))
    assert isinstance(read_file(file, "medium.pdf", LimitsConfig()), SourceDocument)
    small = read_file(file, "medium.pdf", LimitsConfig(max_pdf_decompressed_bytes=500_000))
    assert isinstance(small, SkippedFile) and "500,000" in small.reason


def test_oversized_file_is_skipped_with_the_limit(tmp_path: Path) -> None:
    file = tmp_path / "big.txt"
    file.write_text("字" * 2000, encoding="utf-8")
    result = read_file(file, "big.txt", LimitsConfig(max_file_bytes=1000))
    assert isinstance(result, SkippedFile) and "max_file_bytes" in result.reason


def test_hard_split_cuts_runs_without_breaks_and_prefers_breaks() -> None:
    text = "x" * 5000
    assert hard_split(text, 0, 5000, 2000) == [(0, 2000), (2000, 4000), (4000, 5000)]
    words = "word " * 1000
    spans = hard_split(words, 0, len(words), 100)
    assert all(e - s <= 100 for s, e in spans)
    assert all(words[s:e].endswith("word") or words[s:e].endswith("word ") for s, e in spans)
    assert "".join(words[s:e] for s, e in spans).replace(" ", "") == words.replace(" ", "")


@pytest.mark.parametrize("text", [
    "混" * 30_000,                                   # Chinese with no sentence break
    "# " + "标题" * 10_000 + "\n\n正文。",             # a 20,000-character heading
    "```\n" + "code = 1 " * 5000 + "\n```\n",         # a huge code block (never cut, except by the hard cap)
])
def test_no_chunk_exceeds_the_hard_cap(text: str) -> None:
    config = ChunkingConfig(hard_max_chars=1000)
    document = SourceDocument("d.md", "d.md", text, "0" * 64, "markdown", "utf-8")
    chunks = Chunker(config, embed=KeywordEmbedder().embed_passages).chunk(document)
    assert chunks and all(len(c.text) <= 1000 for c in chunks)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    assert all(len(c.heading) <= 400 for c in chunks)


def test_one_megabyte_line_is_ingested_into_capped_chunks_in_bounded_time(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    line = ("模型训练需要大量的数据和计算资源" * 70_000)[:1_000_000]  # no sentence break in 1 MB
    (docs / "one-line.txt").write_text(line, encoding="utf-8")
    started = time.perf_counter()
    report = IndexBuilder(Config(), KeywordEmbedder()).build([docs], tmp_path / "index", progress=False)
    elapsed = time.perf_counter() - started
    store = IndexStore.open(tmp_path / "index")
    limit = Config().chunking.hard_max_chars
    assert report.chunks == len(store.chunks) >= len(line) // limit
    assert max(len(c.text) for c in store.chunks) <= limit
    assert elapsed < 60, f"{elapsed:.1f}s"


def test_document_over_the_passage_limit_is_skipped_whole(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "headings.md").write_text("".join(f"# 标题 {n}\n\n内容 {n} 的一句话。\n\n" for n in range(300)), encoding="utf-8")
    (docs / "small.md").write_text("# 小文档\n\n这份文档很短，可以索引。\n", encoding="utf-8")
    config = Config()
    config.chunking.max_chunks_per_document = 100
    report = IndexBuilder(config, KeywordEmbedder()).build([docs], tmp_path / "index", progress=False)
    assert report.documents == 1
    [skipped] = report.skipped
    assert skipped.path.endswith("headings.md") and "max_chunks_per_document = 100" in skipped.reason
    assert {c.doc_id for c in IndexStore.open(tmp_path / "index").chunks} == {"small.md"}
