"""Errors the library raises on purpose. Each message says what was wrong and what to do."""


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
