"""eval/corpora/hard_wrap.py: the hard-wrapped copy the own-documents figures are measured on."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from rag.core.text import join_cjk_wraps

_SPEC = importlib.util.spec_from_file_location("hard_wrap", Path(__file__).parents[2] / "eval" / "corpora" / "hard_wrap.py")
hard_wrap = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(hard_wrap)

DOCUMENT = (
    "## 标题不换行，即使它很长很长很长很长很长很长很长很长很长很长很长很长\n\n"
    "混合精度训练主要用半精度做前向和反向传播计算，主权重另外保留一份单精度的副本，避免更新被舍入。\n"
    "- 提高计算速度：半精度运算在支持张量核心的图形处理器上明显更快，尤其是大批量训练时。\n"
    "```\n代码行不换行，即使它很长很长很长很长很长很长很长很长很长很长很长很长很长\n```"
)


def test_paragraphs_and_list_items_wrap_between_chinese_characters_and_read_back_whole() -> None:
    wrapped = hard_wrap.wrap_document(DOCUMENT, 24)  # 24 Chinese characters: about 48 columns
    lines = wrapped.split("\n")
    assert lines[0] == DOCUMENT.split("\n")[0] and DOCUMENT.split("\n")[-2] in lines  # heading and code as they were
    assert len(lines) > len(DOCUMENT.split("\n")) and all(len(line) <= 48 for line in lines[2:-3])
    assert any(line.startswith("  ") for line in lines)  # a list item goes on under its text
    assert join_cjk_wraps(wrapped) == DOCUMENT  # what the index reads is the unwrapped text
