"""rag.core.text's sentence and name helpers, shared by ingestion, the answer check and the relevance model."""
from __future__ import annotations

import pytest

from rag.core.text import (
    acronym_singular, claim_units, evidence_spans, in_code_block, is_lead_in, is_markup_only, join_cjk_wraps, latin_names,
    split_sentences, units,
)


def test_latin_names_keeps_names_and_drops_plain_words() -> None:
    text = "用 torch.cuda.amp 和 FP16 训练 GPT-4 与 QLoRA、RoPE 的区别, e.g. in a Transformer model."
    assert latin_names(text) == ["torch.cuda.amp", "FP16", "GPT-4", "QLoRA", "RoPE"]


def test_claim_units_leave_out_bigrams_joined_by_a_function_word() -> None:
    assert claim_units("室内和室外") == {"室内", "室外"}
    assert claim_units("和平是目标") == {"和平", "目标"}           # "和" inside a word is no function word
    assert claim_units("的") == {"的"} and claim_units("GPU 的显存") == {"gpu", "显存"}


def test_acronym_singular() -> None:
    assert acronym_singular("GPUs") == "GPU"
    assert acronym_singular("LLMs") == "LLM"
    assert acronym_singular("QLoRAs") is None      # mixed case: not taken for a plural
    assert acronym_singular("GPU") is None


@pytest.mark.parametrize("sentence, lead_in", [
    ("优势主要体现在以下几个方面：", True), ("* **缺点：**", True), ("Advantages: ", True), ("缺点：\n", True),
    ("提高计算速度：半精度更快。", False), ("训练更快。", False), ("", False),
])
def test_is_lead_in(sentence: str, lead_in: bool) -> None:
    assert is_lead_in(sentence) is lead_in


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_a_hard_wrapped_paragraph_list_item_or_quote_is_one_sentence() -> None:
    text = (
        "It works the same way\nexcept it just returns a dict with the\nvalues parsed from the file.\n\n"
        "- threadpool_limits can fail when nesting\n  parallel loops.\n- Second item\n"
        "> Estimates can be off,\n> so prefer try_acquire.\n"
        "It defaults to\n`limit` (a full bucket)."
    )
    assert sentences(text) == [
        "It works the same way\nexcept it just returns a dict with the\nvalues parsed from the file.",
        "- threadpool_limits can fail when nesting\n  parallel loops.",
        "- Second item",
        "> Estimates can be off,\n> so prefer try_acquire.",
        "It defaults to\n`limit` (a full bucket).",
    ]


WRAPPED = (
    "混合精度训练在训练过程中同时使用16位和32位浮点数，前向和反向传播主要用半精\n"
    "度计算，主权重保留一份单精度副本。为了避免梯度下溢，通常还会配合损失缩放和\n"
    "Transformer 的层归一化一起使用。\n"
    "- 提高计算速度：半精度运算在支持张量核心的图形处理器上明显更快，尤其\n"
    "  是大批量训练时。\n"
    "#### 混合精度训练的优势与挑战总结（一个足够长的标题行，不会被接上）\n"
    "正文。"
)


def test_a_hard_wrapped_chinese_paragraph_or_list_item_is_one_sentence() -> None:
    assert sentences(WRAPPED) == [
        "混合精度训练在训练过程中同时使用16位和32位浮点数，前向和反向传播主要用半精\n度计算，主权重保留一份单精度副本。",
        "为了避免梯度下溢，通常还会配合损失缩放和\nTransformer 的层归一化一起使用。",
        "- 提高计算速度：半精度运算在支持张量核心的图形处理器上明显更快，尤其\n  是大批量训练时。",
        "#### 混合精度训练的优势与挑战总结（一个足够长的标题行，不会被接上）",
        "正文。",
    ]


