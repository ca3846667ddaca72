"""Front doors above the library: the ``rag`` command line (`rag_app.cli`) and the HTTP server (`rag_app.server`).

Only this package wires `rag/`, `ingest/`, `eval/` and `ui/` together; none of them imports it.
"""
