"""`rag serve`: the HTTP API (OpenAI-compatible chat, ask, search, documents) with uvicorn."""
from __future__ import annotations

import argparse
import logging
from typing import Any

from rag.core.config import Config
from rag.core.errors import RagError


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common], help="the HTTP API (OpenAI-compatible chat, ask, search, documents)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; others need API keys or --insecure)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--index", help="serve this index read-only (default: the knowledge base in --data-dir)")
    serve.add_argument("--data-dir", help="knowledge-base folder (default: the chat UI's, ~/.local/share/rag/collection)")
    serve.add_argument("--keys-file", help="API keys: lines '<read|admin> sha256:<hex>' (also $RAG_API_KEYS=key:role,...)")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without API keys")
    serve.add_argument("--mode", dest="answer_mode", choices=["llm", "extractive"], help="default answerer (default: the config's answer.mode)")
    serve.add_argument("--generator", help="Model for LLM answers: a packaged model name, a .gguf path, hf:<owner>/<repo>/<file>, or openai:<base-url>#<model>")
    serve.add_argument("--queue-size", type=int, help="LLM requests that may wait for the model (default 4); more get 503")
    serve.add_argument("--timeout", type=float, help="seconds per answer, queueing included (default 120)")
    serve.add_argument("--max-upload-mb", type=float, help="largest uploaded file (default 20)")
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, config: Config) -> int:
    from pydantic import ValidationError

    from rag_app.server.application import serve
    from rag_app.server.settings import ServerSettings

    given = {
        "host": args.host, "port": args.port, "index_dir": config.index_dir, "data_dir": config.data_dir,
        "keys_file": args.keys_file, "insecure": args.insecure, "queue_size": args.queue_size,
        "request_timeout_s": args.timeout, "max_upload_mb": args.max_upload_mb,
    }
    try:
        settings = ServerSettings(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise RagError(f"rag serve: {problems}") from None
    logging.getLogger("rag").setLevel(logging.INFO)
    return serve(settings, config)
