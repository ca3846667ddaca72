"""Named evaluation configurations: which retriever, whether to re-rank, which answerer.

Each maps onto the arguments of the public API (`RAG.retrieve(mode=, rerank=)` and the answer mode), so
a run changes settings without touching the index or re-implementing a stage. ``hybrid`` uses the
configured answer mode (extractive by default), so with default settings it answers like ``extractive``.
"""
from __future__ import annotations

from dataclasses import dataclass

from rag.core.errors import ConfigError


@dataclass(frozen=True)
class RunConfig:
    name: str
    retrieval_mode: str = "hybrid"
    rerank: bool = True
    answer_mode: str | None = None
    """None = the configured answer mode."""


CONFIGS: dict[str, RunConfig] = {
    "hybrid": RunConfig("hybrid"),
    "dense": RunConfig("dense", retrieval_mode="dense"),
    "sparse": RunConfig("sparse", retrieval_mode="sparse"),
    "no-rerank": RunConfig("no-rerank", rerank=False),
    "extractive": RunConfig("extractive", answer_mode="extractive"),
    "llm": RunConfig("llm", answer_mode="llm"),
}
DEFAULT_CONFIGS = "hybrid,dense,sparse,no-rerank,extractive,llm"


def parse_configs(names: str) -> list[RunConfig]:
    """``"hybrid,llm"`` -> the named configurations, in order; an unknown name fails with the known ones."""
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in CONFIGS]
    if unknown or not chosen:
        raise ConfigError(f"Unknown eval configuration(s) {', '.join(unknown) or '(none)'}; use: {', '.join(CONFIGS)}.")
    return [CONFIGS[n] for n in dict.fromkeys(chosen)]
