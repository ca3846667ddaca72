"""How extractive answers are rendered, and how code lines are quoted (the rest of their choice of sentences is
exercised through the answerer's tests)."""
from pathlib import Path

import pytest

from rag.answering.extractive import ExtractedSentence, ExtractiveAnswerer, clean_sentence, code_line
from rag.answering.sentences import SentenceRanker
from rag.core.config import Config
from rag.core.schema import Hit
from rag.index.local import IndexStore
from rag.retrieval.evidence import EvidenceScorer
from rag.retrieval.retriever import Retriever
from rag_ingest.builder import IndexBuilder


def sentence(number: int, text: str, list_item: bool = False) -> ExtractedSentence:
    return ExtractedSentence(number, 0, len(text), text, 1.0, list_item)


def test_sentences_are_run_on_with_their_markers_before_the_closing_punctuation() -> None:
    chosen = [sentence(1, "它们允许模型学习相对位置关系"), sentence(1, "常数 10000 用于防止函数饱和。")]
    # A sentence the source ended with a line break gets a full stop, or it would read as one with the next.
    assert ExtractiveAnswerer.render(chosen) == "它们允许模型学习相对位置关系[1]。常数 10000 用于防止函数饱和[1]。"
    english = [sentence(2, "Dropout zeroes activations"), sentence(3, "It reduces overfitting.")]
    assert ExtractiveAnswerer.render(english, "en") == "Dropout zeroes activations [2]. It reduces overfitting [3]."


def test_a_whole_list_is_one_item_per_line() -> None:
    items = [sentence(1, "提高计算速度：半精度更快", True), sentence(1, "降低内存占用：显存更少。", True)]
    assert ExtractiveAnswerer.render(items) == "- 提高计算速度：半精度更快[1]\n- 降低内存占用：显存更少[1]。"


def test_western_sentences_keep_a_space_between_them_in_a_chinese_answer() -> None:
    chosen = [sentence(1, "It reads the file"), sentence(1, "Values are strings."), sentence(2, "中文句子。")]
    assert ExtractiveAnswerer.render(chosen, "zh") == "It reads the file[1]. Values are strings[1].中文句子[2]。"


def test_a_quoted_sentence_loses_its_markup_but_not_its_code() -> None:
    assert clean_sentence("> Rates must be **ordered**: <em>first</em> `__init__`") == "Rates must be ordered: first `__init__`"
    assert clean_sentence("- **Not override** existing variables (`override=False`).") == (
        "Not override existing variables (`override=False`)."
    )
    # A hard-wrapped sentence is one line: its source's line breaks (and quote marks) become spaces.
    assert clean_sentence("> Estimates can be off,\n> so prefer try_acquire.") == "Estimates can be off, so prefer try_acquire."
    # a Chinese one is read without them: "梯\n度" is the word 梯度
    wrapped = "为了避免梯度下溢，训练时通常还会配合损失缩放和其他数值稳定技巧一起使用，尤其是在梯\n度很小的时候。"
    assert clean_sentence(wrapped) == wrapped.replace("\n", "")


def test_a_code_line_is_quoted_as_code_unless_it_is_a_piece_of_a_statement() -> None:
    assert code_line("python -m threadpoolctl -i numpy") == "`python -m threadpoolctl -i numpy`"
    assert code_line("x = `y`") == "`` x = `y` ``"
    assert code_line(">>> xmltodict.parse(GzipFile('dump.xml.gz'),") is None  # the call goes on below
    assert code_line("    }") is None and code_line("```python") is None
    assert code_line('**values(".env.shared"),  # shared variables') is None  # a comment does not end the statement
    assert code_line("UnsupportedFormatError  # not supported") == "`UnsupportedFormatError  # not supported`"


README = """# xmlkit

xmlkit parses XML documents into dictionaries.

```python
>>> xmlkit.parse(doc)
<many>more elements</many>
```

Install xmlkit with the command below.

```
pip install xmlkit
```
"""


def _extractive_over(
    tmp_path: Path, embedder, name: str, text: str, max_sentences: int,
) -> tuple[ExtractiveAnswerer, list[Hit]]:
    """An extractive answerer over one document, and every passage of it as a hit."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    IndexBuilder(Config(), embedder).build([tmp_path / "docs"], tmp_path / "index", progress=False)
    retriever = Retriever(IndexStore.open(tmp_path / "index"), embedder)
    ranker = SentenceRanker(EvidenceScorer(retriever.store, retriever.query_vector), embedder.embed_passages)
    return ExtractiveAnswerer(ranker, max_sentences=max_sentences), [Hit(chunk, 1.0) for chunk in retriever.store.chunks]


@pytest.fixture
def answerer(tmp_path: Path, keyword_embedder) -> tuple[ExtractiveAnswerer, list[Hit]]:
    return _extractive_over(tmp_path, keyword_embedder, "readme.md", README, max_sentences=5)


def test_code_lines_are_quoted_as_code_when_the_question_asks_how_or_names_them(answerer) -> None:
    extractive, hits = answerer
    how = [s.text for s in extractive.extract("How do I install xmlkit with pip?", hits)]
    assert "`pip install xmlkit`" in how
    # Not a how-question, and each code line holds only one word of it (xmlkit, elements): prose only.
    what = [s.text for s in extractive.extract("Which elements does xmlkit read?", hits)]
    assert what and all(not text.startswith("`") for text in what)
    assert "xmlkit parses XML documents into dictionaries." in what


TERMS = """# 术语

## 采样温度（Temperature）

控制生成文本时的随机性，温度越低结果越确定，温度越高结果越多样。

## 常见任务

- 机器翻译
- 文本摘要
- 问答系统
"""


@pytest.fixture
def terms(tmp_path: Path, keyword_embedder) -> tuple[ExtractiveAnswerer, list[Hit]]:
    return _extractive_over(tmp_path, keyword_embedder, "terms.md", TERMS, max_sentences=3)


def test_a_heading_is_never_quoted_as_a_sentence_but_a_list_of_short_items_is_quoted_whole(terms) -> None:
    extractive, hits = terms
    temperature = [s.text for s in extractive.extract("采样温度 Temperature", hits)]
    assert temperature and "采样温度（Temperature）" not in temperature  # the heading matches best and says nothing
    assert any("随机性" in text for text in temperature)
    tasks = [s.text for s in extractive.extract("常见任务有哪些？", hits)]
    assert tasks == ["机器翻译", "文本摘要", "问答系统"]


OPTIONS = """# Options

| Parameter | Default | Description |
|---|:---:|---|
| `ping` | **15** | Ping interval in seconds |
| `retries` | 3 | Attempts before the client gives up |
"""


def test_a_table_row_is_quoted_whole_under_its_column_headers_never_the_header_row(tmp_path: Path, keyword_embedder) -> None:
    extractive, hits = _extractive_over(tmp_path, keyword_embedder, "options.md", OPTIONS, max_sentences=1)
    (quoted,) = extractive.extract("What is the default ping interval parameter?", hits)
    assert quoted.text == "Parameter: `ping`; Default: 15; Description: Ping interval in seconds"
    assert OPTIONS[quoted.start:quoted.end] == "| `ping` | **15** | Ping interval in seconds |"  # the citation opens the row
    wide = ExtractiveAnswerer(extractive.ranker, max_sentences=5, max_chars=1000)
    everything = wide.extract("Parameter Default Description", hits)
    assert everything and not any(s.text.startswith(("|", "Parameter | Default")) for s in everything)
