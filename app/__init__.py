"""Front doors above the library: the ``rag`` command line (`app.cli`) and the HTTP server (`app.server`).

Only this package wires `rag/`, `ingest/`, `eval/` and `ui/` together; none of them imports it.
"""
