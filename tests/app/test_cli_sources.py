"""`rag ask`'s sources: per [n], the supporting sentences at their file:line; a refusal's nearest sources with an excerpt."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rag.answering.citations import Citation, Span
from rag_app import cli
from rag_app.cli.ask import location, source_lines
from tests.conftest import BENEFITS, BENEFITS_DOC, CHALLENGES, TINY_DOCS


@pytest.fixture
def index_dir(tmp_path: Path, capsys) -> Path:
    """The benefits/challenges document and attention.md (not mixed-precision.md, which asks about 优势 too)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    name, text = BENEFITS_DOC
    (docs / name).write_text(text, encoding="utf-8")
    (docs / "attention.md").write_text(TINY_DOCS["attention.md"], encoding="utf-8")
    target = tmp_path / "index"
    assert cli.main(["ingest", str(docs), "--index", str(target), "--quiet"]) == 0
    capsys.readouterr()
    return target


def _ask(index_dir: Path, question: str, capsys) -> str:
    assert cli.main(["ask", question, "--index", str(index_dir), "--mode", "extractive"]) == 0
    return capsys.readouterr().out


def _line_of(sentence: str) -> int:
    """The 1-based line of `BENEFITS_DOC` that holds `sentence` (found independently of the CLI's arithmetic)."""
    return next(number for number, line in enumerate(BENEFITS_DOC[1].split("\n"), start=1) if sentence in line)


def test_sources_quote_each_supporting_sentence_at_its_file_and_line(index_dir: Path, capsys) -> None:
    out = _ask(index_dir, "混合精度训练有什么好处？", capsys)
    sources = out.split("\nSources:\n")[1].split("\n\n")[0].split("\n")
    assert sources[0] == "[1] 训练技巧 > 1. 什么是混合精度训练？ > 优势"
    assert sources[1:] == [f"    training.md:{_line_of(sentence)}  {sentence}" for sentence in BENEFITS]
    assert [_line_of(sentence) for sentence in BENEFITS] == [11, 12, 13]
    assert not any(challenge in out for challenge in CHALLENGES)


def test_a_refusal_lists_nearest_sources_with_heading_and_excerpt(index_dir: Path, capsys) -> None:
    out = _ask(index_dir, "今天北京的天气怎么样？", capsys)
    assert "\nSources:" not in out
    nearest = out.split("\nNearest sources:\n")[1].split("\n\n")[0].split("\n")
    header, excerpt = nearest[0], nearest[1]
    assert header.startswith("[1] ") and header.split("  ")[0].split(" ")[1] in {"training.md:3", "attention.md:3"}
    assert excerpt.startswith("    ## ") and len(excerpt.strip()) <= 120


def _citation(**fields) -> Citation:
    spans = (Span(7, 11, "第一句。"), Span(12, 21, "- 第二句，很长。"))
    defaults = dict(n=2, chunk_id="c", doc_id="d.md", heading="A > B", text="第一句。", start=7, end=11, spans=spans)
    return Citation(**{**defaults, **fields})


DOCUMENT = "标题\n\n前言。第一句。\n- 第二句，很长。\n"


def test_line_numbers_count_the_lines_before_each_span() -> None:
    assert DOCUMENT[7:11] == "第一句。" and DOCUMENT[12:21] == "- 第二句，很长。"
    assert location("d.md", 0, {"d.md": DOCUMENT}) == "d.md:1"
    assert location("d.md", 3, {"d.md": DOCUMENT}) == "d.md:2"   # right after a line break: the next line
    assert location("d.md", 7, {"d.md": DOCUMENT}) == "d.md:3" and location("d.md", 12, {"d.md": DOCUMENT}) == "d.md:4"
    assert location("gone.md", 7, {"d.md": DOCUMENT}) == "gone.md@7"  # no text for it in the index


def test_source_lines_full_compact_and_nearest() -> None:
    documents = {"d.md": DOCUMENT}
    assert source_lines(_citation(), documents) == ["[2] A > B", "    d.md:3  第一句。", "    d.md:4  第二句，很长。"]
    assert source_lines(_citation(), documents, full=False) == ["[2] d.md:3  A > B"]
    nearest = _citation(kind="nearest", text="前言。第一句。\n- 第二句，很长。", start=4, end=21, spans=(Span(4, 21, "…"),))
    assert source_lines(nearest, documents) == ["[2] d.md:3  A > B", "    前言。第一句。 - 第二句，很长。"]
    assert source_lines(_citation(heading=""), documents)[0] == "[2] d.md"


