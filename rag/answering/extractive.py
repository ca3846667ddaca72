"""The extractive answerer: the passages' own sentences that best answer the question, each cited.

No language model: sentences come from the same ranking the LLM's excerpts do (`rag.answering.sentences`:
the sentence's and its section heading's similarity to the question), plus IDF-weighted keyword overlap and
a prior for the top passage; near-duplicates are skipped, and the chosen sentences are given in reading
order, each followed by the number of its passage. A question that asks for several things (有哪些, 好处,
advantages) gets its best list whole (`SentenceRanker.best_list`), one item per line. A line of a code block is
quoted as inline code, and only for a question asking how to do something or naming what the line holds; a table
row is quoted with its column headers; HTML layout lines are never quoted.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Sequence

from rag.answering.citations import closed, join_sentences, support, with_markers
from rag.answering.faithfulness import unrequested_content
from rag.core.comparison import comparison
from rag.core.schema import Hit
from rag.core.text import (
    HTML_TAG, LIST_BULLET, code_span, is_fence_line, is_lead_in, is_markup_only, join_cjk_wraps, tokenize,
)
from rag.answering.sentences import SentenceRanker
from rag.retrieval.evidence import EvidenceScorer

KEYWORD_WEIGHT = 0.1
"""Weight of keyword overlap (0..1) next to cosine similarity (e5 cosines span ~0.75-0.95). The four weights here
were set by hand while reading the bundled tuning part's extractive answers, not fitted."""
PASSAGE_PRIOR = 0.15
"""Bonus for sentences of the n-th passage: PASSAGE_PRIOR / n. The second stage judged whole passages;
sentence similarity alone favours sentences that merely restate the topic (a definition)."""
SCORE_MARGIN = 0.05
"""Sentences scoring more than this below the best one are left out."""
DUPLICATE_SUPPORT = 0.7
"""A sentence whose bigrams are this much contained in an already chosen one is a near-duplicate."""
MAX_LIST_ITEMS = 8
"""Most items of a list quoted whole (a longer list is cut after this many, in document order)."""
PER_THING = 2
"""Most sentences quoted for each thing a comparison compares."""



@dataclass(frozen=True)
class ExtractedSentence:
    number: int
    """The 1-based number of the passage it comes from (its citation)."""
    start: int
    end: int
    text: str
    """The sentence with list bullets and emphasis markers removed."""
    score: float
    list_item: bool = False
    """One item of a list quoted whole (rendered one per line)."""


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_QUOTE_MARK = re.compile(r"^(?:\s*>)+\s?")
_SOFT_BREAK = re.compile(r"\s*\n(?:\s*>)*\s*")
_BRACKETS = {")": "(", "]": "[", "}": "{"}
_TRAILING_COMMENT = re.compile(r"\s+#.*$")
_ASKS_HOW = re.compile(
    r"\bhow (?:do|can|should|would) (?:i|we|you)\b|\bhow to\b|怎么|如何|怎样|代码|示例|命令|"
    r"\b(?:code|example|snippet|syntax|command)\b",
    re.IGNORECASE,
)
MIN_CODE_TERMS = 2
"""A code line is quoted only for a question asking how to do something, or when it holds this many of the
question's words (an XML sample line that merely resembles the question is not an answer)."""


def clean_sentence(text: str) -> str:
    """Sentence text for display: one line, with no list bullet, quote marks, heading hashes, HTML tags or bold
    markers (code spans kept as they are: ``__init__`` stays)."""
    text = _SOFT_BREAK.sub(" ", join_cjk_wraps(LIST_BULLET.sub("", _QUOTE_MARK.sub("", text)).strip()))
    pieces = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        pieces.append(_plain(text[last:span.start()]))
        pieces.append(span.group(0))
        last = span.end()
    pieces.append(_plain(text[last:]))
    return "".join(pieces).lstrip("#").strip()


def _plain(prose: str) -> str:
    return HTML_TAG.sub("", prose).replace("**", "").replace("__", "")


def code_line(text: str) -> str | None:
    """A line of a code block shown as inline code (``python -m threadpoolctl -i numpy``), or None for a fence line
    or a piece of a longer statement (unbalanced brackets: ``>>> xmltodict.parse(GzipFile('dump.xml.gz'),``)."""
    line = text.strip()
    if not line or is_fence_line(line):
        return None
    statement = _TRAILING_COMMENT.sub("", line)
    depth: list[str] = []
    for char in statement:
        if char in "([{":
            depth.append(char)
        elif char in _BRACKETS:
            if not depth or depth.pop() != _BRACKETS[char]:
                return None
    if depth or statement.endswith((",", "\\")):
        return None
    return code_span(line)


