"""The ``rag`` command: one module per command group (`ask`: ask and search; `index`: ingest, info, index
export; `models`; `serve`; `evaluate`: eval; `config`); `rag ui` hands over to the chat app's launcher.

Settings come from `rag.core.config` (file, environment, then these flags and ``--set KEY=VALUE``). Output meant
for scripts (``--json``) goes to stdout; progress bars and logs go to stderr.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
from typing import Sequence

from rag.core.config import Config
from rag.core.errors import explain, needs_extra
from rag.core.runtime import apply_process_defaults
from rag_app.cli import ask, chat, config, evaluate, index, models, serve
from rag_app.cli.common import SafeFormatter, common_flags, overrides, print_error

COMMAND_GROUPS = (index, ask, chat, models, serve, config, evaluate)


def main(argv: Sequence[str] | None = None) -> int:
    apply_process_defaults()  # before any command loads the embedder or FAISS (OpenMP reads it once)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "ui":  # its own flags and Streamlit's pass through to the app launcher
        if importlib.util.find_spec("streamlit") is None:
            print_error(needs_extra("rag ui", "ui", "streamlit"))
            return 2
        from rag_ui.launch import main as launch_ui

        return launch_ui(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if args.command == "ingest" else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(SafeFormatter(handler.formatter._fmt if handler.formatter else None))
    try:
        return args.handler(args, Config.load(args.config, overrides=overrides(args)))
    except KeyboardInterrupt:
        return 130
    except ModuleNotFoundError as exc:
        if args.command != "eval" or (exc.name or "").split(".")[0] not in evaluate.EVAL_EXTRA_MODULES:
            raise
        print_error(needs_extra("rag eval", "eval", exc.name))
        return 2
    except Exception as exc:
        # The one place that turns expected failures (bad input, damaged index, disk full, permissions,
        # encodings) into a message; anything else is a bug and keeps its traceback.
        message = explain(exc)
        if message is None:
            raise
        print_error(message)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every command group registers its subcommands."""
    common = common_flags()
    parser = argparse.ArgumentParser(prog="rag", description="Local question answering over your documents.")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(commands, common)
    ui = commands.add_parser(
        "ui", add_help=False, help="start the chat app (rag ui --help; Streamlit options such as --server.port pass through)"
    )
    ui.set_defaults(handler=None)
    return parser
