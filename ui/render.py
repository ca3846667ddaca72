"""Answers, citation chips, source passages and the retrieval inspector, as Streamlit elements.

Document text is always shown as text: it goes through `escape_markdown` (every Markdown and HTML
character backslash-escaped) before `st.markdown`, or into `st.dataframe` / `st.caption` escaped the
same way. Nothing here uses ``unsafe_allow_html``.
"""
from __future__ import annotations

import re
from typing import Sequence

import pandas as pd
import streamlit as st

from rag.answering.answerer import FALLBACK_NOTE, REMOVED_NOTE, Answer
from rag.answering.citations import Citation
from rag.core.schema import Chunk, Hit
from rag.core.text import LIST_BULLET

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&^=\"'@%])")
HIGHLIGHT = "orange-background"
STAGES = {
    "rewrite_ms": "standalone question",
    "first_stage_ms": "first stage (dense + BM25 + fusion)",
    "rerank_ms": "re-rank",
    "first_token_ms": "first token",
    "generate_ms": "generation",
    "total_ms": "total",
}


def escape_inline(text: str) -> str:
    """`text` (one line) with every character Markdown, HTML or Streamlit directives use escaped."""
    return _SPECIAL.sub(r"\\\1", text)




def answer_markdown(text: str) -> str:
    """An answer shown as text, except that its list items (one per line) render as a list."""
    lines = []
    for line in text.split("\n"):
        bullet = LIST_BULLET.match(line)
        if bullet:
            marker = bullet.group(0).strip()
            mark = marker.rstrip(".)、") + "." if marker[0].isdigit() else "-"
            lines.append(f"{mark} {escape_inline(line[bullet.end():])}")
        else:
            lines.append(escape_inline(line) + "  ")
    return "\n".join(lines).rstrip()


def escape_markdown(text: str) -> str:
    """Multi-line `text` shown literally by ``st.markdown``: escaped, line breaks and indentation kept."""
    return "  \n".join(_escape_line(line) for line in text.split("\n"))


def _escape_line(line: str) -> str:
    body = line.lstrip(" \t")
    indent = "\u00a0" * (len(line) - len(body))  # leading spaces would start a code block
    return indent + escape_inline(body)


_BLOCK = re.compile(r"^(?P<indent>[ \t]*)(?P<mark>#{1,6}\s+|[-*+]\s+|\d{1,3}[.)]\s+|>\s?)?")
_STRONG = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _inline_runs(line: str, offset: int) -> list[tuple[str, bool, int, int]]:
    """``(text, bold, start, end)`` runs of one line's inline text, ``**`` markers removed; offsets in the passage."""
    runs, cursor = [], 0
    for match in _STRONG.finditer(line):
        if match.start() > cursor:
            runs.append((line[cursor:match.start()], False, offset + cursor, offset + match.start()))
        group = 1 if match.group(1) is not None else 2
        runs.append((match.group(group), True, offset + match.start(group), offset + match.end(group)))
        cursor = match.end()
    if cursor < len(line):
        runs.append((line[cursor:], False, offset + cursor, offset + len(line)))
    return runs


def _render_run(text: str, bold: bool, marked: bool) -> str:
    if not text:
        return ""
    if not text.strip():
        return text
    lead, core, trail = text[: len(text) - len(text.lstrip())], text.strip(), text[len(text.rstrip()):]
    body = escape_inline(core)
    if bold or marked:
        body = f"**{body}**"
    if marked:
        body = f":{HIGHLIGHT}[{body}]"
    return lead + body + trail


def _inline_markdown(line: str, offset: int, start: int, end: int) -> str:
    """One line's inline text as Markdown: bold kept, everything else escaped, ``start:end`` highlighted."""
    pieces = []
    for text, bold, run_start, run_end in _inline_runs(line, offset):
        cuts = sorted({run_start, run_end, *(c for c in (start, end) if run_start < c < run_end)})
        for a, b in zip(cuts, cuts[1:]):
            pieces.append(_render_run(text[a - run_start:b - run_start], bold, start <= a and b <= end and start < end))
    return "".join(pieces)


