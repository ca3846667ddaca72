"""The chat page: history, example questions, and a streamed, cited answer to each new question."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import streamlit as st

from rag.answering.answerer import Answer, Progress, Reading, Retelling, Token
from rag.api import RAG
from rag.core.errors import RagError
from rag.core.language import LANGUAGE_NAMES
from rag_ui.pipeline import AskSettings, answer_events
from rag_ui.markdown import close_open_markup, passage_markdown
from rag_ui.render import escape_inline, escape_markdown, render_answer

HISTORY = "history"
CURSOR = " ▌"
"""Ends a draft while the model writes (inside its text, so it lands inside an open code block rather than after it)."""


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer


def render_chat(rag: RAG, settings: AskSettings, examples: Sequence[str]) -> None:
    """Replay the history, offer examples on first load, answer the new question."""
    history: list[Turn] = st.session_state.setdefault(HISTORY, [])
    for number, turn in enumerate(history):
        _show_turn(turn, number)
    question = st.chat_input("Ask a question about your documents (Chinese or English)", key="question")
    examples_box = st.empty()
    if not history and not question and examples:
        with examples_box.container():
            st.markdown("**New here? Try an example:**")
            for number, example in enumerate(examples):
                if st.button(escape_inline(example), key=f"example-{number}"):
                    question = example
    if question:
        examples_box.empty()
        earlier = [turn.answer for turn in history]
        answer = ask(rag, question.strip(), settings, key=f"turn-{len(history)}", earlier=earlier)
        if answer is not None:
            history.append(Turn(question.strip(), answer))


def _show_turn(turn: Turn, number: int) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(turn.question))
    with st.chat_message("assistant"):
        render_answer(turn.answer, key=f"turn-{number}")


def ask(rag: RAG, question: str, settings: AskSettings, key: str, earlier: Sequence[Answer] = ()) -> Answer | None:
    """Show the question, stream the model's draft, then the checked answer (read after the `earlier` answers of
    this chat); None on an error."""
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    with st.chat_message("assistant"):
        draft = st.empty()
        try:
            if settings.mode == "llm":
                with st.spinner("Loading the language model (first LLM answer only)…"):
                    rag.answerer.generator
            draft.caption("Searching the documents…")
            answer = _stream(rag, question, settings, draft, earlier)
        except RagError as exc:
            draft.empty()
            st.error(escape_inline(str(exc)))
            return None
        draft.empty()
        render_answer(answer, key=key)
    return answer


def reading_line(reading: Reading) -> str:
    """The passages the model is reading, numbered as its citations will be: ``Reading: [1] heading · [2] …``."""
    return "Reading: " + " · ".join(f"[{e.number}] {escape_inline(e.heading or reading.passage(e).doc_id)}"
                                    for e in reading.excerpts)


def progress_label(passages: int, progress: Progress) -> str:
    """What the bar under the passages says while the model reads them: ``Reading 3 passages… 128 of 350 tokens``."""
    if progress.attempt > 1:
        return f"Reading the revision request… {progress.read} of {progress.total} tokens"
    return f"Reading {passages} passage{'s' if passages != 1 else ''}… {progress.read} of {progress.total} tokens"


def retelling_label(retelling: Retelling) -> str:
    """What the bar under a draft in the documents' language says while it is retold: ``Retelling the answer in
    Chinese… 1 of 2 sentences``."""
    language = LANGUAGE_NAMES.get(retelling.language, retelling.language)
    sentences = f"{retelling.total} sentence{'s' if retelling.total != 1 else ''}"
    return f"Retelling the answer in {language}… {retelling.done} of {sentences}"


def draft_markdown(draft: str) -> str:
    """A draft as it streams, cursor last: its Markdown rendered safely, with the bold, code or block the model has
    opened but not yet closed closed for now."""
    return passage_markdown(close_open_markup(draft + CURSOR))


def _stream(rag: RAG, question: str, settings: AskSettings, draft, earlier: Sequence[Answer]) -> Answer:
    pieces: list[str] = []
    attempt = 1
    reading, passages = "", 0
    answer: Answer | None = None
    for event in answer_events(rag, question, settings, earlier):
        if isinstance(event, Reading):  # shown while the model reads its prompt (seconds on a CPU), then kept
            reading, passages = reading_line(event), len(event.excerpts)
            with draft.container():
                st.caption(reading)
        elif isinstance(event, Progress) and not pieces:
            with draft.container():
                st.caption(reading)
                st.progress(event.share, text=progress_label(passages, event))
        elif isinstance(event, Token):
            if event.attempt != attempt:  # the draft failed the citation check; the model is revising it
                pieces, attempt = [], event.attempt
            pieces.append(event.text)
            with draft.container():
                st.caption(reading)
                st.caption("Draft: the model is writing; each sentence is checked against its sources when it is done."
                           if attempt == 1 else "Revised draft: the first draft failed the citation check.")
                st.markdown(draft_markdown("".join(pieces)))
        elif isinstance(event, Retelling):  # the checked draft is being translated, a second or so per sentence
            with draft.container():
                st.caption(reading)
                st.caption("The draft, in the documents' language: its supported sentences are being retold in yours.")
                st.markdown(passage_markdown("".join(pieces)))
                st.progress(event.share, text=retelling_label(event))
        elif isinstance(event, Answer):
            answer = event
    assert answer is not None, "the answerer always ends with an Answer"
    return answer
