"""select_excerpts: what the LLM reads, checked by hand on small passages with rankings fixed by the test."""
from __future__ import annotations

from rag.answering.excerpts import GAP, LATIN_CHAR_COST, SHORT_GAP, reading_cost, select_excerpts
from rag.answering.sentences import ListBlock, RankedSentence
from rag.core.schema import Chunk, Hit
from rag.retrieval.sections import SectionSpan

SECTION = SectionSpan(0, 10_000, ("LoRA", "原理"))


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
COST = len(GAP)


def ranked(scores: dict[int, list[float]], chunks: list[tuple[Chunk, list[tuple[int, int]]]],
           sections: dict[tuple[int, int], SectionSpan] | None = None) -> list[RankedSentence]:
    """Every sentence of the numbered passages with the score the test gives it, best first."""
    out = []
    for index, (chunk, spans) in enumerate(chunks):
        for (start, end), score in zip(spans, scores[index]):
            section = (sections or {}).get((start, end), SectionSpan(0, 10_000, chunk.heading_path))
            out.append(RankedSentence(index, start, end, chunk.text[start - chunk.start:end - chunk.start], score, section))
    return sorted(out, key=lambda s: -s.score)


def hits(*chunks: Chunk) -> list[Hit]:
    return [Hit(chunk, 1.0, {"dense": 0.5}) for chunk in chunks]


TWO = [(FIRST, FIRST_SPANS), (SECOND, SECOND_SPANS)]
SCORES = {0: [0.93, 0.70, 0.60, 0.10], 1: [0.865, 0.50]}


def test_best_sentences_first_each_with_its_next_sentence_in_document_order() -> None:
    # Ranked: A, E, B, C, F, D. A brings B, E brings F; then C no longer fits.
    budget = len(A) + len(B) + len(E) + len(F) + 4 * COST
    excerpts = select_excerpts(ranked(SCORES, TWO), hits(FIRST, SECOND), budget)
    assert [(e.number, e.heading, e.text) for e in excerpts] == [(1, "原理", A + B), (2, "QLoRA", E + F)]
    assert excerpts[0].spans == tuple(FIRST_SPANS[:2])


def test_a_short_sentence_between_two_chosen_ones_is_shown_too() -> None:
    # X and Z are chosen (X's next sentence Y did not fit); Y is short, so it is shown in place of the "…".
    x, y, z = "许国佐号拙庵。", "揭阳县榕城（今榕城区）人。", "明末官员。"
    chunk, spans = passage("bio", 0, [x, y, z], ("许国佐",))
    budget = len(x) + len(z) + 2 * COST
    (excerpt,) = select_excerpts(ranked({0: [0.9, 0.1, 0.6]}, [(chunk, spans)]), hits(chunk), budget)
    assert excerpt.text == x + y + z and excerpt.spans == tuple(spans)
    assert len(excerpt.text) <= budget + SHORT_GAP
    without = select_excerpts(ranked({0: [0.9, 0.1, 0.6]}, [(chunk, spans)]), hits(chunk), budget - 1)
    assert [e.text for e in without] == [x]  # nothing to fill: Z did not fit either


def test_the_budget_is_never_exceeded_but_for_short_gaps_and_a_large_one_shows_everything() -> None:
    for budget in range(0, 120, 3):
        excerpts = select_excerpts(ranked(SCORES, TWO), hits(FIRST, SECOND), budget)
        assert sum(len(e.text) for e in excerpts) <= budget + SHORT_GAP
    everything = select_excerpts(ranked(SCORES, TWO), hits(FIRST, SECOND), 1000)
    assert [e.text for e in everything] == [FIRST.text, SECOND.text]


def test_a_gap_marks_text_left_out_between_chosen_sentences() -> None:
    # B and C are not evidence sentences (say, bare questions): only A and D are offered.
    only = [(FIRST, [FIRST_SPANS[0], FIRST_SPANS[3]])]
    (excerpt,) = select_excerpts(ranked({0: [0.9, 0.8]}, only), hits(FIRST), len(A) + len(D) + 2 * COST)
    assert excerpt.text == A + GAP + D


def test_a_passage_with_nothing_that_fits_is_left_out_and_numbers_are_kept() -> None:
    # E fits (passage 2 ranks higher), then nothing of passage 1 does: it is shown as [2] alone.
    excerpts = select_excerpts(ranked({0: [0.2, 0.1, 0.1, 0.1], 1: [0.85, 0.5]}, TWO), hits(FIRST, SECOND), len(E) + COST + 5)
    assert [(e.number, e.text) for e in excerpts] == [(2, E)]


def test_a_sentence_announcing_a_list_brings_its_first_items_and_never_comes_alone() -> None:
    lead_in, items = "优势主要体现在以下几个方面：", ["* 速度更快。", "* 显存更少。", "* 成本更低。", "* 第四项。"]
    chunk, spans = passage("c4", 0, [lead_in, *items], ("优势",))
    # The other passage's sentences score higher than the items, yet the list comes first.
    order = ranked({0: [0.9, 0.1, 0.1, 0.1, 0.1], 1: [0.5, 0.5]}, [(chunk, spans), (SECOND, SECOND_SPANS)])
    budget = len(lead_in) + 3 * len(items[0]) + 4 * COST
    excerpts = select_excerpts(order, hits(chunk, SECOND), budget)
    assert [(e.number, e.text) for e in excerpts] == [(1, lead_in + "".join(items[:3]))]
    # With room for the lead-in but not for its first item, the lead-in is left out.
    excerpts = select_excerpts(order, hits(chunk, SECOND), len(lead_in) + COST + 3)
    assert all(lead_in not in e.text for e in excerpts)


