"""API keys with two roles, kept only as SHA-256 digests.

Keys come from ``RAG_API_KEYS`` (``key:role`` pairs separated by commas; role ``read`` or ``admin``,
``read`` when left out) and/or a keys file with one ``<role> sha256:<hex>`` line per key (make a line
with ``printf %s "$KEY" | sha256sum``; ``#`` starts a comment). Plain keys from the environment are
hashed as they are read and never kept, logged or echoed.

``read`` may ask, search and chat; ``admin`` may do that and manage documents. A request without
exactly one valid key gets 401, a valid key without the role 403. Routes declare their role with a
`RoleCheck` dependency; `rag_app.server.gate` enforces it before the request body is read.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from fastapi import HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.routing import BaseRoute

from rag.core.errors import ConfigError

ROLES = ("read", "admin")
KEYS_ENV = "RAG_API_KEYS"
_RANK = {"read": 1, "admin": 2}


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """Hashed keys and their roles. Empty means authentication is off (loopback-only servers)."""

    hashed: tuple[tuple[str, str], ...] = ()
    """``(sha256 hex digest, role)`` pairs."""

    @property
    def enabled(self) -> bool:
        return bool(self.hashed)

    @classmethod
    def load(cls, keys_file: Path | None = None, env: Mapping[str, str] | None = None) -> "KeyRing":
        env = os.environ if env is None else env
        pairs = list(_parse_env(env.get(KEYS_ENV, "")))
        if keys_file is not None:
            pairs += _parse_file(Path(keys_file))
        return cls(tuple(pairs))

    def role_of(self, key: str) -> str | None:
        """The role of `key`, or None. Every stored digest is compared (in constant time each)."""
        presented = digest(key)
        found = None
        for stored, role in self.hashed:
            if secrets.compare_digest(presented, stored) and (found is None or _RANK[role] > _RANK[found]):
                found = role
        return found


def _parse_env(value: str):
    for number, item in enumerate((p.strip() for p in value.split(",")), start=1):
        if not item:
            continue
        key, _, role = item.rpartition(":") if item.rsplit(":", 1)[-1] in ROLES else (item, "", "read")
        if not key:
            raise ConfigError(f"{KEYS_ENV}: entry {number} has no key before ':{role}'.")
        yield digest(key), role


def _parse_file(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise ConfigError(f"Keys file '{path}' does not exist.")
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        hex_digest = parts[1].removeprefix("sha256:").lower() if len(parts) == 2 else ""
        if len(parts) != 2 or parts[0] not in ROLES or len(hex_digest) != 64 or not _is_hex(hex_digest):
            raise ConfigError(
                f"Keys file '{path}', line {number}: expected '<role> sha256:<64 hex digits>' with role "
                f"{' or '.join(ROLES)} (make the digest with: printf %s \"$KEY\" | sha256sum)."
            )
        pairs.append((hex_digest, parts[0]))
    return pairs


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", description="`Authorization: Bearer <key>` (what OpenAI clients send)")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey", description="the key in an `X-API-Key` header")
KEY_HEADERS = ("authorization", "x-api-key")


def presented_key(headers: Headers) -> str | None:
    """The one key sent, as ``Authorization: Bearer <key>`` or ``X-API-Key``; None when there is none, or
    when several are sent (a repeated header, or both headers with different keys), which is ambiguous."""
    keys = set()
    for value in headers.getlist("authorization"):
        scheme, _, token = value.partition(" ")
        keys.add(token.strip() if scheme.lower() == "bearer" else "")
    keys.update(value.strip() for value in headers.getlist("x-api-key"))
    return keys.pop() if len(keys) == 1 and "" not in keys else None


def authorize(keys: KeyRing, headers: Headers, role: str) -> str:
    """The role of the key in `headers`; HTTPException 401 without one valid key, 403 when its role is below `role`."""
    if not keys.enabled:
        return "admin"  # no keys: the server is bound to loopback (see check_bind in application.py)
    key = presented_key(headers)
    found = keys.role_of(key) if key else None
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "A valid API key is required: send exactly one, as Authorization: Bearer <key> or X-API-Key: <key>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if _RANK[found] < _RANK[role]:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"This key's role is '{found}'; this needs '{role}'.")
    return found


class RoleCheck:
    """A FastAPI dependency declaring that a route needs `role` (and documenting the two key schemes).

    `rag_app.server.gate.RequestGate` reads this declaration and checks the key before the request
    body is read; the dependency checks it again when the route runs."""

    def __init__(self, role: str) -> None:
        self.role = role

    def __call__(
        self,
        request: Request,
        _bearer: HTTPAuthorizationCredentials | None = Security(BEARER),
        _api_key: str | None = Security(API_KEY),
    ) -> str:
        found = authorize(request.app.state.keys, request.headers, self.role)
        request.state.role = found
        return found


def required_role(route: BaseRoute) -> str | None:
    """The role a route's `RoleCheck` dependencies ask for (the highest), None for an open route."""
    found = None
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", ()))
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, RoleCheck) and (found is None or _RANK[dependant.call.role] > _RANK[found]):
            found = dependant.call.role
        pending.extend(dependant.dependencies)
    return found


read_access = RoleCheck("read")
admin_access = RoleCheck("admin")
