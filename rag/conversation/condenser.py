"""From a question and the turns before it to the standalone question that retrieval, refusal and the answer use.

Order, cheapest first: no earlier turns (or ``rewrite = "none"``) → the question as it is; a question that stands
alone (`rag.conversation.followup.is_followup` says no) → as it is; a follow-up that names something the
documents never mention → as it is (a new topic: judged, and usually refused, on its own); a reference to an item of
the previous answer's list → that item put in its place; otherwise the configured rewrite (the model or the rule).
A follow-up also gets the passages the previous answer cited as candidates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rag.conversation.followup import is_followup
from rag.conversation.history import Turn, bound
from rag.conversation.rewrite import ModelRewriter, combine, resolve_ordinal
from rag.core.config import ConversationConfig
from rag.core.errors import RagError

METHODS = ("none", "as-is", "new-topic", "ordinal", "llm", "rule")
"""How a standalone question was made: ``none`` (no earlier turns), ``as-is`` (it stood alone), ``new-topic`` (a
follow-up about something the documents never mention), ``ordinal`` (a list item put in), ``llm``, ``rule``."""
FOLLOW_UPS = ("ordinal", "llm", "rule")
"""The methods of a question read as a follow-up of the turns before it."""


@dataclass(frozen=True)
class Standalone:
    """The question retrieval, refusal and the answer use, how it was made, and the previous answer's passages."""

    question: str
    method: str = "none"
    carried: tuple[str, ...] = ()
    """Chunk ids of the passages the previous answer cited, added to the follow-up's candidates."""

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

    @property
    def needs_model(self) -> bool:
        return self.standalone.method == "llm"


class Condenser:
    """Makes follow-ups standalone. `generator` is a factory for the answering model (called only when a rewrite
    needs it); `new_topic(question)` says whether a question names something the documents never mention."""

    def __init__(
        self, config: ConversationConfig, generator: Callable[[], Any], new_topic: Callable[[str], bool] = lambda q: False
    ) -> None:
        self.config = config
        self._generator = generator
        self._new_topic = new_topic

    def method_for(self, answer_mode: str) -> str:
        """The rewrite used with `answer_mode`: the configured one; ``auto`` is the model for LLM answers and the rule
        for extractive ones (which never load a model)."""
        if self.config.rewrite != "auto":
            return self.config.rewrite
        return "llm" if answer_mode == "llm" else "rule"

    def plan(self, question: str, history: Sequence[Turn], answer_mode: str) -> Plan:
        """Everything but the model's rewrite (cheap): which way the question is made standalone."""
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
        """The standalone question: the plan's, or the model's rewrite (the rule when the model can't give one)."""
        if not plan.needs_model:
            return plan.standalone
        rewritten = None
        try:
            rewriter = ModelRewriter(self._generator(), self.config.rewrite_max_tokens)
            if rewriter.usable():
                rewritten = rewriter.rewrite(plan.question, plan.turns)
        except RagError:  # the model could not be loaded or asked: the rule still gives a standalone question
            rewritten = None
        method = "llm" if rewritten else "rule"
        question = rewritten or combine(plan.question, plan.turns)
        return Standalone(question, method, plan.standalone.carried)

    def condense(self, question: str, history: Sequence[Turn], answer_mode: str) -> Standalone:
        """`plan` then `run`."""
        return self.run(self.plan(question, history, answer_mode))
