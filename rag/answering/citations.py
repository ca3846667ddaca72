"""Citation markers in generated answers: parse them, check each sentence against what it cites.

Every answer sentence must end with one or more ``[n]`` markers naming the numbered passages that
support it. After generation each sentence is checked: markers for passages that don't exist are
dropped; a sentence whose cited passages don't support it gets the best-supporting passage instead;
a sentence no passage supports, that repeats an earlier one, that only announces what follows
("优势如下：") or that asks a question instead of answering is removed.

Support is lexical first: the share of the sentence's units (character bigrams of Chinese text,
lower-cased words of Latin text) found in the best-matching passage sentence, or the passage. An
answer in another language than its sources (an English answer from Chinese passages) shares few
units with them, so an optional semantic check can support a sentence too: the passage must hold one
of the corpus sentences closest in meaning to it (a rank, so it means the same across languages,
where raw cross-language cosines run lower).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Sequence

from rag.answering.faithfulness import (
    exact_spans,
    mentions_subject,
    missing_exact_spans,
    question_subject,
    restatable,
    says_no_answer,
    swapped_terms,
    unsupported_denial,
    unrequested_content,
    yes_no_clauses,
)
from rag.answering.excerpts import shown
from rag.answering.sentences import asks_for_a_list, is_label, list_depth
from rag.core.language import detect_language
from rag.core.schema import Chunk
from rag.core.tables import as_read, is_header_row
from rag.core.text import LIST_BULLET, claim_units, is_fence_line, is_lead_in, is_stopword, split_sentences, units

# [1]  [1,2]  [1, 2]  [1][2]  【1】  [1、2]  [1；3]
_MARKER = re.compile(r"\s*[\[【［]\s*(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】］]")
_CONTENT = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
DUPLICATE_SUPPORT = 0.9
"""A sentence this much contained in an earlier kept one is a repetition (small models loop). Set by hand, like
`MIN_NEW_UNITS`, from the packaged models' drafts on the bundled tuning part."""

SemanticSupport = Callable[[str, Chunk], tuple[int, int, int]]
"""``(rank, start, end)``: of the chunk's evidence sentence closest in meaning to a sentence, how many
sentences of the whole corpus are closer still (0 = none: it is the corpus' closest), and its span."""

DEFAULT_MIN_SUPPORT = 0.5
"""A sentence is supported by a passage when at least this share of its bigrams occur in one sentence of it."""


@dataclass(frozen=True)
class Span:
    """One sentence of a source document: `document[start:end]` is `text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Citation:
    """Where the claims marked ``[n]`` come from: the exact sentences of passage `n` that support them.

    `spans` holds each supporting sentence, in document order (several when several sentences of the passage
    support the answer; never the whole passage as a stand-in, never one span stretched over text between
    them). `text`, `start` and `end` repeat the first of them. A refusal lists its nearest passages as
    citations of `kind` ``nearest``: they support nothing.
    """

    n: int
    chunk_id: str
    doc_id: str
    heading: str
    """The heading path of the first supporting sentence's own section (`` > ``-joined)."""
    text: str
    """The first supporting sentence: `document[start:end]`."""
    start: int
    end: int
    spans: tuple[Span, ...] = ()
    kind: Literal["support", "nearest"] = "support"

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "chunk_id": self.chunk_id, "doc_id": self.doc_id, "heading": self.heading,
                "text": self.text, "start": self.start, "end": self.end,
                "spans": [{"start": s.start, "end": s.end, "text": s.text} for s in self.spans], "kind": self.kind}


@dataclass(frozen=True)
class CheckedSentence:
    text: str
    """The sentence without its markers."""
    cited: tuple[int, ...]
    """Passage numbers it cites after the check (empty when removed)."""
    status: str
    """``kept`` (its own citations hold), ``attached`` (citation added or replaced) or ``removed``."""
    support: float
    reason: str = ""
    """Why it was removed: ``unsupported``, ``inexact`` (a number, formula or name not in the passage),
    ``no-answer`` (says the passages don't answer), ``unrequested`` (a link, command or instruction),
    ``echo``, ``repeat``, ``lead-in``, ``numbering`` (a list number alone), ``question`` (asks instead of answering) or
    ``dangling`` (opens with a pronoun whose sentence the check removed) or ``title`` (a heading or label copied as
    the answer, which says nothing)."""
    line: int = 0
    """Which line of the answer it was on (list items keep their own lines)."""
    bullet: str = ""
    """The list marker that opened its line (``- ``, ``1. ``), if any."""
    from_list_item: bool = False
    """A sentence supporting it sits on a list item's line of the source."""
    spelled_out: str = ""
    """What the answer shows instead of `text` when the model cut a list item to its label ("提高计算速度") or named only
    some items of an inline list: the source sentence whole (see `spelled_out`, `enumeration_spelled_out`); empty when
    the sentence is shown as written."""


