"""The llama.cpp generator with the packaged Gemma 3 270M (loaded once for the module; ~1 s)."""
from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from rag.answering.prompts import Passage, build_answer_prompt
from rag.core.errors import ConfigError, ModelLoadError
from rag.generation.base import Generator, PromptTooLongError, ScriptKeepingGenerator
from rag.generation.factory import make_generator
from rag.generation.llama_cpp import LlamaCppGenerator, packaged_model_path

PROMPT = "The capital of France is"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    """A private XDG cache, so the test assembles the packaged GGUF itself and leaves ~/.cache alone."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


@pytest.fixture(scope="module")
def generator(model_cache: Path) -> LlamaCppGenerator:
    generator = make_generator("gemma3-270m", n_ctx=640)
    assert isinstance(generator, LlamaCppGenerator) and isinstance(generator, Generator)
    generator.warm_up()
    return generator


def test_packaged_model_is_assembled_once_into_the_cache(generator: LlamaCppGenerator, model_cache: Path) -> None:
    path = packaged_model_path("gemma3-270m")
    assert path.parent == model_cache / "rag" / "models" and path.stat().st_size > 100_000_000
    assert not list(path.parent.glob("*.partial"))
    mtime = path.stat().st_mtime_ns
    assert packaged_model_path("gemma3-270m") == path and path.stat().st_mtime_ns == mtime  # reused, not rewritten


def test_model_facts(generator: LlamaCppGenerator) -> None:
    assert generator.spec == "gemma3-270m"
    assert generator.context_size == 640  # llama.cpp pads to 768; the token buffer is 640
    assert generator.chat_template is None  # a base model: prompts use the few-shot completion form
    assert generator.count_tokens("混合精度训练有什么好处？") > 0 and generator.count_tokens("") == 0
    assert generator.count_tokens("<start_of_turn>") == 1  # markup in prompts counts as the one token it is


def test_greedy_generation_is_deterministic(generator: LlamaCppGenerator) -> None:
    first = generator.complete(PROMPT, max_tokens=8)
    assert first.strip() and generator.complete(PROMPT, max_tokens=8) == first
    assert generator.count_tokens(first) <= 9


def test_stream_yields_pieces_in_order(generator: LlamaCppGenerator) -> None:
    pieces = list(generator.stream(PROMPT, max_tokens=8))
    assert len(pieces) > 1 and all(isinstance(piece, str) and piece for piece in pieces)
    assert "".join(pieces) == generator.complete(PROMPT, max_tokens=8)


def test_an_english_stream_writes_no_cjk_however_chinese_its_prompt(generator: LlamaCppGenerator) -> None:
    prompt = "问题：中国的首都是哪座城市？\n答案：中国的首都是"
    free = generator.complete(prompt, max_tokens=12)
    assert CJK.search(free)  # left alone, the model continues in Chinese
    english = "".join(generator.stream_in("en", prompt, max_tokens=12))
    assert english.strip() and not CJK.search(english)
    assert isinstance(generator, ScriptKeepingGenerator)
    assert "".join(generator.stream_in("zh", prompt, max_tokens=12)) == free  # other languages stream unconstrained


def test_stop_strings_end_the_answer_and_are_not_returned(generator: LlamaCppGenerator) -> None:
    full = generator.complete(PROMPT, max_tokens=8)
    word = full.split()[1] if len(full.split()) > 1 else full.split()[0]
    stopped = generator.complete(PROMPT, max_tokens=8, stop=[word])
    assert word not in stopped and full.startswith(stopped)


def test_an_abandoned_stream_releases_the_model(generator: LlamaCppGenerator) -> None:
    stream = generator.stream(PROMPT, max_tokens=8)
    next(stream)
    stream.close()
    assert generator._lock.acquire(timeout=5)
    generator._lock.release()


def test_concurrent_calls_queue_instead_of_corrupting(generator: LlamaCppGenerator) -> None:
    prompts = [PROMPT, "混合精度训练的好处是", "LoRA is a method that"]
    expected = [generator.complete(p, max_tokens=6) for p in prompts]
    results: dict[int, str] = {}

    def work(i: int) -> None:
        results[i] = generator.complete(prompts[i % 3], max_tokens=6)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [results[i] for i in range(6)] == expected * 2


def test_answer_prompt_end_to_end(generator: LlamaCppGenerator) -> None:
    passages = [Passage(1, "5. 混合精度训练的优势是什么？", "混合精度训练可以提高计算速度。它还能降低内存占用。" * 60)]
    prompt = build_answer_prompt("混合精度训练有什么好处？", passages, generator, max_tokens=32)
    assert prompt.trimmed == 1 and prompt.passages[0].text.endswith("。")
    assert prompt.prompt_tokens + 32 <= generator.context_size
    answer = generator.complete(prompt.text, max_tokens=32, stop=prompt.stop)
    assert answer.strip() and "\n" not in answer


def test_a_chat_template_switches_prompts_to_the_chat_form(model_cache: Path) -> None:
    template = (
        "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ 'model' if m['role'] == 'assistant' else 'user' }}\n"
        "{{ m['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    )
    chat = LlamaCppGenerator("gemma3-270m", n_ctx=512, chat_template=template)
    prompt = build_answer_prompt("What is LoRA?", [Passage(1, "LoRA", "LoRA trains low-rank adapters.")], chat, max_tokens=8)
    assert prompt.chat and prompt.text.startswith("<start_of_turn>user\n你是一个严谨的问答助手。You are a careful") and "<eos>" in prompt.stop
    assert isinstance(chat.complete(prompt.text, max_tokens=4, stop=prompt.stop), str)


def test_missing_gguf_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "no-such-model.gguf"
    generator = make_generator(str(missing))
    with pytest.raises(ModelLoadError, match=r"no-such-model\.gguf.*packaged generator \(qwen2.5-coder-1.5b"):
        generator.warm_up()


def test_a_broken_gguf_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    with pytest.raises(ModelLoadError, match="broken.gguf"):
        make_generator(str(broken)).warm_up()


def test_hub_specs_go_to_from_pretrained(monkeypatch) -> None:
    import llama_cpp

    calls = []

    def offline(**kwargs):
        calls.append(kwargs)
        raise OSError("no network")

    monkeypatch.setattr(llama_cpp.Llama, "from_pretrained", staticmethod(offline))
    generator = make_generator("hf:unsloth/gemma-3-1b-it-GGUF/*Q4_K_M.gguf", n_ctx=4096)
    with pytest.raises(ModelLoadError, match="unsloth/gemma-3-1b-it-GGUF.*'packaged'"):
        generator.warm_up()
    assert calls[0]["repo_id"] == "unsloth/gemma-3-1b-it-GGUF" and calls[0]["filename"] == "*Q4_K_M.gguf"
    assert calls[0]["n_ctx"] == 4096 and calls[0]["verbose"] is False


@pytest.mark.parametrize("spec", ["llama", "hf:only-a-repo", "hf:owner/repo"])
def test_bad_specs_are_rejected(spec: str) -> None:
    with pytest.raises(ConfigError, match="packaged"):
        make_generator(spec)


def test_a_prompt_longer_than_the_context_is_a_clear_error(generator: LlamaCppGenerator) -> None:
    with pytest.raises(PromptTooLongError, match="exceed context window.*build_answer_prompt"):
        generator.complete("混合精度训练。" * 1000, max_tokens=4)
    assert generator.complete(PROMPT, max_tokens=2)  # the model still works afterwards


def test_without_the_prompt_cache_an_answer_depends_on_its_prompt_alone(generator: LlamaCppGenerator) -> None:
    generator.cache_prompt = False
    try:
        first = generator.complete(PROMPT, max_tokens=6)
        generator.complete("混合精度训练的好处是", max_tokens=6)
        assert generator.complete(PROMPT, max_tokens=6) == first
    finally:
        generator.cache_prompt = True


def test_yes_probability_reads_the_next_token_odds(generator: LlamaCppGenerator) -> None:
    def ask(city: str) -> float:
        return generator.yes_probability(f"Question: Is {city} the capital of France? Answer yes or no.\nAnswer:",
                                         (" yes", " Yes"), (" no", " No"))

    paris = ask("Paris")
    assert 0.0 < paris < 1.0 and paris > ask("Berlin")
    assert ask("Paris") == pytest.approx(paris, abs=1e-6)  # the reused prompt prefix gives the same odds
    with pytest.raises(PromptTooLongError, match="does not fit"):
        generator.yes_probability("混合精度训练。" * 1000, ("yes",), ("no",))


def test_reading_a_prompt_reports_progress_and_leaves_only_its_last_token_to_stream(generator: LlamaCppGenerator) -> None:
    generator.complete("混合精度训练的好处是", max_tokens=2)  # the cache now holds another prompt
    prompt = "Passages:\n" + "LoRA trains two small matrices beside each frozen weight matrix. " * 6 + "\nQuestion: " + PROMPT
    expected = generator.complete(prompt, max_tokens=6)
    generator.complete("混合精度训练的好处是", max_tokens=2)
    reports = list(generator.read(prompt, step=16))
    total = reports[0][1]
    assert reports[0] == (0, total) and reports[-1] == (total, total) and total > 32
    assert [read for read, _ in reports] == sorted({*range(0, total, 16), total})  # every 16 tokens, then the rest
    assert generator.complete(prompt, max_tokens=6) == expected  # the same answer as reading it in one go
    assert generator.last_prompt.read == 1  # the stream read only the last token
    assert list(generator.read(prompt)) == []  # nothing new to read
