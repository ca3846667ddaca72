"""rag.core.text's name helpers, shared by the answer check and the relevance model."""
from __future__ import annotations

import pytest

from rag.core.text import acronym_singular, is_lead_in, latin_names


def test_latin_names_keeps_names_and_drops_plain_words() -> None:
    text = "用 torch.cuda.amp 和 FP16 训练 GPT-4 与 QLoRA、RoPE 的区别, e.g. in a Transformer model."
    assert latin_names(text) == ["torch.cuda.amp", "FP16", "GPT-4", "QLoRA", "RoPE"]


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
