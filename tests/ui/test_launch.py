"""`rag ui`: the app's own flags become environment variables, everything else goes to Streamlit."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rag.core.errors import ConfigError
from rag_app import cli
from rag_ui import launch, options


class FakeProcess:
    calls: list[tuple[list[str], dict[str, str]]] = []

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        FakeProcess.calls.append((command, env))

    def wait(self) -> int:
        return 0

    def send_signal(self, signum: int) -> None:
        pass


@pytest.fixture
def popen(monkeypatch):
    FakeProcess.calls = []
    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    for name in options.FLAG_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    return FakeProcess.calls


def test_rag_ui_passes_streamlit_options_through(popen, tmp_path: Path) -> None:
    argv = ["ui", "--index", str(tmp_path / "idx"), "--server.port", "8765", "--server.headless", "true", "--max-upload-mb", "5"]
    assert cli.main(argv) == 0
    ((command, env),) = popen
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"] and command[4].endswith("ui/app.py")
    assert command[5:] == [
        "--server.port", "8765", "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
    ]
    assert env["RAG_INDEX_DIR"] == str((tmp_path / "idx").resolve()) and env["RAG_UI_MAX_UPLOAD_MB"] == "5.0"


def test_usage_statistics_setting_is_the_users_when_given(popen) -> None:
    assert launch.main(["--browser.gatherUsageStats=true"]) == 0
    assert popen[0][0][5:] == ["--browser.gatherUsageStats=true", "--client.toolbarMode", "minimal"]


def test_bad_limit_fails_before_starting(popen, capsys) -> None:
    assert launch.main(["--max-upload-mb", "-1"]) == 2
    assert "'ui.max_upload_mb'" in capsys.readouterr().err and not popen


def test_other_commands_still_reject_unknown_flags(capsys) -> None:
    with pytest.raises(SystemExit):
        cli.main(["info", "--server.port", "1"])
    assert "unrecognized arguments: --server.port 1" in capsys.readouterr().err


def test_options_from_flags_then_environment_then_defaults(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    env = {"RAG_UI_MAX_UPLOAD_MB": "2"}
    loaded = options.load([], env)
    assert options.data_dir(loaded) == tmp_path / "rag" / "collection" and not options.read_only(loaded)
    assert loaded.ui.max_upload_mb == 2
    flagged = options.load(["--data-dir", str(tmp_path / "kb"), "--index", str(tmp_path / "i")], env)
    assert options.data_dir(flagged) == (tmp_path / "kb").resolve() and options.read_only(flagged)
    with pytest.raises(ConfigError, match=r"'ui.max_upload_mb' \(from environment\) has invalid value 'lots'"):
        options.load([], {"RAG_UI_MAX_UPLOAD_MB": "lots"})


def test_a_store_uri_index_passes_through_unchanged(tmp_path: Path) -> None:
    uri = "milvus+http://milvus:19530/kb"
    args, _ = options.parse(["--index", uri])
    assert options.to_env(args)["RAG_INDEX_DIR"] == uri
    assert options.load(["--index", uri], {}).index_dir == uri


def test_the_app_reads_flags_after_double_dash_only_when_streamlit_runs_it(monkeypatch) -> None:
    from rag_ui import app

    monkeypatch.setattr(sys, "argv", [str(launch.APP), "--index", "/x"])
    assert app._script_args() == ["--index", "/x"]
    monkeypatch.setattr(sys, "argv", ["pytest", "-q", "--index", "/x"])
    assert app._script_args() == []
