"""Answers this process gave recently, recognised by their text: a client that sends its history as plain text (the
HTTP API, the OpenAI-compatible endpoint) gets the same follow-up handling as the Python API — the previous
answer's cited passages as candidates, and a rewrite that continues the model's evaluated prompt."""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

from rag.conversation.history import Turn


class TurnMemo:
    """The last `size` turns answered, by (question, answer text); thread-safe. Only what this process wrote is
    remembered, and a turn that matches gets back only what that answer already showed (its passages, its prompt)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._turns: OrderedDict[tuple[str, str], Turn] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(question: str, answer: str) -> tuple[str, str]:
        return " ".join(question.split()), " ".join(answer.split())

    def remember(self, turn: Turn) -> None:
        if self.size <= 0:
            return
        key = self._key(turn.question, turn.answer)
        with self._lock:
            self._turns[key] = turn
            self._turns.move_to_end(key)
            while len(self._turns) > self.size:
                self._turns.popitem(last=False)

    def complete(self, turn: Turn) -> Turn:
        """`turn` with the cited passages, standalone question and transcript of the remembered answer with the same
        question and text (`turn` itself when none matches or it has them already)."""
        if turn.transcript and turn.cited:
            return turn
        with self._lock:
            known = self._turns.get(self._key(turn.question, turn.answer))
        if known is None:
            return turn
        return dataclasses.replace(
            turn, cited=turn.cited or known.cited, transcript=turn.transcript or known.transcript,
            standalone_question=turn.standalone_question or known.standalone_question,
            abstained=turn.abstained or known.abstained,
        )
