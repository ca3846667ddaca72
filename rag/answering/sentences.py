"""Evidence sentences of the top passages, ranked for a question: what the model reads and what extractive
answers quote are chosen from this one ranking.

A sentence's score is its own cosine to the question, plus `HEADING_WEIGHT` times its own section heading's
cosine to the question (interview notes put the question in the heading: "5. 混合精度训练的优势是什么？" ranks the
three bullets under it above the "6. …挑战" bullets beside them in the same passage), plus a small prior for the
passage's rank. Measured on the bundled tuning part (73 answerable questions, 450 characters of excerpts): the
excerpts held the gold for 0.781 of them on sentence cosine alone, 0.822 with the heading at weight 1 (0.795 at
0.5, 0.808 at 2; keyword overlap added nothing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from rag.core.comparison import Comparison
from rag.core.schema import Chunk, Hit
from rag.core.tables import is_header_row, is_table_row, line_at, table_row
from rag.core.text import LIST_BULLET, in_code_block, is_lead_in, latin_names
from rag.retrieval.evidence import EvidenceScorer
from rag.retrieval.fusion import taking_turns
from rag.retrieval.sections import SectionMap, SectionSpan

HEADING_WEIGHT = 1.0
RANK_PRIOR = 0.03
"""Bonus for sentences of the n-th passage: RANK_PRIOR / n (the re-ranker already judged whole passages; set by
hand, like the rest of the excerpt constants, from the tuning part's prompts)."""
HEADING_CACHE_SIZE = 4096
LIST_MARGIN = 0.03
"""A question asking for several things gets its best list whole when that list scores at most this much below the
best sentence (tuning part, 450 characters of excerpts: excerpt recall 0.836 with lists only when reached in rank
order, 0.849 / 0.863 / 0.863 / 0.849 at margins 0 / 0.03 / 0.05 / 0.1)."""

_ASKS_FOR_A_LIST = re.compile(
    r"哪些|哪几|几种|几个|几步|列出|列举|举出|举几|好处|优势|优点|缺点|坏处|弊端|挑战|难点|步骤|流程|方法|方式|手段|措施|特点|区别|不同|作用|原因|影响|"
    r"\b(?:what are|which|list|advantages?|benefits?|drawbacks?|disadvantages?|challenges?|limitations?|steps?|ways?|"
    r"methods?|techniques?|types?|kinds?|differences?|pros|cons|reasons?)\b",
    re.IGNORECASE,
)


LONGER_NAME_PENALTY = 0.05
"""Taken off a sentence whose section is about a longer name containing one the question asks about ("4. 什么是QLoRA？…"
for "什么是 LoRA？"): the small embedder ranks such a heading as close as the asked name's own (set by hand; see
docs/answers.md)."""
LABEL_CHARS = 40
"""A line this short with no punctuation is a label (`RankedSentence.is_label`)."""
LABEL_MARKS = " -*#\n"
_STATEMENT_MARK = re.compile(r"[。！？；，、,.!?;：:]")

POLARITY_WEIGHT = 0.1
"""Added when a section heading names the same kind of thing the question asks for (benefits, drawbacks,
steps), taken off when it names the opposite. Embeddings barely tell 好处 from 挑战 ("混合精度训练有什么好处？" is
as close to "…挑战是什么？" as to "…优势是什么？"), so the kind is read from a few words; see `question_kind`."""

KINDS: dict[str, re.Pattern[str]] = {
    "benefits": re.compile(r"好处|优势|优点|益处|长处|benefits?|advantages?|strengths?|pros\b", re.IGNORECASE),
    "drawbacks": re.compile(
        r"坏处|缺点|劣势|弊端|不足|局限|挑战|难点|风险|drawbacks?|disadvantages?|limitations?|weakness(?:es)?|"
        r"challenges?|risks?|cons\b|downsides?",
        re.IGNORECASE,
    ),
    "steps": re.compile(r"步骤|几步|流程|过程|怎么做|如何进行|\bsteps?\b|\bprocess\b|\bprocedure\b|how (?:do|to)", re.IGNORECASE),
}
OPPOSITES = {"benefits": "drawbacks", "drawbacks": "benefits"}


_BOTH_KINDS = re.compile(r"优缺点|利弊|好坏|pros and cons|advantages and disadvantages", re.IGNORECASE)


def question_kind(text: str) -> str | None:
    """``benefits``, ``drawbacks`` or ``steps`` when `text` names exactly one of those kinds, else None."""
    if _BOTH_KINDS.search(text):
        return None
    found = [kind for kind, words in KINDS.items() if words.search(text)]
    return found[0] if len(found) == 1 else None


def kind_agreement(question_kind: str | None, heading: str) -> int:
    """+1 when `heading` names the kind the question asks for, -1 when it names only its opposite, else 0."""
    if question_kind is None or not heading:
        return 0
    if KINDS[question_kind].search(heading):
        return 1
    opposite = OPPOSITES.get(question_kind)
    return -1 if opposite and KINDS[opposite].search(heading) else 0


def is_label(text: str) -> bool:
    """Whether `text` is a short line without punctuation: a name or a title ("残差连接（Residual Connection）", a
    heading), no statement."""
    return len(text.strip(LABEL_MARKS)) <= LABEL_CHARS and not _STATEMENT_MARK.search(text)


def asks_for_a_list(question: str) -> bool:
    """Whether a question asks for several things (有哪些, 好处, advantages, steps...): its answer is a whole list."""
    return bool(_ASKS_FOR_A_LIST.search(question))


@dataclass(frozen=True)
class RankedSentence:
    passage: int
    """0-based position of the passage (hit) it comes from."""
    start: int
    end: int
    text: str
    score: float
    section: SectionSpan
    list_depth: int | None = None
    """Indentation of the list item whose line holds the sentence (None: not on a list item's line), read from the
    source line: an item's second sentence counts too."""
    code: bool = False
    """A line of a fenced code block."""
    reads_as: str = ""
    """What the model reads instead of `text`: a table row under its column headers (`rag.core.tables`); empty when
    it reads `text`."""

    @property
    def readable(self) -> str:
        return self.reads_as or self.text

    @property
    def is_list_item(self) -> bool:
        return self.list_depth is not None or bool(LIST_BULLET.match(self.text))

    @property
    def announces_a_list(self) -> bool:
        return is_lead_in(self.text)

    @property
    def is_label(self) -> bool:
        """A short line without punctuation: a name or a title ("残差连接（Residual Connection）"), no statement."""
        return is_label(self.text)


class SentenceRanker:
    """Ranks the evidence sentences of hits for a question (thread-safe; heading vectors cached)."""

    def __init__(
        self, scorer: EvidenceScorer, embed_passages: Callable[[Sequence[str]], np.ndarray],
        heading_weight: float = HEADING_WEIGHT, rank_prior: float = RANK_PRIOR, polarity_weight: float = POLARITY_WEIGHT,
    ) -> None:
        self.scorer = scorer
        self.sections = SectionMap.of(scorer.store)
        self._embed_passages = embed_passages
        self.heading_weight = heading_weight
        self.rank_prior = rank_prior
        self.polarity_weight = polarity_weight
        self._heading_vector = lru_cache(maxsize=HEADING_CACHE_SIZE)(self._embed_heading)

    def _embed_heading(self, heading: str) -> np.ndarray:
        return np.asarray(self._embed_passages([heading]), dtype=np.float32)[0]

    def heading_at(self, chunk: Chunk, offset: int) -> str:
        """The heading path of the section holding `offset` (`` > ``-joined; the passage's own when untitled, and a
        plain-text document's title line when it has no headings at all)."""
        path = " > ".join(self.sections.section_at(chunk.doc_id, offset).heading_path) or chunk.heading
        if path or self.sections.formats.get(chunk.doc_id) == "markdown":
            return path
        return self.sections.title(chunk.doc_id)

    def heading_similarity(self, question: str, section: SectionSpan) -> float | None:
        """Cosine between the question and the section's heading with its parent's (None: an untitled section)."""
        if not section.heading_path:
            return None
        return float(self._heading_vector(" > ".join(section.heading_path[-2:])) @ self.scorer.query_vector(question))

    def rank(self, question: str, hits: Sequence[Hit], asked_too: str = "") -> list[RankedSentence]:
        """Every evidence sentence of `hits`, best first. A passage without evidence sentences (a table, a code
        block) is one candidate, whole. `asked_too`: the rest of what was asked (the comparison a question about one of
        its things comes from), whose names are not taken for longer versions of the question's."""
        ranked = []
        kind = question_kind(question)
        names = frozenset(name.lower() for name in latin_names(f"{question} {asked_too}"))
        for index, hit in enumerate(hits):
            chunk = hit.chunk
            scored = self.scorer.sentence_scores(question, chunk) or [(chunk.start, chunk.end, hit.scores.get("dense", 0.0))]
            title_end = self.sections.title_line_end(chunk.doc_id)
            title_similarity: float | None = None
            for start, end, similarity in scored:
                if end <= title_end and len(scored) > 1:
                    # A plain-text article's name heads its excerpts and is never quoted as a statement; the article's
                    # first sentence, which says what the named thing is, ranks at least as high as the name would.
                    title_similarity = max(similarity, title_similarity or similarity)
                    continue
                if title_similarity is not None:
                    similarity, title_similarity = max(similarity, title_similarity), None
                section = self.sections.section_at(chunk.doc_id, start)
                heading = self.heading_similarity(question, section) if self.heading_weight else None
                score = similarity + self.heading_weight * (similarity if heading is None else heading)
                score += self.polarity_weight * kind_agreement(kind, section.heading)
                if names and _about_a_longer_name(section.heading, names):
                    score -= LONGER_NAME_PENALTY
                text = chunk.text[start - chunk.start:end - chunk.start]
                document = self.sections.documents.get(chunk.doc_id, "")
                code = in_code_block(document, start)
                depth = None if code else list_depth(document, start)
                row = table_row(document, start) if not code and is_table_row(text) else None
                if row is None and not code and is_table_row(text) and is_header_row(document, start):
                    continue  # a table's column names: each row is read under them
                ranked.append(RankedSentence(
                    index, start, end, text, score + self.rank_prior / (index + 1), section, depth, code,
                    row.labelled() if row else "",
                ))
        return sorted(ranked, key=lambda s: -s.score)

    def rank_each(self, questions: Sequence[str], hits: Sequence[Hit]) -> list[list[RankedSentence]]:
        """The sentences of `hits` ranked for each of `questions` (a comparison and the question about each thing it
        compares), without bare labels ("残差连接（Residual Connection）"): a label matches a question about one thing
        best and says nothing about it. `in_turn` merges them."""
        everything = " ".join(questions)
        return [[s for s in self.rank(question, hits, everything) if not s.is_label] for question in questions]

    def comparing_list(self, compared: Comparison, ranked: Sequence[RankedSentence]) -> "ListBlock | None":
        """The best list of `ranked` (the comparison question's own ranking) that names at least two of the things it
        compares ("零样本学习：… 单样本学习：… 少样本学习：…"), when it scores at most `LIST_MARGIN` below the best sentence
        that is no bare label or heading (one matching the question best says nothing: the list under it does)."""
        if not ranked:
            return None
        lists = [block for block in list_blocks(ranked)
                 if len(compared.things) - len(compared.left_out(block.text)) >= 2]
        best = max(lists, key=lambda block: (block.score, -len(block.items)), default=None)
        if best is None or best.score < _list_floor(ranked):
            return None
        return best

    def best_list(self, question: str, ranked: Sequence[RankedSentence]) -> "ListBlock | None":
        """For a question asking for several things, the list that best answers it, to be given whole: highest
        score (of its items and lead-in), plus `polarity_weight` when its lead-in names the kind asked for (a
        "* **缺点：**" sub-list for 缺点), the narrower list on ties. None for other questions, when the sentences
        hold no list, or when the best list scores more than `LIST_MARGIN` below the best sentence that is no bare label
        or heading ("## 常见任务" matching "常见任务有哪些？" best says nothing; the list under it answers)."""
        if not ranked or not asks_for_a_list(question):
            return None
        kind = question_kind(question)
        best: tuple[float, int, ListBlock] | None = None
        for block in list_blocks(ranked):
            agreement = kind_agreement(kind, block.lead_in.text) if block.lead_in is not None else 0
            key = (block.score + self.polarity_weight * agreement, -len(block.items))
            if best is None or key > best[:2]:
                best = (*key, block)
        if best is None or best[2].score < _list_floor(ranked):
            return None
        return best[2]


def _list_floor(ranked: Sequence[RankedSentence]) -> float:
    """The least a list may score to be given whole: `LIST_MARGIN` below the best sentence that is no bare label or
    heading (one matching the question best says nothing; the list under it answers)."""
    return max((s.score for s in ranked if not s.is_label), default=0.0) - LIST_MARGIN


def in_turn(rankings: Sequence[Sequence[RankedSentence]]) -> list[RankedSentence]:
    """The sentences of several rankings taken in turn (each one's best, then each one's second, ...), each once: every
    ranking's best evidence comes early."""
    return taking_turns(rankings, key=lambda sentence: (sentence.passage, sentence.start))


@lru_cache(maxsize=HEADING_CACHE_SIZE)
def _about_a_longer_name(heading: str, names: frozenset[str]) -> bool:
    """Whether the first name `heading` gives is a longer one containing one of `names` (lower-cased): QLoRA for LoRA."""
    found = latin_names(heading)
    first = found[0].lower() if found else ""
    return bool(first) and first not in names and any(name in first for name in names)


def list_depth(document: str, offset: int) -> int | None:
    """Indentation of the list item on the line holding `offset` of `document` (None: not a list item's line)."""
    _, line = line_at(document, offset)
    if not LIST_BULLET.match(line):
        return None
    return len(line) - len(line.lstrip())


@dataclass(frozen=True)
class ListBlock:
    """A run of list items of one passage's section (with their nested items) and the sentence announcing it."""

    items: tuple[RankedSentence, ...]
    """In document order."""
    lead_in: RankedSentence | None

    @property
    def score(self) -> float:
        """The best score of its items and its lead-in."""
        return max(s.score for s in (*self.items, *([self.lead_in] if self.lead_in else [])))

    @property
    def text(self) -> str:
        """Its lead-in and items, in document order."""
        return "\n".join(s.text for s in (*([self.lead_in] if self.lead_in else []), *self.items))


def list_blocks(ranked: Sequence[RankedSentence]) -> list[ListBlock]:
    """Every list in `ranked`, nested lists included both whole and as their own blocks: for each item, the run of
    items that follow it in its section at its depth or deeper. Its lead-in is the sentence just before the run
    when that sentence announces a list ("作用包括：", a "* **缺点：**" parent item)."""
    by_passage: dict[int, list[RankedSentence]] = {}
    for sentence in sorted(ranked, key=lambda s: (s.passage, s.start)):
        by_passage.setdefault(sentence.passage, []).append(sentence)
    blocks: dict[tuple[int, int, int], ListBlock] = {}
    for sentences in by_passage.values():
        for index, first in enumerate(sentences):
            if first.list_depth is None or not _starts_its_run(sentences, index):
                continue
            run = [first]
            for sentence in sentences[index + 1:]:
                if sentence.section != first.section or sentence.list_depth is None or sentence.list_depth < first.list_depth:
                    break
                run.append(sentence)
            before = sentences[index - 1] if index else None
            lead_in = before if before is not None and before.section == first.section and before.announces_a_list else None
            blocks.setdefault((first.passage, run[0].start, run[-1].end), ListBlock(tuple(run), lead_in))
    return list(blocks.values())


def _starts_its_run(sentences: list[RankedSentence], index: int) -> bool:
    """Whether the list item at `index` is the first of its run at its depth (the sentence before it is not an item
    of the same section at that depth or deeper)."""
    if index == 0:
        return True
    first, before = sentences[index], sentences[index - 1]
    return before.section != first.section or before.list_depth is None or before.list_depth < first.list_depth