CLAIMLESS = frozenset({"repeat", "echo", "lead-in", "question", "dangling", "title"})
"""Removal reasons of sentences that state nothing new, or nothing of their own (not counted in
`CheckedAnswer.kept_share`)."""
LOSES_A_REFERENT = frozenset({"unsupported", "inexact", "dangling"})
"""A removed claim whose next sentence, opening with a pronoun (`_REFERS_BACK`), would read as told of something else."""
_REFERS_BACK = re.compile(r"^(?:它们?|其(?!中|他|它|余|次|实)|该(?=[\u4e00-\u9fff])|(?:It|They|Its|Their)\b)")
"""A sentence opening with a pronoun standing for a thing ("它", "其原理", "该方法", "It"): after its subject's sentence was
removed it would be read as told of whatever came before. "这/This" often stands for the statement before, not a thing."""


@dataclass(frozen=True)
class CheckedAnswer:
    text: str
    """Surviving sentences, each with its ``[n]`` markers before its closing punctuation."""
    sentences: tuple[CheckedSentence, ...]
    citations: tuple[Citation, ...]

    @property
    def kept_share(self) -> float:
        """Share of the answer's claims (in characters) that survived the check. Sentences removed as a
        repeat, an echo of the question, a lead-in or a question claimed nothing, so they don't count either way."""
        claims = [s for s in self.sentences if s.reason not in CLAIMLESS]
        total = sum(len(s.text) for s in claims)
        return sum(len(s.text) for s in claims if s.status != "removed") / total if total else 0.0

    @property
    def removed(self) -> int:
        """How many sentences the check removed."""
        return sum(s.status == "removed" for s in self.sentences)

    @property
    def says_no_answer(self) -> bool:
        """The model said the passages don't answer, and no supported claim survived."""
        return any(s.reason == "no-answer" for s in self.sentences) and not self.citations


def parse_markers(sentence: str) -> tuple[str, list[int]]:
    """``("混合精度更快。", [1, 2])`` for ``"混合精度更快[1,2]。"``: text without markers, numbers in order."""
    numbers: list[int] = []
    for match in _MARKER.finditer(sentence):
        for part in re.split(r"[,，、;；]", match.group(1)):
            if int(part) not in numbers:
                numbers.append(int(part))
    return _MARKER.sub("", sentence).strip(), numbers


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, each keeping the markers that follow it (``好处。[1]`` stays together)."""
    pieces = [text[s:e] for s, e in split_sentences(text)]
    sentences: list[str] = []
    for piece in pieces:
        leading = re.match(r"^(?:\s*[\[【［]\s*\d[\d\s,，、;；]*[\]】］])+", piece)
        if leading and sentences:
            sentences[-1] += leading.group(0).strip()
            piece = piece[leading.end():]
        if _CONTENT.search(_MARKER.sub("", piece)):
            sentences.append(piece.strip())
        elif sentences and piece.strip():
            sentences[-1] += piece.strip()
    return sentences


def support(sentence: str, evidence: str, ignore: frozenset[str] | set[str] = frozenset()) -> float:
    """Share of `sentence`'s units (`claim_units`, less those in `ignore`) that occur in `evidence` (1.0 = all)."""
    wanted = claim_units(sentence) - ignore
    return len(wanted & units(evidence)) / len(wanted) if wanted else 0.0


MIN_NEW_UNITS = 4
"""An answer sentence that adds fewer units than this to the question, and is mostly made of the question's
own units, is an echo of it. (A short answer of new words, "精度损失。", is not.)"""


FILLER_WORDS = frozenset("has have several various many some following important key main different also".split())
"""English words a restatement adds without answering anything ("Mixed precision training has several benefits")."""


