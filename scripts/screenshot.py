"""Save a screenshot of the app answering a question with its citation open (docs/screenshot.png).

    python scripts/screenshot.py [--question Q] [--mode extractive|llm] [--data-dir DIR] [--out FILE]

Starts the app on 127.0.0.1 against a fresh knowledge base seeded with the bundled corpus (or
--data-dir), types the question, waits for the cited answer, clicks the first [n] chip and saves the
page. Needs Debian's chromium and fonts-wqy-microhei, and the playwright package (see ui/browser.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag_ui.browser import (  # noqa: E402
    ask_and_open_citation,
    browser_page,
    missing_requirements,
    running_app,
)
from rag_ui.examples import BUNDLED_CORPUS_EXAMPLES  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default=BUNDLED_CORPUS_EXAMPLES[0])
    parser.add_argument("--mode", choices=["extractive", "llm"], default="extractive")
    parser.add_argument("--data-dir", help="knowledge-base folder (default: a new temporary one, seeded with the bundled corpus)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=860)
    args = parser.parse_args()
    problem = missing_requirements()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="rag-ui-screenshot-") as scratch:
        data_dir = Path(args.data_dir) if args.data_dir else Path(scratch) / "collection"
        env = {"RAG_DATA_DIR": str(data_dir), "RAG_ANSWER_MODE": args.mode}
        started = time.perf_counter()
        with running_app(env, log=Path(scratch) / "streamlit.log") as url:
            with browser_page(args.width, args.height) as page:
                visit = ask_and_open_citation(page, url, args.question, Path(args.out), timeout_s=600)
    print(f"Saved {args.out} ({time.perf_counter() - started:.1f} s; answer after {visit.seconds_to_answer:.1f} s)")
    print(f"answer: {visit.answer}\nopened: {visit.chip}; highlighted: {visit.highlighted}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
