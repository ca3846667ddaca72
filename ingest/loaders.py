"""Find and read source files: Markdown, plain text (any common encoding, GBK included), PDF, Word
(.docx, `rag_ingest.docx_reader`) and HTML (`rag_ingest.html_reader`); the last two are stored as the
Markdown-like text extracted from them, which citations point into.

Every file ends up either as a `SourceDocument` or as a `SkippedFile` with a reason a person can act on
(links that lead nowhere or in a loop, FIFOs and devices, unreadable folders included); nothing is
half-read. Limits (`rag.core.config.LimitsConfig`) bound the bytes read per file and the bytes a PDF may
decompress to.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from rag.core.config import LimitsConfig
from rag_ingest.line_wraps import unwrap_lines
from rag_ingest.pdf_layout import PdfPage, pdf_pages_text, rendered_size

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
TEXT_SUFFIXES = frozenset({".txt"})
PDF_SUFFIXES = frozenset({".pdf"})
DOCX_SUFFIXES = frozenset({".docx"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES | HTML_SUFFIXES

MAX_REPLACED_SHARE = 0.1
"""UTF-8 with a few bad bytes is kept (bad bytes become U+FFFD, with a warning) when the bad sequences
are at most this share of its valid non-ASCII characters; otherwise other encodings are tried."""


@dataclass(frozen=True)
class SourceDocument:
    """A readable document: its id (path relative to the ingested root), decoded text and metadata."""

    doc_id: str
    path: str
    text: str
    sha256: str
    format: str
    """``markdown``, ``text``, ``pdf``, ``docx`` or ``html``: decides how structure is parsed."""
    encoding: str
    warnings: tuple[str, ...] = ()
    """What was repaired while reading (e.g. undecodable bytes replaced); logged and kept in the manifest."""


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class LoadResult:
    documents: list[SourceDocument]
    skipped: list[SkippedFile]


def discover(paths: Iterable[str | Path], skipped: list[SkippedFile] | None = None) -> Iterator[tuple[Path, str]]:
    """Yield ``(file, doc_id)`` for each regular file under `paths`; directories are walked recursively in
    sorted order, following links to folders once (a link back up the tree is a loop).

    A file given directly is named by its file name; a file found in a directory by its path relative to it.
    Hidden files and folders are ignored. What can't be walked or read (broken links, link loops, FIFOs,
    sockets, devices, unreadable folders) is appended to `skipped` with the reason. A path that does not
    exist raises FileNotFoundError.
    """
    skipped = skipped if skipped is not None else []
    for raw in paths:
        root = Path(raw)
        if not root.exists() and not root.is_symlink():
            raise FileNotFoundError(f"No such file or directory: '{root}'. Check the path you gave to ingest.")
        problem = _not_walkable(root)
        if problem:
            skipped.append(SkippedFile(str(root), problem))
        elif root.is_dir():
            yield from _walk(root, root, {_identity(root)}, skipped)
        else:
            yield root, root.name


def _walk(folder: Path, root: Path, ancestors: set[tuple[int, int]], skipped: list[SkippedFile]) -> Iterator[tuple[Path, str]]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError as exc:
        skipped.append(SkippedFile(str(folder), f"folder cannot be read: {exc.strerror or exc}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        problem = _not_walkable(path)
        if problem:
            skipped.append(SkippedFile(str(path), problem))
        elif path.is_dir():
            identity = _identity(path)
            if identity in ancestors:
                skipped.append(SkippedFile(str(path), "symbolic link loop (links back to a folder above it); not followed"))
                continue
            yield from _walk(path, root, ancestors | {identity}, skipped)
        else:
            yield path, path.relative_to(root).as_posix()


def _identity(folder: Path) -> tuple[int, int]:
    info = folder.stat()
    return info.st_dev, info.st_ino


def _not_walkable(path: Path) -> str | None:
    """Why `path` can't be walked or read as a regular file or folder, or None when it can."""
    try:
        info = path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop; not followed"
        if path.is_symlink():
            return f"broken symbolic link (its target '{os.readlink(path)}' does not exist)"
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode):
        return None
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device"
    return f"not a regular file ({kind}); only files and folders are indexed"


def load_documents(paths: Iterable[str | Path], limits: LimitsConfig | None = None) -> LoadResult:
    """Read every supported file under `paths`, skipping (with a reason) the ones that can't be used."""
    limits = limits if limits is not None else LimitsConfig()
    documents: list[SourceDocument] = []
    skipped: list[SkippedFile] = []
    seen_ids: set[str] = set()
    by_hash: dict[str, str] = {}
    for file, doc_id in discover(paths, skipped):
        if doc_id in seen_ids:
            doc_id = file.resolve().as_posix()
        result = read_file(file, doc_id, limits)
        if isinstance(result, SkippedFile):
            skipped.append(result)
            continue
        if result.sha256 in by_hash:
            skipped.append(SkippedFile(str(file), f"duplicate content of '{by_hash[result.sha256]}' (indexed once)"))
            continue
        by_hash[result.sha256] = result.doc_id
        seen_ids.add(result.doc_id)
        documents.append(result)
    for skip in skipped:
        log.warning("Skipped %r: %s", skip.path, skip.reason)
    return LoadResult(documents, skipped)