def test_a_list_question_gets_the_whole_list_of_the_best_section_only() -> None:
    benefits = SectionSpan(0, 40, ("训练", "优势是什么？"))
    challenges = SectionSpan(40, 80, ("训练", "挑战是什么？"))
    good = ["* 速度更快。", "* 显存更少。", "* 成本更低。"]
    bad = ["* 精度损失。", "* 更复杂。", "* 不稳定。"]
    chunk, spans = passage("c5", 0, [*good, *bad], ("训练",))
    sections = {span: (benefits if i < 3 else challenges) for i, span in enumerate(spans)}
    # The second benefit ranks first, the challenges come next: the whole benefit list, then only one challenge
    # (with its next sentence), not the whole counterpart list.
    order = ranked({0: [0.5, 0.9, 0.4, 0.8, 0.7, 0.6]}, [(chunk, spans)], sections)
    (excerpt,) = select_excerpts(order, hits(chunk), 1000, whole_lists=True)
    assert excerpt.heading == "优势是什么？"
    assert excerpt.text.startswith("".join(good)) and "\n挑战是什么？：" in excerpt.text
    (plain,) = select_excerpts(order, hits(chunk), sum(map(len, good[1:])) + 2 * COST)  # not a list question
    assert plain.text == "".join(good[1:])


def test_a_chosen_sentence_does_not_bring_the_first_sentence_of_the_next_section() -> None:
    # A ends its section and B opens another (挑战 after 优势): A comes without B, leaving room for E and F.
    other = SectionSpan(0, 10_000, ("LoRA", "局限"))
    sections = {FIRST_SPANS[1]: other, FIRST_SPANS[2]: other, FIRST_SPANS[3]: other}
    scores = {0: [0.93, 0.01, 0.01, 0.01], 1: [0.9, 0.8]}
    budget = len(A) + len(E) + len(F) + 3 * COST
    excerpts = select_excerpts(ranked(scores, TWO, sections), hits(FIRST, SECOND), budget)
    assert [e.text for e in excerpts] == [A, E + F]


def test_a_given_list_comes_first_and_whole_with_its_lead_in() -> None:
    lead_in, items = "作用包括：", ["1. 加速训练。", "2. 扩展性。", "3. 容错。"]
    chunk, spans = passage("c6", 0, ["并行计算很有用。", lead_in, *items], ("并行",))
    # The items rank below the other passage's sentences; given as the best list, they are read first.
    order = ranked({0: [0.9, 0.2, 0.3, 0.2, 0.1], 1: [0.8, 0.7]}, [(chunk, spans), (SECOND, SECOND_SPANS)])
    block = ListBlock(tuple(s for s in order if s.text in items), next(s for s in order if s.text == lead_in))
    budget = len(lead_in) + sum(map(len, items)) + 4 * COST + 2
    (excerpt,) = select_excerpts(order, hits(chunk, SECOND), budget, whole_lists=True, first_list=block)
    assert excerpt.text == lead_in + "".join(items)
    without = select_excerpts(order, hits(chunk, SECOND), budget, whole_lists=True)
    assert all(items[2] not in e.text for e in without)


def test_bold_and_code_markers_are_left_out_and_do_not_count_against_the_budget() -> None:
    marked = ["* **提高速度**：半精度更快。", "`torch.cuda.amp` 自动完成。"]
    chunk, spans = passage("c7", 0, marked, ("**优势**",))
    plain = ["* 提高速度：半精度更快。", "torch.cuda.amp 自动完成。"]
    (excerpt,) = select_excerpts(ranked({0: [0.9, 0.8]}, [(chunk, spans)]), hits(chunk), sum(map(len, plain)) + 2 * COST)
    assert excerpt.text == "".join(plain) and excerpt.heading == "优势"
    assert excerpt.spans == tuple(spans)  # the spans still point at the source text, markers and all


def test_english_passages_are_read_at_about_three_times_as_many_characters() -> None:
    assert reading_cost("zh")("混合精度训练节省显存。") == 11
    assert reading_cost("en")("Mixed precision saves memory.") == LATIN_CHAR_COST * 29
    words = [f"Sentence {i} says one thing. " for i in range(40)]
    chunk, spans = passage("en", 0, words, ("Guide",))
    order = ranked({0: [1.0 - i / 100 for i in range(40)]}, [(chunk, spans)])
    (chinese_count,) = select_excerpts(order, hits(chunk), 100)
    (english_count,) = select_excerpts(order, hits(chunk), 100, cost=reading_cost("en"))
    assert len(chinese_count.text) <= 100 and 2.5 * len(chinese_count.text) < len(english_count.text) <= 100 / LATIN_CHAR_COST
