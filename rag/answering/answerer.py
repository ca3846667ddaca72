"""The answer stage: cited answers from retrieved passages, or an honest refusal.

Flow: retrieve → abstain when the best hit's relevance is below the threshold → answer with the LLM
(or extractively) → check every sentence against the passages it cites → fall back to the extractive
answer when too little of the LLM's text survives. The model never answers from its own knowledge:
whatever it writes that no passage supports is removed. A comparison whose checked draft leaves out a thing it
compares gets that thing asked about alone, and what passes the check is added (`Answerer._cover_each`).
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Callable, Generator, Iterator, Mapping, Sequence

from rag.answering.citations import (
    CheckedAnswer,
    Citation,
    CitationChecker,
    answer_sentences,
    citation_for,
)
from rag.answering.completion import left_out_items, with_items
from rag.answering.excerpts import COMPARISON_BUDGET, Excerpt, reading_cost, select_excerpts, shown
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.faithfulness import mentions_subject, names_nothing_asked, question_subject
from rag.answering.prompts import (
    COMPARISON_ECHO,
    LIST_REMINDER,
    REMINDER,
    AnswerPrompt,
    build_answer_prompt,
    revision_prompt,
)
from rag.answering.sentences import asks_for_a_list, in_turn
from rag.answering.translation import AnswerTranslator, Retelling
from rag.core.comparison import Comparison, comparison
from rag.core.config import AnswerConfig
from rag.core.errors import ConfigError
from rag.core.language import detect_language
from rag.core.schema import Chunk, Hit
from rag.core.text import LIST_BULLET
from rag.generation.base import ScriptKeepingGenerator
from rag.refusal.calibration import SHIPPED_SEMANTIC_MIN_MARGIN
from rag.refusal.policy import RefusalPolicy

MODES = ("llm", "extractive")
NAME_CHARS = 6
"""A question's opening subject this short is a name ("呼家楼站", "林越峰"): when no document mentions it the question
is refused before any answer is drafted. Longer opening runs are often clauses ("校徽里象征着纯洁"), which documents
word otherwise; they count only once the model itself found no answer. (On the tuning sets every question whose
subject of at most 6 characters no document mentions is unanswerable: 11 of 146 questions.)"""

ABSTAIN_MESSAGE = {
    "zh": "文档中没有找到这个问题的答案。下面是最接近的资料。",
    "en": "The documents don't answer this. The nearest sources are listed below.",
}
REMOVED_NOTE = {
    "zh": "已删除模型回答中 {n} 句无法在资料中核实的内容。",
    "en": "{n} sentence(s) of the model's answer could not be verified in the sources and were removed.",
}
"""Shown next to an LLM answer from which the citation check removed sentences."""
FALLBACK_NOTE = {
    "zh": "语言模型的回答未能通过引用核查，以上为原文摘录。",
    "en": "The model's answer did not pass the citation check; the answer above is quoted from the sources.",
}
"""Shown next to (never inside) an answer whose `fallback` is set (see `fallback_note`)."""
DECLINED = "the model found no answer in the passages, which the evidence says hold one"
"""The `fallback` of a follow-up the model declined and the sources answered (`quote_if_declined`)."""
DECLINED_NOTE = {
    "zh": "语言模型认为资料中没有答案，但资料与问题高度相关；以上为原文摘录。",
    "en": "The model found no answer in the sources, which match the question closely; the answer above is quoted from them.",
}


def fallback_note(answer: "Answer") -> str:
    """What to show next to an answer whose `fallback` is set, in its language."""
    notes = DECLINED_NOTE if answer.fallback == DECLINED else FALLBACK_NOTE
    return notes.get(answer.language, notes["en"])


@dataclass
class Answer:
    """A cited answer, or a refusal (`abstained`) that lists the nearest sources in `citations`."""

    question: str
    text: str
    citations: list[Citation]
    abstained: bool
    mode: str
    """``llm`` or ``extractive`` (what produced `text`; ``extractive`` after a fallback too)."""
    hits: list[Hit]
    language: str
    timings: dict[str, float] = field(default_factory=dict)
    fallback: str | None = None
    """Why the LLM's answer was replaced by the extractive one, if it was."""
    raw: str | None = None
    """The model's unchecked output (None in extractive mode)."""
    removed: int = 0
    """Sentences of the model's output the citation check removed (unsupported, inexact, unrequested...)."""
    prompt_tokens: int | None = None
    """Size of the prompt the model read (LLM mode; the last one, when the draft was revised)."""
    attempts: int = 0
    """Drafts the model wrote (LLM mode): 1, or more when a draft failed the citation check and was revised."""
    cut: bool = False
    """The model's last draft reached the token limit and its unfinished sentence was dropped (LLM mode)."""
    completed: int = 0
    """Items of the list the answer cites that the model left out and the answer quotes (`rag.answering.completion`)."""
    standalone_question: str | None = None
    """What was searched and answered: the question itself, or a follow-up rewritten to stand alone (see
    `rag.conversation`); None when the answerer was called directly."""
    standalone_method: str | None = None
    """How the standalone question was made (`rag.conversation.condenser.METHODS`)."""
    transcript: tuple[Mapping[str, str], ...] = field(default=(), repr=False)
    """The chat the model last read for this answer, ending with its reply (LLM answers from chat models); a
    follow-up's rewrite continues it. Not part of the JSON."""

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "standalone_method": self.standalone_method,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "fallback": self.fallback,
            "removed": self.removed,
            "attempts": self.attempts,
            "completed": self.completed,
            "language": self.language,
            "citations": [c.to_json() for c in self.citations],
            "hits": [hit.to_json(rank) for rank, hit in enumerate(self.hits, start=1)],
            "timings": {name: round(value, 1) for name, value in self.timings.items()},
        }


