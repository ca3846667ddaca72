"""What the OpenAPI document says beyond what FastAPI derives: every error status an operation can
answer (all with the `ErrorBody` schema) and the limits this server really enforces."""
from __future__ import annotations

from typing import Any, Mapping

from fastapi import FastAPI

from rag_app.server.errors import REQUEST_ID_HEADER, ErrorBody

ERRORS = {
    400: "The body could not be parsed (bytes that are not UTF-8, JSON nested too deeply, malformed multipart).",
    401: "No valid API key: send exactly one, as `Authorization: Bearer <key>` or `X-API-Key`.",
    403: "The key's role may not do this (documents need an `admin` key).",
    404: "Not found.",
    409: "The server serves a read-only index (`--index`).",
    413: "The request body is larger than the server's limit (the message gives both sizes).",
    422: "The request is invalid: `errors` lists each field that failed, with a short excerpt of what was sent.",
    500: f"An unexpected error; the server logged its traceback under `request_id` (also the `{REQUEST_ID_HEADER}` header).",
    503: "The generation queue is full (LLM answers); retry after `Retry-After` seconds.",
    504: "The answer took longer than the request timeout (`--timeout`); its generation was stopped.",
}
EVERY_REQUEST = (413, 500)
"""Any request can carry too large a body, and any can fail unexpectedly."""


def error_responses(*codes: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for `codes`, with `described` replacing the standard descriptions."""
    described = described or {}
    return {code: {"model": ErrorBody, "description": described.get(code, ERRORS[code])} for code in codes}


def event_stream(data: str, events: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``content`` entry of a server-sent-events response: the schema of one event (OpenAPI 3.1
    describes each event of a stream), whose `data` is described by `data` and whose ``event`` field,
    given `events`, is one of them."""
    fields: dict[str, Any] = {"data": {"type": "string", "description": data}}
    if events:
        fields["event"] = {"type": "string", "enum": list(events)}
    return {"text/event-stream": {"schema": {"type": "object", "required": sorted(fields), "properties": fields}}}


def document_limits(app: FastAPI, limits: Mapping[tuple[str, str], Mapping[str, int]]) -> None:
    """Make ``app.openapi()`` state the limits the server enforces: for each ``(schema, property)`` the
    given keywords (``maxLength``, ``maximum``…), set on the property (or on its non-null variant)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document["components"]["schemas"]
            for (name, prop), keywords in limits.items():
                entry = schemas[name]["properties"][prop]
                for variant in entry.get("anyOf", [entry]):
                    if variant.get("type") != "null":
                        variant.update(keywords)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
