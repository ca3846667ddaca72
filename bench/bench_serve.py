"""Load test of ``rag serve``: a real server on 127.0.0.1, bounded concurrent async clients.

    python bench/bench_serve.py [--index DIR] [--requests 200] [--clients 1,4,16,64] [--llm-requests 12] [--no-llm]

Starts ``python -m rag_app serve`` as its own process on a free port (no API keys, loopback only),
waits for /readyz, then for `/v1/search` and extractive `/v1/ask`, at each number of concurrent
clients, sends `--requests` requests (dev-set questions in turn) through one httpx.AsyncClient
whose connection pool is that size. Prints throughput, p50/p95/p99 latency and errors by status.
Then LLM `/v1/ask` (`--generator`, default the packaged Gemma 3 270M) at 4 clients against a queue of `--queue-size`
waiting places: the queue fills and the extra requests get 503 + Retry-After at once instead of
piling up behind the model. The bench's clients run on the same cores as the server, and this
machine is shared with other work: say so next to any figure.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from rag_eval.stats import percentile

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_phase(url: str, path: str, bodies: list[dict], clients: int, timeout: float) -> dict:
    """`len(bodies)` requests, `clients` at a time; latencies of successes, status counts, wall time."""
    latencies: list[float] = []
    statuses: Counter = Counter()
    retry_after: list[int] = []
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                    status = str(response.status_code)
                    if response.status_code == 503:
                        retry_after.append(int(response.headers.get("retry-after", "0")))
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                elapsed = 1000 * (time.perf_counter() - started)
                statuses[status] += 1
                if status == "200":
                    latencies.append(elapsed)

        wall = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - wall
    return {"latencies": latencies, "statuses": statuses, "wall": wall, "retry_after": retry_after}


def report(name: str, clients: int, result: dict) -> str:
    lat = result["latencies"]
    statuses = dict(result["statuses"])
    ok = statuses.pop("200", 0)
    errors = ", ".join(f"{k}×{v}" for k, v in sorted(statuses.items())) or "0"
    extra = f" (Retry-After {min(result['retry_after'])}–{max(result['retry_after'])} s)" if result["retry_after"] else ""
    return (f"| {name} | {clients} | {ok + sum(statuses.values())} | {ok / result['wall']:.1f} | "
            f"{percentile(lat, 50):.0f} | {percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {errors}{extra} |")


def distinct_questions(index: str) -> list[str]:
    """Dev-set questions plus the index's section headings (mostly questions), in a fixed shuffled order.

    More than the retriever's 256-entry query-embedding cache, sent in turn, so every request
    embeds its question (a cyclic pattern longer than an LRU cache never hits it).
    """
    import random

    from rag.index.local import current_generation
    from rag_eval.datasets import DEV_SET, load_questions

    texts = [q.question for q in load_questions(DEV_SET)]
    try:
        chunks = current_generation(index) / "chunks.jsonl"  # the index folder holds generations
    except Exception:  # no index yet: the server builds it; dev-set questions only
        chunks = Path(index) / "chunks.jsonl"
    if chunks.is_file():
        for line in chunks.read_text(encoding="utf-8").splitlines():
            heading = json.loads(line).get("heading_path") or []
            if heading and len(heading[-1]) >= 4:
                texts.append(heading[-1].lstrip("0123456789. "))
    texts = list(dict.fromkeys(t for t in texts if t))
    random.Random(0).shuffle(texts)
    return texts


def start_server(args: argparse.Namespace, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "rag_app", "serve", "--port", str(port), "--host", "127.0.0.1",
               "--queue-size", str(args.queue_size)]
    if args.index:
        command += ["--index", args.index]
    else:
        command += ["--data-dir", args.data_dir]
    if not args.no_llm:
        command += ["--generator", args.generator, "--mode", "llm"]  # load it before measuring
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RAG_API_KEYS", None)
    env.update(item.split("=", 1) for item in args.server_env)
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(args.server_log, "w"))


def wait_ready(url: str, process: subprocess.Popen, timeout: float, generator: bool = False) -> dict:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}); see its log")
        try:
            ready = httpx.get(f"{url}/readyz", timeout=5)
            body = ready.json()
            if ready.status_code == 200 and (not generator or body["generator"] != "loading"):
                return body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", help="serve this index (default: a knowledge base in --data-dir, seeded with the corpus)")
    parser.add_argument("--data-dir", default=str(Path.home() / ".cache" / "rag" / "bench-serve"))
    parser.add_argument("--requests", type=int, default=200, help="requests per cell")
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--llm-requests", type=int, default=12)
    parser.add_argument("--llm-clients", type=int, default=4)
    parser.add_argument("--queue-size", type=int, default=2, help="the server's --queue-size")
    parser.add_argument("--no-llm", action="store_true")
    parser.add_argument("--generator", default="gemma3-270m", help="the server's --generator for the LLM phase")
    parser.add_argument("--endpoints", default="search,ask", help="which of search,ask to load")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment for the server process (e.g. OMP_WAIT_POLICY=ACTIVE to compare thread policies)")
    parser.add_argument("--server-log", default="/tmp/bench_serve_server.log")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from rag_eval.datasets import DEV_SET, load_questions

    questions = distinct_questions(args.index or str(Path(args.data_dir) / "index"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = start_server(args, port)
    try:
        ready = wait_ready(url, process, timeout=900, generator=not args.no_llm)  # no model loading during the runs
        print(f"{len(questions)} distinct questions sent in turn; server: {ready['index']} ({ready['passages']} passages), env {' '.join(args.server_env) or '(as is)'}, "
              f"{len(os.sched_getaffinity(0))} cores shared by server, clients and whatever else runs on this machine "
              f"(load average {os.getloadavg()[0]:.1f})\n")
        warm = ["什么是 LoRA？", "KV cache 有什么用？", "What is mixed precision training?"]
        for path, body in (("/v1/search", {}), ("/v1/ask", {"mode": "extractive"})):  # warm each path
            asyncio.run(run_phase(url, path, [{"question": q, **body} for q in warm], 1, 60))
        print("| endpoint | clients | requests | ok/s | p50 ms | p95 ms | p99 ms | errors |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        phases = {"search": ("search", "/v1/search", {}), "ask": ("ask (extractive)", "/v1/ask", {"mode": "extractive"})}
        sent = 0  # one running position in the question cycle, so no cell repeats a recent question
        for name, path, extra in (phases[p] for p in args.endpoints.split(",")):
            for clients in [int(c) for c in args.clients.split(",")]:
                bodies = [{"question": questions[(sent + i) % len(questions)], **extra} for i in range(args.requests)]
                sent += args.requests
                result = asyncio.run(run_phase(url, path, bodies, clients, timeout=120))
                print(report(name, clients, result), flush=True)
        if not args.no_llm:
            if ready["generator"] != "ready":
                print(f"\nLLM phase skipped: generator {ready['generator']}")
                return
            answerable = [q for q in load_questions(DEV_SET) if q.answerable]
            bodies = [{"question": answerable[i % len(answerable)].question, "mode": "llm"} for i in range(args.llm_requests)]
            result = asyncio.run(run_phase(url, "/v1/ask", bodies, args.llm_clients, timeout=300))
            print(report(f"ask (llm {args.generator}, queue {args.queue_size})", args.llm_clients, result), flush=True)
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
            lines = [line for line in metrics.splitlines()
                     if line.startswith(("rag_generation_rejected_total", "rag_fallbacks_total", "rag_refusals_total"))]
            print("\n" + "\n".join(lines))
    finally:
        process.terminate()
        process.wait(30)


if __name__ == "__main__":
    main()