@dataclass(frozen=True)
class Token:
    """A piece of the model's raw output, streamed before the checked `Answer` arrives."""

    text: str
    attempt: int = 1
    """Which draft it belongs to: a draft that fails the citation check may be followed by a revised one."""


@dataclass(frozen=True)
class Progress:
    """How far the model has read its prompt, in tokens: streamed after `Reading` while it reads (LLM mode, models run
    by llama.cpp in this process), from ``(0, total)`` to ``(total, total)``."""

    read: int
    total: int
    attempt: int = 1
    """The draft whose prompt is being read (a revised draft reads the revision request)."""

    @property
    def share(self) -> float:
        return self.read / self.total if self.total else 1.0

    def to_json(self) -> dict[str, int]:
        return {"read": self.read, "total": self.total, "attempt": self.attempt}


@dataclass(frozen=True)
class Reading:
    """What the model is about to read, streamed before its first token (LLM mode): the excerpts, numbered as the
    draft's ``[n]`` will be, and their passages. Reading the prompt takes seconds on a CPU; these can be shown
    meanwhile."""

    excerpts: tuple[Excerpt, ...]
    hits: tuple[Hit, ...]
    """The numbered passages, ``hits[n - 1]`` for excerpt ``n``."""

    def passage(self, excerpt: Excerpt) -> Chunk:
        """The passage `excerpt` was taken from."""
        return self.hits[excerpt.number - 1].chunk

    def to_json(self) -> dict[str, Any]:
        return {"passages": [{"n": e.number, "chunk_id": self.passage(e).id, "doc_id": self.passage(e).doc_id,
                              "heading": e.heading, "text": e.text} for e in self.excerpts]}


AnswerEvent = Reading | Progress | Token | Retelling | Answer
"""What an answer streams (`Answerer.stream`): what the model reads, how far, its draft, how far that is retold in the
question's language, then the checked `Answer`."""


@dataclass(frozen=True)
class Draft:
    """The model's last draft, its citation check, the prompt that produced it and how many drafts were written;
    whether the model said the passages don't answer (`declined`) and whether enough survived the check (`passed`)."""

    raw: str
    checked: CheckedAnswer
    prompt: AnswerPrompt
    attempts: int
    declined: bool
    passed: bool
    cut: bool = False
    """The draft reached the token limit; its unfinished last sentence was dropped."""
    numbered: Mapping[int, Chunk] = field(default_factory=dict)
    """The passages the model read, by the number it cites them with."""
    completed: int = 0
    """List items the check's answer gained from the list it cites (`rag.answering.completion`)."""

    def attach(self, answer: Answer) -> Answer:
        """`answer` with this draft's raw text, removals, prompt size and attempt count recorded."""
        answer.raw, answer.removed = self.raw, self.checked.removed
        answer.prompt_tokens, answer.attempts = self.prompt.prompt_tokens, self.attempts
        answer.cut = self.cut
        answer.completed = self.completed
        answer.transcript = self.transcript
        return answer

    @property
    def transcript(self) -> tuple[Mapping[str, str], ...]:
        """The chat that wrote this draft, its reply included (what llama.cpp evaluated last); () for a plain prompt."""
        return (*self.prompt.turns, {"role": "assistant", "content": self.raw}) if self.prompt.turns else ()


