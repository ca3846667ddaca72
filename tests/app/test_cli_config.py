"""`rag config show` / `rag config keys`, and `--set KEY=VALUE` on every command."""
import json
from pathlib import Path

import pytest

from rag_app import cli
from rag_app.cli.config import keys_markdown

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path: Path) -> None:
    import os

    for name in [n for n in os.environ if n.upper().startswith("RAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./rag.toml


def test_show_names_each_value_and_its_source(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "custom.toml").write_text("[answer]\nmax_tokens = 200\n[judge]\napi_key = \"file-secret\"\n")
    monkeypatch.setenv("RAG_RETRIEVAL_TOP_K", "7")
    code = cli.main(["config", "show", "--config", "custom.toml", "--set", "retrieval.top_k=5", "--reranker", "none", "--json"])
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["retrieval.top_k"] == {"value": 5, "source": "command line"}  # --set wins over the environment
    assert shown["rerank.reranker"] == {"value": "none", "source": "command line"}
    assert shown["answer.max_tokens"] == {"value": 200, "source": "custom.toml"}
    assert shown["judge.api_key"]["value"] == "**********" and "file-secret" not in json.dumps(shown)
    monkeypatch.delenv("RAG_RETRIEVAL_TOP_K")
    assert cli.main(["config", "show"]) == 0 and "All settings are at their defaults" in capsys.readouterr().out


def test_bad_set_values_name_the_key_and_the_command_line(capsys) -> None:
    assert cli.main(["config", "show", "--set", "retrieval.top_kk=5"]) == 2
    assert "Unknown config key 'retrieval.top_kk' (from command line)" in capsys.readouterr().err
    assert cli.main(["config", "show", "--set", "answer.mode"]) == 2
    assert "--set takes KEY=VALUE" in capsys.readouterr().err
    assert cli.main(["search", "x", "--set", "retrieval.top_k=zero"]) == 2
    assert "'retrieval.top_k' (from command line) has invalid value 'zero'" in capsys.readouterr().err


def test_keys_list_every_setting_with_its_variable(capsys) -> None:
    assert cli.main(["config", "keys"]) == 0
    out = capsys.readouterr().out
    assert "retrieval.rrf_k = `10.0`  (RAG_RETRIEVAL_RRF_K)" in out and "judge.url = (none)  (RAG_JUDGE_URL)" in out


def test_the_configuration_document_is_up_to_date() -> None:
    """docs/configuration.md is `rag config keys --markdown`; regenerate it when a key changes."""
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == keys_markdown()