class ExtractiveAnswerer:
    """Picks up to `max_sentences` sentences (and `max_chars` characters) from the top `passages` hits, or one
    whole list for a question that asks for one."""

    def __init__(self, ranker: SentenceRanker, passages: int = 3, max_sentences: int = 3, max_chars: int = 360) -> None:
        self.ranker = ranker
        self.passages = passages
        self.max_sentences = max_sentences
        self.max_chars = max_chars

    @property
    def scorer(self) -> EvidenceScorer:
        return self.ranker.scorer

    def extract(self, question: str, hits: Sequence[Hit]) -> list[ExtractedSentence]:
        """The chosen sentences in reading order; `number` is the hit's 1-based position in `hits`. For a comparison
        (`rag.core.comparison`), each compared thing's best `PER_THING` sentences."""
        compared = comparison(question)
        if compared is None:
            return self._extract(question, hits)
        chosen: dict[tuple[int, int], ExtractedSentence] = {}
        for asked in compared.questions:
            best = sorted(self._extract(asked, hits, labels=False), key=lambda sentence: -sentence.score)[:PER_THING]
            for sentence in best:
                chosen.setdefault((sentence.number, sentence.start), dataclasses.replace(sentence, list_item=False))
        return sorted(chosen.values(), key=lambda c: (c.number, c.start))

    def _extract(self, question: str, hits: Sequence[Hit], labels: bool = True) -> list[ExtractedSentence]:
        """`extract` for one question. A bare label or heading ("多头注意力", "GPT-3模型解析") is never quoted as a sentence:
        it matches a question best and says nothing. With `labels`, one may still be quoted as an item of a whole list
        ("- 机器翻译" in a list of tasks)."""
        terms = {t: self.scorer.idf(t) for t in set(tokenize(question))}
        total = sum(terms.values())
        ranked_sentences = self.ranker.rank(question, hits[: self.passages])
        candidates: list[ExtractedSentence] = []
        by_span: dict[tuple[int, int], ExtractedSentence] = {}
        for ranked in ranked_sentences:
            if (
                is_lead_in(ranked.text) or unrequested_content(ranked.text, question) or is_markup_only(ranked.text)
                or (not labels and ranked.is_label)
            ):
                continue  # announces a list, carries a link/command/instruction nobody asked for, or is layout
            present = set(tokenize(ranked.text))
            if ranked.code and not (_ASKS_HOW.search(question) or len(present & terms.keys()) >= MIN_CODE_TERMS):
                continue
            if ranked.code:
                text = code_line(ranked.text)
            else:
                text = clean_sentence(ranked.readable)  # a table row is quoted whole, under its column headers
            if not text:
                continue
            overlap = sum(w for t, w in terms.items() if t in present) / total if total else 0.0
            number = ranked.passage + 1
            score = ranked.score + KEYWORD_WEIGHT * overlap + PASSAGE_PRIOR / number
            candidate = ExtractedSentence(number, ranked.start, ranked.end, text, score)
            if not (ranked.is_label and not ranked.reads_as and not ranked.code):
                candidates.append(candidate)
            by_span[(ranked.passage, ranked.start)] = candidate  # a list's items, labels among them
        candidates.sort(key=lambda c: -c.score)
        best_list = self.ranker.best_list(question, ranked_sentences)
        if best_list is not None:
            items = [by_span[(s.passage, s.start)] for s in best_list.items if (s.passage, s.start) in by_span]
            if items:
                return [dataclasses.replace(item, list_item=True) for item in items[:MAX_LIST_ITEMS]]
        chosen: list[ExtractedSentence] = []
        used = 0
        for candidate in candidates:
            if chosen and (candidate.score < chosen[0].score - SCORE_MARGIN or len(chosen) >= self.max_sentences):
                break
            if used + len(candidate.text) > self.max_chars and chosen:
                continue
            if any(support(candidate.text, c.text) >= DUPLICATE_SUPPORT for c in chosen):
                continue
            chosen.append(candidate)
            used += len(candidate.text)
        return sorted(chosen, key=lambda c: (c.number, c.start))

    @staticmethod
    def render(sentences: Sequence[ExtractedSentence], language: str = "zh") -> str:
        """``sentence[n]`` pieces (the marker before the closing punctuation) joined for the answer's language;
        a list's items one per line."""
        if len(sentences) > 1 and all(s.list_item for s in sentences):
            return "\n".join(f"- {with_markers(s.text, [s.number], language)}" for s in sentences)
        return join_sentences([with_markers(closed(s.text), [s.number], language) for s in sentences], language)
