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

from rag.answer import FALLBACK_NOTE, Answer
from rag.citations import Citation
from rag.schema import Chunk, Hit

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&^=\"'@%])")
HIGHLIGHT = "orange-background"
STAGES = {
    "first_stage_ms": "first stage (dense + BM25 + fusion)",
    "rerank_ms": "re-rank",
    "first_token_ms": "first token",
    "generate_ms": "generation",
    "total_ms": "total",
}


def escape_inline(text: str) -> str:
    """`text` (one line) with every character Markdown, HTML or Streamlit directives use escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def escape_markdown(text: str) -> str:
    """Multi-line `text` shown literally by ``st.markdown``: escaped, line breaks and indentation kept."""
    return "  \n".join(_escape_line(line) for line in text.split("\n"))


def _escape_line(line: str, marked: tuple[int, int] | None = None) -> str:
    """One line escaped; `marked` (``start, end`` within the line) is highlighted."""
    body = line.lstrip(" \t")
    indent = "\u00a0" * (len(line) - len(body))  # leading spaces would start a code block
    offset = len(line) - len(body)
    if marked is None:
        return indent + escape_inline(body)
    start, end = max(marked[0] - offset, 0), max(marked[1] - offset, 0)
    before, middle, after = body[:start], body[start:end], body[end:]
    if not middle.strip():
        return indent + escape_inline(body)
    lead = middle[: len(middle) - len(middle.lstrip())]
    trail = middle[len(middle.rstrip()):]
    marked_text = f":{HIGHLIGHT}[**{escape_inline(middle.strip())}**]"
    return f"{indent}{escape_inline(before + lead)}{marked_text}{escape_inline(trail + after)}"


def highlight_markdown(text: str, start: int, end: int) -> str:
    """Markdown showing `text` literally with ``text[start:end]`` highlighted (line by line)."""
    lines: list[str] = []
    cursor = 0
    for line in text.split("\n"):
        line_start, line_end = cursor, cursor + len(line)
        overlap = (max(start, line_start) - line_start, min(end, line_end) - line_start)
        lines.append(_escape_line(line, overlap if overlap[0] < overlap[1] else None))
        cursor = line_end + 1
    return "  \n".join(lines)


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
    st.markdown(highlight_markdown(text, start, end))
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
        st.markdown(escape_markdown(answer.text))
    render_citation_chips(answer.citations, answer.hits, key)
    if answer.fallback:
        note = FALLBACK_NOTE.get(answer.language, FALLBACK_NOTE["en"])
        st.caption(escape_inline(f"{note} ({answer.fallback})"))
    details = f"{answer.mode} answer"
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


def render_inspector(answer: Answer, key: str) -> None:
    """The passages considered with every retriever's score, which were cited, and stage timings."""
    with st.expander(f"Retrieval inspector: {len(answer.hits)} passages"):
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
