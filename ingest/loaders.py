"""Find and read source files: Markdown, plain text (any common encoding, GBK included) and PDF.

Every file ends up either as a `SourceDocument` or as a `SkippedFile` with a reason a person can act on;
nothing is half-read.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | PDF_SUFFIXES


@dataclass(frozen=True)
class SourceDocument:
    """A readable document: its id (path relative to the ingested root), decoded text and metadata."""

    doc_id: str
    path: str
    text: str
    sha256: str
    format: str
    """``markdown``, ``text`` or ``pdf``: decides how structure is parsed."""
    encoding: str


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    skipped: list[SkippedFile]


def discover(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str]]:
    """Yield ``(file, doc_id)`` for each file under `paths`; directories are walked recursively in sorted order.

    A file given directly is named by its file name; a file found in a directory by its path relative to it.
    Hidden files and folders are ignored. A path that does not exist raises FileNotFoundError.
    """
    for raw in paths:
        root = Path(raw)
        if not root.exists():
            raise FileNotFoundError(f"No such file or directory: '{root}'. Check the path you gave to ingest.")
        if root.is_file():
            yield root, root.name
            continue
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = file.relative_to(root)
            if not any(part.startswith(".") for part in relative.parts):
                yield file, relative.as_posix()


def load_documents(paths: Iterable[str | Path]) -> LoadResult:
    """Read every supported file under `paths`, skipping (with a reason) the ones that can't be used."""
    documents: list[SourceDocument] = []
    skipped: list[SkippedFile] = []
    seen_ids: set[str] = set()
    by_hash: dict[str, str] = {}
    for file, doc_id in discover(paths):
        if doc_id in seen_ids:
            doc_id = file.resolve().as_posix()
        result = read_file(file, doc_id)
        if isinstance(result, SkippedFile):
            log.warning("Skipped %s: %s", result.path, result.reason)
            skipped.append(result)
            continue
        if result.sha256 in by_hash:
            skipped.append(SkippedFile(str(file), f"duplicate content of '{by_hash[result.sha256]}' (indexed once)"))
            continue
        by_hash[result.sha256] = result.doc_id
        seen_ids.add(result.doc_id)
        documents.append(result)
    return LoadResult(documents, skipped)


class UnreadableFile(Exception):
    """Raised by the readers below; the message is the reason shown to the user."""


def read_file(file: Path, doc_id: str) -> SourceDocument | SkippedFile:
    """Read one file, or say why it can't be indexed."""
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return SkippedFile(str(file), f"unsupported file type '{suffix or '(none)'}'; supported: .md, .txt, .pdf")
    try:
        raw = file.read_bytes()
        if not raw.strip():
            raise UnreadableFile("empty file")
        if suffix in PDF_SUFFIXES:
            text, encoding, fmt = pdf_text(raw), "pdf", "pdf"
        else:
            text, encoding = decode_text(raw)
            fmt = "markdown" if suffix in MARKDOWN_SUFFIXES else "text"
        text = normalize_newlines(text)
        if not text.strip():
            raise UnreadableFile("no text content")
    except OSError as exc:
        return SkippedFile(str(file), f"cannot be read: {exc.strerror or exc}")
    except UnreadableFile as exc:
        return SkippedFile(str(file), str(exc))
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return SourceDocument(doc_id, str(file), text, digest, fmt, encoding)


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode bytes to ``(text, encoding)``; raise UnreadableFile when they are not text.

    UTF-8 (with or without BOM) and UTF-16 with BOM are tried first, then GB18030 (a superset of GBK and
    GB2312) for text that is mostly Chinese, then charset-normalizer's best guess.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw:
        raise UnreadableFile("binary content (contains NUL bytes); convert it to .md, .txt or .pdf")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
        if _mostly_cjk(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        raise UnreadableFile("unknown text encoding or binary content; save the file as UTF-8")
    return str(best), best.encoding


def _mostly_cjk(text: str) -> bool:
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return True
    cjk = sum(1 for c in non_ascii if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    return cjk / len(non_ascii) > 0.9


def pdf_text(raw: bytes) -> str:
    """Text of all pages, separated by blank lines; raise UnreadableFile when there is none."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile(f"unreadable PDF ({exc}); re-export it or convert it to text") from exc
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableFile("PDF has no extractable text (scanned images?); run OCR on it first")
    return text
