"""What the LLM reads: the best evidence sentences of the top passages, within a character budget.

On 2 CPU cores the time to the first token is the prompt's evaluation (~42 tokens/s for the 1.5B model),
so the model is shown excerpts rather than whole passages. Sentences come best first from one ranking
(`rag.answering.sentences`: the sentence's and its own section heading's similarity to the question) and
are taken while they fit the budget, each followed by its next sentence when room is left (an answer often
continues there; a sentence announcing a list brings its first items), and a short sentence left between two chosen
ones is shown too, up to `SHORT_GAP` characters over the budget. A question that asks for several
things (有哪些, 好处, advantages) gets its best list (`SentenceRanker.best_list`) whole and first, so the model
sees every item the evidence holds. A passage's excerpt is shown in document order, its sentences under their
own sub-headings, without bold or code markers, with ``…`` where text was left out. The citation check still
reads the whole passage, so spans stay exact. A comparison ("A和B分别…", `rag.core.comparison`) reads
`COMPARISON_BUDGET` times the budget: a list naming the things compared first, then the question's and each thing's
best sentences in turn (`SentenceRanker.rank_each`, `in_turn`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from rag.answering.sentences import ListBlock, RankedSentence
from rag.core.schema import Hit
from rag.core.text import join_cjk_wraps

LIST_FOLLOWERS = 3
"""A chosen sentence that announces a list ("优势主要体现在以下几个方面：") brings up to this many next sentences
(set by hand from the tuning part's prompts: the model had read a list's lead-in and then the wrong list)."""
COMPARISON_BUDGET = 1.5
"""A comparison question ("A和B分别…", `rag.core.comparison`) reads this many times the budget, its things' best
sentences in turn: at the plain budget the second thing's sentences were often left out (measured in docs/answers.md)."""
GAP = " … "
_EMPHASIS = re.compile(r"\*\*|__|`")
"""Bold and code markers: the model needs none of them, and each costs budget and prompt tokens (~7% of the
excerpts' characters on the tuning part; without them excerpt recall@450 rose from 0.863 to 0.877 there)."""


LATIN_CHAR_COST = 0.35
"""What a character of English passages counts against the budget, which is in characters of Chinese text: the packaged
Qwen2.5 tokenizer spends about 0.25 prompt tokens on an English character and 0.72 on a Chinese one (the bundled
corpus and the pkgdocs READMEs), so counting plain characters gave the model a third as much to read from English
documents as from Chinese ones."""


def shown(text: str) -> str:
    """A sentence as the model reads it: without bold and code markers, or the line breaks a Chinese paragraph was
    hard-wrapped at (`join_cjk_wraps`)."""
    return _EMPHASIS.sub("", join_cjk_wraps(text))


def reading_cost(language: str) -> Callable[[str], float]:
    """How the excerpt budget counts the text of passages in `language`: characters, an English one at
    `LATIN_CHAR_COST`, so passages in either language fill about as many prompt tokens."""
    return len if language == "zh" else _latin_cost


def _latin_cost(text: str) -> float:
    return LATIN_CHAR_COST * len(text)


@dataclass(frozen=True)
class Excerpt:
    """A numbered passage as the model sees it."""

    number: int
    heading: str
    text: str
    spans: tuple[tuple[int, int], ...] = ()
    """Source spans of the sentences shown (document offsets), in document order."""