class Answerer:
    """Turns retrieved hits into an `Answer`. `generator` is created on first LLM use."""

    def __init__(
        self,
        extractive: ExtractiveAnswerer,
        refusal: RefusalPolicy,
        config: AnswerConfig,
        generator_factory: Callable[[], Any],
        semantic_min_margin: float = SHIPPED_SEMANTIC_MIN_MARGIN,
    ) -> None:
        """`semantic_min_margin`: the citation check's floor for support by meaning (the index's calibration, or
        the shipped one); ``answer.semantic_min_margin`` overrides it when set."""
        self.extractive = extractive
        self.refusal = refusal
        self.config = config
        margin = config.semantic_min_margin if config.semantic_min_margin is not None else semantic_min_margin
        self.checker = CitationChecker(
            config.min_support,
            semantic=partial(extractive.scorer.semantic_rank, min_margin=margin),
            semantic_top_k=config.semantic_top_k,
            heading_at=extractive.ranker.heading_at,
            title_of=extractive.ranker.sections.title,
        )
        self._generator_factory = generator_factory
        self._generator: Any = None
        self._lock = threading.Lock()

    @property
    def generator(self) -> Any:
        with self._lock:
            if self._generator is None:
                generator = self._generator_factory()
                generator.warm_up()
                self._generator = generator
        return self._generator

    def stream(
        self, question: str, hits: list[Hit], mode: str | None = None, timings: dict[str, float] | None = None,
        language: str | None = None, quote_if_declined: bool = False, asked: str | None = None,
    ) -> Iterator[AnswerEvent]:
        """In LLM mode a `Reading` event (what the model reads), `Progress` events as it reads them (llama.cpp models),
        `Token` events as it writes and `Retelling` events while a draft is retold in `language`; then the final checked
        `Answer`, in `language` (default: the question's).
        `quote_if_declined`: when the model says the passages don't answer but the evidence clears the refusal
        threshold, answer extractively instead of refusing (for follow-ups: the conversation already found the topic in
        the documents). `asked`: the question as the person put it, shown to the model when `question` (searched,
        ranked and checked against) is its translation into the documents' language — unless the answer is drafted in
        the documents' language (`drafting_language`): then the model answers the translation."""
        mode = mode or self.config.mode
        if mode not in MODES:
            raise ConfigError(f"Unknown answer mode '{mode}'; use one of: {', '.join(MODES)}.")
        timings = dict(timings or {})
        started = time.perf_counter()
        language = language if language in ABSTAIN_MESSAGE else detect_language(question)
        passages = hits[: self.config.passages]
        if (
            not (self.refusal.worth_drafting(hits) if mode == "llm" else self.refusal.answerable(hits))
            or self._unknown_subject(question, hits, max_chars=NAME_CHARS)
        ):
            # Evidence too weak, or the question is about a name no document mentions ("呼家楼站是哪两条线路的换乘站？"):
            # whatever the passages say is about something else.
            yield self._abstain(question, hits, language, mode, timings, started)
            return
        if mode == "extractive":
            yield self._extractive(question, hits, passages, language, timings, started)
            return
        excerpts = self.excerpts(question, passages)
        yield Reading(tuple(excerpts), tuple(passages))
        drafting, person = self.drafting_language(question, language, asked), asked or question
        if drafting != language:
            asked = None  # the model reads and answers the translation
        draft = yield from self._draft(question, excerpts, passages, drafting, timings, started, asked=asked)
        if draft.declined and self.config.narrow_retry and self.refusal.answerable(hits):
            # Strong evidence yet "no answer": once more with the best passage's excerpt alone.
            narrow = yield from self._draft(question, self.excerpts(question, passages[:1]), passages, drafting, timings,
                                            started, attempt=draft.attempts + 1, asked=asked)
            draft = narrow if narrow.passed and not narrow.declined else draft
        compared = comparison(question) if asked is None else None  # the things the model was asked to compare
        if compared is not None and draft.passed and not draft.declined:
            draft = yield from self._cover_each(question, compared, draft, passages, drafting, timings, started)
        if compared is None and draft.passed and not draft.declined:
            draft = self._complete_list(question, draft, passages, drafting)
        revised_to_nothing = draft.attempts > 1 and self.config.quote_when_revision_declines
        if draft.declined and (quote_if_declined or revised_to_nothing) and self.refusal.answerable(hits):
            quoted = self._extractive(question, hits, passages, language, timings, started)
            if quoted.abstained or not (names_nothing_asked(question, quoted.text) or self._unknown_subject(question)):
                if not quoted.abstained:
                    quoted.fallback = DECLINED
                yield draft.attach(quoted)
                return
            # The model found no answer and the quotes don't mention what the question names, or the documents
            # never mention what it asks about: they answer something else, so the model's "no answer" stands.
        if draft.declined:
            yield draft.attach(self._abstain(question, hits, language, "llm", timings, started))
            return
        checked = draft.checked
        if draft.passed and drafting != language:
            translating = time.perf_counter()
            translator = AnswerTranslator(self.generator)
            checked = yield from translator.retell(checked, language, asked=person, chat=draft.transcript)
            timings["translate_ms"] = 1000 * (time.perf_counter() - translating)
        timings["total_ms"] = 1000 * (time.perf_counter() - started) + timings.get("retrieve_ms", 0.0)
        if not draft.passed and not self.refusal.answerable(hits):
            # Doubtful evidence: only a checked LLM answer may answer it, never the extractive fallback.
            yield draft.attach(self._abstain(question, hits, language, "llm", timings, started))
            return
        if not draft.passed:
            answer = draft.attach(self._extractive(question, hits, passages, language, timings, started))
            answer.fallback = (
                f"only {draft.checked.kept_share:.0%} of the model's answer was supported by the passages"
                if draft.checked.citations else "no sentence of the model's answer was supported by the passages"
            )
            yield answer
            return
        yield draft.attach(Answer(question, checked.text, list(checked.citations), False, "llm", hits, language, timings))

    def drafting_language(self, question: str, language: str, asked: str | None) -> str:
        """The language the model drafts in: the person's (`language`), except for a question searched as its
        translation into the documents' language (`question`; `asked` is the original) with ``answer.english_drafts``
        (Chinese over English) or ``answer.chinese_drafts`` (English over Chinese) on: the documents' language, from
        the translation, retold in the person's once checked (`rag.answering.translation`)."""
        documents = detect_language(question)
        if (
            asked is not None and self.answers_from_translation(language, documents)
            and AnswerTranslator(self.generator).usable(language)
        ):
            return documents
        return language

    def answers_from_translation(self, asked: str, documents: str) -> bool:
        """Whether a question in language `asked`, searched as its translation into the documents' (`documents`), is
        drafted from that translation and retold in `asked` (``answer.english_drafts``: Chinese over English;
        ``answer.chinese_drafts``: English over Chinese)."""
        return (self.config.english_drafts and asked == "zh" and documents == "en") or (
            self.config.chinese_drafts and asked == "en" and documents == "zh"
        )

    def excerpts(
        self, question: str, passages: Sequence[Hit], budget: float | None = None, cost: Callable[[str], float] | None = None,
        leave_out: Sequence[Citation] = (),
    ) -> list[Excerpt]:
        """What the model reads for `question` from `passages` (numbered 1..; see `rag.answering.excerpts`), within
        `budget` (default ``answer.excerpt_chars``) counted by `cost` (default: characters as the passages' language
        costs them, `reading_cost`), without the sentences `leave_out` cites (what an answer already said)."""
        ranker = self.extractive.ranker
        budget = self.config.excerpt_chars if budget is None else budget
        if cost is None:
            cost = reading_cost(detect_language("\n".join(hit.chunk.text for hit in passages)))
        compared = comparison(question)
        if compared is None:
            said = [(c.doc_id, span.start, span.end) for c in leave_out for span in c.spans]
            ranked = [s for s in ranker.rank(question, passages)
                      if not any(doc == passages[s.passage].chunk.doc_id and start <= s.start and s.end <= end
                                 for doc, start, end in said)]
            first_list = ranker.best_list(question, ranked)
            excerpts = select_excerpts(
                ranked, passages, budget, whole_lists=asks_for_a_list(question), first_list=first_list, cost=cost,
            )
        else:
            # A list naming the things compared first, then the question's and each thing's best sentences in turn;
            # no other whole list: one thing's list would fill the budget.
            rankings = ranker.rank_each((question, *compared.questions), passages)
            first_list = ranker.comparing_list(compared, rankings[0])
            excerpts = select_excerpts(
                in_turn(rankings), passages, budget * COMPARISON_BUDGET, first_list=first_list, cost=cost,
            )
        # A plain-text article's title line (never a sentence to read or quote) heads each of its excerpts.
        titles = {e.number: ranker.sections.title(passages[e.number - 1].chunk.doc_id)
                  for e in excerpts if not e.heading and ranker.sections.title_line_end(passages[e.number - 1].chunk.doc_id)}
        return [replace(e, heading=titles[e.number]) if titles.get(e.number) else e for e in excerpts]

    def max_tokens(self, language: str) -> int:
        """The draft's token limit for an answer in `language` (a Chinese sentence costs more tokens)."""
        return self.config.max_tokens_zh if language == "zh" else self.config.max_tokens

    def _cover_each(
        self, question: str, compared: Comparison, draft: Draft, passages: Sequence[Hit], language: str,
        timings: dict[str, float], started: float,
    ) -> Generator[Progress | Token, None, Draft]:
        """`draft` of a comparison, with what the model says about each thing it left out: asked about that thing
        alone (`Comparison.questions`), from that thing's excerpts, on a line of its own in the same draft. What the
        check keeps of the whole is the answer; a thing the passages say nothing about stays left out."""
        missing = [compared.questions[index] for index in compared.left_out(draft.checked.text)]
        if not missing or len(missing) == len(compared.things):
            return draft
        written, kept, numbered = [draft.raw], [draft.checked.text], dict(draft.numbered)
        for asked in missing:
            yield Token("\n", draft.attempts)
            # what the draft cited is about the other things: left out, the model reads this one's sentences
            excerpts = self.excerpts(asked, passages, leave_out=draft.checked.citations)
            part = yield from self._draft(asked, excerpts, passages, language, timings, started,
                                          attempt=draft.attempts, revisions=0)
            written.append(part.raw)
            if part.passed and not part.declined:
                kept.append(part.checked.text)
                numbered.update(part.numbered)
        raw = "\n".join(written)
        if len(kept) == 1:
            return replace(draft, raw=raw)
        checked = self.checker.check(clean_generated("\n".join(kept)), numbered, language, question=question)
        return replace(draft, raw=raw, checked=checked, passed=self._passes(checked))

    def _complete_list(self, question: str, draft: Draft, passages: Sequence[Hit], language: str) -> Draft:
        """`draft` with the items of the list it cites that it left out, quoted and cited
        (`rag.answering.completion.left_out_items`), when the answer is in the list's language."""
        items = [(n, text) for n, text in left_out_items(question, draft.checked, draft.numbered, passages,
                                                           self.extractive.ranker)
                 if detect_language(draft.numbered[n].text) == language]
        if not items:
            return draft
        text = with_items(draft.checked.text, items, language)
        checked = self.checker.check(text, draft.numbered, language, question=question)
        # The added lines' sentences are the last ones checked; an item counts when the check kept one of them (a
        # repeat of what the answer says from another passage is removed).
        counts = [len(answer_sentences(LIST_BULLET.sub("", line, count=1))) for line in text.split("\n")[-len(items):]]
        statuses = [sentence.status for sentence in checked.sentences][-sum(counts):]
        completed = 0
        for count in counts:
            mine, statuses = statuses[:count], statuses[count:]
            completed += any(status != "removed" for status in mine)
        return replace(draft, checked=checked, completed=completed)

    def _draft(
        self, question: str, excerpts: Sequence[Excerpt], passages: Sequence[Hit], language: str,
        timings: dict[str, float], started: float, attempt: int = 1, asked: str | None = None,
        revisions: int | None = None,
    ) -> Generator[Progress | Token, None, Draft]:
        """Stream how far the model has read (`Progress`) and its draft over `excerpts`, and check it; a draft that
        fails the check is revised, in the same conversation, up to `revisions` (default ``answer.revisions``) times.
        Returns the last draft."""
        revisions = self.config.revisions if revisions is None else revisions
        limit = self.max_tokens(language)
        asked_as = asked or question
        prompt = build_answer_prompt(
            asked_as, [(e.number, e.heading, e.text) for e in excerpts], self.generator, max_tokens=limit, language=language,
        )
        numbered = {p.number: passages[p.number - 1].chunk for p in prompt.passages}
        first = attempt
        while True:
            pieces: list[str] = []
            if not prompt.messages and hasattr(self.generator, "read"):  # a llama.cpp model reports as it reads
                for read, total in self.generator.read(prompt.text):
                    yield Progress(read, total, attempt)
            for piece in generate(self.generator, prompt, limit, self.config.keep_language):
                if "first_token_ms" not in timings:
                    timings["first_token_ms"] = 1000 * (time.perf_counter() - started) + timings.get("retrieve_ms", 0.0)
                pieces.append(piece)
                yield Token(piece, attempt)
            raw = "".join(pieces).strip()
            timings["generate_ms"] = 1000 * (time.perf_counter() - started)
            cut = self.generator.count_tokens(raw) >= limit - 1  # stopped by the limit, not by the model
            finished = drop_unfinished(raw) if cut else raw  # raw stays what was streamed (and what the model cached)
            checked = self.checker.check(clean_generated(finished), numbered, language, question=question,
                                         asked_as=asked or "")
            declined = self.refusal.model_declined(raw, checked.says_no_answer)
            draft = Draft(raw, checked, prompt, attempt, declined, self._passes(checked), cut, numbered)
            if draft.declined or draft.passed or attempt - first >= revisions:
                return draft
            revision = revision_prompt(prompt, asked_as, raw, self.generator, limit)
            if revision is None:
                return draft
            prompt, attempt = revision, attempt + 1

    def _unknown_subject(self, question: str, hits: Sequence[Hit] = (), max_chars: int | None = None) -> bool:
        """Whether the question names its subject first (`question_subject`, "林越峰是怎样成为作家的？"; at most
        `max_chars` characters) and no document mentions it. The passages in `hits` are read first: when one mentions
        it, the collection is not scanned."""
        subject = question_subject(question)
        if not subject or (max_chars is not None and len(subject) > max_chars):
            return False
        if any(mentions_subject(subject, hit.chunk.text) for hit in hits):
            return False
        documents = self.extractive.ranker.sections.documents.values()
        return not any(mentions_subject(subject, text) for text in documents)

    def _passes(self, checked: CheckedAnswer) -> bool:
        """Whether enough of a draft survived the citation check to be the answer."""
        return bool(checked.citations) and checked.kept_share >= self.config.min_kept_share

    def _extractive(
        self, question: str, hits: list[Hit], passages: Sequence[Hit], language: str, timings: dict[str, float], started: float
    ) -> Answer:
        sentences = self.extractive.extract(question, passages)
        if not sentences:
            return self._abstain(question, hits, language, "extractive", timings, started)
        spans: dict[int, list[tuple[int, int]]] = {}
        for sentence in sentences:
            spans.setdefault(sentence.number, []).append((sentence.start, sentence.end))
        heading_at = self.extractive.ranker.heading_at
        citations = {n: citation_for(n, passages[n - 1].chunk, spans[n], heading_at) for n in spans}
        timings["total_ms"] = 1000 * (time.perf_counter() - started) + timings.get("retrieve_ms", 0.0)
        text = self.extractive.render(sentences, language)
        return Answer(question, text, [citations[n] for n in sorted(citations)], False, "extractive", hits, language, timings)

    def _abstain(self, question: str, hits: list[Hit], language: str, mode: str, timings: dict[str, float], started: float) -> Answer:
        nearest = [_nearest(n, hit.chunk) for n, hit in enumerate(hits[:3], start=1)]
        timings["total_ms"] = 1000 * (time.perf_counter() - started) + timings.get("retrieve_ms", 0.0)
        return Answer(question, ABSTAIN_MESSAGE[language], nearest, True, mode, hits, language, timings)


