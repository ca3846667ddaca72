"""The sidebar: which page, answer settings, and the configured models with their availability."""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from rag.core.config import Config
from rag.models import ModelStatus
from rag_ui.pipeline import AskSettings
from rag_ui.render import escape_inline

PAGES = ("Chat", "Knowledge base")
MODE_LABELS = {"llm": "LLM (local model)", "extractive": "Extractive (instant)"}
MAX_TOP_K = 30


def render_sidebar(config: Config, statuses: Sequence[ModelStatus]) -> tuple[str, AskSettings]:
    """Draw the sidebar; returns the chosen page and the answer settings."""
    with st.sidebar:
        page = st.radio("Page", PAGES, key="page", horizontal=True)
        st.subheader("Answering")
        llm = next((s for s in statuses if s.role == "generator"), None)
        llm_ok = llm is None or llm.available
        default = config.answer.mode if config.answer.mode in MODE_LABELS else "llm"
        if default == "llm" and not llm_ok:
            default = "extractive"
        modes = list(MODE_LABELS)
        mode = st.radio(
            "Answer mode", modes, index=modes.index(default), format_func=MODE_LABELS.__getitem__, key="mode",
            help="LLM: the local model writes the answer, every sentence is checked against its citations "
            "(extractive fallback). Extractive: the best-supported source sentences, no model.",
        )
        if mode == "llm" and not llm_ok:
            st.warning(escape_inline(f"The LLM is not available here: {llm.where}."))
        top_k = st.slider(
            "Passages retrieved (top-k)", 1, MAX_TOP_K, min(max(config.retrieval.top_k, 1), MAX_TOP_K), key="top_k",
            help=f"The best {config.answer.passages} are numbered and given to the answerer; the rest show in the inspector.",
        )
        rerank = st.toggle(
            "Re-ranking", value=config.rerank.reranker != "none", key="rerank",
            help=f"Second stage: {config.rerank.reranker}. Off keeps the fused first-stage order.",
        )
        st.subheader("Models")
        for status in statuses:
            mark = ":green-badge[available]" if status.available else ":red-badge[missing]"
            st.markdown(f"**{status.role}**: {escape_inline(status.spec)} {mark}")
            st.caption(escape_inline(status.where))
        if st.button("Clear chat", key="clear-chat"):
            st.session_state["history"] = []
    return page, AskSettings(mode=mode, top_k=int(top_k), rerank=bool(rerank))