class UnreadableFile(Exception):
    """Raised by the readers below; the message is the reason shown to the user."""


def read_file(file: Path, doc_id: str, limits: LimitsConfig | None = None) -> SourceDocument | SkippedFile:
    """Read one file, or say why it can't be indexed."""
    limits = limits if limits is not None else LimitsConfig()
    suffix = file.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return SkippedFile(str(file), f"unsupported file type '{suffix or '(none)'}'; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    problem = _not_walkable(file)
    if problem:
        return SkippedFile(str(file), problem)
    warnings: list[str] = []
    try:
        size = file.stat().st_size
        if size > limits.max_file_bytes:
            raise UnreadableFile(
                f"file is {size:,} bytes, over limits.max_file_bytes = {limits.max_file_bytes:,}; split it or raise the limit"
            )
        raw = file.read_bytes()
        if not raw.strip():
            raise UnreadableFile("empty file")
        if suffix in PDF_SUFFIXES:
            text, encoding, fmt = pdf_text(raw, limits.max_pdf_decompressed_bytes), "pdf", "pdf"
        elif suffix in DOCX_SUFFIXES:
            from rag_ingest.docx_reader import docx_text

            text, encoding, fmt = docx_text(raw, limits.max_pdf_decompressed_bytes), "docx", "docx"
        elif suffix in HTML_SUFFIXES:
            from rag_ingest.html_reader import html_text

            text, encoding, fmt = html_text(raw), "html", "html"
        else:
            text, encoding, warnings = _decode(raw)
            fmt = "markdown" if suffix in MARKDOWN_SUFFIXES else "text"
        text = normalize_newlines(text)
        if fmt == "text":
            text = unwrap_lines(text)  # a plain-text file may be hard-wrapped like a PDF page
        if not text.strip():
            raise UnreadableFile("no text content")
    except OSError as exc:
        return SkippedFile(str(file), f"cannot be read: {exc.strerror or exc}")
    except UnreadableFile as exc:
        return SkippedFile(str(file), str(exc))
    for warning in warnings:
        log.warning("%r: %s", str(file), warning)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return SourceDocument(doc_id, str(file), text, digest, fmt, encoding, tuple(warnings))


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode bytes to ``(text, encoding)``; raise UnreadableFile when they are not text."""
    text, encoding, _ = _decode(raw)
    return text, encoding


def _decode(raw: bytes) -> tuple[str, str, list[str]]:
    """``(text, encoding, warnings)``. Tried in order: a BOM (UTF-8, UTF-16); UTF-16 without BOM when the
    bytes decode to plausible text; UTF-8; UTF-8 with a few bad bytes replaced (a warning); GB18030 (a
    superset of GBK and GB2312) for text that is mostly Chinese; Windows-1252 (a superset of Latin-1's
    printable characters) for mostly-Latin text, as browsers do for unlabelled legacy text (charset
    detection here took French for Czech: cp1250 mojibake); charset-normalizer's best guess for the rest
    (Cyrillic, Greek...). Raises UnreadableFile for binary content."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError:
            pass
    if b"\x00" in raw:
        wide = _bomless_utf16(raw)
        if wide is None:
            raise UnreadableFile("binary content (contains NUL bytes); convert it to .md, .txt or .pdf")
        return wide[0], wide[1], []
    try:
        return raw.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    repaired = _mostly_utf8(raw)
    if repaired is not None:
        return repaired
    wide = _bomless_utf16(raw, without_nul=True)
    if wide is not None:
        return wide[0], wide[1], []
    try:
        text = raw.decode("gb18030")
        if _mostly_cjk(text):
            return text, "gb18030", []
    except UnicodeDecodeError:
        pass
    western = _western(raw)
    if western is not None:
        return western
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None or best.encoding is None:
        raise UnreadableFile("unknown text encoding or binary content; save the file as UTF-8")
    return str(best), best.encoding, []


def _plausible_share(text: str) -> float:
    """Share of characters that ordinary documents are made of (letters, CJK, punctuation, whitespace)."""
    if not text:
        return 0.0
    good = 0
    for char in text:
        code = ord(char)
        if char in "\n\r\t" or (0x20 <= code < 0x7F) or (0xA0 <= code < 0x530) or (0x2000 <= code < 0x2190) \
                or (0x3000 <= code < 0x3040) or (0x3400 <= code < 0xA000) or (0xFF00 <= code < 0xFFF0):
            good += 1
    return good / len(text)


def _bomless_utf16(raw: bytes, without_nul: bool = False) -> tuple[str, str] | None:
    """UTF-16 without a byte-order mark: the byte order whose decoding reads as text, if any does.

    Without NUL bytes (no ASCII in the text) only mostly-CJK text counts, and its high bytes must look
    like CJK ones (often >= 0x80), which pairs of ASCII or Latin-1 bytes never do.
    """
    if len(raw) < 2 or len(raw) % 2:
        return None
    best = None
    for codec, high in (("utf-16-le", 1), ("utf-16-be", 0)):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        if any(ord(c) < 0x20 and c not in "\t\n\r" for c in text):
            continue
        if not without_nul and raw[1 - high::2].count(0):
            continue  # in real UTF-16 text, NULs are the high bytes of ASCII characters, never the low ones
        share = _plausible_share(text)
        if without_nul:
            high_bytes = raw[high::2]
            if sum(b >= 0x80 for b in high_bytes) < 0.1 * len(high_bytes) or not _mostly_cjk(text):
                continue
        if share >= 0.98 and (best is None or share > best[0]):
            best = (share, text, codec)
    return (best[1], best[2]) if best else None


def _mostly_utf8(raw: bytes) -> tuple[str, str, list[str]] | None:
    """UTF-8 with a few invalid bytes: the text with U+FFFD for each bad sequence, and a warning."""
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    bad = text.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
    valid_non_ascii = sum(1 for c in text if ord(c) > 127 and c != "\ufffd")
    if bad <= 0 or bad > MAX_REPLACED_SHARE * valid_non_ascii:
        return None
    return text, "utf-8", [f"{bad} undecodable byte sequence(s) replaced with U+FFFD (the file is otherwise UTF-8)"]


def _western(raw: bytes) -> tuple[str, str, list[str]] | None:
    """Windows-1252 / Latin-1 text (French, German, Spanish...): mostly ASCII letters with some accented
    Latin ones. None when the bytes don't decode or read like another script."""
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        return None
    letters = [c for c in text if c.isalpha()]
    accented = sum(1 for c in letters if ord(c) > 127)
    if not letters or accented > 0.3 * len(letters) or _plausible_share(text) < 0.99:
        return None
    return text, "latin-1" if not any(0x80 <= b < 0xA0 for b in raw) else "cp1252", []


def _mostly_cjk(text: str) -> bool:
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return True
    cjk = sum(1 for c in non_ascii if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    return cjk / len(non_ascii) > 0.9


def pdf_text(raw: bytes, max_decompressed_bytes: int = 50_000_000) -> str:
    """Text of all pages, separated by blank lines; raise UnreadableFile when there is none, when the PDF
    is broken, or when its streams decompress past `max_decompressed_bytes` (a decompression bomb)."""
    import io

    import pypdf
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    limit_error = getattr(pypdf.errors, "LimitReachedError", PyPdfError)
    limits = {
        name: max_decompressed_bytes
        for name in (
            "maximum_declared_stream_length", "array_based_stream_maximum_output_length", "jbig2_maximum_output_length",
            "lzw_maximum_output_length", "run_length_maximum_output_length", "zlib_maximum_output_length",
            "image_maximum_buffer_size",
        )
    }
    configured = pypdf.apply_configuration(**limits) if hasattr(pypdf, "apply_configuration") else nullcontext()
    too_big = (
        f"PDF decompresses to more than limits.max_pdf_decompressed_bytes = {max_decompressed_bytes:,} bytes "
        "(a decompression bomb?); skipped"
    )
    try:
        with configured:
            reader = PdfReader(io.BytesIO(raw))
            pages = []
            total = 0
            for page in reader.pages:
                pieces: list[tuple[str, float]] = []

                def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
                    pieces.append((text, rendered_size(cm, tm, size or 0.0)))

                text = page.extract_text(visitor_text=visit) or ""
                total += len(text.encode("utf-8"))
                if total > max_decompressed_bytes:
                    raise UnreadableFile(too_big)
                pages.append(PdfPage(text, tuple(pieces) if "".join(p for p, _ in pieces) == text else ()))
    except limit_error as exc:
        raise UnreadableFile(f"{too_big} ({exc})") from exc
    except MemoryError as exc:
        raise UnreadableFile(too_big) from exc
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError, IndexError,
            RecursionError, ZeroDivisionError, AssertionError) as exc:
        raise UnreadableFile(f"unreadable PDF ({type(exc).__name__}: {exc}); re-export it or convert it to text") from exc
    text = pdf_pages_text(pages)
    if not text:
        raise UnreadableFile("PDF has no extractable text (scanned images?); run OCR on it first")
    return text
