"""The library leaves its host's environment alone; the front doors apply the process defaults."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from rag.core.runtime import PROCESS_DEFAULTS, apply_process_defaults


def _environment_after(code: str, env: dict[str, str]) -> dict[str, str]:
    script = f"import json, os\nbefore = dict(os.environ)\n{code}\nprint(json.dumps([before, dict(os.environ)]))"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    before, after = json.loads(result.stdout.strip().splitlines()[-1])
    return {k: after.get(k) for k in set(before) | set(after) if before.get(k) != after.get(k)}


def test_importing_the_library_leaves_the_environment_unchanged() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    code = "import rag\nfrom rag import RAG\nimport rag.api, rag.embedding.embedders, rag.index.local, rag.generation.llama_cpp"
    assert _environment_after(code, env) == {}


def test_the_rag_command_applies_the_process_defaults() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    changed = _environment_after("from rag_app.cli import main\ntry:\n    main(['models'])\nexcept SystemExit:\n    pass", env)
    assert changed == PROCESS_DEFAULTS


def test_a_users_own_setting_wins() -> None:
    env = {"OMP_WAIT_POLICY": "ACTIVE"}
    apply_process_defaults(env)
    assert env == {"OMP_WAIT_POLICY": "ACTIVE"}
    empty: dict[str, str] = {}
    apply_process_defaults(empty)
    assert empty == PROCESS_DEFAULTS
