"""The Streamlit entry point: ``rag ui`` or ``streamlit run ui/app.py [-- --data-dir DIR | --index DIR]``.

Settings come from the usual config file and ``RAG_*`` variables (`rag.core.config`), and from flags after ``--``
(see `rag_ui.options`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

from rag.core.errors import RagError
from rag.core.runtime import apply_process_defaults
from rag_ui import options, state
from rag_ui.chat_page import render_chat
from rag_ui.examples import example_questions
from rag_ui.knowledge_page import render_knowledge_base
from rag_ui.render import escape_inline
from rag_ui.sidebar import render_sidebar


def _script_args() -> list[str]:
    """Flags after ``--`` when Streamlit runs this file (not pytest's argv under AppTest)."""
    launched = Path(sys.argv[0]).resolve() == Path(__file__).resolve() if sys.argv else False
    return sys.argv[1:] if launched else []


def main() -> None:
    apply_process_defaults()  # also when started as `streamlit run ui/app.py`: before the embedder or FAISS loads
    st.set_page_config(page_title="rag-local: ask your documents", page_icon=":material/menu_book:")
    try:
        config = options.load(_script_args())
    except RagError as exc:
        st.error(escape_inline(f"Bad settings: {exc}"))
        st.stop()
    page, settings = render_sidebar(config, state.model_statuses(config))
    try:
        with st.spinner("Preparing the knowledge base (the first start indexes the bundled documents)…"):
            index_dir = state.index_dir_for(config)
            rag = state.open_rag(index_dir, config)
    except RagError as exc:
        st.error(escape_inline(str(exc)))
        st.stop()
    if page == "Knowledge base":
        render_knowledge_base(config)
        return
    st.title("Ask your documents")
    counts = rag.store.manifest.get("counts", {})
    where = f"read-only index {index_dir}" if options.read_only(config) else "your knowledge base"
    st.caption(escape_inline(
        f"{counts.get('documents', 0)} documents, {counts.get('chunks', 0)} passages in {where}. "
        "Every answer cites its sources; click a [n] chip to see the passage."
    ))
    render_chat(rag, settings, example_questions(rag.store.chunks))


if __name__ == "__main__":
    main()