def generate(generator: Any, prompt: AnswerPrompt, max_tokens: int, keep_language: bool = False) -> Iterator[str]:
    """The generator's pieces for `prompt`: its messages for a server that applies the chat template
    itself (`rag.generation.base.ChatGenerator`), else the rendered prompt text. `keep_language`: a generator that
    can (`ScriptKeepingGenerator`) writes only in the script of the prompt's answer language."""
    if prompt.messages:
        return generator.stream_chat(prompt.messages, max_tokens=max_tokens, stop=prompt.stop)
    if keep_language and isinstance(generator, ScriptKeepingGenerator):
        return generator.stream_in(prompt.language, prompt.text, max_tokens=max_tokens, stop=prompt.stop)
    return generator.stream(prompt.text, max_tokens=max_tokens, stop=prompt.stop)


_RUNAWAY = re.compile(r"([*_#=\-~.,，。、])\1{3,}.*$", re.S)
_PLACEHOLDER = re.compile(r"\[(?:n|编号)\]")
"""The prompt's own marker placeholder ("[n] after each sentence"), echoed instead of a number."""


_SENTENCE_END = re.compile(r"[。！？；.!?;…][”’」』）)]*(?:\s*[\[【［]\s*\d[\d\s,，、;；]*[\]】］])*")


