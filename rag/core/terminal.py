"""Text made safe to print to a terminal: no escape sequences, no invisible control characters.

Documents and file names are untrusted. An OSC sequence in a document can set the terminal's title or
write to the clipboard (OSC 52), CSI sequences can hide or rewrite text, a carriage return or a newline
in a file name can fake an output line, and bidirectional-override characters can reorder what is shown.
`printable` removes escape sequences and shows every other control character as a visible escape.
"""
from __future__ import annotations

import json
import re
from typing import Any

_ESCAPE_SEQUENCE = re.compile(
    r"""
      \x1b\][^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)?        # OSC (title, clipboard, hyperlinks), BEL or ST ended
    | \x9d[^\x07\x1b\x9c]{0,4096}(?:\x07|\x1b\\|\x9c)?          # the same with the C1 introducer
    | \x1b[P^_X][^\x1b\x9c]{0,4096}(?:\x1b\\|\x9c)?             # DCS, PM, APC, SOS strings
    | [\x90\x98\x9e\x9f][^\x1b\x9c]{0,4096}(?:\x1b\\|\x9c)?     # the same with C1 introducers
    | \x1b\[[0-?]*[ -/]*[@-~]?                                  # CSI (colours, cursor moves, erase)
    | \x9b[0-?]*[ -/]*[@-~]?                                    # CSI with the C1 introducer
    | \x1b[ -/]*[0-~]?                                          # any other ESC sequence
    """,
    re.VERBOSE,
)
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS_KEEPING_LINES = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
_CONTROLS = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}\\u2028\\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_JSON_UNSAFE = re.compile(f"[\\x7f-\\x9f{_BIDI}\\u2028\\u2029]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def printable(text: Any, keep_newlines: bool = False) -> str:
    """`text` with escape sequences removed and control/bidi characters shown as ``\\xNN``/``\\uNNNN``.

    With `keep_newlines`, line breaks and tabs stay (multi-line answers); otherwise they are shown as
    ``\\n``/``\\t`` too, so a file name or a one-line field can never start a new output line.
    """
    text = _ESCAPE_SEQUENCE.sub("", str(text))
    return (_CONTROLS_KEEPING_LINES if keep_newlines else _CONTROLS).sub(_visible, text)


def safe_json(record: Any, **kwargs: Any) -> str:
    """`json.dumps` (non-ASCII kept readable) with C1 controls, DEL, line separators and bidi controls
    escaped too; C0 controls are always escaped by JSON itself. Same data, safe on a terminal."""
    text = json.dumps(record, ensure_ascii=False, **kwargs)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
