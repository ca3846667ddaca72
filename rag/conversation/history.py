"""Earlier turns of a conversation: what is kept of them (`Turn`), how many and how much of each is read (`bound`),
and the items of an answer's enumeration (for "the third one")."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from rag.answering.citations import parse_markers
from rag.core.text import LIST_BULLET


@dataclass(frozen=True)
class Turn:
    """One earlier question and its answer. Everything in it is untrusted text: prompts read it only fenced and
    defused (`rag.generation.chat.neutralise`), like passages.

    `cited` and `transcript` are optional: a `Turn` made from an `Answer` (`from_answer`) has them; one sent by a
    client (`Turn(question, answer)`) may get them from the answers this process gave recently (`TurnMemo`).
    """

    question: str
    answer: str = ""
    standalone_question: str | None = None
    """What was searched for that turn (the question itself when it stood alone)."""
    cited: tuple[str, ...] = ()
    """Chunk ids of the passages the answer cited (candidates for the follow-up)."""
    abstained: bool = False
    transcript: tuple[Mapping[str, str], ...] = field(default=(), repr=False, compare=False)
    """The chat messages the model last read for this answer, ending with its own reply: a rewrite continues this
    conversation, so llama.cpp reuses its evaluated state (empty for extractive answers)."""

    @property
    def searched(self) -> str:
        return self.standalone_question or self.question

    @classmethod
    def from_answer(cls, answer: Any) -> "Turn":
        """The turn an `rag.answering.answerer.Answer` makes."""
        return cls(
            question=answer.question, answer=answer.text, standalone_question=answer.standalone_question,
            cited=() if answer.abstained else tuple(dict.fromkeys(c.chunk_id for c in answer.citations)),
            abstained=answer.abstained, transcript=tuple(answer.transcript),
        )

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> "Turn":
        """``{"question", "answer", "citations": [{"chunk_id"}...]}`` (a previous answer's JSON works as it is)."""
        citations = record.get("citations") or ()
        return cls(
            question=str(record.get("question") or ""), answer=str(record.get("answer") or ""),
            standalone_question=record.get("standalone_question") or None,
            cited=tuple(str(c["chunk_id"]) for c in citations if isinstance(c, Mapping) and c.get("chunk_id")),
            abstained=bool(record.get("abstained", False)),
        )


def bound(turns: Sequence[Turn], max_turns: int, max_chars: int) -> list[Turn]:
    """The last `max_turns` turns (older ones are dropped), each question and answer cut to `max_chars` characters
    (an answer keeps its start: it is what a follow-up refers to). Transcripts are kept: they are this process's own
    prompts, already fitted to the model's context."""
    kept = list(turns)[-max_turns:] if max_turns > 0 else []
    return [
        dataclasses.replace(
            turn, question=cut(turn.question, max_chars), answer=cut(turn.answer, max_chars),
            standalone_question=cut(turn.standalone_question, max_chars) if turn.standalone_question else None,
        )
        for turn in kept
    ]


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_LEAD = re.compile(r"^.*[：:]|^.*?(?:包括|包含|分为|主要有|有|如|\binclude|\bincludes|\bincluding|\bare)\s*", re.S)
_ITEM_SPLIT = re.compile(r"、|，|,|；|;|以及|及|和|与|\band\b|\bor\b")
_ITEM_NAME = re.compile(r"^(?:\*\*)?(?P<name>[^：:。，,（(*]{1,40})")
_SENTENCES = re.compile(r"[^。！？!?\n]+")


def enumerated_items(answer: str) -> list[str]:
    """The names an answer lists, in order: its list lines (``- **精度损失**：…`` → 精度损失), else the items of an
    inline enumeration (``包括A、B和C`` → A, B, C). Empty when it lists nothing."""
    text = "\n".join(parse_markers(line)[0] for line in answer.splitlines())
    lines = [line[m.end():] for line in text.splitlines() if (m := LIST_BULLET.match(line))]
    names = [_name(line) for line in lines]
    if len(names) >= 2:
        return [n for n in names if n]
    for sentence in _SENTENCES.findall(text):
        lead = _LEAD.match(sentence)
        if lead is None or not sentence[lead.end():].strip():
            continue
        items = [name for piece in _ITEM_SPLIT.split(sentence[lead.end():]) if (name := _name(piece))]
        if len(items) >= 2:
            return items
    return []


def _name(text: str) -> str:
    match = _ITEM_NAME.match(text.strip().lstrip("*").strip())
    return match.group("name").strip(" *.") if match else ""
