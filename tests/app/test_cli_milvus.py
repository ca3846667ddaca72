"""The CLI with a Milvus Lite index: ingest, search, ask, info and export name it by store URI."""
import json
from pathlib import Path

from rag_app import cli


def test_ingest_then_search_and_ask_on_milvus_lite(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    uri = f"milvus:{tmp_path / 'kb.db'}"
    assert cli.main(["ingest", str(tiny_corpus), "--index", uri, "--quiet"]) == 0
    assert "holds 2 documents" in capsys.readouterr().out
    assert cli.main(["search", "什么是 LoRA？", "--index", uri, "-k", "2", "--json"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert hit["doc_id"] == "mixed-precision.md" and "LoRA" in hit["text"]
    assert cli.main(["ask", "KV cache 有什么用？", "--index", uri, "--mode", "extractive", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["citations"] and answer["citations"][0]["doc_id"] == "attention.md"
    assert cli.main(["info", "--index", uri, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["documents"] == 2 and info["generation"].startswith("gen-")


def test_export_moves_a_folder_index_into_milvus(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    folder, uri = tmp_path / "index", f"milvus:{tmp_path / 'exported.db'}"
    assert cli.main(["ingest", str(tiny_corpus), "--index", str(folder), "--quiet"]) == 0
    capsys.readouterr()
    assert cli.main(["index", "export", "--index", str(folder), "--to", uri, "--quiet"]) == 0
    assert "no passage embedded again" in capsys.readouterr().out
    tops = []
    for index in (str(folder), uri):
        assert cli.main(["search", "混合精度的优势", "--index", index, "-k", "3", "--json"]) == 0
        tops.append([h["chunk_id"] for h in json.loads(capsys.readouterr().out)["hits"]])
    assert tops[0] == tops[1]


def test_a_bad_store_uri_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    assert cli.main(["search", "x", "--index", "milvus+http://host:19530"]) == 2
    err = capsys.readouterr().err
    assert "'milvus+http://host:19530'" in err and "milvus:./path.db" in err
    assert cli.main(["search", "x", "--index", f"milvus:{tmp_path / 'none.db'}"]) == 2
    assert "No index in Milvus" in capsys.readouterr().err and not (tmp_path / "none.db").exists()
