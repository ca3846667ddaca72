"""Questions about a passage, written by the local model, for calibrating refusals without labels.

For each passage the model writes one question the passage answers and a one-sentence answer from it
(`rag_ingest.calibration` uses the question as an answerable question when the passage is in the index and
as an on-topic question the documents don't answer when it is held out, and the answer as a claim for the
citation check's semantic floor). The model's output is untrusted: a reply that doesn't parse into a
plausible question and answer is dropped. Replies are cached on disk by generator, prompt version, language
and passage text, so calibrating again (after adding documents, or with another seed) only writes what is new.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Sequence

from rag.core.language import detect_language
from rag.core.paths import cache_dir
from rag.generation.base import serves_chat
from rag.generation.chat import CHAT_STOP, eos_text, neutralise, render_chat

log = logging.getLogger(__name__)

PROMPT_VERSION = "qa-v1"
PASSAGE_CHARS = 500
"""Characters of a passage the model reads (prompt reading dominates the time: ~42 tokens/s on 2 cores)."""
MAX_TOKENS = 120
LANGUAGE_NAMES = {"zh": "Chinese (简体中文)", "en": "English"}
SYSTEM = (
    "You write reading-comprehension questions. You are given a passage from a document. Write one specific "
    "question that the passage answers, as a user who has not seen the passage would ask it: name the subject "
    "instead of saying 'the passage' or 'the text'. Then answer it in one sentence using only the passage."
)
_FIELD = re.compile(r"^\s*(?:\*\*)?(question|answer|问题|答案|回答)(?:\*\*)?\s*[:：]\s*(.*)$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[。！？；]|[.!?;](?=\s|$)")
_DEICTIC = re.compile(r"\b(the|this) (passage|text|document|article|section)\b|(本段|这段|该段|文中|本文|上文|这篇)")

Language = Literal["zh", "en"]


@dataclass(frozen=True)
class WrittenQuestion:
    """A question the model wrote about one passage, and its one-sentence answer from that passage."""

    question: str
    answer: str
    language: str


def passage_excerpt(heading: str, text: str, limit: int = PASSAGE_CHARS) -> str:
    """What the model reads: the heading path and the passage's start, cut at a sentence end near `limit`."""
    body = " ".join(text.split())
    if len(body) > limit:
        cut = max(body.rfind(mark, 0, limit) for mark in ("。", ". ", "！", "？", "! ", "? ", "；", "; "))
        body = body[: cut + 1] if cut > limit // 2 else body[:limit]
    return f"{heading}\n{body}".strip()


def build_prompt(generator: Any, excerpt: str, language: str) -> tuple[str | None, list[dict[str, str]]]:
    """The rendered prompt (None for a served chat model, which takes the messages) and the messages."""
    user = (
        f"<passage>\n{neutralise(excerpt)}\n</passage>\n\n"
        f"Write the question and the answer in {LANGUAGE_NAMES[language]}. Reply in exactly this form:\n"
        "Question: ...\nAnswer: ..."
    )
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    if serves_chat(generator):
        return None, messages
    if generator.chat_template:
        return render_chat(generator.chat_template, messages, eos_token=eos_text(generator)), messages
    return f"{SYSTEM}\n\n{user}\nQuestion:", messages


def parse_reply(reply: str, language: str) -> WrittenQuestion | None:
    """The question and answer in a reply, or None when it doesn't hold a plausible pair.

    A base model's reply continues after "Question:", so a first line without a label is the question.
    """
    found: dict[str, str] = {}
    lines = [line for line in reply.strip().splitlines() if line.strip()]
    for number, line in enumerate(lines):
        match = _FIELD.match(line)
        if match:
            key = "question" if match.group(1).lower() in ("question", "问题") else "answer"
            found.setdefault(key, match.group(2).strip())
        elif number == 0:
            found.setdefault("question", line.strip())
    question, answer = found.get("question", ""), _first_sentences(found.get("answer", ""))
    if not _plausible(question, 6, 300) or not _plausible(answer, 4, 400) or _DEICTIC.search(question.lower()):
        return None
    if _has_cjk(question) != (language == "zh"):  # a Chinese question may name English terms
        return None
    return WrittenQuestion(question, answer, language)


def _has_cjk(text: str) -> bool:
    return detect_language(text) == "zh" or any("\u3400" <= ch <= "\u9fff" for ch in text)


def _first_sentences(text: str, most: int = 300) -> str:
    """An answer cut short by the token limit, kept to the sentences that fit in `most` characters."""
    if len(text) <= most:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text[:most])]
    return text[: ends[-1]].strip() if ends else ""


def _plausible(text: str, least: int, most: int) -> bool:
    return least <= len(text) <= most and not text.startswith(("...", "…"))


class QuestionWriter:
    """Asks `generator` for a question and answer per passage; replies are cached in `cache_file`."""

    def __init__(self, generator: Any, cache_file: Path | None = None) -> None:
        self.generator = generator
        self.cache_file = cache_file if cache_file is not None else cache_dir() / "calibration" / "questions.jsonl"
        self._cache = self._load()
        self._lock = threading.Lock()

    def _key(self, excerpt: str, language: str) -> str:
        spec = getattr(self.generator, "spec", type(self.generator).__name__)
        return hashlib.sha256(f"{PROMPT_VERSION}\x00{spec}\x00{language}\x00{excerpt}".encode()).hexdigest()

    def _load(self) -> dict[str, dict[str, Any]]:
        cache: dict[str, dict[str, Any]] = {}
        try:
            lines = self.cache_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return cache
        for line in lines:
            try:
                record = json.loads(line)
                cache[record["key"]] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a line cut short by a killed run
        return cache

    def cached(self, excerpt: str, language: str) -> bool:
        return self._key(excerpt, language) in self._cache

    def write(self, excerpt: str, language: str) -> WrittenQuestion | None:
        """A question about `excerpt` in `language` (``zh`` or ``en``), or None when the reply was unusable."""
        key = self._key(excerpt, language)
        record = self._cache.get(key)
        if record is None:
            reply = self._generate(excerpt, language)
            record = {"key": key, "reply": reply}
            with self._lock:
                self._cache[key] = record
                self.cache_file.parent.mkdir(parents=True, exist_ok=True)
                with self.cache_file.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return parse_reply(record["reply"], language)

    def write_all(
        self, excerpts: Sequence[tuple[str, str]], progress: Callable[[Iterable], Iterable] | None = None
    ) -> list[WrittenQuestion | None]:
        """`write` for each ``(excerpt, language)``, in order (cached ones first cost nothing)."""
        items: Iterable = excerpts if progress is None else progress(excerpts)
        return [self.write(excerpt, language) for excerpt, language in items]

    def _generate(self, excerpt: str, language: str) -> str:
        prompt, messages = build_prompt(self.generator, excerpt, language)
        if prompt is None:
            return "".join(self.generator.stream_chat(messages, max_tokens=MAX_TOKENS, stop=CHAT_STOP))
        reply = self.generator.complete(prompt, max_tokens=MAX_TOKENS, stop=CHAT_STOP)
        return reply if self.generator.chat_template else f"Question: {reply}"


def question_language(passage_language: str, position: int, other_every: int = 3) -> str:
    """The language to ask in: the passage's own, except every `other_every`-th passage, asked in the other
    (people ask a Chinese corpus in English and the other way round)."""
    if other_every and position % other_every == other_every - 1:
        return "en" if passage_language == "zh" else "zh"
    return passage_language


__all__ = ["PROMPT_VERSION", "QuestionWriter", "WrittenQuestion", "build_prompt", "parse_reply", "passage_excerpt",
           "question_language"]
