"""`rag eval`: the full harness (`run`), retrieval metrics per retriever (`retrieval`), answer metrics per mode
(`answers`), follow-ups and topic switches (`conversations`), and comparing two runs (`--compare`)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.core.config import Config
from rag.core.errors import RagError
from rag_app.cli.common import DATASET_HELP

EVAL_EXTRA_MODULES = frozenset(
    {"ragas", "langchain_community", "langchain_core", "rapidfuzz", "matplotlib", "datasets", "openai", "json_repair"}
)
"""Modules only the ``eval`` extra installs: `rag eval` without them names the pip command."""


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    evaluate = commands.add_parser(
        "eval", parents=[common], help="offline evaluation (bare: the full harness; see also retrieval, answers, run)"
    )
    _add_harness_flags(evaluate)
    evaluate.set_defaults(handler=run_harness)
    evaluate_commands = evaluate.add_subparsers(dest="eval_command")
    harness = evaluate_commands.add_parser("run", parents=[common], help="the full harness (same as bare rag eval)")
    _add_harness_flags(harness)
    harness.set_defaults(handler=run_harness)
    retrieval = evaluate_commands.add_parser("retrieval", parents=[common], help="recall@k and MRR@10 per retriever")
    retrieval.add_argument("--dataset", help=DATASET_HELP)
    retrieval.add_argument("--no-baseline", action="store_true", help="leave out the plain baseline row")
    retrieval.add_argument("--rerankers", default="", metavar="SPEC[,SPEC]",
                           help="more second stages to measure as rows, e.g. llm:5 (the answering model judges the top 5)")
    retrieval.add_argument("--index", help="index directory (default: the bundled corpus)")
    retrieval.add_argument("--json", action="store_true", help="print metrics as JSON")
    retrieval.set_defaults(handler=run_retrieval)
    answers = evaluate_commands.add_parser("answers", parents=[common], help="answer metrics per answer mode")
    answers.add_argument("--dataset", help=DATASET_HELP)
    answers.add_argument("--index", help="index directory (default: the bundled corpus)")
    answers.add_argument("--modes", default="extractive,llm", help="comma-separated answer modes to compare")
    answers.add_argument("--limit", type=int, help="only the first N questions")
    answers.add_argument("--out", help="write one JSON record per question and mode to this JSONL file")
    answers.add_argument("--json", action="store_true", help="print metrics as JSON")
    answers.set_defaults(handler=run_answers)
    conversations = evaluate_commands.add_parser(
        "conversations", parents=[common], help="two-turn conversations: follow-ups with gold citations, topic switches refused"
    )
    conversations.add_argument("--dataset", help="conversation set: tune, test (default; bundled) or a JSONL file")
    conversations.add_argument("--index", help="index directory (default: the bundled corpus)")
    conversations.add_argument("--mode", dest="answer_mode", choices=["llm", "extractive"],
                               help="answerer (default: answer.mode, llm)")
    conversations.add_argument("--rewrite", choices=["auto", "llm", "rule", "none"],
                               help="how follow-ups are made standalone (conversation.rewrite)")
    conversations.add_argument("--no-control", action="store_true", help="skip asking each follow-up alone")
    conversations.add_argument("--limit", type=int, help="only the first N conversations")
    conversations.add_argument("--out", help="write one JSON record per conversation to this JSONL file")
    conversations.add_argument("--json", action="store_true", help="print metrics as JSON")
    conversations.set_defaults(handler=run_conversations)


def _add_harness_flags(parser: argparse.ArgumentParser) -> None:
    from rag_eval.configs import DEFAULT_CONFIGS

    parser.add_argument("--dataset", help=DATASET_HELP)
    parser.add_argument("--index", help="index directory (default: the bundled corpus)")
    parser.add_argument("--out", help="run directory (default: runs/<timestamp>)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated configurations (default {DEFAULT_CONFIGS})")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--judge-url", help="OpenAI-compatible base URL for judged metrics (judge.url, $RAG_JUDGE_URL)")
    parser.add_argument("--judge-model", help="judge model name (judge.model, $RAG_JUDGE_MODEL)")
    parser.add_argument("--judge-gguf", help="local judge: packaged or a .gguf path (judge.gguf, $RAG_JUDGE_GGUF)")
    parser.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="compare two run directories and exit")


def run_harness(args: argparse.Namespace, config: Config) -> int:
    if args.compare:
        from rag_eval.compare import compare_runs

        for run in args.compare:
            if not (Path(run) / "summary.json").is_file():
                raise RagError(f"'{run}' is not a run directory (no summary.json).")
        print(compare_runs(*args.compare), end="")
        return 0
    from tqdm.auto import tqdm

    from rag_eval.configs import parse_configs
    from rag_eval.datasets import dataset_path, load_questions
    from rag_eval.harness import default_out_dir, run_eval
    from rag_eval.judge import make_judge
    from rag_ingest.default_index import open_bundled_rag

    configs = parse_configs(args.configs)
    dataset = dataset_path(args.dataset)
    questions = load_questions(dataset)[: args.limit]
    judge = make_judge(config.judge)
    rag = open_bundled_rag(config=config, progress=sys.stderr.isatty())
    out = Path(args.out) if args.out else default_out_dir()
    result = run_eval(rag, questions, configs, out, dataset=str(dataset), judge=judge,
                      progress=lambda it, desc: tqdm(it, desc=f"eval {desc}", unit="q"))
    for name, reason in result.skipped.items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    print(f"Wrote {out / 'report.md'}, {out / 'summary.json'}, {out / 'questions.jsonl'}")
    return 0


def run_answers(args: argparse.Namespace, config: Config) -> int:
    from tqdm.auto import tqdm

    from rag_eval.answers import AnswerEvaluator, asking
    from rag_eval.datasets import dataset_path, load_questions
    from rag_ingest.default_index import open_bundled_rag

    questions = load_questions(dataset_path(args.dataset))[: args.limit]
    rag = open_bundled_rag(config=config, progress=sys.stderr.isatty())
    results = {}
    records = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        metrics, per_question = AnswerEvaluator(questions)(
            asking(lambda q, m=mode: rag.stream(q, mode=m)), progress=lambda it, m=mode: tqdm(it, desc=f"eval {m}", unit="q")
        )
        results[mode] = metrics
        # "mode" is the run's; an LLM run's answer that fell back to quotes says so in "answer_mode"
        records += [{**record, "mode": mode, "answer_mode": record.get("mode")} for record in per_question]
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("| mode | answered (answerable) | refused (unanswerable) | cited sentences | citations holding gold | LLM fallbacks | p50 / p95 total |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, m in results.items():
        print(f"| {mode} | {m['answered']:.0f}/{m['answerable']:.0f} | {m['refused']:.0f}/{m['unanswerable']:.0f} "
              f"| {m['cited_sentence_share']:.1%} | {m['gold_citation_share']:.1%} ({m['gold_citations']:.0f}/{m['citations']:.0f}) "
              f"| {m['fallbacks']:.0f} | {m['total_ms_p50'] / 1000:.1f}s / {m['total_ms_p95'] / 1000:.1f}s |")
    return 0


def run_conversations(args: argparse.Namespace, config: Config) -> int:
    from tqdm.auto import tqdm

    from rag_eval.conversations import ConversationEvaluator, conversation_set, load_conversations, report
    from rag_ingest.default_index import open_bundled_rag

    if args.rewrite:
        config.conversation.rewrite = args.rewrite
    dataset = conversation_set(args.dataset)
    conversations = load_conversations(dataset)[: args.limit]
    progress = sys.stderr.isatty()
    rag = open_bundled_rag(config=config, progress=progress)
    evaluator = ConversationEvaluator(conversations, mode=args.answer_mode, control=not args.no_control)
    metrics, records = evaluator(rag, progress=lambda it: tqdm(it, desc="eval conversations", unit="conversation"))
    if args.out:
        Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    mode = args.answer_mode or config.answer.mode
    print(f"{len(conversations)} conversations in {dataset}; answers: {mode}; rewrite: {config.conversation.rewrite}\n")
    print(report(metrics), end="")
    return 0


def run_retrieval(args: argparse.Namespace, config: Config) -> int:
    from rag_eval.datasets import dataset_path, load_questions
    from rag_eval.retrieval_compare import compare, comparison_table
    from rag_ingest.default_index import open_bundled_rag

    dataset = dataset_path(args.dataset)
    questions = load_questions(dataset)
    rag = open_bundled_rag(config=config, progress=sys.stderr.isatty())
    rows = compare(rag, questions, baseline=not args.no_baseline, rerankers=[s for s in args.rerankers.split(",") if s])
    if args.json:
        print(json.dumps({"retrieval": rows, "min_relevance": rag.min_relevance}, indent=2))
        return 0
    answerable = sum(q.answerable and bool(q.gold_substrings) for q in questions)
    print(f"{answerable} answerable questions of {len(questions)} in {dataset}; "
          f"refusal: best-hit relevance < {rag.min_relevance:.3f}\n")
    print(comparison_table(rows))
    return 0
