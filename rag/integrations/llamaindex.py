"""This project's retrieval and cited answers inside LlamaIndex apps (``pip install 'rag-local[llamaindex]'``).

- :class:`RagRetriever`: a LlamaIndex ``BaseRetriever`` that retrieves through a `rag.api.RAG` (hybrid
  first stage + rerank). Each ``NodeWithScore`` is one passage: ``node.text`` is exactly
  ``document[start:end]``, ``start_char_idx``/``end_char_idx`` are that span, and the metadata carry
  ``doc_id``, ``heading`` / ``heading_path``, ``start``, ``end``, ``score``, ``relevance`` and each
  stage's ``scores``.
- :class:`RagQueryEngine`: a ``CustomQueryEngine`` returning the citation-checked answer as a
  ``Response`` whose ``source_nodes`` are the cited passages (each the exact supporting span) and whose
  metadata hold the citations, ``abstained``, ``mode`` and ``fallback``.

LlamaIndex's own node parsers lose character offsets, so the index is built by ``rag ingest`` and these
classes only read it. Importing this module without llama-index-core raises ImportError with the
install command; nothing else in `rag` imports it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    from llama_index.core.base.response.schema import Response
    from llama_index.core.query_engine import CustomQueryEngine
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import (
        NodeRelationship,
        NodeWithScore,
        QueryBundle,
        RelatedNodeInfo,
        TextNode,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "rag.integrations.llamaindex needs llama-index-core: pip install 'rag-local[llamaindex]' "
        "(or pip install llama-index-core)"
    ) from exc

from rag.answering.answerer import Answer
from rag.answering.citations import Citation
from rag.api import RAG
from rag.core.schema import Chunk, Hit

# Shown to a LlamaIndex LLM with the passage text; the numeric fields stay out of prompts and embeddings.
_HIDDEN_FROM_MODELS = ["start", "end", "score", "relevance", "scores", "heading_path", "chunk_id", "n"]


def _node(chunk: Chunk, text: str, start: int, end: int, node_id: str, **extra: Any) -> TextNode:
    metadata = {
        "doc_id": chunk.doc_id, "heading": chunk.heading, "heading_path": list(chunk.heading_path),
        "chunk_id": chunk.id, "start": start, "end": end, **extra,
    }
    return TextNode(
        id_=node_id, text=text, start_char_idx=start, end_char_idx=end, metadata=metadata,
        excluded_embed_metadata_keys=list(_HIDDEN_FROM_MODELS), excluded_llm_metadata_keys=list(_HIDDEN_FROM_MODELS),
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=chunk.doc_id)},
    )


def hit_node(hit: Hit) -> NodeWithScore:
    """A retrieved passage as a LlamaIndex node (the whole chunk) with its final score."""
    node = _node(
        hit.chunk, hit.chunk.text, hit.chunk.start, hit.chunk.end, hit.chunk.id,
        score=float(hit.score), relevance=float(hit.scores.get("relevance", hit.score)),
        scores={name: float(value) for name, value in hit.scores.items()},
    )
    return NodeWithScore(node=node, score=float(hit.score))


def citation_node(citation: Citation, hit: Hit | None) -> NodeWithScore:
    """A cited span as a node: the exact supporting text, its source span, and the passage's relevance."""
    chunk = hit.chunk if hit is not None else Chunk(citation.chunk_id, citation.doc_id, citation.text, citation.start, citation.end)
    relevance = float(hit.scores.get("relevance", hit.score)) if hit is not None else None
    node = _node(
        chunk, citation.text, citation.start, citation.end, f"{citation.chunk_id}:{citation.start}-{citation.end}",
        n=citation.n, relevance=relevance,
    )
    node.metadata["heading"] = citation.heading
    return NodeWithScore(node=node, score=relevance)


class RagRetriever(BaseRetriever):
    """Retrieves through `rag` (see the module docstring). `k` passages (default: the config's
    ``retrieval.top_k``), first stage `mode` (``hybrid`` default, ``dense``, ``sparse``), reranked unless
    `rerank` is False."""

    def __init__(self, rag: RAG, k: int | None = None, mode: str | None = None, rerank: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rag = rag
        self.k = k
        self.mode = mode
        self.rerank = rerank

    @classmethod
    def from_index(cls, index_dir: str | Path | None = None, **kwargs: Any) -> "RagRetriever":
        """A retriever over the index at `index_dir` (built by ``rag ingest``; None = the configured one)."""
        return cls(RAG.open(index_dir), **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.rag.retrieve(query_bundle.query_str, k=self.k, mode=self.mode, rerank=self.rerank)
        return [hit_node(hit) for hit in hits]


class RagQueryEngine(CustomQueryEngine):
    """Answers with `rag` (``llm`` or ``extractive`` `mode`, default the config's); see the module docstring."""

    rag: Any
    mode: str | None = None
    k: int | None = None

    @classmethod
    def from_index(cls, index_dir: str | Path | None = None, **kwargs: Any) -> "RagQueryEngine":
        """A query engine over the index at `index_dir` (built by ``rag ingest``; None = the configured one)."""
        return cls(rag=RAG.open(index_dir), **kwargs)

    def custom_query(self, query_str: str) -> Response:
        return answer_response(self.rag.ask(query_str, mode=self.mode, k=self.k))


def answer_response(answer: Answer) -> Response:
    """A checked `Answer` as a LlamaIndex ``Response`` (source nodes = the cited spans)."""
    hits = {hit.chunk.id: hit for hit in answer.hits}
    return Response(
        response=answer.text,
        source_nodes=[citation_node(c, hits.get(c.chunk_id)) for c in answer.citations],
        metadata={
            "citations": [c.to_json() for c in answer.citations],
            "abstained": answer.abstained,
            "mode": answer.mode,
            "fallback": answer.fallback,
            "language": answer.language,
        },
    )