def _echoes(sentence: str, asked: set[str], question: str) -> bool:
    """Whether `sentence` restates the question (whose units are `asked`) and adds nothing. Not when it holds a
    number, formula or name the question doesn't ("UTF-8 编码" for "应该统一用哪一种编码？", "is 15 seconds"), nor when,
    in English, it adds a content word ("…is skipped"): English units are whole words, so one new word is an answer,
    where one new Chinese bigram is often only the question's words rearranged."""
    said = units(sentence)
    new = said - asked
    if any(span.lower() not in asked and span not in question for span in exact_spans(sentence)):
        return False
    if _ASKS_HOW_MANY.search(question) and any(count not in question for count in _CHINESE_COUNT.findall(sentence)):
        return False  # "每队有五名队员" answers "每队中有几名队员？" with one new word
    if detect_language(sentence) == "en" and any(
        not word.isdigit() and word not in FILLER_WORDS and not is_stopword(word) for word in new
    ):
        return False
    return len(new) < MIN_NEW_UNITS and len(new) * 2 <= len(said)


TERSE_CLAIM_CHARS = 12
"""A claim this short is a bare answer ("浅见百合子", "印度洋及西太平洋区"): about what the question names first, named
or not."""


_NUMBERING = re.compile(r"\s*\(?\d{1,2}[.)、．]?\s*")
_ASKS_HOW_MANY = re.compile(r"几|多少|how (?:many|much)", re.IGNORECASE)
_CHINESE_COUNT = re.compile(r"[零一二两三四五六七八九十百千万]+(?=[\u4e00-\u9fff])")


MIN_RESTATED_UNITS = 2
"""A sentence restating at least this many units of a yes/no question's proposition asserts its answer (a bare
"可以" restates none)."""

MAX_INTRODUCED = 2
"""A label cited as support brings at most this many following sentences into its citation (a heading, a label under
it, and the sentence that finally says something)."""
MAX_SUPPORTING_SENTENCES = 4
"""A claim drawn from several sentences of one passage cites at most this many of them."""

Spans = tuple[tuple[int, int], ...]


def supporting_spans(sentence: str, chunk: Chunk, ignore: frozenset[str] | set[str] = frozenset()) -> tuple[float, Spans]:
    """``(support, spans)``: the chunk sentence that best supports `sentence`, or, for a claim drawn from several
    of them, the fewest sentences (best first, up to `MAX_SUPPORTING_SENTENCES`) that together support it as well
    as the whole passage does (a code fence's ``` line or a table's column names are never one; a table row is read
    under them). Offsets are in the source; spans in document
    order."""
    scored = sorted(
        ((support(sentence, as_read(chunk.text, start - chunk.start, end - chunk.start), ignore), start, end)
         for start, end in split_sentences(chunk.text, offset=chunk.start)
         if not is_fence_line(chunk.text[start - chunk.start:end - chunk.start])
         and not is_header_row(chunk.text, start - chunk.start)),
        key=lambda item: -item[0],
    )
    if not scored or scored[0][0] == 0.0:
        return (0.0, ())
    whole = support(sentence, chunk.text, ignore)
    chosen = [scored[0]]
    together = scored[0][0]
    for candidate in scored[1:MAX_SUPPORTING_SENTENCES]:
        if together >= whole or candidate[0] == 0.0:
            break
        trial = support(sentence, "".join(chunk.text[s - chunk.start:e - chunk.start] for _, s, e in (*chosen, candidate)), ignore)
        if trial > together:
            chosen.append(candidate)
            together = trial
    return (together, tuple(sorted((s, e) for _, s, e in chosen)))


def says_nothing_itself(text: str) -> bool:
    """Whether a source sentence only names what follows it: a heading, a bare label ("LoRA (Low-Rank Adaptation)"),
    a lead-in ("- **批量大小 (Batch Size)**:", "微调是将预训练模型适配到特定任务或领域：")."""
    return is_label(text) or is_lead_in(text)


def with_what_they_introduce(chunk: Chunk, spans: Spans) -> Spans:
    """`spans`, each one that says nothing itself (`says_nothing_itself`) joined by the sentence after it in the
    passage (and, after a heading followed by a label, the one after that): a citation that supports "这种现象被称为
    涌现能力" by the heading "#### 涌现能力（Emergent Abilities）" opens the heading with the sentence that explains it.
    A heading further on is not joined: it starts another section."""
    labels = [(start, end) for start, end in spans if says_nothing_itself(chunk.text[start - chunk.start:end - chunk.start])]
    if not labels:
        return spans  # the common case: no need to split the passage again
    sentences = [(s, e) for s, e in split_sentences(chunk.text, offset=chunk.start)
                 if not is_fence_line(chunk.text[s - chunk.start:e - chunk.start])]
    joined = set(spans)
    for start, end in labels:
        text = chunk.text[start - chunk.start:end - chunk.start]
        following = [span for span in sentences if span[0] >= end][:MAX_INTRODUCED]
        while text and says_nothing_itself(text) and following:
            span = following.pop(0)
            text = chunk.text[span[0] - chunk.start:span[1] - chunk.start]
            if text.lstrip().startswith("#"):
                break
            joined.add(span)
    return tuple(sorted(joined))


