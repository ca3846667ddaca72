"""A checked answer written in the documents' language, retold in the person's, sentence by sentence.

Over English documents the packaged 1.5B model answers a Chinese question badly: it says "no answer" to most
answerable ones. Asked the question's English translation (the one that was searched), it answers, and its English
sentences are checked word for word against the English passages. Over Chinese documents an English question is
answered the same way round: drafted in Chinese from its Chinese translation and checked word for word, where an
English draft could only be checked by meaning. Each kept sentence is then translated by the same model (a line of a
few tokens, after the answering system prompt, which llama.cpp still holds evaluated; English written with the CJK
tokens masked); a translation that drops a number, name or piece of code of its sentence, or comes back in the wrong
language, is asked for once more and otherwise not used: the sentence stays in the documents' language. Citations
are the check's: they open the source sentences that support each claim.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Generator, Mapping, Sequence

from rag.answering.citations import CheckedAnswer, parse_markers, render
from rag.answering.faithfulness import denies, exact_spans, negated, says_no_answer
from rag.answering.prompts import SYSTEM_PROMPT
from rag.core.language import Language, detect_language
from rag.core.text import LIST_BULLET
from rag.generation.chat import generate_line, neutralise, takes_chat

Chat = Sequence[Mapping[str, str]]


@dataclasses.dataclass(frozen=True)
class Retelling:
    """How far a checked answer drafted in the documents' language is retold in the person's (`language`), in
    sentences: streamed after the draft of a Chinese question over English documents, from ``(0, total)`` to
    ``(total, total)``; a sentence takes the model about a second."""

    done: int
    total: int
    language: str

    @property
    def share(self) -> float:
        """The part done, 0.0–1.0 (a progress bar's value)."""
        return self.done / self.total if self.total else 1.0

    def to_json(self) -> dict[str, int | str]:
        return {"done": self.done, "total": self.total, "language": self.language}


ASK = {
    "zh": "先不要回答。把下面的英文句子翻译成中文，只输出译文。名称、数字、代码和缩写保持原样{keep}。\n{sentence}",
    "en": "Do not answer yet. Translate the following Chinese sentence into English and output only the translation. "
          "Keep names, numbers, code and abbreviations as written{keep}.\n{sentence}",
}
"""The request, by the target language (tried on the pkgdocs READMEs' Chinese questions and the bundled English ones)."""
KEEP = {"zh": "，{words} 不要翻译", "en": "; do not translate {words}"}
"""Added to the request for the Latin words of the person's question the sentence uses: without it the model turned
"burst parameter" (the person asked about "burst 参数") into "突发参数"."""
_LABEL = re.compile(r"^(?:译文|翻译|中文|Translation)\s*[：:]\s*", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:[.-][A-Za-z0-9_]+)*")
MAX_GROWTH = {"zh": 3, "en": 6}
"""A translation longer than this many times its sentence (plus a little) ran on: not used. By the target language:
an English sentence takes about 3-4 times the characters of its Chinese source."""


class AnswerTranslator:
    """Translates the sentences of a checked answer with the answering model (a chat model; see `usable`)."""

    def __init__(self, generator: Any, max_tokens: int = 160) -> None:
        self.generator = generator
        self.max_tokens = max_tokens

    def usable(self, target: Language) -> bool:
        """Whether it can translate into `target` with this model (a chat template, or a chat server)."""
        return target in ASK and takes_chat(self.generator)

    def sentence(self, text: str, target: Language, keep: Sequence[str] = (), chat: Chat = ()) -> str | None:
        """`text` in `target`, or None when the model's translation is unusable (see `acceptable`). An unusable
        translation in `chat` is asked for once more after the system prompt alone: in the answer's chat the model
        sometimes copies a marker or a name from the passages into it."""
        translation = self.attempt(text, target, keep, chat)
        if acceptable(text, translation, target, keep):
            return translation
        if chat:
            translation = self.attempt(text, target, keep)
            if acceptable(text, translation, target, keep):
                return translation
        return None

    def attempt(self, text: str, target: Language, keep: Sequence[str] = (), chat: Chat = ()) -> str:
        """The model's translation of `text` into `target` as it wrote it, usable or not. `chat`: the conversation
        that drafted `text`, which the request continues (else it follows the answering system prompt alone): llama.cpp
        reads only the request, and still holds the chat for a follow-up's rewrite. A chat server re-reads the whole
        chat for each sentence unless it caches prompts (llama-server and vLLM do)."""
        named = sorted({word for word in keep if word.lower() in _words(text)})
        keeping = KEEP[target].format(words="、".join(named)) if named else ""
        request = {"role": "user", "content": ASK[target].format(keep=keeping, sentence=neutralise(text.strip()))}
        raw = generate_line(self.generator, [*chat, request], self.max_tokens, script=target) if chat else None
        if raw is None:  # no chat, or no room left after it
            raw = generate_line(
                self.generator, [{"role": "system", "content": SYSTEM_PROMPT}, request], self.max_tokens, script=target,
            )
        text = _LABEL.sub("", (raw or "").strip())
        return LIST_BULLET.sub("", text).strip().strip("“”\"'")  # the answer's line keeps its own bullet

    @staticmethod
    def keep_words(asked: str) -> list[str]:
        """The Latin-script words of the person's question ("burst", "PyrateLimiter"): kept as they are."""
        return _LATIN_WORD.findall(asked)

    def answer(self, checked: CheckedAnswer, target: Language, asked: str = "", chat: Chat = ()) -> CheckedAnswer:
        """`checked` with each kept sentence (or the source sentence it is spelled out as) in `target` where the
        translation is usable; markers, lines and citations as they were. `asked`: the person's question; the
        Latin-script words it uses ("burst 参数") stay as they are in the translation too. `chat`: the conversation
        that drafted the answer (see `attempt`)."""
        steps = self.retell(checked, target, asked, chat)
        while True:
            try:
                next(steps)
            except StopIteration as finished:
                return finished.value

    def retell(
        self, checked: CheckedAnswer, target: Language, asked: str = "", chat: Chat = (),
    ) -> Generator[Retelling, None, CheckedAnswer]:
        """`answer`, yielding how far it has got (`Retelling`, in sentences) from ``(0, n)`` to ``(n, n)``."""
        keep = self.keep_words(asked)
        total = sum(sentence.status != "removed" for sentence in checked.sentences)
        done = 0
        yield Retelling(done, total, target)
        retold = []
        for sentence in checked.sentences:
            if sentence.status != "removed":
                translation = self.sentence(sentence.spelled_out or sentence.text, target, keep, chat)
                if translation is not None:
                    sentence = dataclasses.replace(sentence, text=translation, spelled_out="")
                done += 1
                yield Retelling(done, total, target)
            retold.append(sentence)
        return CheckedAnswer(render(retold, target), tuple(retold), checked.citations)


def acceptable(source: str, translation: str, target: Language, keep: Sequence[str] = ()) -> bool:
    """Whether `translation` of `source` can be shown: in `target`, of a sensible length, no "no answer" and no
    markers, a negation where `source` denies something, and every number, name, formula and piece of code of
    `source`, and every word of `keep` that `source` uses, in it as written (case aside; whole, so "5" is not "50")."""
    if not translation or detect_language(translation) != target or says_no_answer(translation):
        return False
    if len(translation) > MAX_GROWTH[target] * len(source) + 20 or parse_markers(translation)[1]:
        return False
    if denies(source) and not negated(translation):
        return False  # "It is not thread-safe." must not come back as "它是线程安全的。"
    words = _words(source)
    kept = [word for word in keep if word.lower() in words]
    plural = target == "en"  # "GPU" of a Chinese sentence may come back as "GPUs"
    return all(_holds(translation, _as_written(source, span), plural) for span in [*exact_spans(source), *kept])


def _as_written(source: str, span: str) -> str:
    """`span` with the Latin letters and digits it runs into in `source` ("7" of "7B模型" is "7B")."""
    match = re.search(rf"[A-Za-z0-9]*{re.escape(span)}[A-Za-z0-9]*", source)
    return match.group(0) if match else span


def _holds(text: str, span: str, plural: bool = False) -> bool:
    """Whether `span` occurs in `text` (case aside) not run into a longer Latin word or number (`plural`: but for an
    English plural ending)."""
    ending = "(?:e?s)?" if plural and span[-1:].isalpha() else ""
    pattern = rf"(?<![A-Za-z0-9]){re.escape(span)}{ending}(?![A-Za-z0-9])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _words(text: str) -> set[str]:
    return {word.lower() for word in _LATIN_WORD.findall(text)}
