"""Example questions shown on first load, so a newcomer sees the app answer in one click."""
from __future__ import annotations

import re
from typing import Sequence

from rag.core.errors import RagError
from rag.core.paths import default_corpus_files
from rag.core.schema import Chunk

BUNDLED_CORPUS_EXAMPLES = (
    "混合精度训练有什么好处？",
    "LoRA 的原理是什么？",
    "What is QLoRA?",
)
"""Questions the bundled corpus answers, in Chinese and English (checked by hand in both answer modes)."""
_QUESTION = re.compile(r"[?？]\s*$")
_HEADING_LINE = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.M)
_DECORATION = re.compile(r"^[\s★☆*#]*(\d+[.、)]\s*)?|\*+")


def example_questions(chunks: Sequence[Chunk], limit: int = 3) -> list[str]:
    """The curated questions for the bundled corpus; for other documents, their question-style headings
    (``## 什么是 LoRA？``), taken from passages that hold an answer (never from bare questions)."""
    doc_ids = {chunk.doc_id for chunk in chunks}
    try:
        bundled = {file.name for file in default_corpus_files()}
    except RagError:
        bundled = set()
    if bundled and bundled <= doc_ids:
        return list(BUNDLED_CORPUS_EXAMPLES[:limit])
    found: list[str] = []
    for chunk in chunks:
        if chunk.meta.get("question_only"):
            continue
        headings = list(chunk.heading_path[-1:]) + _HEADING_LINE.findall(chunk.text)
        for heading in headings:
            question = _DECORATION.sub("", heading).strip()
            if _QUESTION.search(question) and question not in found:
                found.append(question)
            if len(found) == limit:
                return found
    return found
