"""Which language a question or answer is in (``zh`` or ``en``): it picks the prompt and the messages."""
from __future__ import annotations

import re
from typing import Literal

Language = Literal["zh", "en"]

LANGUAGE_NAMES: dict[str, str] = {"zh": "Chinese", "en": "English"}
"""Each language's name in English, as front ends show it ("retelling the answer in Chinese")."""

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> Language:
    """``"zh"`` when the text has at least as many CJK characters as Latin words, else ``"en"``.

    A CJK character carries about as much as a short English word, so a Chinese question with
    English terms (``KV cache 是什么？``, ``SemanticChunker 语义分块``) is still Chinese; text
    without CJK characters counts as English.
    """
    cjk = len(_CJK.findall(text))
    if cjk == 0:
        return "en"
    return "zh" if cjk >= len(_LATIN_WORD.findall(text)) else "en"


def has_cjk(text: str) -> bool:
    """Whether `text` holds a single CJK character."""
    return _CJK.search(text) is not None


def written_in(text: str, language: Language) -> bool:
    """Whether `text` is in `language` throughout enough to need no translation into it: Chinese as
    `detect_language` says; English without a single CJK character ("burst parameter of the token bucket有啥用？" is
    not English yet)."""
    if language == "en":
        return not has_cjk(text)
    return detect_language(text) == language
