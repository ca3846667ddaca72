"""Document text is shown as text: Markdown/HTML escaped, the cited span highlighted, offsets exact."""
from __future__ import annotations

import re

from rag.answering.citations import Citation
from rag.core.schema import Chunk, Hit
from rag_ui.render import (
    HIGHLIGHT,
    answer_markdown,
    escape_inline,
    escape_markdown,
    inspector_rows,
    passage_markdown,
    source_passage,
    timings_text,
)

_UNESCAPE = re.compile(r"\\(.)")


def _plain(markdown: str) -> str:
    """What CommonMark displays for escaped text: backslash escapes removed, hard breaks back to newlines."""
    return _UNESCAPE.sub(r"\1", markdown.replace("  \n", "\n")).replace("\u00a0", " ")


def test_markup_in_documents_is_escaped() -> None:
    nasty = "<script>alert(1)</script> **bold** [link](http://x) :red[x] $x$ `code` &lt; # not a heading"
    escaped = escape_inline(nasty)
    assert "<" not in escaped.replace("\\<", "") and "[" not in escaped.replace("\\[", "")
    assert "**" not in escaped and "$" not in escaped.replace("\\$", "") and "&" not in escaped.replace("\\&", "")
    assert _plain(escaped) == nasty


def test_line_structure_and_indentation_are_kept() -> None:
    text = "# Title\n\n    indented code?\n- item\n1. first"
    escaped = escape_markdown(text)
    assert escaped.split("  \n")[0] == "\\# Title" and escaped.split("  \n")[2].startswith("\u00a0" * 4)
    assert _plain(escaped) == text


def test_passage_markdown_renders_structure_and_highlights_the_span() -> None:
    text = "## 5. 优势\n\n**优势：**\n- 计算**更快**，显存更少。\n- 成本更低 <script>x</script>\n结尾。"
    start, end = text.index("计算"), text.index("成本")
    lines = passage_markdown(text, start, end).split("\n")
    assert lines[0] == "**5\\. 优势**"                         # a heading becomes bold (popovers are small)
    assert lines[2] == "**优势：**"                               # bold stays bold, markers not shown raw
    assert lines[3] == (f"- :{HIGHLIGHT}[**计算**]:{HIGHLIGHT}[**更快**]:{HIGHLIGHT}[**，显存更少。**]")
    assert lines[4].rstrip() == "- 成本更低 \\<script\\>x\\</script\\>"   # HTML is text
    assert "**" not in _plain(lines[4])


def test_passage_markdown_keeps_code_blocks_as_code() -> None:
    text = "示例：\n```python\nx = **1**\n```\n完。"
    markdown = passage_markdown(text, 0, 3)
    assert "```python\nx = **1**\n```" in markdown and markdown.startswith(f":{HIGHLIGHT}[**示例：**]")


def test_answer_markdown_keeps_list_shape_and_escapes_the_rest() -> None:
    assert answer_markdown("1. 更快[1]。\n2. 更省[2]。") == "1. 更快\\[1\\]。\n2. 更省\\[2\\]。"
    assert answer_markdown("- a **b**[1]") == "- a \\*\\*b\\*\\*\\[1\\]"
    assert answer_markdown("普通回答[1]。") == "普通回答\\[1\\]。"


def _chunk(text: str, start: int, doc: str = "d.md") -> Chunk:
    return Chunk(f"id-{start}", doc, text, start, start + len(text), ("A", "B"))


def test_source_passage_locates_the_citation_in_its_chunk() -> None:
    chunk = _chunk("第一句。第二句。", 100)
    citation = Citation(1, chunk.id, "d.md", "A > B", "第二句。", 104, 108)
    text, start, end = source_passage(citation, [Hit(chunk, 1.0)])
    assert text[start:end] == "第二句。"
    orphan = Citation(2, "missing", "d.md", "", "孤立。", 0, 3)
    assert source_passage(orphan, [Hit(chunk, 1.0)]) == ("孤立。", 0, 3)


def test_inspector_rows_mark_cited_passages_and_keep_every_score() -> None:
    first, second = _chunk("甲。", 0), _chunk("乙。", 10, "e.md")
    hits = [Hit(first, 0.9, {"dense": 0.8, "sparse": 3.2, "rrf": 0.1, "rerank": 0.7, "relevance": 0.9}),
            Hit(second, 0.2, {"dense": 0.5, "rrf": 0.05, "relevance": 0.2})]
    from rag.answering.answerer import Answer

    answer = Answer("q", "甲。[1]", [Citation(1, first.id, "d.md", "A > B", "甲。", 0, 2)], False, "extractive", hits, "zh")
    rows = inspector_rows(answer)
    assert list(rows["cited"]) == ["[1]", ""]
    assert rows.loc[0, "BM25"] == 3.2 and rows["BM25"].isna().tolist() == [False, True] and rows.loc[0, "heading"] == "A > B"


def test_timings_text_in_pipeline_order() -> None:
    timings = {"first_stage_ms": 9.4, "rerank_ms": 20.6, "retrieve_ms": 30.0, "total_ms": 33.0}
    assert timings_text(timings) == "first stage (dense + BM25 + fusion) 9 ms · re-rank 21 ms · answer 3 ms · total 33 ms"


def test_no_streamlit_call_in_the_ui_allows_raw_html() -> None:
    from pathlib import Path

    sources = (Path(__file__).resolve().parents[2] / "ui").glob("*.py")
    assert not [f.name for f in sources if "unsafe_allow_html=" in f.read_text(encoding="utf-8")]
