"""Errors the library raises on purpose. Each message says what was wrong and what to do."""
from __future__ import annotations

from typing import Any


class RagError(Exception):
    """Base class for every error this project raises deliberately."""


class ConfigError(RagError):
    """A configuration value is missing or invalid."""


class IndexNotFoundError(RagError):
    """No index exists at the given location."""


class IndexMismatchError(RagError):
    """The index was built with settings (such as the embedder) that differ from the current ones."""


class ModelLoadError(RagError):
    """A model could not be loaded (missing path, no network for a hub id, broken file)."""


class IngestError(RagError):
    """Ingestion could not produce an index (for example: no readable documents)."""


class IndexCorruptError(RagError):
    """An index file is missing, unreadable or disagrees with the others; the message names the file."""


class InputLimitError(RagError):
    """An input (a question, a document, a parameter) is over a configured limit; the message names it."""


def needs_extra(what: str, extra: str, missing: str | None = None) -> str:
    """The message for a feature whose optional packages are not installed: which extra, and the pip command."""
    module = f" (missing module '{missing}')" if missing else ""
    return f"{what} needs the '{extra}' extra{module}: pip install 'rag-local[{extra}]'"


def import_extra(module: str, attribute: str, what: str, extra: str) -> Any:
    """``module.attribute`` from an optional package, or a `ModelLoadError` saying which extra installs it."""
    import importlib

    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError as exc:
        raise ModelLoadError(needs_extra(what, extra, exc.name)) from exc


def explain(exc: BaseException) -> str | None:
    """A message a person can act on for an error a front door shows instead of a traceback, or None
    when `exc` is a bug (let it propagate). Messages may quote file names: print them with
    `rag.core.terminal.printable`."""
    import errno as codes

    if isinstance(exc, RagError):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"text is not valid {exc.encoding} ({exc.reason} at byte {exc.start}); save the file as UTF-8"
    if isinstance(exc, MemoryError):
        return "out of memory; use smaller inputs or lower the limits in the [limits] config section"
    if isinstance(exc, OSError):
        what = {
            codes.ENOSPC: "no space left on the disk; free some space",
            codes.EDQUOT: "disk quota exceeded; free some space",
            codes.EROFS: "the file system is read-only; choose a writable location",
            codes.EACCES: "permission denied; check the permissions or choose another location",
            codes.EPERM: "operation not permitted; check the permissions or choose another location",
            codes.ENOENT: "no such file or directory",
            codes.EISDIR: "is a folder, not a file",
            codes.ENOTDIR: "a part of the path is not a folder",
            codes.EMFILE: "too many open files; raise the limit (ulimit -n)",
        }.get(exc.errno or -1, exc.strerror or str(exc) or type(exc).__name__)
        where = f"'{exc.filename}': " if exc.filename else ""
        return f"{where}{what}"
    return None
