"""Plain-text tables of metric dicts (Markdown, so they paste into the README as they are)."""
from __future__ import annotations

from typing import Mapping

RETRIEVAL_COLUMNS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ms_per_query")


def retrieval_table(results: Mapping[str, Mapping[str, float]], columns: tuple[str, ...] = RETRIEVAL_COLUMNS) -> str:
    """One row per configuration, one column per metric present in any row."""
    present = [c for c in columns if any(c in metrics for metrics in results.values())]
    lines = ["| retriever | " + " | ".join(present) + " |", "|---|" + "---:|" * len(present)]
    for name, metrics in results.items():
        cells = [_format(metrics[c], c) if c in metrics else "" for c in present]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _format(value: float, column: str) -> str:
    return f"{value:.1f}" if column.startswith("ms") else f"{value:.3f}"
