"""select_excerpts: what the LLM reads, checked by hand on two small passages."""
from __future__ import annotations

from rag.answering.excerpts import GAP, select_excerpts
from rag.core.schema import Chunk, Hit


def passage(chunk_id: str, offset: int, sentences: list[str], heading: tuple[str, ...]) -> tuple[Chunk, list[tuple[int, int]]]:
    """A chunk at `offset` of its document made of `sentences`, and each sentence's span in the document."""
    spans, at = [], offset
    for sentence in sentences:
        spans.append((at, at + len(sentence)))
        at += len(sentence)
    return Chunk(chunk_id, "d-" + chunk_id, "".join(sentences), offset, at, heading), spans


A, B, C, D = "LoRA 冻结原始权重。", "它只训练低秩矩阵。", "训练成本因此很低。", "与此无关的一句话。"  # 12, 9, 9, 9 chars
E, F = "QLoRA 把权重量化到 4 位。", "显存占用更少。"  # 17, 7 chars
FIRST, FIRST_SPANS = passage("c1", 100, [A, B, C, D], ("LoRA", "原理"))
SECOND, SECOND_SPANS = passage("c2", 0, [E, F], ("QLoRA",))
TABLE = Chunk("c3", "d3", "| a | b |\n|---|---|\n| 1 | 2 |", 0, 29, ("表格",))
SPANS = {"c1": FIRST_SPANS, "c2": SECOND_SPANS, "c3": []}
SIMILARITY = {"c1": [0.90, 0.70, 0.60, 0.10], "c2": [0.85, 0.50], "c3": []}
COST = len(GAP)


def scorer(similarity: dict[str, list[float]], spans: dict[str, list[tuple[int, int]]] = SPANS):
    """A sentence-scores function with similarities fixed per sentence (what the evidence model would say)."""
    return lambda question, chunk: [(s, e, sim) for (s, e), sim in zip(spans[chunk.id], similarity[chunk.id])]


scores = scorer(SIMILARITY)


def hits(*chunks: Chunk) -> list[Hit]:
    return [Hit(chunk, 1.0, {"dense": 0.5}) for chunk in chunks]


def test_best_sentences_first_each_with_its_next_sentence_in_document_order() -> None:
    # Ranked: A (0.90+0.03), E (0.85+0.015), B, C, F, D. A brings B, E brings F; then C no longer fits.
    budget = len(A) + len(B) + len(E) + len(F) + 4 * COST
    excerpts = select_excerpts("LoRA 和 QLoRA", hits(FIRST, SECOND), scores, budget_chars=budget)
    assert [(e.number, e.heading, e.text) for e in excerpts] == [(1, "原理", A + B), (2, "QLoRA", E + F)]


def test_the_budget_is_never_exceeded_and_a_large_one_shows_everything() -> None:
    for budget in range(0, 120, 3):
        excerpts = select_excerpts("q", hits(FIRST, SECOND), scores, budget_chars=budget)
        assert sum(len(e.text) for e in excerpts) <= budget
    everything = select_excerpts("q", hits(FIRST, SECOND), scores, budget_chars=1000)
    assert [e.text for e in everything] == [FIRST.text, SECOND.text]


def test_a_gap_marks_text_left_out_between_chosen_sentences() -> None:
    # B and C are not evidence sentences (say, bare questions): only A and D are offered.
    pick = scorer({"c1": [0.90, 0.80]}, {"c1": [FIRST_SPANS[0], FIRST_SPANS[3]]})
    (excerpt,) = select_excerpts("q", hits(FIRST), pick, budget_chars=len(A) + len(D) + 2 * COST)
    assert excerpt.text == A + GAP + D


def test_a_passage_with_nothing_that_fits_is_left_out_and_numbers_are_kept() -> None:
    # E fits (passage 2 ranks higher on similarity), then nothing of passage 1 does: it is shown as [2] alone.
    pick = scorer({"c1": [0.2, 0.1, 0.1, 0.1], "c2": [0.85, 0.5]})
    excerpts = select_excerpts("q", hits(FIRST, SECOND), pick, budget_chars=len(E) + COST + 5)
    assert [(e.number, e.text) for e in excerpts] == [(2, E)]


def test_a_passage_without_evidence_sentences_is_offered_whole() -> None:
    excerpts = select_excerpts("q", hits(TABLE), scores, budget_chars=100)
    assert [(e.number, e.text) for e in excerpts] == [(1, TABLE.text)]
    assert select_excerpts("q", hits(TABLE), scores, budget_chars=10) == []


def test_a_sentence_announcing_a_list_brings_its_first_items() -> None:
    lead_in, items = "优势主要体现在以下几个方面：", ["* 速度更快。", "* 显存更少。", "* 成本更低。", "* 第四项。"]
    chunk, spans = passage("c4", 0, [lead_in, *items], ("优势",))
    # The other passage's sentences score higher than the items, yet the list comes first.
    pick = scorer({"c4": [0.9, 0.1, 0.1, 0.1, 0.1], "c2": [0.5, 0.5]}, {"c4": spans, "c2": SECOND_SPANS})
    budget = len(lead_in) + 3 * len(items[0]) + 4 * COST
    excerpts = select_excerpts("q", hits(chunk, SECOND), pick, budget_chars=budget)
    assert [(e.number, e.text) for e in excerpts] == [(1, lead_in + "".join(items[:3]))]
