"""GGUF models run in-process by llama.cpp: a packaged model, a local ``.gguf`` path or ``hf:<owner>/<repo>/<file>``."""
from __future__ import annotations

import contextlib
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from rag.core.errors import ConfigError, ModelLoadError
from rag.generation.base import DEFAULT_N_CTX, PACKAGED, PromptTooLongError
from rag.generation.packaged import (
    PACKAGED_MODELS,
    ensure_assembled,
    is_packaged,
    packaged_model,
)


READ_STEP = 128
"""Prompt tokens `LlamaCppGenerator.read` evaluates between two progress reports: about a second apart on 2 cores
(``bench/bench_prompt_eval.py --steps`` measures what smaller steps cost)."""


def packaged_model_path(name: str = PACKAGED) -> Path:
    """The GGUF of packaged model `name`, assembled and verified into the model cache on first use
    (with a progress bar on a terminal)."""
    from tqdm.auto import tqdm

    model = packaged_model(name)
    with tqdm(total=model.size, unit="B", unit_scale=True, desc=f"Assembling {model.name}", disable=None, leave=False) as bar:
        return ensure_assembled(model, progress=lambda done, total: bar.update(done - bar.n))


def _available_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow; else cpu_count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelLoadError(
            "Answer generation needs llama-cpp-python: pip install llama-cpp-python "
            "(it compiles llama.cpp; about 5 minutes on 2 cores)."
        ) from exc
    return llama_cpp


@dataclass(frozen=True)
class PromptReuse:
    """A prompt's size in tokens and how many of its first tokens llama.cpp still held evaluated (it reads the rest;
    at least the last token is always read)."""

    tokens: int
    reused: int

    @property
    def read(self) -> int:
        return self.tokens - self.reused


