"""The default install (no extras) runs the default path without torch; optional paths name the extra they need."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rag.core.errors import ModelLoadError
from rag.embedding.embedders import SentenceTransformerEmbedder
from rag.retrieval.rerankers import CrossEncoderReranker
from rag_app import cli

ROOT = Path(__file__).resolve().parent.parent
EXTRA_ONLY = {"torch", "transformers", "sentence-transformers", "streamlit"}
"""Distributions only extras install (the sentence-transformers models, rag ui)."""
NOT_IMPORTED = ("torch", "transformers", "sentence_transformers", "streamlit", "pandas", "ragas", "langchain_core", "llama_cpp")
"""What searching and extractive answers never import: the extras' packages, the evaluation stack, and llama.cpp
(loaded only to generate)."""


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()


def test_torch_and_streamlit_come_only_with_extras() -> None:
    project = _project()
    assert not {_name(r) for r in project["dependencies"]} & EXTRA_ONLY
    models = project["optional-dependencies"]["sentence-transformers"]
    assert "torch==2.13.0" in models, "pinned: an unpinned torch pulls a multi-GB CUDA build"
    assert {"sentence-transformers", "transformers"} <= {_name(r) for r in models}
    assert {_name(r) for r in project["optional-dependencies"]["ui"]} == {"streamlit"}


def test_dev_installs_every_extra_the_tests_use() -> None:
    extras = dict(_project()["optional-dependencies"])
    dev = extras.pop("dev")
    extras.pop("small-llm")  # a second 0.5 GB generator, which no test runs
    named = {extra for r in dev if _name(r) == "rag-local" for extra in r[r.index("[") + 1: r.index("]")].split(",")}
    for extra, requirements in extras.items():
        assert extra in named or set(requirements) <= set(dev), f"dev lacks the {extra} extra"


def test_the_default_path_imports_no_torch(tiny_corpus: Path, tmp_path: Path) -> None:
    """Build an index, search, answer extractively (CLI and API) in a fresh interpreter; then look at what it imported."""
    index = tmp_path / "index"
    script = f"""
import json, sys
from rag_app.cli import main
from rag.api import RAG
assert main(["ingest", {str(tiny_corpus)!r}, "--index", {str(index)!r}, "--quiet"]) == 0
assert main(["search", "什么是 LoRA？", "--index", {str(index)!r}]) == 0
assert main(["ask", "什么是 LoRA？", "--index", {str(index)!r}, "--mode", "extractive"]) == 0
rag = RAG.open({str(index)!r})
assert rag.retrieve("KV cache 有什么用？") and rag.ask("KV cache 有什么用？", mode="extractive").citations
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {NOT_IMPORTED!r})))
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "LoRA" in done.stdout
    assert json.loads(done.stdout.splitlines()[-1]) == []


EXTRA_HINT = "pip install 'rag-local[sentence-transformers]'"


def test_the_cross_encoder_names_its_extra_when_it_is_missing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if the extra were not installed
    with pytest.raises(ModelLoadError) as caught:
        CrossEncoderReranker("BAAI/bge-reranker-base").warm_up()
    message = str(caught.value)
    assert message.startswith("The re-ranker 'cross-encoder:BAAI/bge-reranker-base' needs the 'sentence-transformers' extra")
    assert "missing module 'sentence_transformers'" in message and message.endswith(EXTRA_HINT)


def test_the_st_embedder_names_its_extra_when_it_is_missing(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ModelLoadError, match=re.escape("The embedder 'st:BAAI/bge-small-zh' needs the 'sentence-transformers' extra")):
        SentenceTransformerEmbedder("BAAI/bge-small-zh").embed_queries(["hi"])


def test_rag_models_says_which_extra_hub_models_need(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert cli.main(["models", "--reranker", "cross-encoder:BAAI/bge-reranker-base"]) == 0
    assert "MISSING reranker  cross-encoder:BAAI/bge-reranker-base  ('cross-encoder:BAAI/bge-reranker-base' needs" in (
        capsys.readouterr().out
    )
    assert cli.main(["models", "pull", "BAAI/bge-reranker-base"]) == 2
    assert capsys.readouterr().err.strip().endswith(EXTRA_HINT)


def test_rag_ui_names_the_ui_extra_when_streamlit_is_missing(monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "streamlit", None)
    assert cli.main(["ui"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: rag ui needs the 'ui' extra (missing module 'streamlit'): pip install 'rag-local[ui]'"
    )
