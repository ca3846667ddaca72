"""The rag command under hostile input: no escape sequence reaches the terminal, every expected failure
is one line on stderr with exit status 2, and a traceback only for bugs."""
from __future__ import annotations

import errno
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from rag.index.local import EMBEDDINGS, current_generation
from rag_app import cli

HOSTILE_TEXT = (
    "# 标题\x1b]0;pwned-title\x07注意力\n\n"
    "## 自注意力\u202e机制\n\n"
    "自注意力让每个 token 关注序列中的其他 token。\x1b]52;c;ZXZpbA==\x07隐藏\x1b[8m文字\x1b[0m。"
    "\x9b31m多头注意力\x1b[2J把表示拆成子空间。\r伪造的行\n"
)
EVIL_NAME = "evil\n[9] fake.md:0-10  pwned\x1b[31m.md"
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture
def hostile_index(tmp_path: Path, capsys) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "attention.md").write_text(HOSTILE_TEXT, encoding="utf-8")
    (docs / EVIL_NAME).write_text("# 命名\n\n文件名里有换行和转义序列，内容是关于注意力的说明。\n", encoding="utf-8")
    (docs / "bad\x1b]0;x\x07name.exe").write_text("x", encoding="utf-8")  # skipped: its name is printed
    target = tmp_path / "index"
    assert cli.main(["ingest", str(docs), "--index", str(target), "--quiet"]) == 0
    _assert_terminal_safe(capsys.readouterr())
    return target


def _assert_terminal_safe(captured, json_out: bool = False) -> None:
    """No raw control character, no faked line; outside JSON (where they are escaped data) not even the
    payloads of the removed sequences."""
    for stream, is_json in ((captured.out, json_out), (captured.err, False)):
        assert not UNSAFE.search(stream), repr(UNSAFE.search(stream))
        assert not any(line.startswith("[9] fake.md") for line in stream.splitlines())
        if not is_json:
            assert "pwned-title" not in stream and "ZXZpbA" not in stream


def test_documents_and_file_names_never_print_escape_sequences(hostile_index: Path, capsys) -> None:
    for argv in (
        ["search", "自注意力 token", "--index", str(hostile_index), "-k", "3"],
        ["search", "自注意力 token", "--index", str(hostile_index), "-k", "3", "--json"],
        ["ask", "自注意力是什么？", "--index", str(hostile_index), "--mode", "extractive"],
        ["ask", "自注意力是什么？", "--index", str(hostile_index), "--mode", "extractive", "--json"],
        ["ask", "文件名里有什么？", "--index", str(hostile_index), "--mode", "extractive"],
        ["info", "--index", str(hostile_index)],
    ):
        assert cli.main(argv) == 0, argv
        captured = capsys.readouterr()
        _assert_terminal_safe(captured, json_out="--json" in argv or argv[0] == "info")
        if "--json" in argv:
            for line in captured.out.splitlines():
                json.loads(line)  # still valid JSON, with the same data
    assert cli.main(["search", "换行", "--index", str(hostile_index), "-k", "5"]) == 0
    assert "evil\\n[9] fake.md" in capsys.readouterr().out  # the name is shown, its newline visibly


def test_k_is_validated(hostile_index: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["search", "x", "--index", str(hostile_index), "-k", "-5"])
    assert exited.value.code == 2 and "must be at least 1" in capsys.readouterr().err
    assert cli.main(["search", "x", "--index", str(hostile_index), "-k", "1000"]) == 2
    assert "retrieval.top_k" in capsys.readouterr().err


def test_questions_file_with_invalid_utf8_is_a_clear_error(hostile_index: Path, tmp_path: Path, capsys) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_bytes("什么是注意力？\n".encode("utf-8") + b"caf\xe9\n")
    assert cli.main(["search", "--questions", str(questions), "--index", str(hostile_index)]) == 2
    err = capsys.readouterr().err
    assert "not valid UTF-8 (line 2" in err and "save it as UTF-8" in err and "Traceback" not in err


def test_a_huge_question_is_refused_with_the_limit(hostile_index: Path, capsys) -> None:
    assert cli.main(["search", "注意力" * 40_000, "--index", str(hostile_index)]) == 2
    assert "limits.max_question_chars" in capsys.readouterr().err


def test_corrupt_index_is_a_message(hostile_index: Path, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(hostile_index, broken)
    (current_generation(broken) / EMBEDDINGS).write_bytes(b"garbage")
    assert cli.main(["search", "注意力", "--index", str(broken)]) == 2
    err = capsys.readouterr().err
    assert EMBEDDINGS in err and "rag ingest" in err and err.count("\n") == 1


def test_disk_full_during_ingest_is_a_message(hostile_index: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    import rag_ingest.builder

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(rag_ingest.builder.np, "save", full)
    (tmp_path / "new.md").write_text("# New\n\nA document to add, so the ingest writes.\n", encoding="utf-8")
    assert cli.main(["ingest", str(tmp_path / "new.md"), "--index", str(hostile_index), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and "previous index is unchanged" in err


def test_permission_errors_are_a_message(tmp_path: Path, capsys, monkeypatch) -> None:
    def denied(args, config):
        raise PermissionError(errno.EACCES, "Permission denied", "/srv/rag/index")

    from rag_app.cli import index

    monkeypatch.setattr(index, "run_info", denied)
    assert cli.main(["info", "--index", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "error: '/srv/rag/index': permission denied; check the permissions or choose another location\n"


def test_config_file_with_a_bad_encoding_is_named(tmp_path: Path, capsys) -> None:
    config = tmp_path / "rag.toml"
    config.write_bytes(b"[retrieval]\ntop_k = 5 # caf\xe9\n")
    assert cli.main(["info", "--config", str(config), "--index", str(tmp_path)]) == 2
    assert "rag.toml" in capsys.readouterr().err


def test_eval_without_its_extra_names_the_pip_command(tmp_path: Path, capsys, monkeypatch) -> None:
    def needs_ragas(args, config):
        import ragas  # noqa: F401 - None in sys.modules: what a missing package looks like

    monkeypatch.setitem(sys.modules, "ragas", None)
    from rag_app.cli import evaluate

    monkeypatch.setattr(evaluate, "run_harness", needs_ragas)
    assert cli.main(["eval", "--index", str(tmp_path)]) == 2
    assert "pip install 'rag-local[eval]'" in capsys.readouterr().err


def test_bugs_keep_their_traceback(tmp_path: Path, monkeypatch) -> None:
    def buggy(args, config):
        raise KeyError("a bug")

    from rag_app.cli import index

    monkeypatch.setattr(index, "run_info", buggy)
    with pytest.raises(KeyError):
        cli.main(["info", "--index", str(tmp_path)])
