"""`rag ui`'s own flags (knowledge-base folder, a read-only index, the upload limit, the config file).

They are settings like any other (`rag.core.config`): `rag ui --data-dir DIR` hands them to the Streamlit
process as ``RAG_DATA_DIR``, ``RAG_INDEX_DIR``, ``RAG_UI_MAX_UPLOAD_MB`` and ``RAG_CONFIG``, and the app loads
its settings the usual way, so ``streamlit run ui/app.py`` reads the same environment (or the same flags
after ``--``: ``streamlit run ui/app.py -- --index DIR``).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Mapping, Sequence

from rag.core.config import DEFAULT_MAX_UPLOAD_MB, Config
from rag.core.locations import is_store_uri
from rag.core.paths import default_data_dir

FLAG_KEYS = {"data_dir": "data_dir", "index": "index_dir", "max_upload_mb": "ui.max_upload_mb"}
"""Flag (argparse dest) -> settings key."""
FLAG_VARIABLES = {"data_dir": "RAG_DATA_DIR", "index": "RAG_INDEX_DIR", "max_upload_mb": "RAG_UI_MAX_UPLOAD_MB", "config": "RAG_CONFIG"}
"""Flag (argparse dest) -> the environment variable that carries it to the app process."""


def parser() -> argparse.ArgumentParser:
    """The flags `rag ui` understands; everything else goes to Streamlit."""
    parser = argparse.ArgumentParser(
        prog="rag ui",
        description="Start the chat app. Options not listed here (e.g. --server.port 8765 "
        "--server.headless true) are passed to Streamlit.",
        allow_abbrev=False,
    )
    parser.add_argument("--data-dir", help=f"knowledge-base folder (default: {default_data_dir()}); $RAG_DATA_DIR")
    parser.add_argument("--index", help="open this existing index read-only instead (uploads disabled); $RAG_INDEX_DIR")
    parser.add_argument("--max-upload-mb", type=float, help=f"upload size limit (default {DEFAULT_MAX_UPLOAD_MB:g}); $RAG_UI_MAX_UPLOAD_MB")
    parser.add_argument("--config", help="TOML config file; $RAG_CONFIG")
    return parser


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split `argv` into the app's flags and the rest (for Streamlit)."""
    return parser().parse_known_args(list(argv))


def _absolute(path: str) -> str:
    return path if is_store_uri(path) else str(Path(path).expanduser().resolve())


def to_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment variables that carry parsed flags to the app process (paths made absolute)."""
    values = {
        "data_dir": args.data_dir and _absolute(args.data_dir),
        "index": args.index and _absolute(args.index),
        "max_upload_mb": None if args.max_upload_mb is None else str(args.max_upload_mb),
        "config": args.config and _absolute(args.config),
    }
    return {FLAG_VARIABLES[name]: value for name, value in values.items() if value}


def load(argv: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Config:
    """The app's settings: flags in `argv` over the environment (`env`, default ``os.environ``), a config file
    and the defaults. Raises ConfigError naming a bad key."""
    args, _ = parse(argv)
    paths = {"data_dir": args.data_dir and _absolute(args.data_dir), "index": args.index and _absolute(args.index)}
    overrides = {key: paths.get(flag, getattr(args, flag)) for flag, key in FLAG_KEYS.items()}
    return Config.load(args.config, env=env, overrides=overrides)


def data_dir(config: Config) -> Path:
    """The knowledge-base folder the settings name (or the per-user default)."""
    return Path(config.data_dir).expanduser().resolve() if config.data_dir else default_data_dir()


def read_only(config: Config) -> bool:
    """Whether the app shows an existing index (``index_dir``) instead of the knowledge base (no uploads)."""
    return config.index_dir is not None
