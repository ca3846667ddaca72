"""Fit the relevance model (rag/refusal/relevance.py) and its threshold on the tuning part; report the test part.

    python -m rag_eval.calibrate [--tune tune] [--test test] [--index DIR] [--folds 5] [--repeats 20] [--llm-run DIR]

1. Features of every question's best hit (after the configured second stage).
2. Fit on the tuning part (`rag.refusal.fitting`, which ``rag calibrate`` uses too): a logistic model over the
   standardised features, then the threshold that
   wrongly refuses at most 5% of the tuning part's answerable questions. These are the constants to
   paste into ``DEFAULT_RELEVANCE``. With an index that ``rag calibrate`` calibrated (``--index``), its own
   model is scored on the test part too.
3. Cross-validation on the tuning part, refitting weights *and* threshold on each training fold and
   counting refusals on the held-out fold (repeated stratified k-fold; counts are means over repeats).
4. The tuning-part model applied once to the test part: unanswerable refused (by kind) and answerable
   wrongly refused. The constants currently in ``DEFAULT_RELEVANCE`` are scored the same way.
5. With ``--llm-run DIR`` (a ``rag eval --configs llm`` run on the tuning part with ``rerank.min_relevance = 0``,
   so every question reached the model): the model threshold of ``rag.refusal.policy`` — how far below the evidence
   threshold a question may still go to the LLM, whose draft then has to pass the citation check.
"""
from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.core.config import Config
from rag.refusal.calibration import Calibration
from rag.refusal.fitting import MAX_WRONG_REFUSALS, CountedQuantile, Counts, counts, fit_relevance, probabilities
from rag.refusal.relevance import DEFAULT_RELEVANCE, RelevanceModel
from rag_eval.datasets import EvalQuestion, dataset_path, load_questions
from rag_eval.embed_cache import open_cached_rag
from rag_eval.runio import QUESTIONS, read_records
from rag_ingest.calibration import question_features
from rag_ingest.default_index import ensure_default_index


def fit(X: np.ndarray, answerable: np.ndarray, max_wrong: float = MAX_WRONG_REFUSALS) -> RelevanceModel:
    """Logistic weights (in the raw feature units) and the threshold, both from `X` alone (`rag.refusal.fitting`)."""
    return fit_relevance(X, answerable, CountedQuantile(max_wrong))


def refused_with_model(
    relevance: np.ndarray, declined: np.ndarray, failed: np.ndarray, threshold: float, model_threshold: float
) -> np.ndarray:
    """Refusals in LLM mode (see `rag.refusal.policy`): below the model threshold; the model declined; or a draft
    that failed the citation check on doubtful evidence (between the two thresholds)."""
    return (relevance < model_threshold) | declined | (failed & (relevance < threshold))


def model_threshold_for(
    relevance: np.ndarray, answerable: np.ndarray, declined: np.ndarray, failed: np.ndarray, threshold: float
) -> float:
    """The model threshold (at most `threshold`) under which LLM mode decides the most questions right
    (unanswerable refused + answerable not refused); on a tie the highest, so a band that only trades one
    kind of error for the other is not opened.

    `declined` / `failed`: per question, whether the model said the passages don't answer / whether its
    draft failed the citation check, from a run in which every question reached the model."""
    candidates = sorted({float(threshold), *(float(r) for r in relevance if r < threshold)}, reverse=True)

    def right(t: float) -> int:
        refused = refused_with_model(relevance, declined, failed, threshold, t)
        return int(np.sum(refused != answerable))

    return max(candidates, key=lambda t: (right(t), t))


def cross_validate(X: np.ndarray, answerable: np.ndarray, folds: int = 5, repeats: int = 20, seed: int = 0) -> Counts:
    """Held-out refusal counts, weights and threshold refitted on every training fold (mean over repeats)."""
    from sklearn.model_selection import RepeatedStratifiedKFold

    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    refused = np.zeros(len(X))
    for train, held_out in splitter.split(X, answerable):
        model = fit(X[train], answerable[train])
        refused[held_out] += probabilities(model, X[held_out]) < model.threshold
    mean = refused / repeats
    return Counts(float(np.round(np.sum(mean[~answerable]), 2)), int(np.sum(~answerable)),
                  float(np.round(np.sum(mean[answerable]), 2)), int(np.sum(answerable)))


