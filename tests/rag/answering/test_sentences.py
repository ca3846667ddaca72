"""The sentence ranking both the excerpts and the extractive answer use: section headings and question kinds."""
from pathlib import Path

import pytest

from rag.answering.sentences import (
    RankedSentence, SentenceRanker, asks_for_a_list, kind_agreement, list_blocks, list_depth, question_kind,
)
from rag.retrieval.sections import SectionSpan
from rag.core.config import Config
from rag.core.schema import Hit
from rag.index.local import IndexStore
from rag.retrieval.evidence import EvidenceScorer
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder

NOTES = """# 混合精度

## 5. 混合精度训练的优势是什么？

* 训练速度更快。

## 6. 混合精度训练的挑战是什么？

* 训练更慢。
"""


@pytest.mark.parametrize(("question", "kind"), [
    ("混合精度训练有什么好处？", "benefits"), ("What are the advantages of LoRA?", "benefits"),
    ("全量微调最主要的坏处有哪些？", "drawbacks"), ("What are the challenges of RLHF?", "drawbacks"),
    ("如何进行混合精度训练？", "steps"), ("什么是 LoRA？", None), ("优缺点各有哪些？", None),
])
def test_the_kind_a_question_asks_for(question: str, kind: str | None) -> None:
    assert question_kind(question) == kind


def test_a_heading_agrees_with_the_kind_or_names_its_opposite() -> None:
    assert kind_agreement("benefits", "5. 混合精度训练的优势是什么？") == 1
    assert kind_agreement("benefits", "6. 混合精度训练的挑战是什么？") == -1
    assert kind_agreement("steps", "6. 混合精度训练的挑战是什么？") == 0  # steps have no opposite
    assert kind_agreement(None, "优势") == 0 and kind_agreement("benefits", "") == 0


def test_list_questions() -> None:
    assert asks_for_a_list("混合精度训练有什么好处？") and asks_for_a_list("What are the steps of RLHF?")
    assert not asks_for_a_list("什么是 KV cache？") and not asks_for_a_list("Who proposed BERT?")
    assert asks_for_a_list("你能列出一些法律领域的LLM吗？") and asks_for_a_list("具体分哪几步？")


def test_a_sentence_is_a_list_item_when_its_source_line_starts_with_a_bullet() -> None:
    document = "优势如下：\n1. **速度**：更快。还省电。\n  * 子项。\n正文。"
    assert list_depth(document, document.index("**速度**")) == 0  # the splitter left "1. " out of the sentence
    assert list_depth(document, document.index("还省电")) == 0  # a second sentence on the item's line
    assert list_depth(document, document.index("子项")) == 2
    assert list_depth(document, document.index("优势")) is None and list_depth(document, document.index("正文")) is None


SECTION = SectionSpan(0, 1_000, ("注意力机制的优缺点？",))


def sentences(lines: list[tuple[str, int | None, float]], passage: int = 0) -> list[RankedSentence]:
    """Ranked sentences of one passage, one per `(text, list depth, score)`, laid out in that order."""
    out, at = [], 0
    for text, depth, score in lines:
        out.append(RankedSentence(passage, at, at + len(text), text, score, SECTION, depth))
        at += len(text) + 1
    return out


NESTED = sentences([
    ("答案：", None, 0.50), ("* **优点：**", 0, 0.60), ("* 性能更好。", 2, 0.90), ("* 可以并行。", 2, 0.70),
    ("* **缺点：**", 0, 0.55), ("* 计算复杂度高。", 2, 0.88), ("* 参数更多。", 2, 0.60), ("总之很有用。", None, 0.80),
])


def test_lists_are_found_whole_and_nested() -> None:
    blocks = {tuple(s.text for s in b.items): b for b in list_blocks(NESTED)}
    whole = tuple(s.text for s in NESTED[1:7])
    assert set(blocks) == {whole, ("* 性能更好。", "* 可以并行。"), ("* 计算复杂度高。", "* 参数更多。")}
    assert blocks[whole].lead_in.text == "答案："
    assert blocks[("* 计算复杂度高。", "* 参数更多。")].lead_in.text == "* **缺点：**"
    assert blocks[("* 性能更好。", "* 可以并行。")].score == 0.90


