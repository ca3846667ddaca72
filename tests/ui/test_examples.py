"""Example questions: curated ones for the bundled corpus, question headings for other documents."""
from __future__ import annotations

from rag.core.paths import default_corpus_files
from rag.core.schema import Chunk
from rag_ui.examples import BUNDLED_CORPUS_EXAMPLES, example_questions


def _chunk(doc: str, text: str, heading: tuple[str, ...] = (), **meta) -> Chunk:
    return Chunk(f"{doc}-{len(text)}", doc, text, 0, len(text), heading, meta)


def test_bundled_corpus_gets_the_curated_questions() -> None:
    chunks = [_chunk(file.name, "x") for file in default_corpus_files()] + [_chunk("mine.md", "y")]
    assert example_questions(chunks) == list(BUNDLED_CORPUS_EXAMPLES)


def test_other_documents_offer_their_question_headings() -> None:
    chunks = [
        _chunk("a.md", "只有问题", ("FAQ", "★★★★☆ **7. 这个问题没有答案？**"), question_only=True),
        _chunk("a.md", "## 1. 什么是 LoRA？\n\nLoRA 是……\n\n## 结论\n\n好。", ("训练技巧",)),
        _chunk("b.md", "答案在这里。", ("FAQ", "2. How does BM25 rank passages?")),
        _chunk("b.md", "again", ("FAQ", "2. How does BM25 rank passages?")),
    ]
    assert example_questions(chunks) == ["什么是 LoRA？", "How does BM25 rank passages?"]
    assert example_questions(chunks, limit=1) == ["什么是 LoRA？"]