def select_excerpts(
    ranked: Sequence[RankedSentence], hits: Sequence[Hit], budget: float, whole_lists: bool = False,
    first_list: ListBlock | None = None, cost: Callable[[str], float] = len,
) -> list[Excerpt]:
    """Excerpts of `hits` (numbered 1.. in rank order) whose texts add up to at most `budget`, counted by `cost`
    (characters; see `reading_cost` for English passages).

    `ranked` is `SentenceRanker.rank(question, hits)`; `whole_lists` (the question asks for several things)
    makes a chosen list item or lead-in bring the rest of its section's list; `first_list` (the best list for
    such a question, `SentenceRanker.best_list`) is taken whole, lead-in first, before anything else. A passage
    none of whose sentences fit is left out (its number is not reused).
    """
    by_passage: dict[int, list[RankedSentence]] = {}
    for sentence in sorted(ranked, key=lambda s: (s.passage, s.start)):
        by_passage.setdefault(sentence.passage, []).append(sentence)
    position = {(s.passage, s.start, s.end): index for siblings in by_passage.values() for index, s in enumerate(siblings)}
    chosen: dict[int, dict[tuple[int, int], RankedSentence]] = {}
    used = 0.0

    def take(sentence: RankedSentence, slack: float = 0.0) -> bool:
        nonlocal used
        taken = chosen.setdefault(sentence.passage, {})
        if (sentence.start, sentence.end) in taken:
            return True
        needed = cost(shown(sentence.readable) + GAP)
        if taken and all(s.section != sentence.section for s in taken.values()):
            needed += cost(shown(sentence.section.heading) + "：\n")  # its sub-heading is shown with it
        if used + needed > budget + slack:
            return False
        taken[(sentence.start, sentence.end)] = sentence
        used += needed
        return True

    whole_list_taken = first_list is not None
    if first_list is not None:
        for sentence in ([first_list.lead_in] if first_list.lead_in else []) + list(first_list.items):
            if not take(sentence):
                break
    for sentence in ranked:
        siblings = by_passage[sentence.passage]
        if sentence.announces_a_list and not _room_for_its_first_item(sentence, siblings, used, budget, cost):
            continue  # a lead-in without the list it announces says nothing
        if not take(sentence):
            continue
        if whole_lists and not whole_list_taken and (sentence.is_list_item or sentence.announces_a_list):
            whole_list_taken = True  # the best-ranked list only: a second one is usually its counterpart (挑战 beside 优势)
            companions = [s for s in siblings if s.section == sentence.section]
        else:
            # the next sentences of its own section only: across a heading they start another topic (挑战 after 优势)
            following = [s for s in siblings if s.start >= sentence.end and s.section == sentence.section]
            companions = following[: LIST_FOLLOWERS if sentence.announces_a_list else 1]
        for companion in companions:
            if not take(companion) and companion.start > sentence.start:
                break
        indices = sorted(position[(sentence.passage, start, end)] for start, end in chosen[sentence.passage])
        for gap in _short_gaps(indices, siblings):
            take(gap, slack=SHORT_GAP)
    return [_excerpt(index, hits[index], list(chosen[index].values())) for index in sorted(chosen) if chosen[index]]


SHORT_GAP = 30
"""A sentence of at most this many characters left out between two chosen ones of its section is shown too (when the
budget allows): "揭阳县榕城（今榕城区）人。" between two sentences of a biography costs little more than the ``…`` it replaces."""


def _short_gaps(chosen: list[int], siblings: list[RankedSentence]) -> list[RankedSentence]:
    """The one short sentence (`SHORT_GAP`) between two chosen sentences of the same section, for each such pair;
    `chosen` holds the chosen sentences' positions in `siblings` (the passage's sentences in document order), sorted."""
    gaps = []
    for before, after in zip(chosen, chosen[1:]):
        if after - before == 2:
            gap = siblings[before + 1]
            if siblings[before].section == gap.section == siblings[after].section and len(gap.text) <= SHORT_GAP:
                gaps.append(gap)
    return gaps


def _room_for_its_first_item(
    lead_in: RankedSentence, siblings: list[RankedSentence], used: float, budget: float, cost: Callable[[str], float],
) -> bool:
    first = next((s for s in siblings if s.start >= lead_in.end), None)
    needed = cost(shown(lead_in.readable) + GAP) + (cost(shown(first.readable) + GAP) if first else 0.0)
    return used + needed <= budget


def _excerpt(index: int, hit: Hit, sentences: list[RankedSentence]) -> Excerpt:
    """One passage's chosen sentences in document order (as `shown`): adjacent ones joined by their original text,
    others by `GAP`; a sentence under another sub-heading than the excerpt's first starts a line with that heading."""
    chunk = hit.chunk
    sentences.sort(key=lambda s: s.start)
    heading = sentences[0].section.heading or (chunk.heading_path[-1] if chunk.heading_path else "")
    pieces: list[str] = []
    previous: RankedSentence | None = None
    for sentence in sentences:
        if previous is not None:
            between = chunk.text[previous.end - chunk.start:sentence.start - chunk.start]
            if sentence.section != previous.section:
                pieces.append(f"\n{shown(sentence.section.heading)}：" if sentence.section.heading else GAP)
            else:
                pieces.append(between if not between.strip() else GAP)
        pieces.append(shown(sentence.readable))
        previous = sentence
    spans = tuple((s.start, s.end) for s in sentences)
    return Excerpt(index + 1, shown(heading), "".join(pieces).strip(), spans)
