"""The citation check scored as a classifier of labelled answer sentences, by hand."""
from rag.answering.citations import CitationChecker
from rag.core.schema import Chunk
from rag_eval.support_check import LabelledSentence, accepted, draft_sentences, error_rates

PASSAGE = "混合精度训练的优势：半精度浮点数的计算速度比单精度浮点数快。半精度占用的内存更少。"
OTHER = "LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。"
CHUNKS = {"mp": Chunk("mp", "mp.md", PASSAGE, 0, len(PASSAGE)), "lora": Chunk("lora", "lora.md", OTHER, 0, len(OTHER))}


def item(sentence: str, cited: str, right: bool, kind: str = "draft") -> LabelledSentence:
    return LabelledSentence(sentence[:8], "混合精度训练有什么好处？", sentence, (cited,), right, kind, "fit")


ITEMS = [
    item("半精度浮点数的计算速度比单精度浮点数快", "mp", True),
    item("半精度占用的内存更少", "mp", True),
    item("半精度浮点数的计算速度比单精度浮点数快", "lora", False, "wrong passage"),
    item("这是一项非常重要而且广泛使用的技术", "mp", False, "filler"),
    item("LoRA 只训练很少的参数", "lora", True),
]


def test_a_sentence_is_accepted_only_with_its_own_citation() -> None:
    checker = CitationChecker()
    assert [accepted(checker, i, CHUNKS) for i in ITEMS] == [True, True, False, False, True]


def test_error_rates_by_hand() -> None:
    strict = CitationChecker(min_support=0.99)  # demands every word verbatim: a right paraphrase is rejected
    assert error_rates(CitationChecker(), ITEMS, CHUNKS) == {
        "right": 3.0, "wrong": 2.0, "false_accepts": 0.0, "false_rejects": 0.0, "false_accept_rate": 0.0, "false_reject_rate": 0.0,
    }
    rates = error_rates(strict, [*ITEMS, item("半精度训练计算更快", "mp", True)], CHUNKS)
    assert rates["false_rejects"] == 1.0 and rates["false_reject_rate"] == 0.25


def test_draft_sentences_come_from_the_raw_draft_with_the_chunks_they_cite() -> None:
    record = {"id": "q1", "mode": "llm", "question": "好处？", "raw": "速度更快[1]。显存更少[2]。没有标记的句子。",
              "hits": [{"chunk_id": "mp"}, {"chunk_id": "lora"}]}
    items = draft_sentences([record, {**record, "mode": "extractive"}])
    assert [(i["sentence"], i["cited"]) for i in items] == [("速度更快。", ["mp"]), ("显存更少。", ["lora"])]


def test_the_verifier_rates_count_wrong_sentences_kept_and_right_ones_dropped() -> None:
    from rag_eval.support_check import LabelledSentence
    from rag_eval.support_verifier import rates

    def item(right: bool) -> LabelledSentence:
        return LabelledSentence("id", "q", "s", ("c",), right, "draft", "fit")

    items = [item(True), item(True), item(False), item(False), item(False), item(False)]
    assert rates(items, [True, False, True, False, False, False]) == (0.25, 0.5)
