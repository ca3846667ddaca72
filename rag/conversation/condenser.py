"""From a question and the turns before it to the standalone question that retrieval, refusal and the answer use.

Order, cheapest first: no earlier turns (or ``rewrite = "none"``) → the question as it is; a question that stands
alone (`rag.conversation.followup.is_followup` says no) → as it is; a follow-up that names something the
documents never mention → as it is (a new topic: judged, and usually refused, on its own); a reference to an item of
the previous answer's list → that item put in its place; otherwise the configured rewrite (the model or the rule).
A follow-up also gets the passages the previous answer cited as candidates. Last, with LLM answers, a question in
another language than the documents is translated into theirs (`rag.conversation.translate`) — except a Chinese
follow-up after an answer the model drafted in English over English documents: it is rewritten in English, in that
English chat, and needs no translation (`Condenser.rewrite_language`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rag.conversation.followup import is_followup
from rag.conversation.history import Turn, bound
from rag.conversation.rewrite import ModelRewriter, chat_language, combine, resolve_ordinal
from rag.conversation.translate import QuestionTranslator
from rag.core.config import ConversationConfig
from rag.core.errors import RagError
from rag.core.language import Language, detect_language, written_in

METHODS = ("none", "as-is", "new-topic", "ordinal", "llm", "referent", "rule", "translated")
"""How a standalone question was made: ``none`` (no earlier turns), ``as-is`` (it stood alone), ``new-topic`` (a
follow-up about something the documents never mention), ``ordinal`` (a list item put in), ``llm`` (the model's
rewrite), ``referent`` (the model named what its pronoun refers to), ``rule``, ``translated`` (a question that
needed no rewrite, translated into the documents' language; a translated follow-up keeps its method)."""
FOLLOW_UPS = ("ordinal", "llm", "referent", "rule")
"""The methods of a question read as a follow-up of the turns before it."""


@dataclass(frozen=True)
class Standalone:
    """The question retrieval, refusal and the answer use, how it was made, and the previous answer's passages."""

    question: str
    method: str = "none"
    carried: tuple[str, ...] = ()
    """Chunk ids of the passages the previous answer cited, added to the follow-up's candidates."""
    translated_from: str | None = None
    """The question before it was translated into the documents' language (None: not translated)."""

    @property
    def follows_up(self) -> bool:
        """Whether the question was read as a follow-up of the turns before it."""
        return self.method in FOLLOW_UPS


@dataclass(frozen=True)
class Plan:
    """What `Condenser.plan` decided; `needs_model` when the model has still to write the question."""

    question: str
    turns: tuple[Turn, ...]
    standalone: Standalone
    translate_to: Language | None = None
    """The documents' language, when the question may have to be translated into it."""

    @property
    def needs_model(self) -> bool:
        return self.standalone.method == "llm" or self.translate_to is not None


class Condenser:
    """Makes follow-ups standalone. `generator` is a factory for the answering model (called only when a rewrite
    needs it); `new_topic(question)` says whether a question names something the documents never mention;
    `documents_language()` the language most passages are in (None: never translate)."""

    def __init__(
        self, config: ConversationConfig, generator: Callable[[], Any], new_topic: Callable[[str], bool] = lambda q: False,
        documents_language: Callable[[], Language | None] = lambda: None,
        answered_from_translation: Callable[[Language, Language], bool] = lambda asked, documents: False,
        in_documents: Callable[[str], bool] = lambda name: True,
    ) -> None:
        """`in_documents`: whether the documents use a name as written (a translation must keep those)."""
        self.config = config
        self._in_documents = in_documents
        self._generator = generator
        self._new_topic = new_topic
        self._documents_language = documents_language
        self._answered_from_translation = answered_from_translation

    def method_for(self, answer_mode: str) -> str:
        """The rewrite used with `answer_mode`: the configured one; ``auto`` is the model for LLM answers and the rule
        for extractive ones (which never load a model)."""
        if self.config.rewrite != "auto":
            return self.config.rewrite
        return "llm" if answer_mode == "llm" else "rule"

    def plan(self, question: str, history: Sequence[Turn], answer_mode: str) -> Plan:
        """Everything but the model's work (cheap): which way the question is made standalone, and whether it may
        need translating (LLM answers only: extractive ones never load a model)."""
        plan = self._plan(question, history, answer_mode)
        if not self.config.translate_questions or answer_mode != "llm" or plan.standalone.method == "new-topic":
            return plan  # a question about something the documents never mention is judged as it is
        target = self._documents_language()
        if target is None or (not plan.needs_model and written_in(plan.standalone.question, target)):
            return plan
        return dataclasses.replace(plan, translate_to=target)

    def _plan(self, question: str, history: Sequence[Turn], answer_mode: str) -> Plan:
        method = self.method_for(answer_mode)
        turns = tuple(bound(history, self.config.max_turns, self.config.max_turn_chars)) if method != "none" else ()
        if not turns:
            return Plan(question, (), Standalone(question, "none"))
        if not is_followup(question):
            return Plan(question, turns, Standalone(question, "as-is"))
        if self._new_topic(question):
            return Plan(question, turns, Standalone(question, "new-topic"))
        carried = turns[-1].cited if self.config.carry_citations and not turns[-1].abstained else ()
        resolved = resolve_ordinal(question, turns)
        if resolved is not None and not is_followup(resolved):
            return Plan(question, turns, Standalone(resolved, "ordinal", carried))
        if method == "llm":
            return Plan(resolved or question, turns, Standalone(question, "llm", carried))
        return Plan(question, turns, Standalone(combine(resolved or question, turns), "rule", carried))

    def run(self, plan: Plan) -> Standalone:
        """The standalone question: the plan's, or the model's rewrite (when the model copies the follow-up back, the
        name it gives for the follow-up's pronoun put in its place; else the rule); then, when the plan says so and
        it is in another language than the documents, the model's translation."""
        standalone = self._rewritten(plan) if plan.standalone.method == "llm" else plan.standalone
        if plan.translate_to is None or written_in(standalone.question, plan.translate_to):
            return standalone
        return self._translated(standalone, plan.translate_to)

    def rewrite_language(self, plan: Plan) -> Language | None:
        """The language the model is asked to rewrite `plan`'s follow-up in: the documents' when the chat it continues
        is in their language and the answer is drafted from the translation anyway (a Chinese follow-up after an
        answer drafted in English over English documents: asked in Chinese, the 1.5B model named the wrong referent,
        "limit" for "burst"); None: the follow-up's own."""
        target, last = plan.translate_to, plan.turns[-1] if plan.turns else None
        if target is None or last is None or chat_language(last) != target:
            return None
        asked = detect_language(plan.question)
        return target if asked != target and self._answered_from_translation(asked, target) else None

    def _rewritten(self, plan: Plan) -> Standalone:
        carried = plan.standalone.carried
        language = self.rewrite_language(plan)
        try:
            rewriter = ModelRewriter(self._generator(), self.config.rewrite_max_tokens)
            if rewriter.usable():
                rewritten = rewriter.rewrite(plan.question, plan.turns, language)
                if rewritten:
                    return Standalone(rewritten, "llm", carried, _translated_from(plan.question, rewritten, language))
                named = rewriter.referent(plan.question, plan.turns, language)
                if named:
                    return Standalone(named, "referent", carried, _translated_from(plan.question, named, language))
        except RagError:  # the model could not be loaded or asked: the rule still gives a standalone question
            pass
        return Standalone(combine(plan.question, plan.turns), "rule", carried)

    def _translated(self, standalone: Standalone, target: Language) -> Standalone:
        """`standalone` in the documents' language, or as it is when the model gives no translation."""
        try:
            translator = QuestionTranslator(self._generator(), in_documents=self._in_documents)
            text = translator.translate(standalone.question, target) if translator.usable() else None
        except RagError:
            text = None
        if not text:
            return standalone
        method = standalone.method if standalone.follows_up else "translated"
        return Standalone(text, method, standalone.carried, translated_from=standalone.question)

    def condense(self, question: str, history: Sequence[Turn], answer_mode: str) -> Standalone:
        """`plan` then `run`."""
        return self.run(self.plan(question, history, answer_mode))


def _translated_from(asked: str, written: str, language: Language | None) -> str | None:
    """`asked` as the question a rewrite asked in `language` (None: the follow-up's own) was translated from, when the
    rewrite is wholly in that language; None otherwise (a name put into the Chinese follow-up: it is translated
    afterwards like any other question)."""
    return asked if language is not None and written_in(written, language) else None