def passage_markdown(text: str, start: int, end: int) -> str:
    """A passage's own Markdown (headings, lists, quotes, bold) made safe to show, with ``text[start:end]``
    highlighted. Inline markup other than bold, HTML and links are escaped and shown as text; code
    blocks are shown as code. Offsets are positions in `text`."""
    lines: list[tuple[str, bool]] = []  # (markdown, is code)
    cursor, in_code = 0, False
    for line in text.split("\n"):
        line_start = cursor
        cursor += len(line) + 1
        if _FENCE.match(line):
            in_code = not in_code
            lines.append((line.strip(), True))
            continue
        if in_code or not line.strip():
            lines.append((line if in_code else "", in_code))
            continue
        block = _BLOCK.match(line)
        mark = (block.group("mark") or "").strip()
        body_start = block.end()
        body = _inline_markdown(line[body_start:], line_start + body_start, start, end)
        if mark.startswith("#"):
            lines.append((f"**{body}**" if not body.startswith("**") else body, False))  # a popover is small
        elif mark:
            indent = " " * min(len(block.group("indent").expandtabs(4)), 8)
            lines.append((f"{indent}{mark} {body}", False))
        else:
            lines.append((body, False))
    if in_code:
        lines.append(("```", True))
    # A line break inside a paragraph is a hard break; blank lines, list items and code keep their own meaning.
    out = []
    for i, (line, code) in enumerate(lines):
        following, following_code = lines[i + 1] if i + 1 < len(lines) else ("", True)
        hard = not code and not following_code and line and following and not _BLOCK.match(following).group("mark")
        out.append(line + ("  " if hard else ""))
    return "\n".join(out)


def source_passage(citation: Citation, hits: Sequence[Hit]) -> tuple[str, int, int]:
    """The passage a citation points into and the cited span within it: ``(text, start, end)``."""
    chunk = _chunk(citation, hits)
    if chunk is None or not (chunk.start <= citation.start <= citation.end <= chunk.end):
        return citation.text, 0, len(citation.text)
    return chunk.text, citation.start - chunk.start, citation.end - chunk.start


def _chunk(citation: Citation, hits: Sequence[Hit]) -> Chunk | None:
    return next((hit.chunk for hit in hits if hit.chunk.id == citation.chunk_id), None)


def citation_label(citation: Citation) -> str:
    return f"[{citation.n}] {citation.doc_id}"


def render_citation(citation: Citation, hits: Sequence[Hit]) -> None:
    """The source passage with the cited span highlighted, its document and heading path."""
    text, start, end = source_passage(citation, hits)
    st.markdown(f"**{escape_inline(citation_label(citation))}**")
    if citation.heading:
        st.caption(escape_inline(citation.heading))
    st.markdown(passage_markdown(text, start, end))
    st.caption(escape_inline(f"{citation.doc_id}, characters {citation.start}–{citation.end}"))


def render_citation_chips(citations: Sequence[Citation], hits: Sequence[Hit], key: str) -> None:
    """One clickable ``[n] document`` chip per citation; clicking opens the source passage."""
    with st.container(horizontal=True, gap="small"):
        for i, citation in enumerate(citations):
            with st.popover(escape_inline(citation_label(citation)), key=f"{key}-cite-{i}"):
                render_citation(citation, hits)


