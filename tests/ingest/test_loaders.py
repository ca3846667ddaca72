from pathlib import Path

import pytest

from rag_ingest.loaders import (
    SkippedFile,
    SourceDocument,
    decode_text,
    load_documents,
    read_file,
)
from tests.ingest.pdfs import text_pdf

CHINESE = "# 标题\n\n混合精度训练可以减少显存占用，提高训练速度。"


def test_gbk_file_is_decoded(tmp_path: Path) -> None:
    file = tmp_path / "gbk.txt"
    file.write_bytes(CHINESE.encode("gbk"))
    document = read_file(file, "gbk.txt")
    assert isinstance(document, SourceDocument)
    assert document.text == CHINESE
    assert document.encoding == "gb18030"
    assert document.format == "text"


def test_utf8_bom_and_crlf_are_normalised(tmp_path: Path) -> None:
    file = tmp_path / "bom.md"
    file.write_bytes("\ufeff第一行\r\n第二行".encode("utf-8"))
    document = read_file(file, "bom.md")
    assert isinstance(document, SourceDocument)
    assert document.text == "第一行\n第二行"


def test_utf16_with_bom(tmp_path: Path) -> None:
    file = tmp_path / "wide.txt"
    file.write_bytes(CHINESE.encode("utf-16"))
    assert read_file(file, "wide.txt").text == CHINESE


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.md", b"  \n\n ", "empty file"),
        ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
        ("data.json", b"{}", "unsupported file type '.json'"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    result = read_file(file, name)
    assert isinstance(result, SkippedFile)
    assert reason in result.reason
    assert result.path == str(file)


def test_pdf_text_is_extracted(tmp_path: Path) -> None:
    file = tmp_path / "paper.pdf"
    file.write_bytes(text_pdf("Mixed precision uses FP16"))
    document = read_file(file, "paper.pdf")
    assert isinstance(document, SourceDocument), document
    assert "Mixed precision uses FP16" in document.text
    assert document.format == "pdf"


def test_a_hard_wrapped_text_file_reads_as_sentences_and_markdown_is_left_as_written(tmp_path: Path) -> None:
    lines = ["漠河机场是中国黑龙江省北部大兴安岭地区漠河县的机", "场，位于县城西林吉镇西南9公里处，是该省十一五规",
             "划重点建设项目。"]
    wrapped = "漠河古莲机场\n" + "\n".join(lines) + "\n"
    for name in ("w00.txt", "w00.md"):
        (tmp_path / name).write_text(wrapped, encoding="utf-8")
    text = read_file(tmp_path / "w00.txt", "w00.txt").text
    assert text.split("\n")[:2] == ["漠河古莲机场", "".join(lines)]
    assert read_file(tmp_path / "w00.md", "w00.md").text == wrapped


def test_pdf_without_text_is_skipped(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    file = tmp_path / "scan.pdf"
    with file.open("wb") as handle:
        writer.write(handle)
    result = read_file(file, "scan.pdf")
    assert isinstance(result, SkippedFile)
    assert "no extractable text" in result.reason


def test_duplicates_are_indexed_once_and_folders_walked_recursively(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(CHINESE, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "copy.md").write_text(CHINESE, encoding="utf-8")
    (tmp_path / "sub" / "other.txt").write_text("另一个文档", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.md").write_text("不应被索引", encoding="utf-8")
    result = load_documents([tmp_path])
    assert [d.doc_id for d in result.documents] == ["a.md", "sub/other.txt"]
    assert len(result.skipped) == 1
    assert "duplicate content of 'a.md'" in result.skipped[0].reason


def test_missing_path_raises_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        load_documents([tmp_path / "nope"])


def test_decode_prefers_utf8() -> None:
    assert decode_text("naïve café".encode("utf-8")) == ("naïve café", "utf-8")
