"""``rag calibrate``: fit the refusal model and the citation check's semantic floor to an index's own documents,
with no labels from anyone.

1. Hold out: the index's passages are grouped into units (documents, or runs of passages of a large one) and
   the units dealt into folds (`rag_ingest.holdout`).
2. Questions: the local model writes a question and a one-sentence answer from each of a sample of passages
   taken in turn from every unit (`rag_ingest.question_writer`, cached on disk). Each question gives two
   labelled examples: *answerable*, asked of the whole index (gold: its passage), and *on-topic absent*, asked
   of the index without the question's fold (`rag_ingest.subindex`). Passages that only state a question (no
   answer under them) give *asked-only* questions, and a fixed multilingual set gives *off-topic* ones
   (`rag_ingest.off_topic`), both asked of the whole index.
3. Fit: the best hit's relevance features for each example (the same retrieval and measures a question gets
   at answer time), then the logistic model — its weights pulled towards the shipped model's (fitted on
   hand-labelled questions), not towards zero, so what the generated questions can't teach (they rarely use
   terms the documents lack) is kept — and the threshold that best separates the answerable questions from the
   off-topic ones, normal fits of both, a wrongly refused answerable question costing
   ``calibration.wrong_refusal_cost`` answered off-topic ones (`rag.refusal.fitting.OffTopicCost`; with fewer than 8
   off-topic questions, the answerable questions' ``calibration.max_wrong_refusals`` quantile), cross-validated
   with the two examples of a question always held out together.
4. Semantic floor: the generated answers are claims. Supported when their passage is in the index (and holds
   the corpus sentence closest to them, as the citation check requires); unsupported when it is held out. The
   floor is the margin above the claim's median similarity that separates the two best.
5. The result goes into the index's manifest (a new generation: `rag_ingest.manifest_update`), which `RAG`
   reads; ``rag info`` shows it.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import RagError
from rag.core.language import detect_language
from rag.embedding.embedders import Embedder
from rag.index.protocol import Store
from rag.index.stores import open_store
from rag.refusal.calibration import Calibration
from rag.refusal.policy import RefusalPolicy
from rag.refusal.fitting import Counts, NormalQuantile, OffTopicCost, counts, cross_validate, fit_relevance, probabilities
from rag.refusal.relevance import DEFAULT_RELEVANCE, FEATURES, relevance_features
from rag_ingest.document_set import now
from rag_ingest.holdout import make_holdout, question_rows
from rag_ingest.off_topic import OFF_TOPIC_QUESTIONS
from rag_ingest.question_writer import QuestionWriter, passage_excerpt, question_language
from rag_ingest.subindex import without_rows

log = logging.getLogger(__name__)

KINDS = ("answerable", "absent", "asked_only", "off_topic")
OFF_TOPIC_MAX_COVERAGE = 0.75
"""An off-topic question whose best passage holds this IDF-weighted share of its terms may be on topic here:
it is left out."""
Progress = Callable[[Iterable], Iterable]


@dataclass(frozen=True)
class Example:
    """One labelled question and the relevance features of its best hit."""

    question: str
    kind: str
    """``answerable``, ``absent`` (its passage held out), ``asked_only`` or ``off_topic``."""
    group: int
    """Examples of one group (a question asked of both indexes) are cross-validated together."""
    features: tuple[float, ...]

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


@dataclass
class CalibrationResult:
    """What `calibrate` fitted and how well it did on the examples it made."""

    calibration: Calibration
    examples: list[Example]
    in_sample: Counts
    cross_validated: Counts
    supported_margins: list[float] = field(default_factory=list)
    unsupported_margins: list[float] = field(default_factory=list)
    written: int = 0
    """Questions the model wrote this run (the others came from the cache)."""
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = {kind: sum(e.kind == kind for e in self.examples) for kind in KINDS}
        model = self.calibration.relevance
        margin = self.calibration.semantic_min_margin
        return "\n".join([
            f"Calibrated on {sum(kinds.values())} questions: {kinds['answerable']} answerable (written by the model from "
            f"the documents), {kinds['absent']} about held-out documents, {kinds['asked_only']} the documents only ask, "
            f"{kinds['off_topic']} off-topic ({self.written} written now, {self.seconds:.0f}s).",
            f"Refusal threshold {model.threshold:.3f}; citation floor "
            f"{'unchanged (too few claims)' if margin is None else f'{margin:.3f}'}.",
            f"On these questions: {self.in_sample}.",
            f"Cross-validated (refitted without the questions scored): {self.cross_validated}.",
        ])


def question_features(rag: RAG, question: str) -> tuple[float, ...]:
    """Relevance features of the best hit after the configured second stage (as answering computes them)."""
    hits = rag.retrieve(question, k=1)
    features = relevance_features(rag.evidence.hits(question, hits)[0], rag.evidence.question(question))
    return tuple(features[name] for name in FEATURES)


def calibrate(
    location: str | Any, config: Config, embedder: Embedder, generator: Any,
    progress: Progress | None = None, cache_file: Any = None,
) -> CalibrationResult:
    """Fit a `Calibration` for the index at `location` (nothing is written; `rag_ingest.manifest_update` stores it).

    `generator` writes the questions (a `rag.generation.base.Generator`); `progress` wraps the slow loop.
    """
    started = time.perf_counter()
    settings = config.calibration
    store = open_store(location, embedder_spec=embedder.spec)
    holdout = make_holdout(store.chunks, settings.folds, settings.seed)
    rows = question_rows(store.chunks, holdout, settings.questions, settings.seed)
    writer = QuestionWriter(generator, cache_file)
    requests = [_request(store, row, position) for position, row in enumerate(rows)]
    fresh = sum(not writer.cached(*request) for request in requests)
    written = writer.write_all(requests, progress)
    full = _rag(store, config, embedder)
    fold_of_row = holdout.fold_of_row()
    held_out = {fold: _rag(without_rows(store, holdout.fold_rows(fold), config.index), config, embedder)
                for fold in range(holdout.folds)}
    examples: list[Example] = []
    claims: list[tuple[str, int, int]] = []
    for row, item in zip(rows, written):
        if item is None:
            continue
        fold = fold_of_row[row]
        examples.append(Example(item.question, "answerable", row, question_features(full, item.question)))
        examples.append(Example(item.question, "absent", row, question_features(held_out[fold], item.question)))
        claims.append((item.answer, row, fold))
    examples += _asked_only(store, full, settings.questions // 3, settings.seed)
    examples += _off_topic(full)
    X = np.array([e.features for e in examples])
    y = np.array([e.answerable for e in examples])
    if y.sum() < 4 or (~y).sum() < 4:
        raise RagError(
            f"Calibration needs at least 4 usable questions of each kind; it got {int(y.sum())} answerable ones from "
            f"{len(rows)} passages long enough to ask about (the model's other replies didn't parse). Add documents, raise "
            "calibration.questions, or try another generator (calibration.generator)."
        )
    off_topic = np.array([e.kind == "off_topic" for e in examples])
    rule = OffTopicCost(settings.wrong_refusal_cost, fallback=NormalQuantile(settings.max_wrong_refusals))
    model = fit_relevance(X, y, rule, prior=DEFAULT_RELEVANCE, off_topic=off_topic)
    in_sample = counts(probabilities(model, X) < model.threshold, y)
    held = cross_validate(X, y, [e.group for e in examples], folds=5, repeats=settings.cv_repeats, seed=settings.seed,
                          rule=rule, prior=DEFAULT_RELEVANCE, off_topic=off_topic)
    supported = [m for claim, row, _ in claims if (m := _supported_margin(full, claim, store.chunks[row])) is not None]
    unsupported = [_unsupported_margin(held_out[fold], claim) for claim, _, fold in claims]
    margin = semantic_floor(supported, unsupported)
    calibration = Calibration(model, margin)
    result = CalibrationResult(calibration, examples, in_sample, held, supported, unsupported, fresh, 0.0)
    record = calibration.to_record(
        fitted_at=now(), embedder=embedder.spec, generator=getattr(generator, "spec", "?"), seed=settings.seed,
        documents=store.manifest.get("counts", {}).get("documents"), passages=len(store.chunks),
        folds=holdout.folds, questions={kind: sum(e.kind == kind for e in examples) for kind in KINDS},
        in_sample=_shares(in_sample), cross_validated=_shares(held),
        claims={"supported": len(supported), "unsupported": len(unsupported)},
    )
    result.calibration = Calibration(model, margin, record)
    result.seconds = time.perf_counter() - started
    return result


def _request(store: Store, row: int, position: int) -> tuple[str, str]:
    chunk = store.chunks[row]
    excerpt = passage_excerpt(chunk.heading, chunk.text)
    return excerpt, question_language(detect_language(excerpt), position)


def _rag(store: Store, config: Config, embedder: Embedder) -> RAG:
    """Retrieval and evidence measures over `store` as answering computes them (the refusal policy is not used)."""
    rag = RAG(store, config, embedder, follow=False, refusal=RefusalPolicy())
    rag.warm_up()
    return rag


def _asked_only(store: Store, full: RAG, count: int, seed: int) -> list[Example]:
    """Questions the documents ask without answering: the text of passages that only state a question."""
    bare = [c for c in store.chunks if c.meta.get("question_only")]
    random.Random(seed + 2).shuffle(bare)
    return [Example(c.text.strip(), "asked_only", -1 - i, question_features(full, c.text.strip()))
            for i, c in enumerate(bare[:count])]


def _off_topic(full: RAG) -> list[Example]:
    examples = []
    for i, question in enumerate(OFF_TOPIC_QUESTIONS):
        features = question_features(full, question)
        if dict(zip(FEATURES, features))["coverage"] >= OFF_TOPIC_MAX_COVERAGE:
            log.info("Left out off-topic question %r: its best passage holds most of its terms", question)
            continue
        examples.append(Example(question, "off_topic", -10_000 - i, features))
    return examples


def _supported_margin(full: RAG, claim: str, chunk: Any) -> float | None:
    """The claim's margin when its own passage holds the corpus sentence closest to it (else None: the
    citation check would not support it by meaning at any floor)."""
    rank, _, _ = full.evidence.semantic_rank(claim, chunk)
    if rank != 0:
        return None
    similarities, median = full.evidence.similarities_to_corpus(claim)
    rows = full.evidence.sentence_rows(chunk.id)
    return float(np.max(similarities[rows]) - median)


def _unsupported_margin(held_out: RAG, claim: str) -> float:
    """The claim's margin over an index without its passage: its closest sentence there, wherever it is."""
    similarities, median = held_out.evidence.similarities_to_corpus(claim)
    return float(np.max(similarities) - median) if len(similarities) else 0.0


