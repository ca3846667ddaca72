"""jieba's word segmenter with its dictionary loaded on demand, one first character at a time.

jieba keeps every dictionary word and word prefix (about 500,000 entries) in one dict that it unmarshals
from a cache file when it starts: 0.6 s on 2 cores, most of a one-question `rag search`. Segmenting a text
only ever looks up substrings of that text, so the entries that start with one of its characters are all
it needs. The dictionary is therefore split once by first character into a file in the cache folder, and
a process loads the parts of the characters it meets (a question: a few dozen of about 12,000 parts).
The segmentation itself is jieba's, unchanged: same dictionary, same algorithm, same tokens.
"""
from __future__ import annotations

import logging
import marshal
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import jieba

from rag.core.paths import cache_dir

FORMAT = 1
"""Bumped when the file layout changes; part of the key that decides whether a stored file is current."""
_HEADER = 8  # bytes of the little-endian header length that starts the file

log = logging.getLogger(__name__)


class PrefixDictionary:
    """jieba's word → frequency dictionary (words and their prefixes, prefixes at 0), filled part by part.

    `freq` is a plain dict (jieba looks words up in it millions of times while indexing); `cover(text)`
    adds the parts of the text's characters first. Thread-safe: a part is added whole, under a lock, before
    its character counts as loaded.
    """

    def __init__(self, total: int, parts: dict[str, tuple[int, int]], data: bytes | memoryview) -> None:
        self.total = total
        self.freq: dict[str, int] = {}
        self._parts = parts
        self._data = data
        self._loaded: set[str] = set()
        self._lock = threading.Lock()

    def cover(self, text: str) -> None:
        """Load the parts of every character of `text` not loaded yet."""
        missing = set(text) - self._loaded
        if not missing:
            return
        with self._lock:
            for char in missing - self._loaded:
                span = self._parts.get(char)
                if span is not None:
                    self.freq.update(marshal.loads(self._data[span[0]: span[1]]))
                self._loaded.add(char)

    @staticmethod
    def encode(freq: dict[str, int], total: int, key: tuple) -> bytes:
        """The file: a header (key, total, character → byte span of its part) and the marshalled parts."""
        by_char: dict[str, dict[str, int]] = {}
        for word, count in freq.items():
            by_char.setdefault(word[0], {})[word] = count
        blobs, parts, offset = [], {}, 0
        for char, part in by_char.items():
            blob = marshal.dumps(part)
            parts[char] = (offset, offset + len(blob))
            blobs.append(blob)
            offset += len(blob)
        header = marshal.dumps((key, total, parts))
        return len(header).to_bytes(_HEADER, "little") + header + b"".join(blobs)

    @classmethod
    def decode(cls, data: bytes, key: tuple) -> PrefixDictionary | None:
        """The dictionary a file holds, or None when it was made for another key (or is damaged)."""
        try:
            size = int.from_bytes(data[:_HEADER], "little")
            stored_key, total, parts = marshal.loads(data[_HEADER: _HEADER + size])
        except (EOFError, ValueError, TypeError):
            return None
        if stored_key != key:
            return None
        return cls(total, parts, memoryview(data)[_HEADER + size:])


def dictionary_key() -> tuple:
    """What the stored file depends on: this format, jieba's version and its dictionary file."""
    stat = (Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME).stat()
    return (FORMAT, jieba.__version__, stat.st_size, stat.st_mtime_ns)


def load_dictionary(path: Path) -> PrefixDictionary:
    """The dictionary split by first character: read from `path`, or built from jieba's dictionary file
    (about 2 s, once per jieba version) and stored there. An unwritable cache folder costs only the store."""
    key = dictionary_key()
    try:
        found = PrefixDictionary.decode(path.read_bytes(), key)
    except OSError:
        found = None
    if found is not None:
        return found
    freq, total = jieba.Tokenizer.gen_pfdict(jieba.Tokenizer().get_dict_file())
    data = PrefixDictionary.encode(freq, total, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)  # readers see the old file or the whole new one
    except OSError as exc:
        log.warning("could not store the word dictionary at %s (%s); it is rebuilt next time", path, exc)
    dictionary = PrefixDictionary.decode(data, key)
    assert dictionary is not None
    return dictionary


class Segmenter:
    """`jieba.Tokenizer.cut_for_search` over a `PrefixDictionary`."""

    def __init__(self, dictionary: PrefixDictionary) -> None:
        self.dictionary = dictionary
        self._jieba = jieba.Tokenizer()
        self._jieba.FREQ, self._jieba.total = dictionary.freq, dictionary.total
        self._jieba.initialized = True  # the dictionary is ours; jieba must not load its own

    def cut_for_search(self, text: str) -> Iterator[str]:
        self.dictionary.cover(text)
        return self._jieba.cut_for_search(text)

    def cut(self, text: str) -> Iterator[str]:
        """jieba's default mode: words that, joined, give `text` back."""
        self.dictionary.cover(text)
        return self._jieba.cut(text)


def default_dictionary_path() -> Path:
    """``~/.cache/rag/jieba-dictionary.bin`` on Linux."""
    return cache_dir() / "jieba-dictionary.bin"
