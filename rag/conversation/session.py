"""`Conversation`: a chat with a `RAG` that keeps its own history, for apps, the `rag chat` REPL and the evaluation."""
from __future__ import annotations

from typing import Any, Iterator, Protocol, Sequence

from rag.answering.answerer import Answer, AnswerEvent
from rag.conversation.history import Turn


class Answers(Protocol):
    """What a conversation needs of `rag.api.RAG`."""

    def stream(
        self, question: str, mode: str | None = None, k: int | None = None, rerank: bool = True,
        history: Sequence[Turn] | None = None,
    ) -> Iterator[AnswerEvent]: ...


class Conversation:
    """Questions answered in the context of the turns before them.

    >>> chat = Conversation(rag)                      # or rag.conversation()
    >>> chat.ask("混合精度训练有什么好处？").text
    >>> chat.ask("它有什么缺点？").standalone_question  # e.g. 混合精度训练有什么缺点？

    Every answer is kept (`answers`); the library reads only the last ``conversation.max_turns`` of them, each cut to
    ``conversation.max_turn_chars``. `mode`, `k` and `rerank` are as for `RAG.stream` and may be changed between
    questions. Not thread-safe: one conversation per person.
    """

    def __init__(self, rag: Answers, mode: str | None = None, k: int | None = None, rerank: bool = True) -> None:
        self.rag = rag
        self.mode = mode
        self.k = k
        self.rerank = rerank
        self.answers: list[Answer] = []

    @property
    def turns(self) -> list[Turn]:
        """The history as the library reads it, oldest first."""
        return [Turn.from_answer(answer) for answer in self.answers]

    @property
    def last(self) -> Answer | None:
        return self.answers[-1] if self.answers else None

    def ask(self, question: str) -> Answer:
        """The checked answer to `question`, read after the turns so far (and added to them)."""
        answer = None
        for event in self.stream(question):
            answer = event
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str) -> Iterator[AnswerEvent]:
        """`RAG.stream`'s events (`Reading`, `Progress`, `Token`s, `Retelling`), then the checked `Answer` (added to the
        history once it arrives)."""
        for event in self.rag.stream(question, mode=self.mode, k=self.k, rerank=self.rerank, history=self.turns):
            if isinstance(event, Answer):
                self.answers.append(event)
            yield event

    def clear(self) -> None:
        """Forget the turns so far: the next question starts a new conversation."""
        self.answers.clear()

    def __len__(self) -> int:
        return len(self.answers)

    def __repr__(self) -> str:
        return f"Conversation({len(self.answers)} turns)"


def as_turns(history: Sequence[Any]) -> list[Turn]:
    """`Turn`s from a mix of `Turn`, `Answer` and ``{"question", "answer", "citations"}`` records."""
    turns = []
    for item in history:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, Answer):
            turns.append(Turn.from_answer(item))
        else:
            turns.append(Turn.from_json(item))
    return turns
