"""The openai: generator against a real llama.cpp server (``python -m llama_cpp.server``) on 127.0.0.1,
running the packaged Gemma 3 270M; and one contract both generators (in-process, served) must keep."""
from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from rag.answering.answerer import Answer, Reading, Token
from rag.api import RAG
from rag.core.config import Config
from rag.core.errors import ConfigError, ModelLoadError
from rag.generation.base import ChatGenerator, Generator
from rag.generation.factory import make_generator
from rag.generation.llama_cpp import LlamaCppGenerator, packaged_model_path
from rag.generation.openai_compatible import (
    GeneratorServerError,
    OpenAIGenerator,
    api_key,
    estimate_tokens,
    parse_openai_spec,
)
from rag.index.local import IndexStore
from rag.models import generator_status
from rag_ingest.builder import IndexBuilder

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp.server") is None or importlib.util.find_spec("sse_starlette") is None,
    reason="llama_cpp.server is not importable: pip install 'llama-cpp-python[server]' (the [server] extra; dev includes it)",
)

KEY = "test-key-123"
MODEL = "gemma"
PROMPT = "The capital of France is"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """A llama.cpp OpenAI-compatible server with the packaged 270M model; yields its base URL."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(packaged_model_path("gemma3-270m")),
        "--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
        "--n_threads", "2", "--seed", "0", "--api_key", KEY,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({process.returncode}): {log.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer within 120 s")
            time.sleep(0.3)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def keyed(monkeypatch) -> None:
    monkeypatch.setenv("RAG_OPENAI_API_KEY", KEY)


# -- one contract, two generators -------------------------------------------------------------


class GeneratorContract:
    """What the answer stage relies on from any generator (`rag.generation.base.Generator`)."""

    @pytest.fixture
    def generator(self) -> Generator:
        raise NotImplementedError

    def test_is_a_generator_with_a_context(self, generator: Generator) -> None:
        assert isinstance(generator, Generator)
        assert generator.context_size >= 512
        assert generator.count_tokens("") == 0 and generator.count_tokens("混合精度训练有什么好处？") > 0

    def test_stream_yields_pieces_that_complete_joins(self, generator: Generator) -> None:
        pieces = list(generator.stream(PROMPT, max_tokens=8))
        assert len(pieces) > 1 and all(isinstance(piece, str) and piece for piece in pieces)
        assert "".join(pieces) == generator.complete(PROMPT, max_tokens=8)  # greedy: the same text twice

    def test_stop_strings_end_the_text_and_are_not_returned(self, generator: Generator) -> None:
        full = generator.complete(PROMPT, max_tokens=8)
        word = full.split()[1] if len(full.split()) > 1 else full.split()[0]
        stopped = generator.complete(PROMPT, max_tokens=8, stop=[word])
        assert word not in stopped and full.startswith(stopped)


class TestInProcessGenerator(GeneratorContract):
    @pytest.fixture(scope="class")
    def generator(self) -> Generator:
        generator = LlamaCppGenerator("gemma3-270m", n_ctx=1024, seed=0)
        generator.warm_up()
        return generator

    def test_renders_its_own_prompt(self, generator: Generator) -> None:
        assert not isinstance(generator, ChatGenerator) or not generator.chat_api


class TestServedGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self, server: str, keyed: None) -> Generator:
        generator = make_generator(f"openai:{server}#{MODEL}", n_ctx=2048, repeat_penalty=1.0)
        generator.warm_up()
        return generator

    def test_takes_messages(self, generator: Generator) -> None:
        assert isinstance(generator, OpenAIGenerator) and isinstance(generator, ChatGenerator) and generator.chat_api
        messages = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "What is the capital of France?"}]
        pieces = list(generator.stream_chat(messages, max_tokens=8))
        assert pieces and all(isinstance(piece, str) for piece in pieces)

    def test_served_text_is_the_in_process_text(self, generator: Generator) -> None:
        """The same GGUF, greedy, the same prompt: the server continues it as llama.cpp does in-process."""
        local = LlamaCppGenerator("gemma3-270m", n_ctx=1024, repeat_penalty=1.0, seed=0, cache_prompt=False)
        assert generator.complete(PROMPT, max_tokens=6) == local.complete(PROMPT, max_tokens=6)


# -- asking through RAG -----------------------------------------------------------------------


@pytest.fixture
def served_rag(server: str, keyed: None, tiny_corpus: Path, tmp_path: Path, keyword_embedder) -> RAG:
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    config = Config()
    config.rerank.min_relevance = 0.0
    config.answer.mode = "llm"
    config.answer.generator = f"openai:{server}#{MODEL}"
    config.answer.max_tokens = 48  # the base model rambles to the limit; 48 tokens show streaming and the check
    return RAG(IndexStore.open(tmp_path / "index"), config, keyword_embedder)


def _checked(answer: Answer) -> None:
    """The citation check ran on the model's text: a checked LLM answer or the extractive fallback."""
    assert answer.raw is not None and answer.prompt_tokens
    assert (answer.mode == "llm" and answer.citations and answer.fallback is None) or (
        answer.mode == "extractive" and answer.fallback
    ) or answer.abstained
    for citation in answer.citations:
        assert citation.text and citation.end > citation.start


