"""Completing a list answer: the items of the list it cites that it left out.

A question asking for benefits, drawbacks or steps ("把大模型的所有参数都拿来微调，最主要的坏处有哪些？") is given the
list that answers it whole when it ranks high enough (`SentenceRanker.best_list`), and a small model still often writes
one item of three. When the checked answer cites an item of a list whose lead-in or section heading names the kind asked
for, the items it left out are added, each quoted whole on a line of its own and cited to its own sentence.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from rag.answering.citations import CheckedAnswer, closed, says_nothing_itself, with_markers
from rag.answering.excerpts import shown
from rag.answering.sentences import (
    ListBlock, SentenceRanker, asks_for_a_list, kind_agreement, list_blocks, question_kind,
)
from rag.core.schema import Chunk, Hit
from rag.core.text import LIST_BULLET

MAX_ADDED_ITEMS = 6
"""A longer list is more than an answer should quote; its left-out items stay behind their citation."""


@dataclass(frozen=True)
class ListItem:
    """A top-level item of a source list: its line (document offsets, nested items included) and its text."""

    start: int
    end: int
    text: str


def list_items(block: ListBlock, document: str) -> list[ListItem]:
    """The top-level items of `block`, each spanning its line and the lines of the items nested under it."""
    top = min(sentence.list_depth or 0 for sentence in block.items)
    items: list[ListItem] = []
    for sentence in block.items:
        line_start = document.rfind("\n", 0, sentence.start) + 1
        line_end = document.find("\n", sentence.start)
        line_end = len(document) if line_end < 0 else line_end
        if sentence.list_depth == top and (not items or items[-1].start != line_start):
            items.append(ListItem(line_start, line_end, document[line_start:line_end]))
        elif items:
            last = items[-1]
            items[-1] = ListItem(last.start, max(last.end, line_end), last.text)
    return items


def left_out_items(
    question: str, checked: CheckedAnswer, numbered: Mapping[int, Chunk], passages: Sequence[Hit],
    ranker: SentenceRanker,
) -> list[tuple[int, str]]:
    """``(n, item)`` for each item, as the answer shows it (no bullet or bold), that `checked` leaves out of the list it
    cites: when `question` asks for benefits, drawbacks or steps (`question_kind`) and the answer cites an item of a
    list of passage `n` whose lead-in or section heading names that kind (the narrowest such list). An item that only
    names what its nested items say is not added."""
    kind = question_kind(question)
    if kind is None or not asks_for_a_list(question) or not checked.citations:
        return []
    cited = {citation.n: [(span.start, span.end) for span in citation.spans] for citation in checked.citations}
    candidates = []
    for block in list_blocks(ranker.rank(question, passages)):
        n = block.items[0].passage + 1
        named_by = " ".join(filter(None, [block.lead_in.text if block.lead_in else "", block.items[0].section.heading]))
        if n not in numbered or n not in cited or kind_agreement(kind, named_by) < 1:
            continue
        items = list_items(block, ranker.sections.documents.get(numbered[n].doc_id, ""))
        covered = [any(start < item.end and item.start < end for start, end in cited[n]) for item in items]
        if any(covered):
            candidates.append((len(items), n, [item for item, said in zip(items, covered) if not said]))
    if not candidates:
        return []
    _, n, missing = min(candidates, key=lambda candidate: candidate[:2])
    texts = [shown(LIST_BULLET.sub("", item.text)).strip() for item in missing]
    return [(n, text) for text in texts if text and not says_nothing_itself(text)][:MAX_ADDED_ITEMS]


def with_items(answer: str, items: Sequence[tuple[int, str]], language: str) -> str:
    """`answer` with `items` on lines of their own, cited; bulleted as its last list line is (numbered on from it),
    unbulleted when it is no list."""
    bullets = [found.group(0).strip() for line in answer.split("\n") if (found := LIST_BULLET.match(line))]
    last = bullets[-1] if bullets else ""
    number = int(last.rstrip(".)、")) if last[:1].isdigit() else None
    lines = [answer]
    for order, (n, text) in enumerate(items, start=1):
        bullet = f"{number + order}{last[-1]} " if number is not None else f"{last} " if last else ""
        lines.append(bullet + with_markers(closed(text), [n], language))
    return "\n".join(lines)
