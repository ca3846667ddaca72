"""pdf_pages_text: running headers, footers and page numbers dropped; a paragraph parted by a page break joined."""
from __future__ import annotations

from rag_ingest.pdf_layout import drop_running_lines, pdf_pages_text

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
