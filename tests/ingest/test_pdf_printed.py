"""A real two-page Chinese PDF, printed by Chromium, is read as its text: headings, whole sentences, no page furniture."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rag.core.text import split_sentences
from rag_ingest.loaders import SourceDocument, read_file

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.is_file() or importlib.util.find_spec("playwright") is None,
                       reason="needs /usr/bin/chromium and the playwright package (as the browser test)"),
]

SENTENCE = ("新西兰鸲鹟生活在介乎海平面至树线的天然森林中，尤其是罗汉松属及假山毛榉属的森林，"
            "主要猎食蝉、蚯蚓、蜗牛及蜘蛛等无脊椎动物。")  # wider than an A4 line
FOOTER = ("<div style=\"font-size:8px;width:100%;text-align:center\">第 <span class='pageNumber'></span> 页，"
          "共 <span class='totalPages'></span> 页</div>")


def test_a_printed_chinese_pdf_reads_as_sections_of_whole_sentences(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    body = "".join(f"<p>{SENTENCE}</p>" for _ in range(30))  # long enough for a second page
    html = ("<html><head><meta charset='utf-8'><style>body{font-family:'WenQuanYi Micro Hei';font-size:12pt}</style>"
            f"</head><body><h1>新西兰鸲鹟</h1>{body}</body></html>")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content(html)
        page.pdf(path=str(tmp_path / "bird.pdf"), format="A4", display_header_footer=True,
                 header_template="<span></span>", footer_template=FOOTER,
                 margin={"top": "2cm", "bottom": "2cm", "left": "2.5cm", "right": "2.5cm"})
        browser.close()
    document = read_file(tmp_path / "bird.pdf", "bird.pdf")
    assert isinstance(document, SourceDocument), document
    text = document.text
    assert text.startswith("# 新西兰鸲鹟\n")  # set in a larger type: a heading
    assert "页，共" not in text  # the page footer is gone
    sentences = {text[start:end] for start, end in split_sentences(text)}
    assert SENTENCE in sentences  # wrapped lines joined: the sentence whole, not one piece per line
    assert all(len(s) > 20 for s in sentences if not s.startswith("#"))  # not one line fragment, even across pages
