from rag.answering.extractive import clean_sentence
from rag.core.tables import is_header_row, is_separator, table_row
from rag.core.text import split_sentences

DOCUMENT = "Options:\n\n| Parameter | Default | Description |\n|---|:---:|---|\n| `ping` | **15** | Ping interval in seconds |\n"
CHINESE = (
    "区别如下：\n\n| 类型 | **静态词嵌入** | **上下文词嵌入** |\n|  |  |  |\n"
    "| **核心思想** | 每个词只有一个固定的向量。         | 向量是动态生成的。一词多义。 |\n"
)


def test_a_row_reads_under_its_column_headers_and_is_cited_whole() -> None:
    row = table_row(DOCUMENT, DOCUMENT.index("`ping`"))
    assert row is not None
    assert row.labelled(clean_sentence) == "Parameter: `ping`; Default: 15; Description: Ping interval in seconds"
    assert DOCUMENT[row.start:row.end] == "| `ping` | **15** | Ping interval in seconds |"


def test_header_separator_and_headerless_rows_are_no_data_rows() -> None:
    assert table_row(DOCUMENT, DOCUMENT.index("Parameter")) is None
    assert table_row(DOCUMENT, DOCUMENT.index("---")) is None
    assert table_row("| a | b |\n| 1 | 2 |", 12) is None  # no separator row: not a table with a header
    assert table_row(DOCUMENT.replace("| **15** |", "| 15 | extra |"), DOCUMENT.index("`ping`")) is None  # cells don't match
    assert is_header_row(DOCUMENT, DOCUMENT.index("Default")) and not is_header_row(DOCUMENT, DOCUMENT.index("`ping`"))
    assert not is_header_row("| a | b |\n| 1 | 2 |", 2)


def test_an_empty_separator_row_still_makes_a_table() -> None:
    assert is_separator("|  |  |  |") and is_separator("|---|:---:|") and not is_separator("| 1 | |")
    row = table_row(CHINESE, CHINESE.index("核心思想"))
    assert row is not None
    assert row.labelled(clean_sentence) == (
        "类型: 核心思想; 静态词嵌入: 每个词只有一个固定的向量; 上下文词嵌入: 向量是动态生成的。一词多义。"
    )
    assert is_header_row(CHINESE, CHINESE.index("类型"))


def test_a_table_row_is_one_sentence_whatever_its_cells_hold() -> None:
    sentences = [CHINESE[start:end] for start, end in split_sentences(CHINESE)]
    assert "| **核心思想** | 每个词只有一个固定的向量。         | 向量是动态生成的。一词多义。 |" in sentences
