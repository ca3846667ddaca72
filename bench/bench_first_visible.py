"""When something useful is on screen: the passages the model reads, its first draft text, the cited answer —
seconds after the question is sent (LLM mode), in the chat UI, the HTTP stream and the CLI.

    python bench/bench_first_visible.py [--fronts ui,sse,cli] [--runs 5] [--generator qwen2.5-coder-1.5b] [--language en]

- ``ui``: headless Chromium against the real app; each run reloads the page (needs Debian's chromium and
  playwright, see ui/browser.py).
- ``sse``: ``rag serve`` on 127.0.0.1, ``POST /v1/ask`` with ``"stream": true``: ``event: passages``, the first
  ``event: token``, ``event: answer``.
- ``cli``: a new ``rag ask --mode llm`` process per question (start-up and index loading included), its
  ``Reading:`` line (on stderr) and its exit (the draft is shown on a terminal only).
- ``chat``: one ``rag chat --mode llm`` process (the interactive CLI: models loaded once), each question after a
  ``/clear``; its ``Reading:`` line and the line that closes the answer (``(llm; …)``).

Each front uses a knowledge base holding a temporary copy of the bundled corpus (built, and the models loaded, by one
untimed question first). Each run asks another answerable question of the tuning part (a repeated question would find
its whole prompt in llama.cpp's cache); ``--language en`` takes only its English questions (translated into the
documents' language before they are searched). Prints each run and the p50 / p95 of each stage, with the load average before
and after: run it with nothing else busy.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import numpy as np

from rag.core.language import detect_language
from rag.core.paths import default_corpus_files
from rag_eval.datasets import dataset_path, load_questions
from rag_ui.browser import Stages, browser_page, free_port, missing_requirements, running_app, watch_stages

WARM_UP = "混合精度训练有什么好处？"
RAG = shutil.which("rag") or "rag"  # the command people run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fronts", default="ui,sse,cli,chat")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--generator", default="qwen2.5-coder-1.5b")
    parser.add_argument("--language", choices=["zh", "en"], help="only the questions in this language (default: all)")
    args = parser.parse_args()
    questions = [q.question for q in load_questions(dataset_path("tune"))
                 if q.answerable and args.language in (None, detect_language(q.question))]
    fronts = {"ui": ui_stages, "sse": sse_stages, "cli": cli_stages, "chat": chat_stages}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    results = {}
    for offset, front in enumerate(args.fronts.split(",")):
        asked = questions[offset * args.runs:(offset + 1) * args.runs]  # no front meets a prompt another left cached
        with knowledge_base() as data:
            env = {"RAG_DATA_DIR": str(data), "RAG_ANSWER_MODE": "llm", "RAG_ANSWER_GENERATOR": args.generator}
            results[front] = fronts[front](env, asked)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    print("| front | passages p50 / p95 | first draft p50 / p95 | cited answer p50 / p95 |")
    print("|---|---:|---:|---:|")
    for front, stages in results.items():
        cells = []
        for name in ("reading", "draft", "answer"):
            values = [getattr(s, name) for s in stages if getattr(s, name) is not None]
            cells.append(" / ".join(f"{v:.2f} s" for v in np.percentile(values, [50, 95])) if values else "–")
        print(f"| {front} ({len(stages)} runs) | " + " | ".join(cells) + " |")


@contextmanager
def knowledge_base() -> Iterator[Path]:
    data = Path(tempfile.mkdtemp(prefix="rag-bench-visible-"))
    (data / "documents").mkdir()
    for path in default_corpus_files():
        shutil.copy(path, data / "documents" / path.name)
    try:
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _report(front: str, question: str, seen: Stages) -> Stages:
    print(f"{front} {question[:30]}: passages {_s(seen.reading)}, first draft {_s(seen.draft)}, "
          f"cited answer {seen.answer:.2f} s", flush=True)
    return seen


def ui_stages(env: dict[str, str], questions: list[str]) -> list[Stages]:
    if (missing := missing_requirements()) is not None:
        raise SystemExit(missing)
    with running_app(env, timeout=600) as url, browser_page() as page:
        watch_stages(page, url, WARM_UP, timeout_s=900)  # builds the index, loads the models
        return [_report("ui", q, watch_stages(page, url, q)) for q in questions]


def sse_stages(env: dict[str, str], questions: list[str]) -> list[Stages]:
    port = free_port()
    command = [RAG, "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=900) as client:
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
            _sse_once(client, WARM_UP)
            return [_report("sse", q, _sse_once(client, q)) for q in questions]
    finally:
        server.terminate()
        server.wait(timeout=60)


def _sse_once(client: httpx.Client, question: str) -> Stages:
    reading = draft = None
    started = time.perf_counter()
    with client.stream("POST", "/v1/ask", json={"question": question, "mode": "llm", "stream": True}) as response:
        response.raise_for_status()
        event = None
        for line in response.iter_lines():
            now = time.perf_counter() - started
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "passages" and reading is None:
                reading = now
            elif line.startswith("data:") and event == "token" and draft is None and json.loads(line[5:])["text"].strip():
                draft = now
            elif line.startswith("data:") and event in ("answer", "error"):
                return Stages(reading, draft, now)
    raise RuntimeError(f"The stream for {question!r} ended without an answer.")


def cli_stages(env: dict[str, str], questions: list[str]) -> list[Stages]:
    _cli_once(env, WARM_UP)  # builds the knowledge base's index
    return [_report("cli", q, _cli_once(env, q)) for q in questions]


def _child_env(env: dict[str, str]) -> dict[str, str]:
    # Python as people run it: bytecode cached (this sandbox sets PYTHONDONTWRITEBYTECODE, costing ~0.08 s per start)
    return {k: v for k, v in {**os.environ, **env, "PYTHONUNBUFFERED": "1"}.items() if k != "PYTHONDONTWRITEBYTECODE"}


def chat_stages(env: dict[str, str], questions: list[str]) -> list[Stages]:
    process = subprocess.Popen([RAG, "chat", "--mode", "llm"], env=_child_env(env), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdin is not None and process.stdout is not None

    def ask(question: str) -> Stages:
        process.stdin.write("/clear\n")
        process.stdin.flush()
        time.sleep(1.0)  # let /clear be handled before the clock starts
        started, reading = time.perf_counter(), None
        process.stdin.write(question + "\n")
        process.stdin.flush()
        for line in process.stdout:
            if reading is None and line.startswith("Reading:"):
                reading = time.perf_counter() - started
            if line.startswith(("(llm", "(extractive")):  # print_answer's last line
                return Stages(reading, None, time.perf_counter() - started)
        raise RuntimeError(f"rag chat ended before answering {question!r}")

    try:
        ask(WARM_UP)  # builds the knowledge base's index, loads the models
        return [_report("chat", q, ask(q)) for q in questions]
    finally:
        process.stdin.close()
        process.wait(timeout=60)


def _cli_once(env: dict[str, str], question: str) -> Stages:
    command = [RAG, "ask", question, "--mode", "llm"]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=_child_env(env), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # the passages go to stderr, the answer to stdout
    reading = None
    assert process.stdout is not None
    for line in process.stdout:
        if reading is None and line.startswith("Reading:"):
            reading = time.perf_counter() - started
    process.wait()
    return Stages(reading, None, time.perf_counter() - started)


def _s(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    main()
