"""Document text is shown as text: Markdown/HTML escaped, exactly the quoted sentences highlighted, offsets exact,
formulas as code, a refusal's nearest sources marked as such."""
from __future__ import annotations

import re

from rag.answering.citations import Citation, Span
from rag.core.schema import Chunk, Hit
from rag_ui.chat_page import draft_markdown
from rag_ui.markdown import (
    HIGHLIGHT,
    LEAD_CHARS,
    LEAD_LINES,
    QUOTED_BLOCK,
    answer_markdown,
    code_block,
    code_span,
    escape_inline,
    escape_markdown,
    passage_markdown,
    quoted_passage_markdown,
)
from rag_ui.render import citation_label, inspector_rows, location_text, source_passage, timings_text
from tests.conftest import BENEFITS, BENEFITS_DOC, CHALLENGES

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
    lines = passage_markdown(text, [(start, end)]).split("\n")
    assert lines[0] == "**5\\. 优势**"                         # a heading becomes bold (popovers are small)
    assert lines[2] == "**优势：**"                               # bold stays bold, markers not shown raw
    assert lines[3] == (f"- :{HIGHLIGHT}[**计算**]:{HIGHLIGHT}[**更快**]:{HIGHLIGHT}[**，显存更少。**]")
    assert lines[4].rstrip() == "- 成本更低 \\<script\\>x\\</script\\>"   # HTML is text
    assert "**" not in _plain(lines[4])


def test_passage_markdown_keeps_code_blocks_as_code() -> None:
    text = "示例：\n```python\nx = **1**\n```\n完。"
    markdown = passage_markdown(text, [(0, 3)])
    assert "```python\nx = **1**\n```" in markdown and markdown.startswith(f":{HIGHLIGHT}[**示例：**]")


def test_answer_markdown_keeps_list_shape_and_escapes_the_rest() -> None:
    assert answer_markdown("1. 更快[1]。\n2. 更省[2]。") == "1. 更快\\[1\\]。\n2. 更省\\[2\\]。"
    assert answer_markdown("- a **b**[1]") == "- a **b**\\[1\\]"           # bold renders, markers are text
    assert answer_markdown("用 `<b>` 和 $x$[1]。") == "用 `<b>` 和 `x`\\[1\\]。"  # code and formulas as code
    assert answer_markdown("普通回答[1]。") == "普通回答\\[1\\]。"


def _chunk(text: str, start: int, doc: str = "d.md") -> Chunk:
    return Chunk(f"id-{start}", doc, text, start, start + len(text), ("A", "B"))


def test_source_passage_locates_the_citation_in_its_chunk() -> None:
    chunk = _chunk("第一句。第二句。", 100)
    citation = Citation(1, chunk.id, "d.md", "A > B", "第二句。", 104, 108)
    text, ((start, end),) = source_passage(citation, [Hit(chunk, 1.0)])
    assert text[start:end] == "第二句。"
    orphan = Citation(2, "missing", "d.md", "", "孤立。", 0, 3, (Span(0, 3, "孤立。"), Span(9, 12, "其二。")))
    assert source_passage(orphan, [Hit(chunk, 1.0)]) == ("孤立。 … 其二。", ((0, 3), (6, 9)))


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


_HIGHLIGHTED = re.compile(rf":{HIGHLIGHT}\[\*\*(.*?)\*\*\]")


def _highlighted(markdown: str) -> str:
    """The text shown highlighted (adjacent highlighted pieces joined), escapes removed."""
    return _plain("".join(_HIGHLIGHTED.findall(markdown)))


def _benefits_citation(chunk: Chunk, sentences=BENEFITS, kind: str = "support") -> Citation:
    document = BENEFITS_DOC[1]
    spans = tuple(Span(document.index(s) - 2, document.index(s) + len(s), "- " + s) for s in sentences)  # from the bullet
    first = spans[0]
    return Citation(1, chunk.id, "training.md", "训练技巧 > 1. 什么是混合精度训练？ > 优势", first.text, first.start, first.end,
                    spans, kind)


def _benefits_chunk() -> Chunk:
    document = BENEFITS_DOC[1]
    start = document.index("## 1.")
    return Chunk("faq", "training.md", document[start:].rstrip("\n"), start, len(document.rstrip("\n")), ("训练技巧",))


def test_every_quoted_sentence_is_highlighted_and_nothing_else() -> None:
    chunk = _benefits_chunk()
    citation = _benefits_citation(chunk, (BENEFITS[0], BENEFITS[2]))  # two sentences, one between them not quoted
    text, marks = source_passage(citation, [Hit(chunk, 1.0)])
    shown = _highlighted(passage_markdown(text, marks))
    assert shown == BENEFITS[0] + BENEFITS[2]
    assert BENEFITS[1] not in shown and not any(c in shown for c in CHALLENGES) and "什么是混合精度训练" not in shown
    first, second = citation.spans
    assert location_text(citation) == f"training.md, characters {first.start}–{first.end}, {second.start}–{second.end}"


