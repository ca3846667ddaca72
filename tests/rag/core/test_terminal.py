"""No escape sequence or control character from a document or a file name reaches the terminal."""
from __future__ import annotations

import json

import pytest

from rag.core.terminal import printable, safe_json

HOSTILE = [
    "\x1b]0;pwned title\x07",                 # OSC 0: window title
    "\x1b]52;c;ZXZpbA==\x07",                 # OSC 52: clipboard write
    "\x1b]8;;http://evil.example.com\x1b\\",  # OSC 8 hyperlink, ST-terminated
    "\x1b[8m",                                # CSI: hidden text
    "\x1b[2J\x1b[H",                          # CSI: clear screen, cursor home
    "\x9b31m",                                # C1 CSI
    "\x9d0;title\x9c",                        # C1 OSC
    "\x1bP+q544e\x1b\\",                      # DCS
    "\x1b(0",                                 # ESC ( 0: switch to the line-drawing character set
]


@pytest.mark.parametrize("sequence", HOSTILE)
def test_escape_sequences_are_removed(sequence: str) -> None:
    shown = printable(f"before {sequence} after")
    assert "\x1b" not in shown and not any(0x80 <= ord(c) <= 0x9f for c in shown)
    assert shown.startswith("before ") and shown.endswith(" after")
    assert "pwned" not in shown and "ZXZpbA" not in shown


@pytest.mark.parametrize("char", ["\r", "\x08", "\x07", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\u200f", "\u2028"])
def test_other_controls_are_shown_visibly(char: str) -> None:
    shown = printable(f"a{char}b")
    assert char not in shown and shown.startswith("a\\") and shown.endswith("b")


def test_a_lone_escape_is_removed() -> None:
    assert printable("text\x1b") == "text"


def test_newlines_in_names_cannot_fake_a_line() -> None:
    assert printable("evil.md\n[2] fake.md:0-10") == "evil.md\\n[2] fake.md:0-10"
    assert printable("line one\nline two", keep_newlines=True) == "line one\nline two"
    assert printable("中文 text ok") == "中文 text ok"


def test_safe_json_escapes_what_json_leaves_raw_and_keeps_the_data() -> None:
    record = {"text": "x\u202ey\x9b31m\x1b]0;t\x07 中文"}
    line = safe_json(record)
    assert "\u202e" not in line and "\x9b" not in line and "\x1b" not in line and "中文" in line
    assert json.loads(line) == record
