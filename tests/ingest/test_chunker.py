import numpy as np
import pytest

from rag.core.config import ChunkingConfig
from rag_ingest.chunker import Chunker
from rag_ingest.loaders import SourceDocument


def _doc(text: str, fmt: str = "markdown") -> SourceDocument:
    return SourceDocument("doc.md", "doc.md", text, "0" * 64, fmt, "utf-8")


def _chunk(text: str, embed=None, **settings) -> list:
    return Chunker(ChunkingConfig(**settings), embed=embed).chunk(_doc(text))


def test_every_chunk_is_the_exact_source_span() -> None:
    text = "# 标题\n\n" + "".join(f"第{i}句话讲一个事实。" for i in range(60)) + "\n\n## 小节\n\n短的结尾。\n"
    chunks = _chunk(text, max_chars=120, overlap_chars=30, min_chars=40)
    assert len(chunks) > 3
    for chunk in chunks:
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.doc_id == "doc.md"


def test_heading_path_travels_with_every_chunk_and_is_indexed() -> None:
    text = "# 3. 数据准备\n\n## 2. 分词\n\n" + "分词把文本切成词元。" * 30 + "\n"
    chunks = _chunk(text, max_chars=100, overlap_chars=0, min_chars=30)
    assert len(chunks) > 1
    assert all(chunk.heading == "3. 数据准备 > 2. 分词" for chunk in chunks)
    assert chunks[0].indexed_text.startswith("3. 数据准备 > 2. 分词\n")


def test_a_small_section_stays_whole_with_its_subsections() -> None:
    text = "# 区别\n\n总述。\n\n## 架构\n\n架构不同。\n\n## 规模\n\n规模不同。\n"
    chunks = _chunk(text, max_chars=400)
    assert len(chunks) == 1
    assert chunks[0].heading_path == ("区别",)
    assert "## 架构" in chunks[0].text and "规模不同。" in chunks[0].text


def test_code_blocks_are_never_split() -> None:
    code = "```python\n" + "\n".join(f"x{i} = {i}  # 第{i}行。" for i in range(40)) + "\n```"
    text = "# 代码\n\n前面的说明。" * 5 + "\n\n" + code + "\n\n后面的说明。" * 5 + "\n"
    chunks = _chunk(text, max_chars=150, overlap_chars=40, min_chars=20)
    holding = [c for c in chunks if "```python" in c.text]
    assert len(holding) == 1 and code in holding[0].text
    for chunk in chunks:
        assert chunk.text.count("```") % 2 == 0, "a chunk cuts a code block"


def test_code_block_inside_a_list_item_is_not_split() -> None:
    item_code = "```\n" + "\n".join(f"步骤{i}。" for i in range(30)) + "\n```"
    text = "# 列表\n\n- 第一项说明。\n\n  " + item_code.replace("\n", "\n  ") + "\n- 第二项。\n"
    for chunk in _chunk(text, max_chars=60, overlap_chars=0, min_chars=10):
        assert chunk.text.count("```") % 2 == 0


def test_overlap_repeats_whole_sentences_of_the_previous_chunk() -> None:
    text = "# T\n\n" + "".join(f"句子{i:02d}内容。" for i in range(40)) + "\n"
    chunks = _chunk(text, max_chars=100, overlap_chars=20, min_chars=30)
    for previous, current in zip(chunks, chunks[1:]):
        assert current.start < previous.end, "no overlap"
        assert previous.end - current.start <= 20
        assert current.text.startswith("句子")


def test_semantic_split_cuts_where_the_topic_changes() -> None:
    first = "".join(f"猫{i}喜欢睡觉。" for i in range(8))
    second = "".join(f"股票{i}价格上涨。" for i in range(8))
    text = f"# 混合\n\n{first}{second}\n"

    def embed(sentences):
        # Two orthogonal topics: sentences about cats vs. stocks.
        return np.array([[1.0, 0.0] if "猫" in s else [0.0, 1.0] for s in sentences], dtype=np.float32)

    chunks = _chunk(text, embed=embed, max_chars=len(first) + 10, overlap_chars=0, min_chars=10)
    assert [c.text for c in chunks] == [first, second]


def test_a_sentence_announcing_a_list_stays_with_its_list() -> None:
    intro = "".join(f"Setup step {i} is described here. " for i in range(6))
    lead_in = "By default, load_dotenv() will:"
    items = "".join(f"\n- Item {i} of the list." for i in range(3))
    text = f"# Start\n\n{intro}{lead_in}{items}\n"

    def embed(sentences):
        # The list reads as another topic than the lead-in: without the rule the cut falls right after it.
        return np.array([[0.0, 1.0] if s.startswith("- ") else [1.0, 0.0] for s in sentences], dtype=np.float32)

    chunks = _chunk(text, embed=embed, max_chars=len(intro) + 20, overlap_chars=0, min_chars=10)
    holding = [c for c in chunks if lead_in in c.text]
    assert len(holding) == 1 and "- Item 0 of the list." in holding[0].text
    assert not any(c.text.rstrip().endswith(":") for c in chunks)


def test_bare_question_sections_are_flagged_question_only() -> None:
    text = (
        "## 7. RAG 系统\n\n★★★★★ **1. 什么是 RAG？**\n\n★★★★☆ **2. RAG 由哪些组件构成？**\n\n"
        "★★★☆☆ **3. 列举几种分块策略，并简述其原理。**\n\n## 8. 其他\n\n这里有真正的答案内容。\n"
    )
    chunks = _chunk(text, max_chars=30)
    flagged = {c.heading_path[-1]: c.meta["question_only"] for c in chunks}
    assert flagged == {
        "1. 什么是 RAG？": True,
        "2. RAG 由哪些组件构成？": True,
        "3. 列举几种分块策略，并简述其原理。": True,  # a heading with nothing under it, even without a "？"
        "8. 其他": False,
    }


@pytest.mark.parametrize("text", ["", "   \n\n"])
def test_empty_documents_give_no_chunks(text: str) -> None:
    assert _chunk(text) == []