class LlamaCppGenerator:
    """A GGUF model run by llama.cpp: ``packaged``, a local ``.gguf`` path, or ``hf:<owner>/<repo>/<file>``.

    Decoding is greedy (``temperature=0``) unless told otherwise. One llama.cpp context serves every
    caller, so generation holds a lock: concurrent calls queue rather than corrupt each other. A
    stream holds the lock until it is exhausted or closed.

    Threads: token-by-token decoding uses half the cores (`n_threads`), prompt evaluation all of them
    (`n_threads_batch`). Measured on 2 cores (``bench/bench_generation.py --threads/--threads-batch/
    --busy``): decoding on both cores is a little faster when the machine is idle (84 vs 77 tok/s)
    but halves as soon as another process wants a core (38 vs 76 tok/s with one CPU-bound
    neighbour). Prompt evaluation on both cores halves time to first token when idle (0.21 vs
    0.41 s) and costs less than it gains under load (0.65 vs 0.41 s with one busy neighbour).

    `cache_prompt`: llama.cpp keeps the evaluated prompt and re-evaluates only what differs from the
    previous one, so the few-shot prefix is paid once (time to first token 0.21 s instead of 0.49 s).
    Greedy output then depends slightly on the previous call (a different evaluation split gives
    different rounding: 1 of 9 bench answers changed); ``cache_prompt=False`` evaluates every prompt
    from scratch, so an answer depends on its prompt alone (for evaluation runs).

    `chat_template` overrides the GGUF's own template (``""`` treats a chat model as a base model);
    `repeat_penalty` 1.0 is llama.cpp's "off".
    """

    def __init__(
        self,
        spec: str = PACKAGED,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        n_batch: int = 512,
        temperature: float = 0.0,
        repeat_penalty: float = 1.0,
        seed: int = 0,
        chat_template: str | None = None,
        cache_prompt: bool = True,
        verbose: bool = False,
    ) -> None:
        self.spec = spec
        self.n_ctx = n_ctx
        cores = _available_cores()
        self.n_threads = n_threads or max(1, cores // 2)
        self.n_threads_batch = n_threads_batch or cores
        self.n_batch = n_batch
        self.temperature = temperature
        self.repeat_penalty = repeat_penalty
        self.seed = seed
        self.verbose = verbose
        self._chat_template_override = chat_template
        self.cache_prompt = cache_prompt
        self._source = _parse_spec(spec)
        self._llm: Any = None
        self._cjk: Any = None
        self.last_prompt: PromptReuse | None = None
        """The last streamed prompt's size and how much of it llama.cpp reused from the previous one."""
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model (assembling the packaged GGUF first if needed); later calls do nothing."""
        if self._llm is not None:
            return
        with self._load_lock:
            if self._llm is None:
                self._llm = self._load()

    def _load(self) -> Any:
        llama_cpp = _import_llama_cpp()
        kind, value = self._source
        settings = dict(
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads_batch,
            n_batch=self.n_batch,
            seed=self.seed,
            verbose=self.verbose,
        )
        if kind == "hf":
            repo_id, filename = value
            try:
                return llama_cpp.Llama.from_pretrained(repo_id=repo_id, filename=filename, **settings)
            except Exception as exc:  # huggingface_hub raises many types (network, 404, auth, ImportError)
                raise ModelLoadError(
                    f"Could not get '{filename}' from the Hugging Face repo '{repo_id}': {exc}. This needs "
                    "internet and pip install huggingface-hub; offline, download the .gguf elsewhere and give "
                    f"its path, or use the '{PACKAGED}' generator."
                ) from exc
        path = packaged_model_path(value) if kind == PACKAGED else Path(value).expanduser()
        if not path.is_file():
            raise ModelLoadError(
                f"No GGUF model file at {path}. Give the path of an existing .gguf file, "
                f"or use a packaged generator ({', '.join(PACKAGED_MODELS)}), shipped as Python packages."
            )
        log = io.StringIO()
        try:
            # llama-cpp-python 0.3 maps ggml's log levels off by one, so with verbose=False warnings
            # still reach stderr; keep them, and show them only if loading fails.
            with contextlib.redirect_stderr(log) if not self.verbose else contextlib.nullcontext():
                return llama_cpp.Llama(model_path=str(path), **settings)
        except (ValueError, RuntimeError, OSError) as exc:
            details = " ".join(log.getvalue().split()[-60:])
            raise ModelLoadError(
                f"llama.cpp could not load {path}: {exc}{f' ({details})' if details else ''}. Is it a "
                f"complete GGUF file for an architecture this llama-cpp-python supports? The '{PACKAGED}' "
                "generator always loads."
            ) from exc

    @property
    def llama(self) -> Any:
        """The underlying ``llama_cpp.Llama`` (loaded on first access)."""
        self.warm_up()
        return self._llm

    @property
    def context_size(self) -> int:
        """Tokens the prompt and the answer share.

        llama.cpp rounds the context up (640 -> 768) but llama-cpp-python's token buffer keeps the
        requested size, so the smaller of the two is the real limit.
        """
        llm = self.llama
        return min(int(llm.n_ctx()), len(llm.input_ids))

    @property
    def chat_template(self) -> str | None:
        if self._chat_template_override is not None:
            return self._chat_template_override or None
        return self.llama.metadata.get("tokenizer.chat_template") or None

    @property
    def special_tokens(self) -> dict[str, str]:
        """Text of the BOS and EOS tokens (``bos_token``/``eos_token``), as chat templates expect them."""
        llm = self.llama
        return {
            "bos_token": llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace"),
            "eos_token": llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace"),
        }

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes inside a prompt (special-token markup counts as one token; no BOS)."""
        if not text:
            return 0
        # Tokenizing reads only the vocabulary, never the context, so it needs no lock.
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _prompt_tokens(self, prompt: str) -> list[int]:
        """`prompt`'s tokens as llama.cpp reads a prompt (BOS first, special-token markup as one token each)."""
        return self.llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)

    def _cached(self, tokens: Sequence[int]) -> int:
        """How many of `tokens` llama.cpp still holds evaluated from the previous call (0 with `cache_prompt` off).
        Call with the lock held."""
        if not self.cache_prompt:
            return 0
        llm = self.llama
        return llm.longest_token_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)

    def read(self, prompt: str, step: int = READ_STEP) -> Iterator[tuple[int, int]]:
        """Evaluate `prompt` into llama.cpp's cache `step` tokens at a time, yielding ``(tokens read, tokens to read)``
        after each step, so a caller can show how far the model has read; a `stream` of the same prompt right after
        reads only its last token. The first report, ``(0, n)``, comes before any reading. Yields nothing when there
        is nothing new to read, when `cache_prompt` is off (`stream` starts from scratch anyway) or when the prompt
        does not fit (`stream` says why)."""
        if not self.cache_prompt:
            return
        llm = self.llama
        with self._lock:
            tokens = self._prompt_tokens(prompt)
            if len(tokens) >= self.context_size:
                return
            start = self._cached(tokens)
            end = len(tokens) - 1  # the last token is read by `stream`, which needs its logits
            if start >= end:
                return
            llm.n_tokens = start
            yield 0, end - start
            for at in range(start, end, step):
                llm.eval(tokens[at:min(at + step, end)])
                yield min(at + step, end) - start, end - start

    def stream(self, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        """Yield the continuation of `prompt` piece by piece; stops at EOS, a stop string or `max_tokens`.

        Stop strings are never yielded. The prompt must leave room: prompt tokens + `max_tokens` must
        fit `context_size` (see ``rag.answering.prompts.fit_passages``).
        """
        return self._stream(prompt, max_tokens, stop, banned=None)

    def stream_in(self, language: str, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> Iterator[str]:
        """`stream`, writing only `language`'s script: for ``en`` every token holding a CJK character, kana or
        full-width punctuation is masked; other languages stream unconstrained."""
        return self._stream(prompt, max_tokens, stop, banned=self._cjk_tokens() if language == "en" else None)

    def _cjk_tokens(self) -> Any:
        """Ids of the vocabulary's tokens whose bytes hold a UTF-8 lead byte of U+3000–U+9FFF (CJK, kana, their
        punctuation) or U+F000–U+FFFF (full-width forms); byte-level pieces of such characters included. Computed
        once (~0.3 s for a 150k vocabulary)."""
        if self._cjk is None:
            import numpy as np

            llm = self.llama
            lead_bytes = frozenset(range(0xE3, 0xEA)) | {0xEF}
            self._cjk = np.array([i for i in range(llm.n_vocab()) if lead_bytes.intersection(llm.detokenize([i]))],
                                 dtype=np.int64)
        return self._cjk

    def _stream(self, prompt: str, max_tokens: int, stop: Sequence[str], banned: Any) -> Iterator[str]:
        llm = self.llama
        with self._lock:
            if not self.cache_prompt:
                llm.reset()
            tokens = self._prompt_tokens(prompt)
            self.last_prompt = PromptReuse(len(tokens), min(self._cached(tokens), len(tokens) - 1))
            pieces = llm.create_completion(
                prompt,
                max_tokens=max_tokens,
                temperature=self.temperature,
                repeat_penalty=self.repeat_penalty,
                stop=list(stop),
                seed=self.seed,
                stream=True,
                logits_processor=self._logits_processors(llm, stop, banned),
            )
            try:
                for piece in pieces:
                    text = piece["choices"][0]["text"]
                    if text:
                        yield text
            except ValueError as exc:
                if "exceed context window" not in str(exc):
                    raise
                raise PromptTooLongError(
                    f"{exc}. Fit the passages to the context first (rag.answering.prompts.build_answer_prompt does), "
                    "or raise n_ctx."
                ) from exc
            finally:
                pieces.close()

    @classmethod
    def _logits_processors(cls, llm: Any, stop: Sequence[str], banned: Any) -> Any:
        processors = [p for p in (cls._no_leading_stop(llm, stop), _banning(banned)) if p is not None]
        if not processors:
            return None
        from llama_cpp import LogitsProcessorList

        return LogitsProcessorList(processors)

    @staticmethod
    def _no_leading_stop(llm: Any, stop: Sequence[str]) -> Any:
        """Forbid line-break tokens as the first token when a line break stops generation.

        Small base models often open with a line break after the answer cue, which would end the answer
        before it starts (an empty answer); banning those tokens once makes them write the line instead.
        """
        if not any(s.strip() == "" and "\n" in s for s in stop):
            return None
        import numpy as np

        banned = sorted({t for piece in ("\n", "\n\n", " \n", "\n\n\n", "\r\n")
                         for t in llm.tokenize(piece.encode(), add_bos=False, special=False)[:1]})
        prompt_length: list[int] = []

        def ban_first(input_ids: Any, scores: Any) -> Any:
            if not prompt_length:
                prompt_length.append(len(input_ids))
            if len(input_ids) == prompt_length[0]:
                scores = np.array(scores, copy=True)
                scores[banned] = -np.inf
            return scores

        return ban_first

    def complete(self, prompt: str, max_tokens: int = 256, stop: Sequence[str] = ()) -> str:
        """The whole continuation of `prompt` as one string (``"".join(stream(...))``)."""
        return "".join(self.stream(prompt, max_tokens=max_tokens, stop=stop))

    def yes_probability(self, prompt: str, yes: Sequence[str], no: Sequence[str]) -> float:
        """The model's answer to a yes/no question as a probability: the next-token probability of the first
        tokens of `yes` words, over that of `yes` and `no` words together. Reuses the evaluated state of the
        longest prompt prefix it shares with the previous call (like `stream`)."""
        import numpy as np

        llm = self.llama
        first = lambda words: sorted({llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words})  # noqa: E731
        yes_ids, no_ids = first(yes), first(no)
        tokens = self._prompt_tokens(prompt)
        if len(tokens) >= self.context_size:
            raise PromptTooLongError(f"A {len(tokens)}-token prompt does not fit the {self.context_size}-token context.")
        with self._lock:
            llm.n_tokens = min(self._cached(tokens), len(tokens) - 1)  # evaluate at least the last token, for its logits
            llm.eval(tokens[llm.n_tokens:])
            logits = np.ctypeslib.as_array(_import_llama_cpp().llama_get_logits(llm.ctx), shape=(llm.n_vocab(),))
            probabilities = np.exp(logits - logits.max())
        p_yes, p_no = float(probabilities[yes_ids].sum()), float(probabilities[no_ids].sum())
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.5


def _banning(banned: Any) -> Any:
    """A logits processor that never lets the tokens `banned` be sampled (None: nothing banned)."""
    if banned is None or not len(banned):
        return None
    import numpy as np

    def ban(input_ids: Any, scores: Any) -> Any:
        scores = np.array(scores, copy=True)
        scores[banned] = -np.inf
        return scores

    return ban


def _parse_spec(spec: str) -> tuple[str, Any]:
    if is_packaged(spec):
        return PACKAGED, spec
    if spec.startswith("hf:"):
        owner, _, rest = spec[3:].partition("/")
        name, _, filename = rest.partition("/")
        if not (owner and name and filename):
            raise ConfigError(
                f"Generator '{spec}' should be hf:<owner>/<repo>/<filename>, "
                f"e.g. hf:unsloth/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q4_K_M.gguf (or use '{PACKAGED}' offline)."
            )
        return "hf", (f"{owner}/{name}", filename)
    if spec.lower().endswith(".gguf") or Path(spec).expanduser().is_file():
        return "path", spec
    raise ConfigError(
        f"Unknown generator '{spec}'. Use a packaged model ({', '.join(PACKAGED_MODELS)}; offline), a local .gguf path, "
        "hf:<owner>/<repo>/<filename> for a GGUF on the Hugging Face hub, or openai:<base-url>#<model> for a "
        "model on an OpenAI-compatible server."
    )
