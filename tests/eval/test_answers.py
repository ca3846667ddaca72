"""Answer metrics on answers built by hand: each figure can be checked by counting."""
from __future__ import annotations

from rag.answering.answerer import Answer, Reading
from rag.answering.citations import Citation, Span
from rag.answering.excerpts import Excerpt
from rag.core.schema import Chunk, Hit
from rag_eval.answers import AnswerEvaluator, asking
from rag_eval.datasets import EvalQuestion

PASSAGE = "混合精度训练的优势：**半精度**计算更快。显存占用减少一半。"
CHUNK = Chunk("c1", "mp.md", PASSAGE, 0, len(PASSAGE), ("混合精度",))
QUESTIONS = [
    EvalQuestion("q1", "混合精度有什么好处？", gold_substrings=("**半精度**计算更快",), key_facts=("更快", "一半")),
    EvalQuestion("q2", "显存能省多少？", gold_substrings=("减少一半",)),
    EvalQuestion("u1", "今天天气如何？", answerable=False),
]


def answer(question: str, text: str, spans: tuple[Span, ...] = (), abstained: bool = False) -> Answer:
    citations = [Citation(1, "c1", "mp.md", "混合精度", spans[0].text, spans[0].start, spans[0].end, spans)] if spans else []
    return Answer(question, text, citations, abstained, "llm", [Hit(CHUNK, 1.0)], "zh")


def reading(text: str) -> Reading:
    return Reading((Excerpt(1, "混合精度", text),), (Hit(CHUNK, 1.0),))


def test_answer_metrics_count_what_a_person_would() -> None:
    start = PASSAGE.index("**半精度**")
    faster = Span(start, start + len("**半精度**计算更快。"), "**半精度**计算更快。")
    assert PASSAGE[faster.start:faster.end] == faster.text
    replies = {
        # Read the gold (shown without bold markers) and cited a short span holding it; states 1 of 2 key facts.
        "混合精度有什么好处？": (answer("混合精度有什么好处？", "半精度计算更快[1]。", (faster,)), reading("半精度计算更快。")),
        # Read text without the gold, answered anyway, citing a span without it.
        "显存能省多少？": (answer("显存能省多少？", "半精度计算更快[1]。", (faster,)), reading("半精度计算更快。")),
        # Refused before reading: no reading to score.
        "今天天气如何？": (answer("今天天气如何？", "资料中没有答案。", abstained=True), None),
    }
    metrics, records = AnswerEvaluator(QUESTIONS)(lambda q: replies[q])
    assert (metrics["answered"], metrics["answerable"], metrics["refused"], metrics["unanswerable"]) == (2, 2, 1, 1)
    assert (metrics["read"], metrics["read_gold"], metrics["read_gold_share"]) == (2, 1, 0.5)
    assert (metrics["short_span_gold"], metrics["with_gold"]) == (1, 2)  # q2's cited span lacks its gold
    assert metrics["key_fact_recall"] == 0.5 and metrics["key_fact_questions"] == 1
    assert [r.get("read_gold") for r in records] == [True, False, None]


def test_asking_returns_the_answer_and_the_last_reading_of_a_stream() -> None:
    first, last = reading("第一次。"), reading("第二次。")
    final = answer("q", "答案[1]。")
    ask = asking(lambda question: iter([first, last, final]))
    assert ask("q") == (final, last)


def test_the_parts_of_a_comparison_s_gold_are_counted_where_a_cited_span_holds_them() -> None:
    start = PASSAGE.index("**半精度**")
    faster = Span(start, start + len("**半精度**计算更快。"), "**半精度**计算更快。")
    both = EvalQuestion("m1", "速度和显存分别怎样？", gold_substrings=("计算更快", "减少一半"))
    refused = EvalQuestion("m2", "速度和显存各有什么变化？", gold_substrings=("计算更快", "减少一半"))
    replies = {
        "速度和显存分别怎样？": (answer("速度和显存分别怎样？", "半精度计算更快[1]。", (faster,)), None),  # one part of two
        "速度和显存各有什么变化？": (answer("速度和显存各有什么变化？", "资料中没有答案。", abstained=True), None),
    }
    metrics, records = AnswerEvaluator([both, refused, *QUESTIONS[1:2]])(
        lambda q: replies.get(q) or (answer(q, "显存占用减少一半[1]。"), None))
    assert (metrics["parts_cited"], metrics["parts"], metrics["cited_parts_share"]) == (1, 4, 0.25)
    assert records[0]["cited_parts"] == [1, 2] and "cited_parts" not in records[2]  # one gold part: not a comparison
