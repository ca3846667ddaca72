"""Every file that is not indexed is named with its reason; legacy encodings decode to the right text."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag_ingest.loaders import SourceDocument, decode_text, load_documents, read_file

GOOD = "# 标题\n\n这是一份可以正常读取的文档。\n"


def _reasons(result) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in result.skipped}


def test_links_fifos_and_loops_are_named_with_reasons(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.md").write_text(GOOD, encoding="utf-8")
    (docs / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    (docs / "self.md").symlink_to(docs / "self.md")
    (docs / "sub" / "up").symlink_to(docs, target_is_directory=True)
    os.mkfifo(docs / "pipe.md")
    result = load_documents([docs])
    assert [d.doc_id for d in result.documents] == ["good.md"]
    reasons = _reasons(result)
    assert "broken symbolic link" in reasons["dangling.md"]
    assert "loop" in reasons["self.md"]
    assert "loop" in reasons["up"]
    assert "FIFO" in reasons["pipe.md"]


def test_a_fifo_given_directly_is_skipped_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    result = load_documents([fifo])  # opening a FIFO for reading would block forever
    assert result.documents == [] and "FIFO" in result.skipped[0].reason


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_unreadable_folder_is_named(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "locked").mkdir(parents=True)
    (docs / "good.md").write_text(GOOD, encoding="utf-8")
    (docs / "locked" / "secret.md").write_text(GOOD + "x", encoding="utf-8")
    (docs / "locked").chmod(0)
    try:
        result = load_documents([docs])
    finally:
        (docs / "locked").chmod(0o755)
    assert [d.doc_id for d in result.documents] == ["good.md"]
    assert "folder cannot be read" in _reasons(result)["locked"]


@pytest.mark.parametrize("text", [
    "Le café était très agréable, et la crème brûlée délicieuse. Señor Muñoz está aquí. Größe und Übung.",
    "Voilà une phrase en français: à côté de l'hôtel, où l'on mange des pâtés.",
])
def test_latin1_text_is_not_mojibake(text: str) -> None:
    decoded, encoding = decode_text(text.encode("latin-1"))
    assert decoded == text and encoding in ("latin-1", "cp1252")


def test_cp1252_quotes_are_decoded() -> None:
    text = "“Smart quotes” – and an ellipsis… cost 5 €."
    assert decode_text(text.encode("cp1252")) == (text, "cp1252")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("text", ["混合精度训练可以减少显存占用。\nLoRA uses low-rank adapters.", "纯中文文本没有任何英文字母出现在这里"])
def test_utf16_without_bom_is_text_not_binary(codec: str, text: str) -> None:
    assert decode_text(text.encode(codec)) == (text, codec)


def test_one_bad_byte_is_replaced_with_a_warning_not_a_skip(tmp_path: Path) -> None:
    file = tmp_path / "almost.md"
    good = "# 混合精度\n\n混合精度训练使用 FP16 和 FP32 两种精度，速度更快，显存更少。" * 3
    raw = good.encode("utf-8")
    file.write_bytes(raw[:40] + b"\xff" + raw[40:])
    document = read_file(file, "almost.md")
    assert isinstance(document, SourceDocument), document
    assert document.encoding == "utf-8" and "\ufffd" in document.text
    assert document.warnings and "replaced" in document.warnings[0]
    assert document.text.replace("\ufffd", "") == good


def test_gbk_is_still_gbk() -> None:
    text = "混合精度训练可以减少显存占用，提高训练速度。"
    assert decode_text(text.encode("gbk")) == (text, "gb18030")


def test_unreadable_folder_is_named_even_for_root(tmp_path: Path, monkeypatch) -> None:
    """The same as above where permissions can't be taken away (root): the listing fails with EACCES."""
    import rag_ingest.loaders as loaders

    docs = tmp_path / "docs"
    (docs / "locked").mkdir(parents=True)
    (docs / "good.md").write_text(GOOD, encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(loaders.os, "scandir", scandir)
    result = load_documents([docs])
    assert [d.doc_id for d in result.documents] == ["good.md"]
    assert _reasons(result)["locked"] == "folder cannot be read: Permission denied"


def test_ascii_and_latin1_text_of_even_length_is_not_taken_for_utf16() -> None:
    assert decode_text(b"ab cd ef gh") == ("ab cd ef gh", "utf-8")
    text = "A long English sentence with one accent: café, and nothing else of note here at all."
    assert decode_text(text.encode("latin-1"))[0] == text


@pytest.mark.parametrize("raw", [b"\x00\x01\x02 not text", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(256)) * 4])
def test_binary_with_nul_bytes_is_not_taken_for_utf16(raw: bytes) -> None:
    from rag_ingest.loaders import UnreadableFile

    with pytest.raises(UnreadableFile, match="binary"):
        decode_text(raw)