def _with_its_line_label(chunk: Chunk) -> Callable[[tuple[int, int]], str]:
    """A span's text with what precedes it on its line ("- **数据并行**："), so a claim that relabels a copied
    sentence ("张量并行：将模型的完整副本…") is compared with the label it replaced."""
    def text(span: tuple[int, int]) -> str:
        start, end = span[0] - chunk.start, span[1] - chunk.start
        return chunk.text[chunk.text.rfind("\n", 0, start) + 1:end]
    return text


_SECTION_NUMBER = re.compile(r"^[^\w\u4e00-\u9fff]*(?:\d+|[A-Za-z])?[.)、）]\s*")
"""A section heading's numbering ("a. ", "3. ", "（二）"): what follows it is its title."""
_CLOSING = re.compile(r"[。！？；.!?;…]+[”’」』）)]*$")


def closed(text: str) -> str:
    """`text` ending with closing punctuation: a sentence cut at a line break ("…相对位置关系") gets a full stop in its
    own script, so the next sentence run on after it does not read as its continuation."""
    if not text or _CLOSING.search(text):
        return text
    return text + ("." if text[-1].isascii() else "。")


def with_markers(text: str, numbers: Sequence[int], language: str = "zh") -> str:
    """`text` with ``[n]`` markers before its closing punctuation: ``…成本[1]。``, ``… cost [1].``"""
    markers = "".join(f"[{n}]" for n in numbers)
    closing = _CLOSING.search(text)
    body, end = (text[:closing.start()], closing.group(0)) if closing else (text, "")
    space = " " if language == "en" and body[-1:].isascii() and body[-1:].strip() else ""
    return f"{body}{space}{markers}{end}"


def _answer_lines(answer: str) -> list[tuple[int, str, str]]:
    """``(line, bullet, sentence)`` for every sentence, keeping which line and list item it came from."""
    found = []
    for number, line in enumerate(answer.split("\n")):
        bullet = LIST_BULLET.match(line)
        body = line[bullet.end():] if bullet else line
        for sentence in answer_sentences(body):
            found.append((number, bullet.group(0).strip() + " " if bullet else "", sentence))
    return found