def test_the_best_list_is_the_one_whose_lead_in_names_the_kind_asked_for(ranker: SentenceRanker) -> None:
    ranked = sorted(NESTED, key=lambda s: -s.score)
    drawbacks = ranker.best_list("注意力机制的主要缺点有哪些？", ranked)
    assert [s.text for s in drawbacks.items] == ["* 计算复杂度高。", "* 参数更多。"]  # 0.88 + 0.1 beats 0.90 - 0.1
    benefits = ranker.best_list("注意力机制有哪些好处？", ranked)
    assert [s.text for s in benefits.items] == ["* 性能更好。", "* 可以并行。"]
    traits = ranker.best_list("注意力机制有哪些特点？", ranked)  # no kind: the whole list and 优点 tie at 0.90
    assert [s.text for s in traits.items] == ["* 性能更好。", "* 可以并行。"]  # the narrower list
    assert ranker.best_list("什么是注意力机制？", ranked) is None  # not a list question
    # A list scoring well below the best sentence is not given first.
    far = sorted(sentences([("注意力机制的定义。", None, 0.99), ("* 性能更好。", 0, 0.50)]), key=lambda s: -s.score)
    assert ranker.best_list("注意力机制有哪些好处？", far) is None


@pytest.fixture
def ranker(tmp_path: Path, keyword_embedder) -> SentenceRanker:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text(NOTES, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    retriever = Retriever(IndexStore.open(tmp_path / "index"), keyword_embedder)
    return SentenceRanker(EvidenceScorer(retriever.store, retriever.query_vector), keyword_embedder.embed_passages)


def test_sentences_under_the_heading_the_question_asks_about_rank_first(ranker: SentenceRanker) -> None:
    (chunk,) = ranker.scorer.store.chunks  # both sub-sections fit one passage
    hits = [Hit(chunk, 1.0)]
    ranked = ranker.rank("混合精度训练有什么好处", hits)
    # Word for word the challenge item matches a little better (a shorter sentence holding 训练), but the
    # question asks for benefits and the other heading names them.
    assert ranked[0].section.heading == "5. 混合精度训练的优势是什么？"
    assert {s.section.heading for s in ranked} == {"5. 混合精度训练的优势是什么？", "6. 混合精度训练的挑战是什么？"}
    unweighted = SentenceRanker(ranker.scorer, ranker._embed_passages, polarity_weight=0.0)
    assert unweighted.rank("混合精度训练有什么好处", hits)[0].section.heading == "6. 混合精度训练的挑战是什么？"
    # The heading's own similarity counts too: asking about 挑战 ranks the challenge item first.
    assert ranker.rank("混合精度训练的挑战", hits)[0].section.heading == "6. 混合精度训练的挑战是什么？"
    assert all(s.is_list_item for s in ranked) and ranked[0].passage == 0


def test_a_plain_text_document_without_headings_is_headed_by_its_title_line(tmp_path: Path, keyword_embedder) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "w00.txt").write_text("漠河古莲机场\n\n漠河机场是中国位置最北的民用机场。于2006年动工。\n", encoding="utf-8")
    (tmp_path / "docs" / "notes.md").write_text(NOTES, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    store = IndexStore.open(tmp_path / "index")
    ranker = SentenceRanker(EvidenceScorer(store, Retriever(store, keyword_embedder).query_vector), keyword_embedder.embed_passages)
    article = next(c for c in store.chunks if c.doc_id == "w00.txt")
    assert ranker.heading_at(article, article.end - 3) == "漠河古莲机场"
    notes = next(c for c in store.chunks if c.doc_id == "notes.md")
    assert ranker.heading_at(notes, notes.start) == " > ".join(ranker.sections.section_at("notes.md", notes.start).heading_path)
    # The title line is never a ranked sentence; the first sentence ranks at least as high as the title would have.
    first, second = ranker.rank("古莲", [Hit(article, 1.0, {"dense": 0.5})])  # "古莲" is in the title alone
    assert (first.text, second.text) == ("漠河机场是中国位置最北的民用机场。", "于2006年动工。")
    assert first.score > second.score


def test_a_bare_label_is_no_statement() -> None:
    label, stated, enumerated = sentences([("残差连接（Residual Connection）", 0, 0.9), ("残差连接把输入加到输出上。", None, 0.8),
                                           ("BERT、RoBERTa", 0, 0.7)])
    assert label.is_label and not stated.is_label and not enumerated.is_label


def test_rank_each_takes_each_question_s_best_in_turn_without_labels(ranker: SentenceRanker) -> None:
    (chunk,) = ranker.scorer.store.chunks
    hits = [Hit(chunk, 1.0)]
    benefits, challenges = ranker.rank("混合精度训练的优势", hits), ranker.rank("混合精度训练的挑战", hits)
    from rag.answering.sentences import in_turn

    both = in_turn(ranker.rank_each(["混合精度训练的优势", "混合精度训练的挑战"], hits))
    assert [s.text for s in both[:2]] == [benefits[0].text, challenges[0].text]
    assert len({(s.passage, s.start) for s in both}) == len(both) == len([s for s in benefits if not s.is_label])


def test_the_list_naming_the_things_compared_is_given_first(ranker: SentenceRanker) -> None:
    from rag.core.comparison import comparison

    listed = sentences([("三种学习方式：", None, 0.80), ("* 零样本学习：不给示例。", 0, 0.85),
                        ("* 单样本学习：给一个示例。", 0, 0.84), ("* 少样本学习：给几个示例。", 0, 0.83)])
    other = sentences([("* 小样本微调：用少量示例微调。", 0, 0.86), ("* 数据增强。", 0, 0.5)], passage=1)
    ranked = sorted(listed + other, key=lambda s: -s.score)
    compared = comparison("零样本、单样本和少样本学习分别是什么意思？")
    block = ranker.comparing_list(compared, ranked)
    assert block is not None and [s.text for s in block.items] == [s.text for s in listed[1:]]
    assert ranker.comparing_list(comparison("梯度检查点和混合精度分别怎么省显存？"), ranked) is None  # names neither


def test_a_section_about_a_longer_name_is_not_taken_for_the_name_asked(tmp_path: Path, keyword_embedder) -> None:
    from rag.answering.sentences import LONGER_NAME_PENALTY, _about_a_longer_name

    assert _about_a_longer_name("4. 什么是QLoRA？它与LoRA相比有何改进？", frozenset({"lora"}))
    assert not _about_a_longer_name("a. LoRA (Low-Rank Adaptation)", frozenset({"lora"}))
    assert not _about_a_longer_name("4. 什么是QLoRA？", frozenset({"lora", "qlora"}))  # both asked about
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "peft.md").write_text(
        "# 微调\n\n## 4. 什么是QLoRA？\n\nQLoRA 把 LoRA 的冻结权重量化到 4 bit。\n\n## a. LoRA\n\nLoRA 训练两个低秩矩阵。\n",
        encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    retriever = Retriever(IndexStore.open(tmp_path / "index"), keyword_embedder)
    ranker = SentenceRanker(EvidenceScorer(retriever.store, retriever.query_vector), keyword_embedder.embed_passages)
    hits = [Hit(chunk, 1.0) for chunk in ranker.scorer.store.chunks]
    alone = {s.text: s.score for s in ranker.rank("什么是 LoRA？", hits)}
    compared = {s.text: s.score for s in ranker.rank("什么是 LoRA？", hits, asked_too="LoRA 和 QLoRA 有什么区别？")}
    quantized = "QLoRA 把 LoRA 的冻结权重量化到 4 bit。"
    assert compared[quantized] - alone[quantized] == pytest.approx(LONGER_NAME_PENALTY)
    assert compared["LoRA 训练两个低秩矩阵。"] == pytest.approx(alone["LoRA 训练两个低秩矩阵。"])


TABLE_NOTES = """# 词嵌入

## 静态与上下文词嵌入的区别

| 类型 | **静态词嵌入** | **上下文词嵌入** |
|  |  |  |
| **代表模型** | Word2Vec, GloVe | BERT, GPT |
| **核心思想** | 每个词只有一个固定的向量表示。 | 向量随上下文动态生成。一词多义也能区分。 |
"""


def test_a_table_row_is_read_under_its_column_headers_and_the_header_row_is_never_ranked(
    tmp_path: Path, keyword_embedder,
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "table.md").write_text(TABLE_NOTES, encoding="utf-8")
    IndexBuilder(Config(), keyword_embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    store = IndexStore.open(tmp_path / "index")
    scorer = EvidenceScorer(store, Retriever(store, keyword_embedder).query_vector)
    ranker = SentenceRanker(scorer, keyword_embedder.embed_passages)
    ranked = ranker.rank("静态词嵌入的核心思想是什么？", [Hit(chunk, 1.0) for chunk in store.chunks])
    assert not any(s.text.startswith("| 类型") for s in ranked)
    row = next(s for s in ranked if "核心思想" in s.text)
    assert row.text == "| **核心思想** | 每个词只有一个固定的向量表示。 | 向量随上下文动态生成。一词多义也能区分。 |"  # one
    assert row.readable == (
        "类型: **核心思想**; **静态词嵌入**: 每个词只有一个固定的向量表示; "
        "**上下文词嵌入**: 向量随上下文动态生成。一词多义也能区分。"
    )