def test_join_cjk_wraps_reads_a_wrapped_chinese_sentence_as_written_without_the_breaks() -> None:
    joined = join_cjk_wraps(WRAPPED)
    assert "半精度计算" in joined and "损失缩放和Transformer" in joined and "尤其是大批量" in joined
    assert "接上）\n正文" in joined  # a heading's line break stays
    assert "其是" in units(WRAPPED)  # the bigram across "尤其\\n  是" counts
    assert join_cjk_wraps("短标题\n正文") == "短标题\n正文"  # a short line is a title or a label


def test_line_breaks_still_end_code_lines_table_rows_headings_and_chinese_lines() -> None:
    code = "```python\nload_dotenv()\nlimiter.try_acquire(item)\n```"
    assert sentences(code) == ["```python", "load_dotenv()", "limiter.try_acquire(item)", "```"]
    assert sentences("| a | b |\n| c | d |") == ["| a | b |", "| c | d |"]
    assert sentences("## Usage\nthe function reads it.") == ["## Usage", "the function reads it."]
    assert sentences("混合精度训练的优势\n半精度计算速度更快") == ["混合精度训练的优势", "半精度计算速度更快"]
    assert sentences("It is fast.\nmore text") == ["It is fast.", "more text"]  # a finished line ends its sentence
    assert sentences("Options:\n- a\n- b") == ["Options:", "- a", "- b"]


def test_an_abbreviation_does_not_end_a_sentence() -> None:
    assert sentences("Load it when present (e.g. in development) and stay configurable. Next.") == [
        "Load it when present (e.g. in development) and stay configurable.", "Next.",
    ]
    assert sentences("静态批处理 vs. 动态批处理。Use i.e. this. See No. 5 here.") == [
        "静态批处理 vs. 动态批处理。", "Use i.e. this.", "See No. 5 here.",
    ]
    # "etc." ends a sentence before a capital, not before a lower-case word; a plain "no." ends one.
    assert sentences("Ints, sets, etc. Note the bound.") == ["Ints, sets, etc.", "Note the bound."]
    assert sentences("Ints, sets, etc. are fine.") == ["Ints, sets, etc. are fine."]
    assert sentences("They said no. Then left.") == ["They said no.", "Then left."]


def test_in_code_block() -> None:
    document = "Intro.\n```python\nx = 1\n```\nAfter."
    assert [in_code_block(document, document.index(part)) for part in ("Intro", "```python", "x = 1", "After")] == [
        False, True, True, False,
    ]


def test_html_layout_lines_are_not_evidence() -> None:
    assert is_markup_only('<h1 align="center">PyrateLimiter</h1>')
    assert is_markup_only('<p><img src="logo.png"></p>')
    assert not is_markup_only("<em>A fast, async-friendly rate limiter.</em>")  # a statement inside tags
    assert not is_markup_only("Plain words here.")
    text = '<h1 align="center">PyrateLimiter</h1>\nIt limits the rate of calls.'
    assert [text[s:e] for s, e in evidence_spans(text)] == ["It limits the rate of calls."]


def test_fence_lines_of_either_kind_are_not_evidence() -> None:
    for fence in ("```", "~~~"):
        text = f"{fence}python run the limiter here\nIt limits the rate of calls."
        assert [text[s:e] for s, e in evidence_spans(text)] == ["It limits the rate of calls."], fence


def test_a_list_number_ends_no_sentence_and_a_table_row_is_one() -> None:
    text = "对比：\n1. **NF4 量化**: 核心创新。它量化权重。\n2) Second item. More.\n| a. b | c。d |\n|---|---|"
    assert sentences(text) == [
        "对比：", "1. **NF4 量化**: 核心创新。", "它量化权重。", "2) Second item.", "More.", "| a. b | c。d |", "|---|---|",
    ]


def test_a_table_s_column_names_are_not_evidence() -> None:
    text = "| Parameter | Default value |\n|---|---|\n| ping interval | fifteen seconds |"
    assert [text[s:e] for s, e in evidence_spans(text)] == ["| ping interval | fifteen seconds |"]
