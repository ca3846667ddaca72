"""pdf_pages_text: running headers, footers and page numbers dropped; a paragraph parted by a page break joined."""
from __future__ import annotations

from rag_ingest.pdf_layout import PdfPage, drop_running_lines, pdf_pages_text, rendered_size, with_headings

WIDE = "这一行和其他行一样宽，写满了整个页面的宽度，没有在行末结束它的句子而是接着写到"


def page(number: int, *lines: str) -> str:
    return "\n".join(["维基百科条目选编（CC BY-SA 4.0）", *lines, f"第 {number} 页，共 3 页"])


def test_headers_footers_and_page_numbers_that_recur_at_page_edges_are_dropped() -> None:
    pages = [page(1, "标题", WIDE, "下一行。"), page(2, WIDE, "又一行。"), page(3, "最后一页。", "结束。")]
    kept = drop_running_lines(pages)
    assert all("维基百科条目选编" not in p and "页，共" not in p for p in kept)
    assert kept[0].split("\n") == ["标题", WIDE, "下一行。"]
    assert drop_running_lines(["只有一页。\n第 1 页"]) == ["只有一页。\n第 1 页"]  # nothing recurs on one page


def test_a_line_recurring_inside_pages_is_text_not_furniture() -> None:
    pages = ["一\n二\n三\n注意：这一句在正文里。\n四\n五\n六", "甲\n乙\n丙\n注意：这一句在正文里。\n丁\n戊\n己"]
    assert drop_running_lines(pages) == pages


def test_a_paragraph_parted_by_a_page_break_is_joined_and_pages_otherwise_keep_a_blank_line() -> None:
    text = pdf_pages_text([page(1, WIDE, WIDE, WIDE), page(2, "160余个学位。", WIDE + "。"), page(3, "新的一页。")])
    assert WIDE + WIDE + WIDE + "160余个学位。" in text
    assert text.endswith("。\n\n新的一页。") and "维基百科" not in text and "页，共" not in text


def sized(*lines: tuple[str, float]) -> PdfPage:
    """A page whose lines were set in the given sizes."""
    return PdfPage("\n".join(text for text, _ in lines), tuple((text + "\n", size) for text, size in lines))


def test_lines_set_larger_than_the_body_become_headings_by_size() -> None:
    pages = [
        sized(("大语言模型", 20.0), ("训练", 16.0), ("混合精度训练用半精度计算。", 11.0), ("它节省显存。", 11.0)),
        sized(("推理", 16.0), ("量化把权重存成低位宽的整数，推理更快。", 11.0), ("1", 7.0)),
    ]
    first, second = with_headings(pages)
    assert first.split("\n")[:3] == ["# 大语言模型", "## 训练", "混合精度训练用半精度计算。"]
    assert second.split("\n") == ["## 推理", "量化把权重存成低位宽的整数，推理更快。", "1"]  # smaller type: not a heading
    assert with_headings([PdfPage("没有字号信息的一页。\n第二行。")]) == ["没有字号信息的一页。\n第二行。"]


def test_a_pdf_page_reads_its_line_sizes_from_its_pieces() -> None:
    page = PdfPage("标题\n正文正文正文", (("标", 16.0), ("题\n", 16.0), ("正文", 11.0), ("正文正文", 11.0)))
    assert page.line_sizes() == [16.0, 11.0]
    assert rendered_size([1, 0, 0, 1, 0, 0], [2, 0, 0, 2, 0, 0], 6.0) == 12.0  # a text matrix scaling the font twofold
    text = pdf_pages_text([page, PdfPage("另一页的正文。\n第二行。")])
    assert text.startswith("# 标题\n正文正文正文")
