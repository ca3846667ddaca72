"""The knowledge-base commands on an index folder: ingest adds, --sync says what it removed, remove, list, info,
calibrate (with a stand-in question writer) and ingest --calibrate."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_app import cli
from tests.ingest.test_calibration import PassageQuestioner, write_topics

PLAIN = "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen in the chloroplasts of plants.\n"


def test_ingest_adds_sync_removes_and_list_shows_where_from(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    index = str(tmp_path / "index")
    assert cli.main(["ingest", str(tiny_corpus), "--index", index, "--quiet"]) == 0
    plain = tmp_path / "plain.txt"
    plain.write_text(PLAIN, encoding="utf-8")
    assert cli.main(["ingest", str(plain), "--index", index, "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Added 1, updated 0, removed 0; 0 unchanged, 2 kept from before" in out and "holds 3 documents" in out
    assert cli.main(["list", "--index", index]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["document", "passages", "added", "from"] and len(listing) == 5
    assert listing[3].startswith("plain.txt") and listing[3].endswith(str(plain.resolve()))
    assert listing[-1].startswith("(3 documents, ")

    assert cli.main(["ingest", str(plain), "--sync", "--index", index, "--quiet"]) == 0
    assert "Removed: attention.md, mixed-precision.md" in capsys.readouterr().out
    assert cli.main(["ingest", str(tiny_corpus), "--index", index, "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["remove", "attention.md", "plain.txt", "--index", index]) == 0
    assert "Removed: plain.txt, attention.md" in capsys.readouterr().out  # in index order
    assert cli.main(["list", "--index", index, "--json"]) == 0
    assert [json.loads(line)["doc_id"] for line in capsys.readouterr().out.splitlines()] == ["mixed-precision.md"]
    assert cli.main(["remove", "nope.md", "--index", index]) == 2
    assert "Not in the index: nope.md" in capsys.readouterr().err


@pytest.fixture
def questioner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PassageQuestioner:
    """The configured generator replaced by the stand-in; questions cached in a private folder."""
    from rag.generation import factory

    writer = PassageQuestioner()
    monkeypatch.setattr(factory, "make_generator", lambda spec, **kwargs: writer)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return writer


def test_ingest_calibrate_then_info_shows_the_calibration(tmp_path: Path, questioner, capsys) -> None:
    folder = write_topics(tmp_path / "docs")
    index = str(tmp_path / "index")
    argv = ["ingest", str(folder), "--index", index, "--quiet", "--calibrate", "--set", "calibration.questions=12",
            "--set", "calibration.cv_repeats=1", "--set", "chunking.max_chars=200", "--set", "chunking.min_chars=20",
            "--set", "chunking.overlap_chars=0"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "holds 5 documents" in out and "Calibrated on" in out and "Stored with the index" in out
    assert questioner.calls == 12
    assert cli.main(["info", "--index", index]) == 0
    refusals = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Refusals:"))
    assert "fitted" in refusals and "on 5 documents" in refusals and "cross-validated" in refusals
    assert cli.main(["info", "--index", index, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["calibration"]["questions"]["answerable"] == 12 and 0 < info["calibration"]["relevance"]["threshold"] < 1
