"""`rag.core.errors.explain`: the messages front doors print instead of tracebacks."""
from __future__ import annotations

import errno

import pytest

from rag.core.errors import IndexCorruptError, explain


@pytest.mark.parametrize(("exc", "expected"), [
    (OSError(errno.ENOSPC, "No space left on device", "/data/index"), "'/data/index': no space left on the disk"),
    (PermissionError(errno.EACCES, "Permission denied", "/root/x"), "'/root/x': permission denied"),
    (OSError(errno.EROFS, "Read-only file system"), "the file system is read-only"),
    (IndexCorruptError("Index file 'x' is corrupt"), "Index file 'x' is corrupt"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
     "text is not valid utf-8 (invalid start byte at byte 0)"),
])
def test_expected_failures_get_a_message(exc: BaseException, expected: str) -> None:
    assert expected in explain(exc)


def test_bugs_are_not_explained_away() -> None:
    assert explain(KeyError("x")) is None and explain(TypeError("y")) is None
