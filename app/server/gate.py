"""What is decided from the request line and headers alone, before any of the body is read.

`RequestGate` answers a method a path doesn't allow with 405 and an ``Allow`` header naming every
method its routes allow (Starlette names only the first route's), and a request without the key its
route's `RoleCheck` asks for with 401/403 — so a client without a key can't make the server read, parse
or spool a large body.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from rag_app.server.auth import KeyRing, authorize, required_role
from rag_app.server.errors import send_error


@dataclass(frozen=True)
class Guarded:
    route: BaseRoute
    role: str | None
    methods: frozenset[str]


def guard(routes: Iterable[BaseRoute]) -> list[Guarded]:
    """Each route with the role it declares and the methods it answers."""
    return [Guarded(r, required_role(r), frozenset(getattr(r, "methods", None) or ())) for r in routes]


class RequestGate:
    """ASGI middleware over `routes` (the API's own; other paths pass through untouched)."""

    def __init__(self, app: ASGIApp, routes: list[Guarded], keys: KeyRing) -> None:
        self.app = app
        self.routes = routes
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed: set[str] = set()
        for guarded in self.routes:
            match, child = guarded.route.matches(scope)
            if match == Match.FULL:
                scope["route"] = guarded.route  # what the router will set; metrics label refusals by it too
                if guarded.role is not None:
                    try:
                        authorize(self.keys, Headers(scope=scope), guarded.role)
                    except HTTPException as exc:
                        await send_error(scope, receive, send, exc.status_code, exc.detail, exc.headers)
                        return
                await self.app(scope, receive, send)
                return
            if match == Match.PARTIAL:
                scope.setdefault("route", guarded.route)
                allowed |= guarded.methods
        if allowed:
            methods = ", ".join(sorted(allowed))
            await send_error(scope, receive, send, 405,
                             f"{scope['method'][:20]} is not allowed here; use {methods}.", {"Allow": methods})
            return
        await self.app(scope, receive, send)
