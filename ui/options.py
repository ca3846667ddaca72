"""The app's own options (data directory, read-only index, upload limit), from flags or environment.

`rag ui --data-dir DIR` turns its flags into the ``RAG_UI_*`` environment variables below before it
starts Streamlit, so ``streamlit run ui/app.py`` reads the same settings from the environment (or from
flags after ``--``: ``streamlit run ui/app.py -- --index DIR``).
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from rag.core.locations import is_store_uri
from rag.core.paths import default_data_dir
from rag_ingest.knowledge_base import DEFAULT_MAX_UPLOAD_MB

DATA_DIR_ENV = "RAG_UI_DATA_DIR"
INDEX_ENV = "RAG_UI_INDEX"
MAX_UPLOAD_ENV = "RAG_UI_MAX_UPLOAD_MB"
CONFIG_ENV = "RAG_CONFIG"


@dataclass(frozen=True)
class UiOptions:
    """Where the knowledge base lives and what users may do with it."""

    data_dir: Path
    """``documents/`` (the files) and ``index/`` (their index) live here."""
    index_dir: Path | str | None = None
    """An existing index (a folder, or a store URI such as ``milvus:./kb.db``) opened read-only instead of
    the data directory (uploads disabled)."""
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    config_file: str | None = None

    @property
    def read_only(self) -> bool:
        return self.index_dir is not None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def parser() -> argparse.ArgumentParser:
    """The flags `rag ui` understands; everything else goes to Streamlit."""
    parser = argparse.ArgumentParser(
        prog="rag ui",
        description="Start the chat app. Options not listed here (e.g. --server.port 8765 "
        "--server.headless true) are passed to Streamlit.",
        allow_abbrev=False,
    )
    parser.add_argument("--data-dir", help=f"knowledge-base folder (default: {default_data_dir()}); ${DATA_DIR_ENV}")
    parser.add_argument("--index", help=f"open this existing index read-only instead (uploads disabled); ${INDEX_ENV}")
    parser.add_argument("--max-upload-mb", type=float, help=f"upload size limit (default {DEFAULT_MAX_UPLOAD_MB:g}); ${MAX_UPLOAD_ENV}")
    parser.add_argument("--config", help=f"TOML config file; ${CONFIG_ENV}")
    return parser


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split `argv` into the app's flags and the rest (for Streamlit)."""
    return parser().parse_known_args(list(argv))


def to_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment variables that carry parsed flags to the app process."""
    values = {
        DATA_DIR_ENV: args.data_dir and str(Path(args.data_dir).expanduser().resolve()),
        INDEX_ENV: args.index and (args.index if is_store_uri(args.index) else str(Path(args.index).expanduser().resolve())),
        MAX_UPLOAD_ENV: None if args.max_upload_mb is None else str(args.max_upload_mb),
        CONFIG_ENV: args.config and str(Path(args.config).expanduser().resolve()),
    }
    return {name: value for name, value in values.items() if value}


def load(argv: Sequence[str] = (), env: Mapping[str, str] | None = None) -> UiOptions:
    """Options from `argv` flags, falling back to `env` (``os.environ``), then defaults."""
    env = os.environ if env is None else env
    args, _ = parse(argv)
    merged = {**env, **to_env(args)}
    limit = merged.get(MAX_UPLOAD_ENV)
    try:
        max_upload_mb = float(limit) if limit else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        raise ValueError(f"{MAX_UPLOAD_ENV} must be a number of megabytes, got {limit!r}") from None
    if max_upload_mb <= 0:
        raise ValueError(f"The upload limit must be positive, got {max_upload_mb:g} MB")
    index = merged.get(INDEX_ENV)
    data_dir = merged.get(DATA_DIR_ENV)
    return UiOptions(
        data_dir=Path(data_dir).expanduser() if data_dir else default_data_dir(),
        index_dir=(index if is_store_uri(index) else Path(index).expanduser()) if index else None,
        max_upload_mb=max_upload_mb,
        config_file=merged.get(CONFIG_ENV) or None,
    )
