"""Answers, citation chips, source passages and the retrieval inspector, as Streamlit elements.

Document text is always shown as text: passages and answers go through `rag_ui.markdown` (their own headings,
lists, bold and code render; formulas show as code; every other Markdown and HTML character is escaped) before
`st.markdown`, or into `st.dataframe` / `st.caption` escaped the same way. Nothing here uses ``unsafe_allow_html``.
A citation's popover highlights exactly the sentences it quotes and opens at the first of them; a refusal's
nearest sources are labelled ``nearest`` and highlight nothing.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd
import streamlit as st

from rag.answering.answerer import REMOVED_NOTE, Answer, fallback_note
from rag.answering.citations import Citation
from rag.core.schema import Chunk, Hit
from rag_ui.markdown import ELLIPSIS, answer_markdown, escape_inline, escape_markdown, quoted_passage_markdown

NEAREST_NOTE = "Nearest passage: the documents do not answer the question, so nothing here is marked as support."
NEAREST_ICON = ":material/travel_explore:"
STAGES = {
    "rewrite_ms": "standalone question",
    "first_stage_ms": "first stage (dense + BM25 + fusion)",
    "rerank_ms": "re-rank",
    "first_token_ms": "first token",
    "generate_ms": "generation",
    "translate_ms": "translation",
    "total_ms": "total",
}


def cited_ranges(citation: Citation) -> tuple[tuple[int, int], ...]:
    """Source offsets of the sentences a citation quotes: its spans (its start..end for a citation without)."""
    return tuple((span.start, span.end) for span in citation.spans) or ((citation.start, citation.end),)


def source_passage(citation: Citation, hits: Sequence[Hit]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The passage a citation points into and the ranges to highlight in it: each quoted sentence of a supporting
    citation, nothing for a refusal's nearest source (it supports nothing). Without its passage among `hits`,
    the quoted sentences alone."""
    chunk = _chunk(citation, hits)
    ranges = cited_ranges(citation)
    if chunk is None or not all(chunk.start <= start <= end <= chunk.end for start, end in ranges):
        return _quoted_only(citation)
    if citation.kind == "nearest":
        return chunk.text, ()
    return chunk.text, tuple((start - chunk.start, end - chunk.start) for start, end in ranges)


def _quoted_only(citation: Citation) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The quoted sentences joined by `` … ``, each highlighted (a nearest source: its text, unhighlighted)."""
    if citation.kind == "nearest" or not citation.spans:
        return citation.text, (() if citation.kind == "nearest" else ((0, len(citation.text)),))
    text, ranges = "", []
    for span in citation.spans:
        text += f" {ELLIPSIS} " if text else ""
        ranges.append((len(text), len(text) + len(span.text)))
        text += span.text
    return text, tuple(ranges)


def _chunk(citation: Citation, hits: Sequence[Hit]) -> Chunk | None:
    return next((hit.chunk for hit in hits if hit.chunk.id == citation.chunk_id), None)


def citation_label(citation: Citation) -> str:
    """``[1] file.md`` for support; ``nearest [1] file.md`` for a refusal's nearest source."""
    label = f"[{citation.n}] {citation.doc_id}"
    return f"nearest {label}" if citation.kind == "nearest" else label


def location_text(citation: Citation) -> str:
    """``file.md, characters 18–40, 52–70``: where the quoted sentences (or a nearest passage) lie."""
    if citation.kind == "nearest":
        return f"{citation.doc_id}, passage at characters {citation.start}–{citation.end}"
    ranges = ", ".join(f"{start}–{end}" for start, end in cited_ranges(citation))
    return f"{citation.doc_id}, characters {ranges}"


def render_citation(citation: Citation, hits: Sequence[Hit]) -> None:
    """The source passage, opened at its first quoted sentence with every quoted sentence highlighted (a nearest
    source: the passage from its start, nothing highlighted), its document and heading path."""
    text, marks = source_passage(citation, hits)
    st.markdown(f"**{escape_inline(citation_label(citation))}**")
    if citation.heading:
        st.caption(escape_inline(citation.heading))
    if citation.kind == "nearest":
        st.caption(NEAREST_NOTE)
    st.markdown(quoted_passage_markdown(text, marks))
    st.caption(escape_inline(location_text(citation)))


def render_citation_chips(citations: Sequence[Citation], hits: Sequence[Hit], key: str) -> None:
    """One clickable chip per citation (``[n] document``; a nearest source's chip is plain and says ``nearest``);
    clicking opens the source passage."""
    with st.container(horizontal=True, gap="small"):
        for i, citation in enumerate(citations):
            nearest = citation.kind == "nearest"
            with st.popover(escape_inline(citation_label(citation)), key=f"{key}-cite-{i}",
                            type="tertiary" if nearest else "secondary", icon=NEAREST_ICON if nearest else None):
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
        st.info(escape_inline(f"{fallback_note(answer)} ({answer.fallback})"), icon=":material/fact_check:")
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
    "referent": "the model named what its pronoun refers to",
    "rule": "searched together with the previous question",
    "translated": "translated into the documents' language by the model",
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