def test_ask_through_rag_with_a_served_model(served_rag: RAG) -> None:
    answer = served_rag.ask("KV cache 有什么用？")
    assert isinstance(served_rag.answerer.generator, OpenAIGenerator)
    _checked(answer)
    assert answer.raw.strip()  # the model wrote something


def test_stream_through_rag_with_a_served_model(served_rag: RAG) -> None:
    events = list(served_rag.stream("什么是 LoRA？"))
    assert isinstance(events[0], Reading) and events[0].excerpts
    tokens, final = events[1:-1], events[-1]
    assert len(tokens) > 1 and all(isinstance(event, Token) and event.text for event in tokens)
    assert isinstance(final, Answer) and final.raw == "".join(t.text for t in tokens).strip()
    _checked(final)
    assert "first_token_ms" in final.timings


# -- failures name the server and what to do ----------------------------------------------------


def test_server_down_is_a_clear_error_and_ask_fails_as_for_a_broken_local_model(tiny_corpus, tmp_path, keyword_embedder) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    generator = OpenAIGenerator(f"openai:{url}#m", max_retries=0, timeout=5)
    with pytest.raises(GeneratorServerError, match=rf"Could not reach the generation server at {url}.*Start the server"):
        generator.warm_up()
    IndexBuilder(Config(), keyword_embedder).build([tiny_corpus], tmp_path / "index", progress=False)
    config = Config()
    config.rerank.min_relevance = 0.0
    rag = RAG(IndexStore.open(tmp_path / "index"), config, keyword_embedder, generator=generator)
    with pytest.raises(ModelLoadError, match=url):  # what a missing local GGUF raises too
        rag.ask("KV cache 有什么用？", mode="llm")
    assert rag.ask("KV cache 有什么用？", mode="extractive").citations  # extractive answers still work


def test_a_server_that_never_answers_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    try:
        with pytest.raises(GeneratorServerError, match=rf"Timed out after 0.5 s .*{url}"):
            OpenAIGenerator(f"openai:{url}#m", timeout=0.5, max_retries=0).warm_up()
    finally:
        for conn in held:
            conn.close()
        listener.close()


def test_wrong_key_and_unknown_model_name_what_to_do(server: str, monkeypatch) -> None:
    monkeypatch.setenv("RAG_OPENAI_API_KEY", "wrong")
    with pytest.raises(GeneratorServerError, match=rf"{server}.*HTTP 401.*RAG_OPENAI_API_KEY"):
        OpenAIGenerator(f"openai:{server}#{MODEL}", max_retries=0).warm_up()
    monkeypatch.setenv("RAG_OPENAI_API_KEY", KEY)
    with pytest.raises(GeneratorServerError, match=rf"does not serve a model named 'nope'.*{MODEL}"):
        OpenAIGenerator(f"openai:{server}#nope").warm_up()


def test_a_wrong_base_url_is_a_404_naming_the_fix(server: str, keyed: None) -> None:
    root = server.removesuffix("/v1")  # the API lives under /v1
    generator = OpenAIGenerator(f"openai:{root}#{MODEL}", max_retries=0)
    with pytest.raises(GeneratorServerError, match=rf"{root}.*HTTP 404.*base URL"):
        generator.complete(PROMPT, max_tokens=4)


def test_a_prompt_over_the_servers_context_names_the_setting(server: str, keyed: None) -> None:
    generator = OpenAIGenerator(f"openai:{server}#{MODEL}", n_ctx=100_000, max_retries=0)
    with pytest.raises(GeneratorServerError, match=rf"{server}.*ended the answer without finishing.*answer.n_ctx"):
        generator.complete("word " * 5000, max_tokens=4)


# -- spec, key, estimates (no server) ------------------------------------------------------------


def test_spec_parsing() -> None:
    assert parse_openai_spec("openai:http://127.0.0.1:8080/v1/#qwen") == ("http://127.0.0.1:8080/v1", "qwen")
    for bad in ("openai:http://127.0.0.1:8080/v1", "openai:127.0.0.1:8080#qwen", "openai:#qwen"):
        with pytest.raises(ConfigError, match="openai:<base-url>#<model>"):
            make_generator(bad)


def test_api_key_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("RAG_OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert api_key() == "no-key"
    monkeypatch.setenv("OPENAI_API_KEY", "general")
    assert api_key() == "general"
    monkeypatch.setenv("RAG_OPENAI_API_KEY", "specific")
    assert api_key() == "specific"


def test_token_estimate_is_above_the_real_count_on_prose() -> None:
    local = LlamaCppGenerator("gemma3-270m", n_ctx=512)
    for text in ("混合精度训练使用 FP16 和 FP32 两种精度。半精度计算速度更快，显存占用更少。",
                 "Dropout randomly sets a fraction of activations to zero during training."):
        assert estimate_tokens(text) >= local.count_tokens(text)


def test_status_reports_a_served_generator_without_calling_it() -> None:
    status = generator_status("openai:http://127.0.0.1:9/v1#qwen")
    assert status.available and "http://127.0.0.1:9/v1" in status.where and "qwen" in status.where
    assert not generator_status("openai:nope").available
