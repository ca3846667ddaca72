"""Where an index lives: a folder (the default), a Milvus Lite file, or a collection on a Milvus server.

Accepted wherever an index is named (``--index``, ``index_dir``, ``RAG.open``)::

    ./my-index                              a local index folder
    milvus:./kb.db                          Milvus Lite, embedded, in that file (collection "rag")
    milvus+http://host:19530/<collection>   Milvus Standalone or Distributed (also milvus+https://)

A server's token, when it needs one, comes from ``$MILVUS_TOKEN`` (``user:password`` or an API key).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rag.core.errors import ConfigError

LITE_PREFIX = "milvus:"
SERVER_PREFIXES = ("milvus+http://", "milvus+https://")
LITE_COLLECTION = "rag"
TOKEN_ENV = "MILVUS_TOKEN"
ACCEPTED_FORMS = (
    "an index folder, milvus:./path.db (Milvus Lite) or milvus+http://host:19530/<collection> (a Milvus server)"
)
_COLLECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")


@dataclass(frozen=True)
class MilvusLocation:
    """A Milvus deployment and the collection (name prefix) an index uses there."""

    uri: str
    """What `MilvusClient` connects to: a local ``.db`` file (Lite) or ``http(s)://host:port``."""
    collection: str
    text: str
    """The store URI as given (for messages and `RAG.store.path`)."""

    @property
    def is_lite(self) -> bool:
        return not self.uri.startswith(("http://", "https://"))

    @property
    def token(self) -> str:
        return "" if self.is_lite else os.environ.get(TOKEN_ENV, "")

    def __str__(self) -> str:
        return self.text


def is_store_uri(value: str | Path) -> bool:
    """Whether `value` names a non-folder store (starts with ``milvus:`` or ``milvus+``)."""
    return isinstance(value, str) and value.lower().startswith(("milvus:", "milvus+"))


def parse_location(value: str | Path) -> Path | MilvusLocation:
    """The folder or Milvus location `value` names; ConfigError naming the value and the accepted forms."""
    if isinstance(value, Path):
        return value
    text = str(value).strip()
    if not text:
        raise ConfigError(f"The index location is empty; give {ACCEPTED_FORMS}.")
    lowered = text.lower()
    if lowered.startswith(SERVER_PREFIXES):
        return _server(text)
    if lowered.startswith(LITE_PREFIX):
        return _lite(text)
    if "://" in text or lowered.startswith("milvus"):
        scheme = text.split(":", 1)[0]
        raise ConfigError(f"Index location '{text}' has an unknown scheme '{scheme}'; give {ACCEPTED_FORMS}.")
    return Path(text)


def _lite(text: str) -> MilvusLocation:
    path = text[len(LITE_PREFIX):]
    if not path or path.startswith("//") or not path.endswith(".db"):
        raise ConfigError(
            f"Index location '{text}' is not a Milvus Lite file: write milvus:<path ending in .db>, e.g. "
            f"milvus:./kb.db (accepted: {ACCEPTED_FORMS})."
        )
    return MilvusLocation(str(Path(path).expanduser().resolve()), LITE_COLLECTION, text)


def _server(text: str) -> MilvusLocation:
    parts = urlsplit(text[len("milvus+"):])
    collection = parts.path.strip("/")
    if not parts.hostname or not _COLLECTION.match(collection) or parts.query or parts.fragment:
        raise ConfigError(
            f"Index location '{text}' is not a Milvus server collection: write milvus+http://host:19530/<collection>, "
            f"the collection a name of letters, digits and underscores (accepted: {ACCEPTED_FORMS})."
        )
    port = f":{parts.port}" if parts.port else ""
    return MilvusLocation(f"{parts.scheme}://{parts.hostname}{port}", collection, text)
