"""A question in another language than the documents, translated into theirs before it is searched.

An English question over Chinese documents shares few words with them: the word search finds little, and the
refusal model's word measures (how many of the question's terms a passage holds, how many the documents never use)
read a question the documents answer as one they don't. The answering model translates it first (a line of a
few tokens), and the translation is searched, judged for refusal and read against the passages; the answer is
still written in the person's language.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from rag.answering.prompts import SYSTEM_PROMPT
from rag.conversation.rewrite import clean_line
from rag.core.language import Language, detect_language
from rag.core.schema import Chunk
from rag.core.text import acronym_singular, latin_names
from rag.generation.chat import generate_line, neutralise, takes_chat

ASK = {
    "zh": "先不要回答。把下面的英文问题翻译成中文问句，只输出译文。专有名词和缩写保持原样。\n{question}",
    "en": "Do not answer yet. Translate the Chinese question below into an English question; output only the "
          "translation. Keep names and acronyms as they are.\n{question}",
}
"""The request, by the documents' language. It follows the answering system prompt, so llama.cpp still holds that
prompt evaluated when the answer is read (a translation with a system prompt of its own made every answer read
the ~250-token system prompt again: +5 s p50). On the tuning part's 21 English questions this wording came back as
a usable translation 19 times; a translator's own system prompt 17, a shorter request 13."""
LANGUAGE_SAMPLE = 200
"""Passages read to decide the documents' language (evenly spaced over the index)."""


MIXED_SHARE = 0.2
"""A collection with at least this share of its passages in each language is mixed: a question is searched as asked,
since documents in its own language are as likely to answer it (a Chinese question over Chinese notes beside as many
English READMEs was translated into English and found only the READMEs)."""


def documents_language(chunks: Sequence[Chunk]) -> Language | None:
    """The language most of the passages are in (a sample of them); None for an empty index or a mixed one
    (`MIXED_SHARE`): then no question is translated."""
    if not chunks:
        return None
    step = max(1, len(chunks) // LANGUAGE_SAMPLE)
    sample = [detect_language(chunk.text) for chunk in chunks[::step]]
    chinese = sample.count("zh") / len(sample)
    if MIXED_SHARE <= chinese <= 1 - MIXED_SHARE:
        return None
    return "zh" if chinese >= 0.5 else "en"


class QuestionTranslator:
    """Asks the answering model for a question's translation; None when it can't (no chat template, no room) or
    wrote something else (an answer, the same language, runaway text)."""

    def __init__(self, generator: Any, max_tokens: int = 64, in_documents: Callable[[str], bool] = lambda name: True) -> None:
        """`in_documents`: whether the documents use a name as written (only those must survive the translation)."""
        self.generator = generator
        self.max_tokens = max_tokens
        self.in_documents = in_documents

    def usable(self) -> bool:
        return takes_chat(self.generator)

    def translate(self, question: str, target: Language) -> str | None:
        request = ASK[target].format(question=neutralise(question.strip()))
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": request}]
        raw = generate_line(self.generator, messages, self.max_tokens)
        text = clean_line(raw, question) if raw is not None else None
        if not text or detect_language(text) != target or not keeps_names(question, text, self.in_documents):
            return None
        if question.rstrip().endswith(("?", "？")) and not text.endswith(("?", "？")):
            return None  # a question that came back as a statement: usually the model's answer
        return text


_CAPITALISED = re.compile(r"(?<![\w-])[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*")


def keeps_names(question: str, translation: str, in_documents: Callable[[str], bool] = lambda name: True) -> bool:
    """Whether every name of `question` (an acronym, ``GPT-4``, or a capitalised word after the first: Longformer)
    that the documents use as written (`in_documents`) is in `translation` as it is: a translated name ("Chinchilla"
    → "香肠犬") is searched for something else. A name the documents never write in Latin letters ("Mohe Airport" over
    Chinese articles on 漠河机场) is found only translated."""
    first_word = re.match(r"\s*\S+", question)
    rest = question[first_word.end():] if first_word else question
    names = {name for name in set(latin_names(question)) | set(_CAPITALISED.findall(rest)) if in_documents(name)}
    lowered = translation.lower()
    return all(name.lower() in lowered or (acronym_singular(name) or name).lower() in lowered for name in names)
