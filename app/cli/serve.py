"""`rag serve`: the HTTP API (OpenAI-compatible chat, ask, search, documents) with uvicorn."""
from __future__ import annotations

import argparse
import logging
from typing import Any

from rag.core.config import Config


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    serve = commands.add_parser("serve", parents=[common], help="the HTTP API (OpenAI-compatible chat, ask, search, documents)")
    serve.add_argument("--host", dest="server_host", help="address to listen on (default 127.0.0.1; others need API keys or --insecure)")
    serve.add_argument("--port", dest="server_port", type=int, help="port (default 8000)")
    serve.add_argument("--index", help="serve this index read-only (default: the knowledge base in --data-dir)")
    serve.add_argument("--data-dir", help="knowledge-base folder (default: the chat UI's, ~/.local/share/rag/collection)")
    serve.add_argument("--keys-file", dest="server_keys_file", help="API keys: lines '<read|admin> sha256:<hex>' (also $RAG_API_KEYS=key:role,...)")
    serve.add_argument("--insecure", dest="server_insecure", action="store_const", const=True,
                       help="allow a non-loopback --host without API keys")
    serve.add_argument("--mode", dest="answer_mode", choices=["llm", "extractive"], help="default answerer (default: the config's answer.mode)")
    serve.add_argument("--generator", help="Model for LLM answers: a packaged model name, a .gguf path, hf:<owner>/<repo>/<file>, or openai:<base-url>#<model>")
    serve.add_argument("--queue-size", dest="server_queue_size", type=int, help="LLM requests that may wait for the model (default 4); more get 503")
    serve.add_argument("--timeout", dest="server_timeout", type=float, help="seconds per answer, queueing included (default 120)")
    serve.add_argument("--max-upload-mb", dest="server_max_upload_mb", type=float, help="largest uploaded file (default 20)")
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace, config: Config) -> int:
    from rag_app.server.application import serve

    logging.getLogger("rag").setLevel(logging.INFO)
    return serve(config)
