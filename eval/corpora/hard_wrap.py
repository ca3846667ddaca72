"""Writes a hard-wrapped copy of Markdown documents, as a Chinese editor wraps them: about `width` characters per line,
breaking only between two Chinese characters, list items continued under their text; headings, tables, code blocks
and bold title lines left alone. Measures how well documents written that way are read (docs/own-documents.md).

    python eval/corpora/hard_wrap.py corpus /tmp/wrapped --width 36
    rag ingest /tmp/wrapped --index /tmp/wrapped-index
    rag eval answers --dataset tune --modes extractive --index /tmp/wrapped-index
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

_CHINESE = re.compile(r"[\u4e00-\u9fff，。、；：！？（）“”]")
_BULLET = re.compile(r"^(\s*(?:[-*+]|\d{1,2}[.)、])\s+)")
_SENTENCE_END = "。！？；："


def wrap_line(line: str, width: int) -> list[str]:
    """`line` cut into lines of about `width` characters, each cut between two Chinese characters."""
    bullet = _BULLET.match(line)
    indent = " " * len(bullet.group(1)) if bullet else line[: len(line) - len(line.lstrip())]
    lines, rest = [], line
    while len(rest) > width:
        cut = next((i for i in range(width, len(rest) - 1)
                    if _CHINESE.match(rest[i - 1]) and _CHINESE.match(rest[i]) and rest[i - 1] not in _SENTENCE_END), None)
        if cut is None:
            break
        lines.append(rest[:cut])
        rest = indent + rest[cut:]
    return [*lines, rest]


def wrap_document(text: str, width: int) -> str:
    """`text` with its paragraph and list lines wrapped (`wrap_line`)."""
    lines, in_code = [], False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_code = not in_code
        bold_title = stripped.endswith("**") and stripped.lstrip("★☆ ").startswith("**")
        if in_code or bold_title or not stripped or stripped.startswith(("#", "|", "```", "~~~")):
            lines.append(line)
        else:
            lines.extend(wrap_line(line, width))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="a folder of .md files")
    parser.add_argument("target", type=Path, help="where the wrapped copies go")
    parser.add_argument("--width", type=int, default=36, help="characters per line (default 36)")
    args = parser.parse_args()
    args.target.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.source.glob("*.md")):
        (args.target / path.name).write_text(wrap_document(path.read_text(encoding="utf-8"), args.width), encoding="utf-8")
        print(f"wrapped {path.name}")


if __name__ == "__main__":
    main()
