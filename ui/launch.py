"""``rag ui``: start the Streamlit app, passing options it doesn't know through to Streamlit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from rag.core.errors import RagError
from rag.core.runtime import apply_process_defaults
from rag_ui import options

APP = Path(__file__).resolve().parent / "app.py"
DEFAULTS = {"--browser.gatherUsageStats": "false", "--client.toolbarMode": "minimal"}
"""Streamlit settings applied unless given: no usage statistics are sent (this is an offline tool), no Deploy button."""


def streamlit_command(streamlit_args: Sequence[str]) -> list[str]:
    """``python -m streamlit run ui/app.py`` with `streamlit_args` and the `DEFAULTS` they don't override."""
    args = list(streamlit_args)
    for flag, value in DEFAULTS.items():
        if not any(a == flag or a.startswith(flag + "=") for a in args):
            args += [flag, value]
    return [sys.executable, "-m", "streamlit", "run", str(APP), *args]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the app's own flags (see `rag_ui.options`), hand them to the app in its environment, run Streamlit."""
    args, rest = options.parse(sys.argv[1:] if argv is None else argv)
    env = {**os.environ, **options.to_env(args)}
    apply_process_defaults(env)
    try:
        options.load(env=env)  # fail here, with a plain message, rather than inside the browser
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    process = subprocess.Popen(streamlit_command(rest), env=env)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signum))  # stop it with us
    try:
        return process.wait()
    except KeyboardInterrupt:  # Streamlit got the same Ctrl+C and is shutting down
        return process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    raise SystemExit(main())