def test_source_lines_are_printable() -> None:
    hostile = _citation(doc_id="evil\x1b[31m.md", spans=(Span(7, 11, "第一\x1b]0;title\x07句\u202e。"),))
    lines = source_lines(hostile, {})
    assert not any(ch in "".join(lines) for ch in "\x1b\x07\u202e")
    assert lines[1].startswith("    evil")


def test_the_passages_being_read_are_shown_before_the_draft(capsys) -> None:
    from rag.answering.answerer import Answer, Reading, Token
    from rag.answering.excerpts import Excerpt
    from rag.core.schema import Chunk, Hit
    from rag_app.cli.ask import show_draft

    hits = (Hit(Chunk("c1", "notes.md", "LoRA 冻结原始权重。", 0, 12, ("LoRA",)), 0.9, {}),)
    answer = Answer("什么是 LoRA？", "LoRA 冻结原始权重[1]。", [], False, "llm", list(hits), "zh", {})
    events = [Reading((Excerpt(1, "LoRA > 原理", "LoRA 冻结原始权重。"),), hits), Token("LoRA 冻结"), Token("原始权重[1]。"), answer]
    assert show_draft(events) is answer
    err = capsys.readouterr().err
    assert err.index("Reading:") < err.index("[1] notes.md > LoRA > 原理") < err.index("(draft, checked below) LoRA 冻结原始权重[1]。")


def test_on_a_terminal_the_reading_progress_is_shown_on_one_line_before_the_draft(capsys, monkeypatch) -> None:
    from rag.answering.answerer import Answer, Progress, Reading, Token
    from rag.answering.excerpts import Excerpt
    from rag.core.schema import Chunk, Hit
    from rag_app.cli.ask import show_draft

    hits = (Hit(Chunk("c1", "notes.md", "LoRA 冻结原始权重。", 0, 12, ("LoRA",)), 0.9, {}),)
    answer = Answer("什么是 LoRA？", "LoRA 冻结原始权重[1]。", [], False, "llm", list(hits), "zh", {})
    events = [Reading((Excerpt(1, "LoRA", "LoRA 冻结原始权重。"),), hits), Progress(0, 80), Progress(64, 80), Progress(80, 80),
              Token("LoRA 冻结原始权重[1]。"), answer]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert show_draft(events) is answer
    err = capsys.readouterr().err
    assert "\r  (the model is reading them: 0/80 tokens)\r  (the model is reading them: 64/80 tokens)" in err
    assert err.index("80/80 tokens)\n") < err.index("(draft, checked below)")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    show_draft(events)
    assert "reading them" not in capsys.readouterr().err  # a pipe or a log gets no carriage returns


def test_on_a_terminal_an_english_draft_being_retold_in_chinese_shows_how_far_it_is(capsys, monkeypatch) -> None:
    from rag.answering.answerer import Answer, Retelling, Token
    from rag_app.cli.ask import show_draft

    answer = Answer("令牌桶补充得多快？", "令牌桶每秒补充 5 个令牌[1]。", [], False, "llm", [], "zh", {})
    events = [Token("It refills at 5 tokens per second [1]."), Retelling(0, 2, "zh"), Retelling(1, 2, "zh"),
              Retelling(2, 2, "zh"), answer]
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert show_draft(events) is answer
    err = capsys.readouterr().err
    assert "per second [1].\n\r  (retelling it in Chinese: 0/2 sentences)\r  (retelling it in Chinese: 1/2 sentences)" in err
    assert err.endswith("2/2 sentences)\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    show_draft(events)
    assert "retelling" not in capsys.readouterr().err


WRAPPED_DOC = (
    "# 训练技巧\n\n## 损失缩放\n\n"
    "混合精度训练主要用半精度做前向和反向传播计算，主权重另外保留一份单精度的副\n"
    "本。为了避免梯度下溢，训练时通常还会配合损失缩放一起使用，尤其是在梯度值很\n"
    "小的时候。\n"
)


def test_a_hard_wrapped_chinese_document_is_quoted_by_whole_sentences(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wrapped.md").write_text(WRAPPED_DOC, encoding="utf-8")
    assert cli.main(["ingest", str(docs), "--index", str(tmp_path / "index"), "--quiet"]) == 0
    capsys.readouterr()
    out = _ask(tmp_path / "index", "为什么要配合损失缩放？", capsys)
    sentence = "为了避免梯度下溢，训练时通常还会配合损失缩放一起使用，尤其是在梯度值很小的时候。"
    assert sentence.removesuffix("。") in out.split("\nSources:\n")[0]  # the answer reads it whole, without the breaks
    assert f"    wrapped.md:6  {sentence}" in out.split("\nSources:\n")[1]  # where it starts, as one line
