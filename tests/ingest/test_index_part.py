from rag.core.schema import Chunk
from rag_ingest.index_part import IndexPart

TABLE = "区别：\n\n| 类型 | 静态词嵌入 | 上下文词嵌入 |\n|  |  |  |\n| 代表模型 | Word2Vec, GloVe | BERT, GPT |\n"


def test_a_table_row_embeds_under_its_column_headers_and_the_header_row_is_no_evidence() -> None:
    part = IndexPart.unembedded([Chunk("t", "t.md", TABLE, 40, 40 + len(TABLE))])
    texts = [part.sentence_text(index) for index in range(len(part.sentences))]
    assert texts == ["类型: 代表模型; 静态词嵌入: Word2Vec, GloVe; 上下文词嵌入: BERT, GPT"]
