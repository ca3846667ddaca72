"""`rag chat`: questions read after the turns before them, the slash commands, and quitting at end of input."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from rag_app import cli


@pytest.fixture
def index_dir(tiny_corpus: Path, tmp_path: Path, capsys) -> Path:
    target = tmp_path / "index"
    assert cli.main(["ingest", str(tiny_corpus), "--index", str(target), "--quiet"]) == 0
    capsys.readouterr()
    return target


def chat(index_dir: Path, lines: list[str], monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    code = cli.main(["chat", "--index", str(index_dir), "--mode", "extractive"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_follow_up_is_answered_about_the_previous_topic_and_shows_what_was_searched(index_dir, monkeypatch, capsys) -> None:
    code, out, _ = chat(index_dir, ["什么是 LoRA？", "它训练多少参数？", "/sources"], monkeypatch, capsys)
    assert code == 0  # end of input quits
    first, second = out.split("(searched as: ")[0], out.split("(searched as: ")[1]
    assert "LoRA 通过低秩矩阵适配预训练模型" in first
    assert second.startswith("它训练多少参数？（上文：什么是 LoRA？）)\nLoRA 通过低秩矩阵适配预训练模型")
    assert "rewrite_ms=" in second
    sources = second.split("\n\n")[-1]  # /sources prints after the answer's blank line
    # the answer lists its source on one line; /sources quotes the supporting sentence at its file:line
    assert "\n[1] mixed-precision.md:9  训练技巧 > 2. 什么是 LoRA？\n" in second
    assert sources == "[1] 训练技巧 > 2. 什么是 LoRA？\n    mixed-precision.md:9  LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。\n"


def test_clear_mode_and_unknown_commands(index_dir, monkeypatch, capsys) -> None:
    lines = ["/sources", "什么是 LoRA？", "/clear", "它训练多少参数？", "/mode", "/mode llm2", "/mode extractive", "/what",
             "/help", "/quit", "never asked"]
    code, out, _ = chat(index_dir, lines, monkeypatch, capsys)
    assert code == 0
    assert out.startswith("(no answer yet)\n")
    assert "(new conversation)" in out and "searched as" not in out  # after /clear the follow-up has nothing to lean on
    assert "(answers: extractive)\n(unknown mode 'llm2'; use one of: llm, extractive)\n(answers: extractive)\n" in out
    assert "(unknown command /what; /help lists them)" in out and "/sources" in out
    assert "never asked" not in out


def test_an_error_is_reported_and_the_chat_goes_on(index_dir, monkeypatch, capsys) -> None:
    code, out, err = chat(index_dir, ["问" * 1200, "什么是 LoRA？"], monkeypatch, capsys)
    assert code == 0 and "error: The question is 1,200 characters long" in err and "LoRA" in out