def semantic_floor(supported: Sequence[float], unsupported: Sequence[float], least: int = 8) -> float | None:
    """The margin that best separates supported from unsupported claims (most claims on the right side; ties
    to the higher floor), or None with fewer than `least` claims of either kind."""
    if len(supported) < least or len(unsupported) < least:
        return None
    good, bad = np.asarray(supported), np.asarray(unsupported)
    candidates = np.unique(np.concatenate([good, bad]))
    right = [(np.sum(good >= m) + np.sum(bad < m), m) for m in candidates]
    return round(float(max(right)[1]), 4)


def _shares(result: Counts) -> dict[str, float]:
    return {"unanswerable_refused_share": round(result.refused_share, 4),
            "answerable_refused_share": round(result.wrongly_refused_share, 4),
            "unanswerable": result.unanswerable, "answerable": result.answerable}


def calibrate_and_store(
    location: str | Any, config: Config, progress: bool = True, embedder: Embedder | None = None, generator: Any = None,
) -> CalibrationResult:
    """`calibrate` the index at `location` with the configured models, then store the result in its manifest."""
    from tqdm.auto import tqdm

    from rag.embedding.embedders import make_embedder
    from rag.generation.factory import make_generator
    from rag_ingest.manifest_update import store_calibration

    embedder = embedder if embedder is not None else make_embedder(config.embedder)
    if generator is None:
        answer = config.answer
        spec = config.calibration.generator or answer.generator
        generator = make_generator(spec, n_ctx=answer.n_ctx, repeat_penalty=answer.repeat_penalty)
    bar = (lambda items: tqdm(items, desc="Writing questions", unit="passage")) if progress else None
    result = calibrate(location, config, embedder, generator, progress=bar)
    store_calibration(location, dict(result.calibration.record))
    return result
