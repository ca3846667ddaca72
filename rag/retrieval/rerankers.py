"""The second stage: re-order the fused hits (each gets a ``rerank`` score; whether they answer the question
is the refusal stage's call, `rag.refusal.relevance`).

Specs: ``sentence-maxsim`` (default; packaged embedder, no extra model), ``cross-encoder:<hub id or
local path>`` (sentence-transformers CrossEncoder, e.g. BAAI/bge-reranker-v2-m3), ``llm`` / ``llm:<n>``
(the answering model judges whether each of the default's top n passages answers; slow, see the README)
and ``none`` (the first-stage order).
"""
from __future__ import annotations

import dataclasses
import math
import threading
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from rag.core.config import RerankConfig
from rag.core.errors import ConfigError, ModelLoadError, import_extra
from rag.core.schema import Hit
from rag.core.text import join_cjk_wraps
from rag.generation.chat import eos_text, neutralise, render_chat
from rag.retrieval.evidence import EvidenceScorer

# sentence-maxsim score = PASSAGE_WEIGHT * passage cosine + (1 - PASSAGE_WEIGHT) * best sentence cosine
# + FIRST_STAGE_PRIOR / (1 + first-stage rank). With 1200-character passages the fused-rank prior no longer
# helped on the tuning part (python -m rag_eval.tune_retrieval), so it is off; the hook stays for other corpora.
PASSAGE_WEIGHT = 0.5
FIRST_STAGE_PRIOR = 0.0


@runtime_checkable
class Reranker(Protocol):
    """Re-orders hits for a question; every returned hit has a ``rerank`` score (``none`` keeps the order
    and adds none)."""

    spec: str

    def warm_up(self) -> None: ...

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]: ...


class KeepOrder:
    """Spec ``none``: the first-stage order, unchanged."""

    spec = "none"

    def warm_up(self) -> None:
        pass

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        return list(hits)


