"""One error path: every 4xx and 5xx the app sends has the `ErrorBody` shape and a request id.

Validation errors, HTTP errors raised by routes, the library's `RagError`s and the middleware's own
refusals (401/403/405/413, unexpected exceptions) are all written by `error_response`. Nothing a client
sent is echoed back except through `excerpt`: at most `EXCERPT_CHARS` characters, with control
characters, unpaired surrogates and invisible format characters escaped, so an error body is always
small, valid UTF-8 JSON, whatever the input was.
"""
from __future__ import annotations

import logging
import reprlib
import unicodedata
from typing import Any, Iterable, Mapping

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from rag.core.errors import ConfigError, InputLimitError, RagError

log = logging.getLogger("rag.server")

EXCERPT_CHARS = 60
"""The most characters of a client's input an error body repeats (per value)."""
MAX_FIELD_ERRORS = 10
"""Validation errors listed in one response (the count of the rest is given)."""
REQUEST_ID_HEADER = "X-Request-ID"


class FieldError(BaseModel):
    """One reason a request failed validation."""

    loc: list[str | int] = Field(description="where: `body` then the field path, or `path`/`query`/`header` and the name")
    msg: str
    type: str = Field(description="a stable code such as `missing`, `string_too_long`, `text_invalid`, `finite_number`")
    input: str | None = Field(None, description=f"a short excerpt of the value sent (at most {EXCERPT_CHARS} characters, escaped)")


class RejectedFile(BaseModel):
    """An uploaded file that was refused, and why."""

    name: str
    reason: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    detail: str = Field(description="what was wrong and what to do")
    request_id: str = Field(description=f"also in the `{REQUEST_ID_HEADER}` header; the server's log names it")
    errors: list[FieldError] | None = Field(None, description="422 validation errors: each field that failed")
    rejected: list[RejectedFile] | None = Field(None, description="422 uploads: the files refused, with reasons")


class ApiError(HTTPException):
    """An HTTPException that can carry the rejected files of an upload."""

    def __init__(
        self, status_code: int, detail: str, rejected: Iterable[tuple[str, str]] = (), headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status_code, detail, dict(headers) if headers else None)
        self.rejected = list(rejected)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 2, 4, 4, 4
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = EXCERPT_CHARS, EXCERPT_CHARS, EXCERPT_CHARS


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable rendering of `value` that is safe to put in a JSON body and a log line."""
    text = value if isinstance(value, str) else _REPR.repr(value)
    shown = "".join(_escape(c) for c in text[:limit])
    return shown if len(text) <= limit else f"{shown}… ({len(text):,} characters)"


def _escape(char: str) -> str:
    if unicodedata.category(char) in ("Cc", "Cs", "Cf"):  # controls, unpaired surrogates, invisible formatting
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def request_id(scope: Scope) -> str:
    """The id `RequestObserver` gave this request ("-" outside it)."""
    return scope.get("state", {}).get("request_id", "-")


def error_response(
    scope: Scope,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[FieldError] | None = None,
    rejected: Iterable[tuple[str, str]] = (),
) -> JSONResponse:
    """The one way an error is written."""
    body = ErrorBody(
        detail=excerpt(detail, 2000),
        request_id=request_id(scope),
        errors=errors,
        rejected=[RejectedFile(name=excerpt(name, 200), reason=excerpt(reason, 500)) for name, reason in rejected] or None,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=dict(headers or {}))


async def send_error(scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                     headers: Mapping[str, str] | None = None) -> None:
    """Write an error from ASGI middleware (before or instead of the app)."""
    await error_response(scope, status, detail, headers)(scope, receive, send)


def field_errors(raw: list[dict[str, Any]]) -> list[FieldError]:
    """Pydantic's errors, each with an excerpt of its input instead of the input."""
    errors = []
    for error in raw[:MAX_FIELD_ERRORS]:
        message = error.get("msg", "")
        if error.get("type") == "json_invalid" and "error" in error.get("ctx", {}):
            message = f"{message}: {error['ctx']['error']}"
        errors.append(FieldError(
            loc=[part if isinstance(part, int) else excerpt(str(part), 40) for part in error.get("loc", ())],
            msg=excerpt(message, 300),
            type=str(error.get("type", "invalid")),
            input=excerpt(error["input"]) if "input" in error and error.get("type") != "json_invalid" else None,
        ))
    return errors


def _summary(errors: list[FieldError], total: int) -> str:
    shown = "; ".join(f"{'.'.join(str(p) for p in e.loc)}: {e.msg}" for e in errors[:3])
    more = f" (and {total - 3} more)" if total > 3 else ""
    return f"The request is invalid: {shown}{more}. The API is described at /docs."


async def validation_failed(request: Request, exc: RequestValidationError) -> JSONResponse:
    raw = list(exc.errors())
    errors = field_errors(raw)
    return error_response(request.scope, 422, _summary(errors, len(raw)), errors=errors)


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and request.scope.get("route") is None:
        detail = f"Nothing at {request.method} {excerpt(request.url.path)}; the API is described at /docs."
    elif exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse the body
        detail = f"The request body could not be parsed: {_parse_problem(exc.__cause__)}."
    return error_response(request.scope, exc.status_code, detail, exc.headers, rejected=getattr(exc, "rejected", ()))


def _parse_problem(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 (byte 0x{exc.object[exc.start]:02x} at position {exc.start}); send JSON as UTF-8"
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return excerpt(str(exc), 200) or type(exc).__name__


async def rag_error(request: Request, exc: RagError) -> JSONResponse:
    """422 for a bad input or setting in the request; any other `RagError` is a 500 that keeps the library's
    message (written to say what to do, e.g. that the generation server can't be reached)."""
    if isinstance(exc, (ConfigError, InputLimitError)):
        return error_response(request.scope, 422, str(exc))
    return internal_error(request.scope, exc, str(exc))


def internal_error(scope: Scope, exc: BaseException, detail: str = "Internal server error") -> JSONResponse:
    """Log `exc` with its traceback and the request id; a 500 naming the id. Unexpected exceptions'
    messages stay in the log (they may hold internals); `detail` is what the client reads."""
    rid = request_id(scope)
    log.error("Request %s (%s %s) failed", rid, scope.get("method"), excerpt(scope.get("path", ""), 200), exc_info=exc)
    return error_response(scope, 500, f"{detail}; the server logged it as request {rid}.")


def install(app: FastAPI) -> None:
    """Route FastAPI's and the library's exceptions through `error_response`."""
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RagError, rag_error)