class CitationChecker:
    """Checks an answer against its numbered passages (``{n: chunk}``)."""

    def __init__(
        self,
        min_support: float = DEFAULT_MIN_SUPPORT,
        semantic: SemanticSupport | None = None,
        semantic_top_k: int = 0,
        heading_at: HeadingAt | None = None,
        title_of: Callable[[str], str] | None = None,
    ) -> None:
        self.min_support = min_support
        self.semantic = semantic
        self.semantic_top_k = semantic_top_k
        self.heading_at = heading_at
        self.title_of = title_of

    def _titles(self, chunk: Chunk) -> list[str]:
        """The passage's heading, its heading path and its document's title."""
        titles = [chunk.heading]
        if self.heading_at is not None:
            titles.append(self.heading_at(chunk, chunk.start))
        if self.title_of is not None:
            titles.append(self.title_of(chunk.doc_id))
        return titles

    def _is_about(self, subject: str, chunk: Chunk) -> bool:
        """Whether the passage — with its headings and its document's title — holds at least half of `subject`."""
        return mentions_subject(subject, " ".join([chunk.text, *self._titles(chunk)]))

    def _titled(self, subject: str, chunk: Chunk) -> bool:
        """Whether the passage's headings or its document's title are about `subject`: a passage on that very thing
        ("环望" for "环望曾与谁…"), where an opening clause ("大模型根据需求…") shares pairs with many passages' text."""
        return mentions_subject(subject, " ".join(self._titles(chunk)))

    def _borrows_subject(self, sentence: str, subject: str, chunk: Chunk, bare_answers: bool) -> bool:
        """Whether `sentence` tells of the question's `subject` ("短齿天竺鲷") what a passage not about it says: a fact of
        one thing told of another ("短齿天竺鲷的臀鳍硬棘有3枚" cited to another fish's fins). A sentence tells of the
        subject when it repeats it, or, with `bare_answers` (another passage is titled by it), when it is a bare
        answer (`TERSE_CLAIM_CHARS`): "浅见百合子" for "环望曾与谁一起合作了同人志？", cited to another cartoonist's
        article beside 环望's. The question's words are otherwise free to restate."""
        if subject not in sentence and not (bare_answers and len(sentence) <= TERSE_CLAIM_CHARS):
            return False
        return not self._is_about(subject, chunk)

    def _swapped(self, sentence: str, chunk: Chunk, spans: Spans) -> bool:
        """Whether `sentence` copies its supporting `spans` with a term swapped (`swapped_terms`) — unless the term it
        put in is the title of the span's own section and the one it replaced shares no word with that heading:
        "LoRA：极少，通常是总参数的 0.01% ~ 0.1%" for "- 数量级：极少，…" under "a. LoRA (Low-Rank Adaptation)" names
        the subject instead of a generic label."""
        line = _with_its_line_label(chunk)
        for span in spans:
            swaps = swapped_terms(sentence, [line(span)])
            if swaps and self.heading_at is not None:
                heading = self.heading_at(chunk, span[0]).rsplit(" > ", 1)[-1]
                title = _SECTION_NUMBER.sub("", heading).lower()
                swaps = [(claimed, replaced) for claimed, replaced in swaps
                         if not (title.startswith(claimed.lower()) and not units(replaced) & units(heading))]
            if swaps:
                return True
        return False

    def _support(
        self, sentence: str, chunk: Chunk, ignore: set[str], given: str, restated: set[str] = frozenset(), subject: str = "",
        bare_answers: bool = False,
    ) -> tuple[float, Spans]:
        """Lexical support, or semantic support mapped onto the same scale when only that holds (a sentence in
        another language than the passage); 0 when a number, formula or name of the sentence is in neither the
        passage nor `given` (what the question lets an answer restate), when it copies a supporting sentence
        with a term swapped (`swapped_terms`), or when it restates a yes/no question (`restated`: the units of its
        proposition the sentence repeats) and its supporting sentences don't state that part."""
        if missing_exact_spans(sentence, chunk.text, given):
            return (0.0, ())
        if _foreign_label(sentence, chunk, ignore):
            return (0.0, ())
        if subject and self._borrows_subject(sentence, subject, chunk, bare_answers):
            return (0.0, ())
        lexical = supporting_spans(sentence, chunk, ignore)
        if lexical[0] >= self.min_support:
            if self._swapped(sentence, chunk, lexical[1]):
                return (0.0, ())
            if unsupported_denial(sentence, map(_with_its_line_label(chunk), lexical[1]), given):
                return (0.0, ())
            stated = units("".join(chunk.text[s - chunk.start:e - chunk.start] for s, e in lexical[1]))
            if len(restated) >= MIN_RESTATED_UNITS and len(restated & stated) < self.min_support * len(restated):
                return (0.0, ())  # a "yes" (or "no") its sources don't give, however well they support the rest
            return lexical
        if self.semantic is None or detect_language(sentence) == detect_language(chunk.text):
            return lexical  # in one language, words are the evidence: meaning alone let wrong claims through
        rank, start, end = self.semantic(sentence, chunk)
        # The closest sentence across languages is chosen by the names it shares, so the denial may be in another
        # sentence of the passage: any will do.
        if rank < self.semantic_top_k and not unsupported_denial(sentence, [chunk.text], given):
            return (self.min_support, (_stating_its_spans(sentence, chunk, (start, end)),))
        return lexical

    def check(
        self, answer: str, passages: Mapping[int, Chunk], language: str = "zh", question: str = "", asked_as: str = "",
    ) -> CheckedAnswer:
        """Check `answer` sentence by sentence. With `question`, a sentence must add something to it (an
        echo of the question is removed) and only what it adds has to be supported — except what the question
        asks yes or no: a sentence restating that asserts the answer (`restatable`). `asked_as`: the question as the
        person put it when `question` is its translation (an echo of either is removed)."""
        given = restatable(question)
        asked = units(given)
        original = restatable(asked_as) if asked_as and asked_as != question else ""

        def echoes(text: str) -> bool:
            return bool(question) and (
                _echoes(text, asked, question) or bool(original) and _echoes(text, units(original), asked_as)
            )

        subject = question_subject(question)
        bare_answers = bool(subject) and any(self._titled(subject, chunk) for chunk in passages.values())
        list_question = bool(question) and asks_for_a_list(question)
        proposition = {unit for unit in units(" ".join(yes_no_clauses(question))) - asked if not is_stopword(unit)}
        checked: list[CheckedSentence] = []
        spans: dict[int, set[tuple[int, int]]] = {}
        lines = _answer_lines(answer)
        for line, bullet, raw in lines:
            text, cited = parse_markers(raw)

            def removed(reason: str, score: float = 0.0) -> CheckedSentence:
                return CheckedSentence(text, (), "removed", score, reason, line, bullet)

            if says_no_answer(text):
                checked.append(removed("no-answer"))
                continue
            if is_lead_in(text):
                checked.append(removed("lead-in"))  # announces what follows, says nothing itself
                continue
            if _NUMBERING.fullmatch(text) and len(lines) > 1:
                checked.append(removed("numbering"))  # "2." of a list the model numbered: no claim, though "2" is in the passage
                continue
            if text.rstrip().endswith(("？", "?")):
                checked.append(removed("question"))  # asks rather than answers, even when a passage asks it too
                continue
            if unrequested_content(text, question):
                checked.append(removed("unrequested"))
                continue
            if any(support(text, earlier.text) >= DUPLICATE_SUPPORT for earlier in checked if earlier.status != "removed"):
                checked.append(removed("repeat"))
                continue
            if echoes(text):
                checked.append(removed("echo"))  # restates the question, answers nothing
                continue
            if checked and checked[-1].reason in LOSES_A_REFERENT and _REFERS_BACK.match(text):
                checked.append(removed("dangling"))  # "它将…量化" after its subject's sentence was removed
                continue
            restated = units(text) & proposition
            scores = {n: self._support(text, chunk, asked, given, restated, subject, bare_answers)
                      for n, chunk in passages.items()}
            head = without_examples(text) if _best(scores) < self.min_support else ""
            if head and not echoes(head):
                trimmed = {n: self._support(head, chunk, asked, given, units(head) & proposition, subject, bare_answers)
                           for n, chunk in passages.items()}
                if _best(trimmed) >= self.min_support:
                    text, scores = head, trimmed  # the claim holds; the examples the model added do not
            holding = [n for n in cited if n in scores and scores[n][0] >= self.min_support]
            if holding:
                status, numbers = "kept", holding
            else:
                best = max(scores, key=lambda n: scores[n][0], default=None)
                if best is None or scores[best][0] < self.min_support:
                    inexact = any(missing_exact_spans(text, passages[n].text, given) for n in cited if n in passages)
                    checked.append(removed("inexact" if inexact else "unsupported", scores[best][0] if best else 0.0))
                    continue
                status, numbers = "attached", [best]
            if _only_a_title(text, passages, numbers, scores, asked):
                checked.append(removed("title"))  # "GPT-3模型解析[1]" for "GPT-3 的参数量有多大？": a heading says nothing
                continue
            for n in numbers:
                # every sentence that supports a claim citing n, a label with what it introduces
                spans.setdefault(n, set()).update(with_what_they_introduce(passages[n], scores[n][1]))
            listed = any(list_depth(passages[n].text, start - passages[n].start) is not None
                         for n in numbers for start, _ in scores[n][1])
            whole = spelled_out(text, passages[numbers[0]], scores[numbers[0]][1]) if listed and len(numbers) == 1 else ""
            if not whole and len(numbers) == 1 and list_question:
                whole = enumeration_spelled_out(text, passages[numbers[0]], scores[numbers[0]][1])
            checked.append(CheckedSentence(text, tuple(numbers), status, max(scores[n][0] for n in numbers), "", line, bullet,
                                           listed, whole))
        if question and asks_for_a_list(question):
            checked = _one_item_per_line(checked)
        citations = tuple(citation_for(n, passages[n], sorted(spans[n]), self.heading_at) for n in sorted(spans))
        return CheckedAnswer(render(checked, language), tuple(checked), citations)