class EvidenceReranker:
    """Scores passages by their best evidence sentence (embedded at ingest) and their whole text."""

    spec = "sentence-maxsim"

    def __init__(
        self, scorer: EvidenceScorer, passage_weight: float = PASSAGE_WEIGHT, first_stage_prior: float = FIRST_STAGE_PRIOR
    ) -> None:
        self.scorer = scorer
        self.passage_weight = passage_weight
        self.first_stage_prior = first_stage_prior

    def warm_up(self) -> None:
        pass

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        scored = []
        for rank, (hit, evidence) in enumerate(zip(hits, self.scorer.hits(question, hits))):
            score = (
                self.passage_weight * evidence.dense
                + (1 - self.passage_weight) * evidence.best_sentence
                + self.first_stage_prior / (1 + rank)
            )
            scored.append(dataclasses.replace(hit, score=score, scores={**hit.scores, "rerank": score}))
        return sorted(scored, key=lambda h: -h.score)


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder; its logit through a sigmoid is the ``rerank`` score (an order,
    not the refusal model's relevance scale)."""

    def __init__(self, model: str, batch_size: int = 16, max_length: int = 512, device: str = "cpu") -> None:
        self.model_name = model
        self.spec = f"cross-encoder:{model}"
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            CrossEncoder = import_extra(  # torch and sentence-transformers are an extra, not the default install
                "sentence_transformers", "CrossEncoder", f"The re-ranker '{self.spec}'", "sentence-transformers")
            try:
                self._model = CrossEncoder(self.model_name, max_length=self.max_length, device=self.device)
            except Exception as exc:  # hub, OS and format errors all mean "not loadable here"
                raise ModelLoadError(missing_model_message(self.model_name, "cross-encoder", exc)) from exc

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        if not hits:
            return []
        self.warm_up()
        pairs = [(question, hit.chunk.indexed_text) for hit in hits]
        import torch

        with self._lock:
            logits = self._model.predict(  # type: ignore[union-attr]
                pairs, batch_size=self.batch_size, activation_fn=torch.nn.Identity(), show_progress_bar=False
            )
        probabilities = [1.0 / (1.0 + math.exp(-float(z))) for z in np.asarray(logits).reshape(len(hits), -1)[:, 0]]
        scored = [
            dataclasses.replace(hit, score=p, scores={**hit.scores, "rerank": p})
            for hit, p in zip(hits, probabilities)
        ]
        return sorted(scored, key=lambda h: -h.score)


JUDGE_SYSTEM = "判断资料是否回答了问题。Judge whether the passage answers the question."
JUDGE_ASK = "资料回答了这个问题吗？只回答“是”或“否”。Does the passage answer the question? Reply 是 or 否."
YES_WORDS, NO_WORDS = ("是", "Yes", "yes"), ("否", "No", "no", "不")


class GeneratorReranker:
    """The answering LLM as a pointwise judge: the default second stage orders the hits, then its top `top_n`
    are re-ordered by the model's probability that the passage (its first `passage_chars` characters) answers
    the question (``rerank`` = that probability). Each judged passage is one prompt evaluation (the question
    comes first, so its tokens are reused across passages), which makes this the slowest stage by far."""

    def __init__(
        self, base: EvidenceReranker, generator_factory: Callable[[], Any], top_n: int = 5, passage_chars: int = 300
    ) -> None:
        self.base = base
        self.scorer = base.scorer
        self._generator_factory = generator_factory
        self.top_n = top_n
        self.passage_chars = passage_chars
        self.spec = f"llm:{top_n}"

    def warm_up(self) -> None:
        generator = self._generator_factory()
        if not callable(getattr(generator, "yes_probability", None)):
            raise ConfigError(
                f"The llm reranker needs a llama.cpp generator (a packaged model or a .gguf path); "
                f"'{generator.spec}' gives no token probabilities."
            )
        generator.warm_up()

    def prompt(self, question: str, hit: Hit, generator: Any) -> str:
        """The yes/no prompt for one passage: the model's chat template, else plain text."""
        passage = neutralise(f"{hit.chunk.heading}\n{join_cjk_wraps(hit.chunk.text[: self.passage_chars])}".strip())
        user = f"问题 Question：{neutralise(question)}\n\n资料 Passage：\n{passage}\n\n{JUDGE_ASK}"
        if generator.chat_template:
            messages = [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
            return render_chat(generator.chat_template, messages, eos_token=eos_text(generator))
        return f"{JUDGE_SYSTEM}\n{user}\n答："

    def rerank(self, question: str, hits: Sequence[Hit]) -> list[Hit]:
        ordered = self.base.rerank(question, hits)
        self.warm_up()
        generator = self._generator_factory()
        judged = [
            dataclasses.replace(hit, score=p, scores={**hit.scores, "rerank": p})
            for hit in ordered[: self.top_n]
            for p in [generator.yes_probability(self.prompt(question, hit, generator), YES_WORDS, NO_WORDS)]
        ]
        return sorted(judged, key=lambda h: -h.score) + ordered[self.top_n:]


def missing_model_message(model: str, kind: str, error: Exception | None = None) -> str:
    """Which model, where it was looked for, and how to get it."""
    if Path(model).expanduser().exists() or model.startswith(("/", ".", "~")):
        where = f"the local folder '{model}'"
        fix = "check the path (it must hold a saved sentence-transformers model)"
    else:
        where = "the Hugging Face cache (~/.cache/huggingface) and hub"
        fix = f"run `rag models pull {model}` on a machine with internet, or give a local folder"
    detail = f" ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})" if error else ""
    return f"Could not load {kind} model '{model}' from {where}{detail}. To fix: {fix}."


def make_reranker(
    spec: str, scorer: EvidenceScorer, config: RerankConfig | None = None, generator_factory: Callable[[], Any] | None = None,
) -> Reranker:
    """Build the reranker a spec names. ``llm`` specs judge with the generator `generator_factory` returns
    (the answering model)."""
    config = config if config is not None else RerankConfig()
    kind, _, arg = spec.partition(":")
    if spec == "sentence-maxsim":
        return EvidenceReranker(scorer)
    if spec == "none":
        return KeepOrder()
    if kind == "llm" and generator_factory is not None and (not arg or arg.isdigit()):
        return GeneratorReranker(EvidenceReranker(scorer), generator_factory, top_n=int(arg) if arg else 5)
    if kind == "cross-encoder" and arg:
        return CrossEncoderReranker(arg, batch_size=config.batch_size, max_length=config.max_length)
    raise ConfigError(
        f"Unknown reranker '{spec}'. Use 'sentence-maxsim' (offline default), 'none', 'llm' or 'llm:<top n>' "
        "(the answering model judges the top passages), or 'cross-encoder:<hub id or local path>' "
        "(e.g. cross-encoder:BAAI/bge-reranker-v2-m3)."
    )