def test_the_popover_opens_at_the_first_quoted_sentence() -> None:
    chunk = _benefits_chunk()
    text, marks = source_passage(_benefits_citation(chunk), [Hit(chunk, 1.0)])
    shown = quoted_passage_markdown(text, marks)
    assert shown.startswith("…\n\n**优势**\n\n- :")  # from its sub-heading; the definition above is left out
    assert "16 位" not in shown and _highlighted(shown) == "".join(BENEFITS)
    assert quoted_passage_markdown(text, [(0, 5)]) == passage_markdown(text, [(0, 5)])  # near the top: all of it
    long_line = "长" * (LEAD_CHARS * 2) + "。要点在这里。后文。"
    start = long_line.index("要点")
    assert quoted_passage_markdown(long_line, [(start, start + 6)]) == f"…\n\n:{HIGHLIGHT}[**要点在这里。**]后文。"
    code = "说明。\n" + "前文。\n" * 60 + "```python\nx = 1\ny = 2\n```\n"  # short lines: at most LEAD_LINES of them
    inside = code.index("y = 2")
    shown = quoted_passage_markdown(code, [(inside, inside + 5)])
    assert shown.startswith("…\n\n前文。  \n") and shown.count("前文") == LEAD_LINES   # a few lines above, not all 60
    assert "```python\nx = 1\ny = 2" in shown                                       # the whole code block it sits in


def test_a_nearest_source_is_labelled_nearest_and_highlights_nothing() -> None:
    chunk = _benefits_chunk()
    nearest = Citation(1, chunk.id, "training.md", "训练技巧", chunk.text, chunk.start, chunk.end,
                       (Span(chunk.start, chunk.end, chunk.text),), "nearest")
    text, marks = source_passage(nearest, [Hit(chunk, 1.0)])
    assert (text, marks) == (chunk.text, ())
    assert HIGHLIGHT not in quoted_passage_markdown(text, marks)
    assert citation_label(nearest) == "nearest [1] training.md"
    assert citation_label(_benefits_citation(chunk)) == "[1] training.md"
    assert location_text(nearest) == f"training.md, passage at characters {chunk.start}–{chunk.end}"
    orphan = Citation(2, "missing", "d.md", "", "整段。", 0, 3, (Span(0, 3, "整段。"),), "nearest")
    assert source_passage(orphan, []) == ("整段。", ())


_CODE = re.compile(r"(`+)[^`]*?\1|^(`{3,})[^\n]*\n.*?^\2$", re.S | re.M)


def test_formulas_render_as_code_never_as_raw_dollars() -> None:
    text = "给定位置 $$pos$$ 和 $v_1 \\cdot v_2$：\n$$\n\\text{PE}(pos) = \\sin(pos)\n$$\n$$ a^2 $$\n价格 $5 和 $6。"
    markdown = passage_markdown(text)
    assert "`pos`" in markdown and "`v_1 \\cdot v_2`" in markdown
    assert "```latex\n\\text{PE}(pos) = \\sin(pos)\n```" in markdown and "```latex\na^2\n```" in markdown
    outside_code = _CODE.sub("", markdown)
    assert not re.search(r"(?<!\\)\$", outside_code)      # no dollar sign left for the math renderer
    assert "\\$5 和 \\$6" in outside_code                # prices are not formulas: shown as text
    formula = text.index("\\text")
    assert f"{QUOTED_BLOCK['math']}\n```latex\n\\text" in passage_markdown(text, [(formula, formula + 5)])  # quoted: said so
    assert QUOTED_BLOCK["math"] not in markdown


def test_code_can_not_close_its_own_fence() -> None:
    assert code_span("a`b") == "``a`b``" and code_span("`x") == "`` `x ``"
    assert code_block(["```", "x"], "py; rm") == ["````", "```", "x", "````"]   # an odd info string is dropped
    markdown = passage_markdown("~~~\n```\n[link](http://x) <b>\n~~~\n后文 [l](http://y)")
    assert markdown.startswith("````\n```\n[link](http://x) <b>\n````\n")   # the link is code, shown verbatim
    assert markdown.endswith("后文 \\[l\\]\\(http\\://y\\)")


def test_drafts_stream_as_rendered_markdown() -> None:
    assert draft_markdown("**缺点**：需要 `torch.cuda.amp` 和 <b>") == "**缺点**：需要 `torch.cuda.amp` 和 \\<b\\> ▌"
    assert draft_markdown("- **缺点") == "- **缺点 ▌**"          # bold still being written shows bold, not as **
    assert draft_markdown("用法：`amp") == "用法：`amp ▌`"
    assert draft_markdown("```python\nx = 1") == "```python\nx = 1 ▌\n```"  # an open code block is closed for now