def _only_a_title(claim: str, passages: Mapping[int, Chunk], numbers: Sequence[int],
                  scores: Mapping[int, tuple[float, Spans]], asked: set[str]) -> bool:
    """Whether `claim` only copies the headings or labels that support it (no list items), adding nothing but the
    question's words: "GPT-3模型解析" for "GPT-3 的参数量有多大？". (A list item's label, "- 机器翻译" for "常见任务有哪些？", is
    an answer; "此现象称为涌现能力" says what the heading names.) Claims in another language than their passage are not
    judged: their words can't be compared."""
    if not is_label(_CLOSING.sub("", claim)):
        return False
    titles, language = [], detect_language(claim)
    for n in numbers:
        chunk = passages[n]
        if detect_language(chunk.text) != language:
            return False
        for start, end in scores[n][1]:
            text = chunk.text[start - chunk.start:end - chunk.start]
            if not says_nothing_itself(text) or list_depth(chunk.text, start - chunk.start) is not None:
                return False
            titles.append(text)
    return units(claim) - asked <= units(" ".join(titles))


def _best(scores: Mapping[int, tuple[float, Spans]]) -> float:
    return max((score for score, _ in scores.values()), default=0.0)


_EXAMPLES = re.compile(r"\s*[，,]\s*(?:例如|比如|譬如|如(?![果何此今同下])|包括|such as\b|e\.g\.|including\b)")


