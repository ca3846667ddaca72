"""Word documents: built with python-docx in the test, read back as Markdown-like text, indexed and cited."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.index.local import IndexStore
from rag_ingest.builder import IndexBuilder
from rag_ingest.docx_reader import docx_text
from rag_ingest.loaders import (
    SkippedFile,
    SourceDocument,
    UnreadableFile,
    load_documents,
    read_file,
)


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("训练手册", level=1)
    document.add_heading("混合精度", level=2)
    document.add_paragraph("混合精度训练使用 FP16 和 FP32 两种精度。半精度计算速度更快，显存占用更少。")
    document.add_paragraph("# 这一行不是标题")
    document.add_heading("LoRA 微调", level=2)
    document.add_paragraph("LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。")
    document.add_paragraph("秩 r 通常取 8", style="List Bullet")
    document.add_paragraph("alpha 通常取 16", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "方法", (0, 1): "可训练参数", (1, 0): "LoRA", (1, 1): "0.1% | 很少"}.items():
        table.cell(row, col).text = text
    document.save(path)
    return path


def test_headings_lists_and_tables_become_markdown(tmp_path: Path) -> None:
    text = docx_text(make_docx(tmp_path / "manual.docx").read_bytes())
    assert text.splitlines()[:3] == ["# 训练手册", "", "## 混合精度"]
    assert "\\# 这一行不是标题" in text  # a paragraph that looks like a heading is escaped
    assert "- 秩 r 通常取 8\n- alpha 通常取 16" in text
    assert "| 方法 | 可训练参数 |\n| --- | --- |\n| LoRA | 0.1% \\| 很少 |" in text
    assert text.index("## LoRA 微调") < text.index("LoRA 通过") < text.index("| 方法")  # document order


def test_read_file_stores_the_extracted_text(tmp_path: Path) -> None:
    document = read_file(make_docx(tmp_path / "manual.docx"), "manual.docx")
    assert isinstance(document, SourceDocument) and document.format == "docx"
    assert "混合精度训练使用 FP16" in document.text and "\x00" not in document.text


def test_ingested_docx_is_cited_at_the_extracted_span(tmp_path: Path, keyword_embedder) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    make_docx(corpus / "manual.docx")
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 this is not a real archive")
    report = IndexBuilder(Config(), keyword_embedder).build([corpus], tmp_path / "index", progress=False)
    assert [Path(s.path).name for s in report.skipped] == ["broken.docx"]
    store = IndexStore.open(tmp_path / "index")
    assert all(chunk.heading.startswith("训练手册") for chunk in store.chunks)  # the Word heading is the path
    config = Config()
    config.rerank.min_relevance = 0.0
    answer = RAG(store, config, keyword_embedder).ask("LoRA 怎样适配预训练模型？", mode="extractive")
    citation = next(c for c in answer.citations if "低秩矩阵" in c.text)
    assert citation.doc_id == "manual.docx"
    assert store.documents["manual.docx"][citation.start:citation.end] == citation.text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not a zip at all", "not a .docx file"),
        (b"PK\x03\x04 truncated", "not a .docx file"),
        (None, "unreadable .docx"),  # a zip without the Word parts
    ],
)
def test_a_corrupt_docx_is_reported_and_skipped(tmp_path: Path, content: bytes | None, reason: str) -> None:
    if content is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "just a zip")
        content = buffer.getvalue()
    (tmp_path / "bad.docx").write_bytes(content)
    make_docx(tmp_path / "good.docx")
    result = load_documents([tmp_path])
    assert [d.doc_id for d in result.documents] == ["good.docx"]
    (skipped,) = result.skipped
    assert isinstance(skipped, SkippedFile) and skipped.path.endswith("bad.docx") and reason in skipped.reason


def test_a_docx_that_unpacks_past_the_limit_is_refused(tmp_path: Path) -> None:
    raw = make_docx(tmp_path / "manual.docx").read_bytes()
    with pytest.raises(UnreadableFile, match="max_pdf_decompressed_bytes"):
        docx_text(raw, max_decompressed_bytes=10_000)


def test_a_docx_without_text_is_skipped(tmp_path: Path) -> None:
    docx.Document().save(tmp_path / "empty.docx")
    skipped = read_file(tmp_path / "empty.docx", "empty.docx")
    assert isinstance(skipped, SkippedFile) and "no text" in skipped.reason