def by_kind(questions: Sequence[EvalQuestion], refused: np.ndarray) -> str:
    total = Counter(q.subtype or "?" for q in questions if not q.answerable)
    caught = Counter(q.subtype or "?" for q, r in zip(questions, refused) if not q.answerable and r)
    return ", ".join(f"{kind} {caught[kind]}/{n}" for kind, n in sorted(total.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", default="tune", help="set to fit on: tune (default), test, dev or a file")
    parser.add_argument("--test", default="test", help="set to report on: test (default), or a file")
    parser.add_argument("--index")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--llm-run", help="run directory of `rag eval --configs llm` on the tuning part with "
                                          "rerank.min_relevance = 0: fit the model threshold too")
    args = parser.parse_args()
    config = Config.load(env={})
    index = args.index or ensure_default_index(config, progress=True)
    rag = open_cached_rag(index, config)
    tune = load_questions(dataset_path(args.tune))
    test = load_questions(dataset_path(args.test))
    X_tune = np.array([question_features(rag, q.question) for q in tune])
    y_tune = np.array([q.answerable for q in tune])
    X_test = np.array([question_features(rag, q.question) for q in test])
    y_test = np.array([q.answerable for q in test])

    model = fit(X_tune, y_tune)
    print(f"Fitted on {args.tune} ({len(tune)} questions):")
    print(f"  RelevanceModel(bias={model.bias:.3f}, weights="
          f"{ {n: round(w, 3) for n, w in model.weights.items()} }, threshold={math.floor(model.threshold * 1000) / 1000:.3f})")  # rounded down: never refuses more
    print(f"  in-sample ({args.tune}):      {counts(probabilities(model, X_tune) < model.threshold, y_tune)}")
    print(f"  {args.folds}-fold CV x{args.repeats} ({args.tune}, threshold refitted per fold): "
          f"{cross_validate(X_tune, y_tune, args.folds, args.repeats)}")
    candidates = [("fitted above", model), ("DEFAULT_RELEVANCE now", DEFAULT_RELEVANCE)]
    own = Calibration.from_manifest(rag.store.manifest)
    if own is not None:  # the index's own (rag calibrate, no labels)
        candidates.append(("the index's calibration (rag calibrate)", own.relevance))
    for name, candidate in candidates:
        refused = probabilities(candidate, X_test) < candidate.threshold
        print(f"{args.test} ({len(test)} questions), {name}: {counts(refused, y_test)}; by kind: {by_kind(test, refused)}")
    if args.llm_run:
        report_model_threshold(Path(args.llm_run), tune, probabilities(model, X_tune), y_tune, model.threshold)
    rag.embedder.save()


def llm_outcomes(run_dir: Path, questions: Sequence[EvalQuestion]) -> tuple[np.ndarray, np.ndarray]:
    """Per question of `questions`: (the model declined, its draft failed the check), from a run's questions.jsonl."""
    records = {r["id"]: r for r in read_records(run_dir / QUESTIONS) if r["config"] == "llm"}
    missing = [q.id for q in questions if q.id not in records]
    if missing:
        raise SystemExit(f"{run_dir / QUESTIONS} has no llm record for {len(missing)} questions "
                         f"(e.g. {missing[0]}); run `rag eval --configs llm` on the same set.")
    declined = np.array([bool(records[q.id]["abstained"]) for q in questions])
    failed = np.array([bool(records[q.id]["fallback"]) and not records[q.id]["abstained"] for q in questions])
    return declined, failed


def report_model_threshold(
    run_dir: Path, tune: Sequence[EvalQuestion], relevance: np.ndarray, answerable: np.ndarray, threshold: float
) -> None:
    declined, failed = llm_outcomes(run_dir, tune)
    model_threshold = model_threshold_for(relevance, answerable, declined, failed, threshold)
    band = "no doubtful band" if model_threshold >= threshold else f"doubtful band {model_threshold:.3f}-{threshold:.3f}"
    print(f"Model threshold (LLM mode) fitted on {len(tune)} questions: {model_threshold:.3f} ({band})")
    lowest = float(np.min(relevance))
    for label, t in (("no doubtful band", threshold), ("fitted", model_threshold), ("everything to the model", lowest)):
        refused = refused_with_model(relevance, declined, failed, threshold, t)
        print(f"  in-sample, LLM mode, {label}: {counts(refused, answerable)}")


if __name__ == "__main__":
    main()
