"""`rag models`: the configured models and whether each is here; `rag models pull` downloads a hub model."""
from __future__ import annotations

import argparse
import sys
from typing import Any

from rag.core.config import Config


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    models = commands.add_parser("models", parents=[common], help="list configured models and their availability")
    models.add_argument("action", nargs="?", choices=["list", "pull"], default="list")
    models.add_argument("name", nargs="?", help="with pull: a Hugging Face model id, e.g. BAAI/bge-reranker-v2-m3")
    models.set_defaults(handler=run_models)


def run_models(args: argparse.Namespace, config: Config) -> int:
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
