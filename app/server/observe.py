"""The outermost middleware: a request id for every request, request metrics with bounded labels,
and the 500 for an exception nothing else handled (logged with its traceback, counted like any response)."""
from __future__ import annotations

import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag_app.server.errors import REQUEST_ID_HEADER, internal_error, log, request_id
from rag_app.server.metrics import Metrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
"""Methods counted under their own name; any other is counted as ``other``."""
OTHER = "other"


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


def route_label(scope: Scope) -> str:
    """The matched route's template (a fixed set), or ``other`` for paths no route matches."""
    return getattr(scope.get("route"), "path", None) or OTHER


class RequestObserver:
    """ASGI middleware: set ``scope["state"]["request_id"]`` and the `REQUEST_ID_HEADER` response header,
    count each response by method, route template and status, time it to its headers, and turn an
    unhandled exception into a logged 500 (when no response has started; otherwise it is logged and
    re-raised, and the server closes the connection)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["request_id"] = rid = uuid.uuid4().hex
        started = time.perf_counter()
        responded = False

        async def observed_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
                message.setdefault("headers", [])  # optional in ASGI
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
                route = route_label(scope)
                self.metrics.requests.labels(method_label(scope["method"]), route, str(message["status"])).inc()
                self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception as exc:
            if responded:
                log.error("Request %s failed after its response started", request_id(scope), exc_info=exc)
                raise
            await internal_error(scope, exc)(scope, receive, observed_send)
