"""unwrap_lines: a PDF page's lines wrapped mid-sentence are joined; real line ends stay."""
from __future__ import annotations

from rag.core.text import split_sentences
from rag_ingest.line_wraps import display_width, unwrap_lines
from rag_ingest.loaders import pdf_text
from tests.ingest.pdfs import pdf_bytes

PAGE = (
    "新西兰鸲鹟\n"
    "新西兰鸲鹟是新西兰鸲鹟科的一种，原住在北岛。牠们生活在介乎海平\n"
    "面至树线的天然森林中。牠们主要猎食无脊椎动物，包括蝉、蚯\n"
    "蚓、蜗牛及蜘蛛。牠们亦会吃果实，也会储起多余的食物。\n"
    "雄鸟及雌鸟都会偷走配偶的食物。\n"
    "1. 分布：北岛中部。"
)


def test_lines_wrapped_mid_sentence_are_joined_without_a_space_in_chinese() -> None:
    text = unwrap_lines(PAGE)
    assert text.split("\n") == [
        "新西兰鸲鹟",  # a short line: the title keeps its own line
        "新西兰鸲鹟是新西兰鸲鹟科的一种，原住在北岛。牠们生活在介乎海平面至树线的天然森林中。牠们主要猎食无脊椎动物，"
        "包括蝉、蚯蚓、蜗牛及蜘蛛。牠们亦会吃果实，也会储起多余的食物。",
        "雄鸟及雌鸟都会偷走配偶的食物。",  # the line before it ended a sentence
        "1. 分布：北岛中部。",  # a list item opens its own line
    ]
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert "牠们生活在介乎海平面至树线的天然森林中。" in sentences and "包括蝉、蚯蚓、蜗牛及蜘蛛。" not in sentences


def test_a_short_line_ends_its_paragraph_even_after_a_joined_run() -> None:
    page = (
        "这一行很长，一直写到页面的最右边才因为页面的宽度而被折到了下一\n"
        "行去，没有句末标点的图注\n"
        "英式庭园\n"
        "英式庭园起源于十八世纪的英国园艺造景，建造的灵感来自于法国画家。"
    )
    assert unwrap_lines(page).split("\n") == [
        "这一行很长，一直写到页面的最右边才因为页面的宽度而被折到了下一行去，没有句末标点的图注", "英式庭园",
        "英式庭园起源于十八世纪的英国园艺造景，建造的灵感来自于法国画家。",
    ]


def test_english_lines_are_joined_with_a_space_and_short_pages_are_left_alone() -> None:
    page = ("Mixed precision training keeps a master copy of the\nweights in FP32 while the forward and backward passes\n"
            "run in FP16 to save memory and time on modern GPUs.\nShort line.")
    first, last = unwrap_lines(page).split("\n")
    assert first.startswith("Mixed precision training keeps a master copy of the weights in FP32 while") and last == "Short line."
    assert unwrap_lines("一行\n两行") == "一行\n两行"


def test_display_width_counts_chinese_characters_twice() -> None:
    assert display_width("混合precision") == 4 + 9


def test_a_pdf_page_is_read_as_sentences_not_lines() -> None:
    lines = [  # the break before "Chen" is one a line-by-line reading could not tell from a sentence's end
        "Gradient checkpointing stores only some of the activations",
        "of the forward pass and recomputes the others, a method by",
        "Chen and colleagues that trades extra compute for memory.",
    ]
    content = b"BT /F1 12 Tf 14 TL 72 720 Td " + b" ".join(b"(%s) Tj T*" % line.encode() for line in lines) + b" ET"
    text = pdf_text(pdf_bytes(content))
    assert [text[s:e] for s, e in split_sentences(text)] == [" ".join(lines)]
