"""SectionMap: a sentence's own section, read from the document text."""
from rag.retrieval.sections import SectionMap

DOC = """前言一句。

## 训练

### 5. 混合精度训练的优势是什么？

优势如下：

* 速度更快。

### 6. 挑战是什么？

* 精度损失。

★★★★☆ **7. 为什么要预热？**

学习率预热让训练更稳定。
"""


def test_each_offset_maps_to_its_innermost_section() -> None:
    sections = SectionMap({"d": DOC}, {"d": "markdown"})
    at = lambda text: sections.section_at("d", DOC.index(text))  # noqa: E731
    assert at("前言").heading_path == ()
    assert at("速度更快").heading_path == ("训练", "5. 混合精度训练的优势是什么？")
    assert at("优势如下").heading == "5. 混合精度训练的优势是什么？"
    assert at("精度损失").heading == "6. 挑战是什么？"
    assert at("学习率预热").heading_path[-1].endswith("7. 为什么要预热？")  # a rated bold question acts as a heading
    own = at("速度更快")
    assert DOC[own.start:own.end].startswith("### 5.") and "挑战" not in DOC[own.start:own.end]


def test_a_long_heading_is_shortened_like_in_passages() -> None:
    doc = "# " + "长" * 300 + "\n\n正文。\n"
    (heading,) = SectionMap({"d": doc}).section_at("d", doc.index("正文")).heading_path
    assert len(heading) == 200 and heading.endswith("…")


def test_a_document_title_is_its_short_first_line() -> None:
    sections = SectionMap({"a.txt": "漠河古莲机场\n\n漠河机场是中国黑龙江省北部的机场。", "b.md": "# 混合精度\n\n正文。",
                           "c.txt": "这是一整段很长的正文，" * 20, "d.txt": "第一句就是正文。\n\n第二句。"})
    assert sections.title("a.txt") == "漠河古莲机场"
    assert sections.title("b.md") == "混合精度"
    assert sections.title("c.txt") == ""
    assert sections.title("d.txt") == ""  # a sentence, not a title


def test_a_plain_text_title_line_ends_where_its_line_does() -> None:
    sections = SectionMap({"a.txt": "漠河古莲机场\n\n漠河机场是中国黑龙江省北部的机场。", "b.md": "# 混合精度\n\n正文。",
                           "d.txt": "第一句就是正文。\n\n第二句。"}, {"a.txt": "text", "b.md": "markdown", "d.txt": "text"})
    assert sections.title_line_end("a.txt") == len("漠河古莲机场")
    assert sections.title_line_end("b.md") == 0  # Markdown headings are never sentences anyway
    assert sections.title_line_end("d.txt") == 0