def drop_unfinished(text: str) -> str:
    """A draft cut by the token limit without its unfinished part: everything after the last sentence end of its
    last line (citation markers after it stay with their sentence), that line whole when it ends no sentence (a list
    item cut inside its first sentence)."""
    earlier, _, last = text.rstrip().rpartition("\n")
    ends = list(_SENTENCE_END.finditer(last))
    finished = last[: ends[-1].end()] if ends else ""
    return "\n".join(part for part in (earlier.rstrip(), finished) if part)


def clean_generated(text: str) -> str:
    """Model output without Markdown emphasis, an echo of the prompt's reminder or marker placeholder, or an excerpt's
    gap mark copied between sentences (`without_copied_gaps`), and cut where it degenerates into a run of one symbol."""
    for reminder in (*REMINDER.values(), *LIST_REMINDER.values()):
        text = text.replace(reminder, "\n")
    text = COMPARISON_ECHO.sub("\n", text)
    return without_copied_gaps(_PLACEHOLDER.sub("", shown(_RUNAWAY.sub("", text)))).strip()


_LONE_ELLIPSIS = re.compile(r"[ \t]*(?<![….])…(?![….])[ \t]*")
_CLOSES_A_SENTENCE = re.compile(r"[。！？.!?；;:：\]】］)）]$")


def without_copied_gaps(text: str) -> str:
    """`text` without the ``…`` that marks left-out text in the excerpts (`rag.answering.excerpts.GAP`) where the model
    copied it at a line's start or end or between two sentences ("…大规模[1]。… * 计算资源需求：…"): a list item after it
    starts its own line. A "……" or "..." of the model's own, and one inside a sentence, stay."""
    def replace(gap: re.Match[str]) -> str:
        before, after = text[:gap.start()].rstrip(" \t"), text[gap.end():]
        if not before or before.endswith("\n") or not after.strip() or after.startswith("\n"):
            return ""
        if not _CLOSES_A_SENTENCE.search(before):
            return gap.group(0)
        if LIST_BULLET.match(after):
            return "\n"
        return " " if before[-1:].isascii() and after[:1].isascii() else ""
    return _LONE_ELLIPSIS.sub(replace, text)


def _nearest(n: int, chunk: Chunk) -> Citation:
    """A refusal's nearest source: the whole passage, as a citation of kind ``nearest`` (it supports nothing)."""
    return citation_for(n, chunk, [(chunk.start, chunk.end)], kind="nearest")