def without_examples(sentence: str) -> str:
    """`sentence` without the examples it ends with ("…是无脊椎动物，如蠕虫、蜗牛。" → "…是无脊椎动物。"), or "" when it
    gives none: a small model completes a right claim with examples from another passage, and the claim alone is
    still worth keeping."""
    match = _EXAMPLES.search(sentence)
    if not match or not sentence[:match.start()].strip():
        return ""
    ending = _CLOSING.search(sentence)
    return sentence[:match.start()] + (ending.group(0) if ending else "")


def _stating_its_spans(sentence: str, chunk: Chunk, closest: tuple[int, int]) -> tuple[int, int]:
    """The passage sentence to cite for a claim supported by meaning across languages: the closest in meaning, unless
    another states more of the claim's numbers ("…started in 2006" cites "于2006年6月21日动工", not the closest sentence,
    about a 2008 flight route). Names are no guide: "GPU" and "LLM" are in many sentences of a passage."""
    wanted = [span for span in exact_spans(sentence) if any(ch.isdigit() for ch in span)]
    if not wanted:
        return closest

    def stated(span: tuple[int, int]) -> int:
        text = chunk.text[span[0] - chunk.start:span[1] - chunk.start]
        return sum(spanned in text for spanned in wanted)

    best = max(split_sentences(chunk.text, offset=chunk.start), key=stated, default=closest)
    return best if stated(best) > stated(closest) else closest


_LEADING_LABEL = re.compile(r"^\s*([^：:。！？!?；;，,]{1,20})[：:]\s*\S")


def _foreign_label(sentence: str, chunk: Chunk, asked: set[str]) -> bool:
    """Whether `sentence` puts the question's words as a label on text from a passage that shares no word with that
    label: "decode 阶段：<a sentence about prompt vectors>" claims the sentence is about decoding. (Question words are
    otherwise free to restate, so the rest of the sentence can be well supported.) A label the passage words a little
    differently ("太大的词汇表" for "过大的词汇表") still shares some of its words."""
    match = _LEADING_LABEL.match(sentence)
    label = units(match.group(1)) if match else set()
    return bool(label & asked) and not label & units(chunk.text + " ".join(chunk.heading_path))


_LABEL_END = re.compile(r"[：:]")
_BARE = re.compile(r"[\W_]+")
MIN_EXPLANATION_CHARS = 4
"""What must follow a source item's label for the item to be spelled out (a bare "- 优点：" line explains nothing)."""


def spelled_out(claim: str, chunk: Chunk, spans: Spans) -> str:
    """The source sentence a claim was cut from, whole, when the claim is only its label: the model wrote "提高计算速度"
    for the item "**提高计算速度**：半精度浮点数的计算速度比单精度浮点数快…". The sentence comes without its list bullet
    and bold or code markers; the citation opens exactly it. Empty when the claim is more than a label, or is
    supported by more than one sentence."""
    if len(spans) != 1:
        return ""
    start, end = spans[0]
    source = shown(LIST_BULLET.sub("", chunk.text[start - chunk.start:end - chunk.start])).strip()
    label_end = _LABEL_END.search(source)
    if label_end is None or len(_BARE.sub("", source[label_end.end():])) < MIN_EXPLANATION_CHARS:
        return ""
    same = _BARE.sub("", source[:label_end.start()]).lower() == _BARE.sub("", claim).lower()
    return source if same else ""


_ITEM = r"[^\s，。；：、,;:（）()「」“”]{1,16}"
_ENUMERATION = re.compile(rf"{_ITEM}(?:、{_ITEM})+(?:(?:及|和|与|以及|或){_ITEM})?")
"""An inline enumeration: items joined by 、 (the last may follow 及/和/与/以及/或), "孟加拉、缅甸、中国…泰国及越南"."""
_ITEM_SEPARATOR = re.compile(r"以及|[、，,。；;及和与或\s]")
MIN_ENUMERATED = 3
MAX_ITEMS_CLAIM_CHARS = 30
"""A claim longer than this says more than a few items; it is shown as written."""