def render_answer(answer: Answer, key: str) -> None:
    """The checked answer (or the abstention with the nearest sources), chips and inspector."""
    if answer.abstained:
        st.warning(escape_markdown(answer.text), icon=":material/search_off:")
        if answer.citations:
            st.caption("Nearest sources")
    else:
        st.markdown(answer_markdown(answer.text))
    render_citation_chips(answer.citations, answer.hits, key)
    if answer.fallback:
        note = FALLBACK_NOTE.get(answer.language, FALLBACK_NOTE["en"])
        st.info(escape_inline(f"{note} ({answer.fallback})"), icon=":material/fact_check:")
    elif answer.removed and not answer.abstained:
        note = REMOVED_NOTE.get(answer.language, REMOVED_NOTE["en"]).format(n=answer.removed)
        st.info(escape_inline(note), icon=":material/fact_check:")
    details = f"{answer.mode} answer"
    if standalone_shown(answer):
        details += f" · searched as: {answer.standalone_question}"
    total = answer.timings.get("total_ms")
    if total is not None:
        details += f" · {total:.0f} ms"
    st.caption(escape_inline(details))
    render_inspector(answer, key)


def inspector_rows(answer: Answer) -> pd.DataFrame:
    """One row per retrieved passage: its scores, and the citation numbers that point at it."""
    cited: dict[str, list[int]] = {}
    for citation in answer.citations:
        cited.setdefault(citation.chunk_id, []).append(citation.n)
    rows = []
    for rank, hit in enumerate(answer.hits, start=1):
        numbers = cited.get(hit.chunk.id, [])
        mark = " ".join(f"[{n}]" for n in numbers)
        rows.append({
            "rank": rank,
            "cited": ("nearest " + mark if answer.abstained else mark) if numbers else "",
            "document": hit.chunk.doc_id,
            "dense": hit.scores.get("dense"),
            "BM25": hit.scores.get("sparse"),
            "fused (RRF)": hit.scores.get("rrf"),
            "rerank": hit.scores.get("rerank"),
            "relevance": hit.scores.get("relevance"),
            "heading": hit.chunk.heading,
            "passage": " ".join(hit.chunk.text.split()),
        })
    return pd.DataFrame(rows)


def timings_text(timings: dict[str, float]) -> str:
    """``first stage (…) 9 ms · re-rank 21 ms · … · total 33 ms`` in pipeline order."""
    parts = [f"{label} {timings[name]:.0f} ms" for name, label in STAGES.items() if name in timings]
    if "total_ms" in timings and "retrieve_ms" in timings and "generate_ms" not in timings:
        parts.insert(-1, f"answer {timings['total_ms'] - timings['retrieve_ms']:.0f} ms")
    return " · ".join(parts)


STANDALONE_METHODS = {
    "as-is": "the question stands alone",
    "new-topic": "a new topic: asked as it is",
    "ordinal": "the list item it names put in",
    "llm": "rewritten by the model from the conversation",
    "rule": "searched together with the previous question",
}


def standalone_shown(answer: Answer) -> bool:
    """Whether the answer's standalone question differs from what the person typed (a follow-up was rewritten)."""
    return bool(answer.standalone_question) and answer.standalone_question != answer.question


def standalone_text(answer: Answer) -> str:
    """``Standalone question: … (rewritten by the model …)`` for the inspector; empty without a conversation."""
    if not answer.standalone_question or answer.standalone_method in (None, "none"):
        return ""
    how = STANDALONE_METHODS.get(answer.standalone_method or "", answer.standalone_method or "")
    return f"Standalone question: {answer.standalone_question} ({how})"


def render_inspector(answer: Answer, key: str) -> None:
    """The standalone question, the passages considered with every retriever's score, which were cited, and stage
    timings."""
    with st.expander(f"Retrieval inspector: {len(answer.hits)} passages"):
        standalone = standalone_text(answer)
        if standalone:
            st.caption(escape_inline(standalone))
        st.caption(escape_inline("Timings: " + timings_text(answer.timings)))
        number = st.column_config.NumberColumn(format="%.3f")
        st.dataframe(
            inspector_rows(answer),
            hide_index=True,
            key=f"{key}-inspector",
            column_config={name: number for name in ("dense", "BM25", "fused (RRF)", "rerank", "relevance")},
        )
        if answer.raw:
            st.caption("The model's unchecked output")
            st.text(answer.raw)
