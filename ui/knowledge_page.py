"""The knowledge-base page: upload files, list indexed documents, remove one, rebuild the index."""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import streamlit as st

from rag.core.config import Config
from rag.core.errors import RagError
from rag_ingest.knowledge_base import (
    AddResult,
    DocumentInfo,
    KnowledgeBase,
    indexed_documents,
)
from rag_ui import options, state
from rag_ui.render import escape_inline

MESSAGES = "kb_messages"
UPLOADER_GENERATION = "kb_uploader_generation"
Message = tuple[str, str]
"""``(kind, text)`` with kind ``success``, ``warning`` or ``error``."""


def render_knowledge_base(config: Config) -> None:
    st.header("Knowledge base")
    if options.read_only(config):
        st.info(
            escape_inline(
                f"Showing the index at {config.index_dir}, opened read-only (--index): uploads, removal and "
                "rebuilding are disabled. Start the app without --index to manage a knowledge base of your own."
            )
        )
        _document_table(indexed_documents(config.index_dir))
        return
    collection = state.collection_for(config)
    st.caption(escape_inline(
        f"Uploads live in {collection.documents_dir}, the index in {collection.index_dir}. This is the knowledge base "
        "rag ask, rag ingest and rag serve use too: documents added there are listed (and answerable) here."
    ))
    _show_messages(st.session_state.pop(MESSAGES, []))
    _uploader(collection, config.ui.max_upload_mb)
    documents = collection.documents()
    _document_table(documents)
    skipped = collection.skipped()
    if skipped:
        st.warning("Files the last build could not read:\n\n" + "\n".join(
            f"- {escape_inline(s.path)}: {escape_inline(s.reason)}" for s in skipped
        ))
    _remove_and_rebuild(collection, [d.doc_id for d in documents])


def _uploader(collection: KnowledgeBase, max_upload_mb: float) -> None:
    generation = st.session_state.setdefault(UPLOADER_GENERATION, 0)
    uploads = st.file_uploader(
        "Add documents (.md, .txt, .pdf, .docx, .html)",
        accept_multiple_files=True,
        key=f"uploads-{generation}",
        max_upload_size=max(1, math.ceil(max_upload_mb)),  # the browser refuses bigger files up front
        help=f"Up to {max_upload_mb:g} MB per file; text in UTF-8, UTF-16 or GB18030/GBK. "
        "Each file is checked, then the index is updated (only new or changed files are embedded).",
    )
    if not uploads:
        return
    bar = st.progress(0.0, text="Checking the uploads")
    try:
        result = collection.add([(f.name, f.getvalue()) for f in uploads], progress=lambda f, t: bar.progress(f, text=t))
        messages = _add_messages(result)
    except RagError as exc:
        messages = [("error", f"Indexing failed, so nothing was added: {exc}")]
    _finish(messages, clear_uploads=True)


def _add_messages(result: AddResult) -> list[Message]:
    messages: list[Message] = [("error", f"Rejected {name}: {reason}") for name, reason in result.rejected]
    indexed = indexed_documents(result.report.index_dir) if result.report is not None else []
    chunks = {d.doc_id: d.chunks for d in indexed}
    for name in result.added + result.replaced:
        verb = "Replaced" if name in result.replaced else "Added"
        if name in chunks:
            count = chunks[name]
            messages.append(("success", f"{verb} {name}: {count} passage{'' if count == 1 else 's'} indexed."))
        else:
            messages.append(("warning", f"{verb} {name}, but the index builder skipped it."))
    return messages


def _remove_and_rebuild(collection: KnowledgeBase, doc_ids: Sequence[str]) -> None:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    with left:
        doomed = st.selectbox("Remove a document", doc_ids, index=None, placeholder="Choose a document", key="kb-remove-choice")
    with right:
        remove = st.button("Remove", key="kb-remove", disabled=doomed is None)
    if remove and doomed:
        bar = st.progress(0.0, text=f"Removing {doomed}")
        try:
            collection.remove(doomed, progress=lambda f, t: bar.progress(f, text=t))
            _finish([("success", f"Removed {doomed} and re-indexed.")])
        except RagError as exc:
            _finish([("error", f"Could not remove {doomed}: {exc}")])
    if st.button("Rebuild index", key="kb-rebuild", help="Re-index the documents folder (picks up files copied there by hand)."):
        bar = st.progress(0.0, text="Re-indexing")
        try:
            report = collection.rebuild(progress=lambda f, t: bar.progress(f, text=t))
            _finish([("success", f"Rebuilt: {report.documents} documents, {report.chunks} passages, {report.seconds:.1f} s.")])
        except RagError as exc:
            _finish([("error", f"Rebuild failed; the previous index is still in use: {exc}")])


def _document_table(documents: Sequence[DocumentInfo]) -> None:
    total = sum(d.chunks for d in documents)
    st.subheader(f"{len(documents)} documents, {total} passages")
    if documents:
        frame = pd.DataFrame(
            [{"document": d.doc_id, "passages": d.chunks, "characters": d.chars, "added": d.added_at[:16].replace("T", " "),
              "from": d.source, "format": d.format, "encoding": d.encoding}
             for d in documents]
        )
        st.dataframe(frame, hide_index=True)


def _show_messages(messages: Sequence[Message]) -> None:
    for kind, text in messages:
        getattr(st, kind)(escape_inline(text))


def _finish(messages: list[Message], clear_uploads: bool = False) -> None:
    """Keep the outcome for the next run and rerun, so the tables show the new index."""
    st.session_state[MESSAGES] = messages
    if clear_uploads:
        st.session_state[UPLOADER_GENERATION] = st.session_state.get(UPLOADER_GENERATION, 0) + 1
    st.rerun()