def enumeration_spelled_out(claim: str, chunk: Chunk, spans: Spans) -> str:
    """For a question asking for several things: the one source sentence supporting `claim`, whole, when the claim
    names some but not all items of an inline enumeration there ("中国" for "亚洲（孟加拉、缅甸、中国、…泰国及越南）"), so the
    answer lists what the source lists. Empty otherwise (a bulleted list is given whole before the model reads it)."""
    if len(spans) != 1 or len(_BARE.sub("", claim)) > MAX_ITEMS_CLAIM_CHARS:
        return ""
    start, end = spans[0]
    source = shown(LIST_BULLET.sub("", chunk.text[start - chunk.start:end - chunk.start])).strip()
    pieces = [p for p in _ITEM_SEPARATOR.split(claim) if len(p) >= 2]
    for enumeration in _ENUMERATION.finditer(source):
        items = [i for i in _ITEM_SEPARATOR.split(enumeration.group(0)) if i]
        # the first item may carry the words before the list and the last those after it, in the source or the claim
        named = [item for item in items if any(piece in item or item in piece for piece in pieces)]
        if len(items) >= MIN_ENUMERATED and named and len(named) < len(items):
            return source
    return ""


def _one_item_per_line(checked: list[CheckedSentence]) -> list[CheckedSentence]:
    """For a question asking for several things: when two or more kept sentences each come from an item of a list in
    their source and the model ran them together on one line ("提高计算速度[1]。降低内存占用[1]。"), give each of them its
    own bulleted line, as the source has them."""
    if len({s.line for s in checked if s.bullet}) >= 2:
        return checked  # the model wrote a list itself
    items = [index for index, s in enumerate(checked) if s.status != "removed" and s.from_list_item]
    if len(items) < 2:
        return checked
    after = max(s.line for s in checked) + 1
    separate = {index: after + order for order, index in enumerate(items)}
    return [
        dataclasses.replace(s, line=separate[index], bullet="- ") if index in separate else s
        for index, s in enumerate(checked)
    ]


def join_sentences(pieces: Sequence[str], language: str) -> str:
    """Sentences run on as the answer's language writes them: a space between English ones, none between Chinese
    ones, and a space wherever a Western sentence meets another in a Chinese answer ("…be[3]. It defaults…")."""
    text = pieces[0] if pieces else ""
    for piece in pieces[1:]:
        western = text[-1:].isascii() and text[-1:].strip() and piece[:1].isascii()
        text += " " + piece if language == "en" or western else piece
    return text


_LATIN_STOP_AFTER_CHINESE = re.compile(r"(?<=[\u4e00-\u9fff])\.$")


def render(checked: Sequence[CheckedSentence], language: str) -> str:
    """Kept sentences with their markers; list items keep their own lines and bullets. A Chinese sentence the model
    closed with a Latin full stop ("…来缓解.") ends with "。" in a Chinese answer."""
    lines: dict[int, list[CheckedSentence]] = {}
    for sentence in checked:
        if sentence.status != "removed":
            lines.setdefault(sentence.line, []).append(sentence)
    rendered = []
    for sentences in lines.values():
        texts = [closed(s.spelled_out or s.text) for s in sentences]
        if language == "zh":
            texts = [_LATIN_STOP_AFTER_CHINESE.sub("。", text) for text in texts]
        body = join_sentences([with_markers(text, s.cited, language) for text, s in zip(texts, sentences)], language)
        rendered.append(sentences[0].bullet + body)
    is_list = sum(bool(s[0].bullet) for s in lines.values()) >= 2
    return "\n".join(rendered) if is_list else join_sentences(rendered, language)


HeadingAt = Callable[[Chunk, int], str]
"""The heading path (`` > ``-joined) of the section holding a source offset of a chunk."""


def citation_for(
    n: int, chunk: Chunk, spans: Sequence[tuple[int, int]], heading_at: HeadingAt | None = None,
    kind: Literal["support", "nearest"] = "support",
) -> Citation:
    """Citation `n` for `spans` (source offsets, inside `chunk`); overlapping or touching spans are merged."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts = tuple(Span(start, end, chunk.text[start - chunk.start:end - chunk.start]) for start, end in merged)
    first = parts[0]
    heading = heading_at(chunk, first.start) if heading_at else chunk.heading
    return Citation(n, chunk.id, chunk.doc_id, heading, first.text, first.start, first.end, parts, kind)
