"""Document text is shown as text: Markdown/HTML escaped, the cited span highlighted, offsets exact."""
from __future__ import annotations

import re

from rag.citations import Citation
from rag.schema import Chunk, Hit
from ui.render import escape_inline, escape_markdown, highlight_markdown, inspector_rows, source_passage, timings_text

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


def test_highlight_marks_exactly_the_span_across_lines() -> None:
    text = "前言。\n重点一：A[1]。\n重点二。\n结尾。"
    start, end = text.index("重点一"), text.index("重点二。") + 4
    markdown = highlight_markdown(text, start, end)
    lines = markdown.split("  \n")
    assert lines[0] == "前言。" and lines[3] == "结尾。"
    assert lines[1] == ":orange-background[**重点一：A\\[1\\]。**]"
    assert lines[2] == ":orange-background[**重点二。**]"


def test_highlight_inside_a_line() -> None:
    assert highlight_markdown("abc def ghi", 4, 7) == "abc :orange-background[**def**] ghi"
    assert highlight_markdown("abc def ghi", 3, 8) == "abc :orange-background[**def**] ghi"  # spaces stay outside


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
    from rag.answer import Answer

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
