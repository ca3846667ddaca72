"""Limits that keep the server responsive under load: request body size and the generation queue."""
from __future__ import annotations

import asyncio
import math
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag_app.server.errors import excerpt, send_error


def size_text(n_bytes: int) -> str:
    """``262,144 bytes (256.0 KiB)``: exact, and readable."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= size:
            return f"{n_bytes:,} bytes ({n_bytes / size:.1f} {unit})"
    return f"{n_bytes:,} bytes"


class BodySizeLimit:
    """ASGI middleware: 413 when a request body is larger than `limit_for(path)` bytes.

    A declared ``Content-Length`` above the limit is refused before anything is read (the server
    then never reads more than that length). A body without one (chunked) is read here up to the
    limit, refused as soon as it passes it, and otherwise handed on as it came.
    """

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > limit:
                size = f"is {size_text(int(declared))}" if declared.isdigit() else "has an invalid Content-Length"
                await _too_large(scope, receive, send, size, limit)
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _too_large(scope, receive, send, "grew past the limit as it arrived", limit)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, size: str, limit: int) -> None:
    where = f"{scope['method']} {excerpt(scope['path'])}"
    await send_error(scope, receive, send, 413, f"The request body {size}; the limit for {where} is {size_text(limit)}.")


class QueueFull(Exception):
    """No room in the generation queue; `retry_after` is a hint in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"The generation queue is full; retry in about {retry_after} s.")
        self.retry_after = retry_after


class TimedOut(Exception):
    """A request passed its deadline (waiting for the model or generating); its generation is told to stop."""


class GenerationQueue:
    """One generation at a time per loaded model, at most `size` more waiting; the rest are refused.

    `admit()` reserves a place or raises `QueueFull` at once (the caller answers 503 + Retry-After);
    the returned context then waits for its turn. The Retry-After hint is the queue length times the
    recent mean generation time.
    """

    def __init__(self, size: int, on_change: Callable[[int, int], None] | None = None) -> None:
        self.size = size
        self._turn = asyncio.Lock()
        self._admitted = 0
        self._running = 0
        self._mean_s = 5.0
        self._on_change = on_change

    @property
    def waiting(self) -> int:
        return self._admitted - self._running

    @property
    def running(self) -> int:
        return self._running

    def admit(self) -> "Admission":
        if self._admitted >= 1 + self.size:
            raise QueueFull(max(1, math.ceil(self._mean_s * self._admitted)))
        self._admitted += 1
        self._changed()
        return Admission(self)

    def record(self, seconds: float) -> None:
        self._mean_s = 0.8 * self._mean_s + 0.2 * seconds

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self.waiting, self._running)


class Admission:
    """A reserved place in the queue: ``async with admission.turn(): ...`` generates; `release` gives it up."""

    def __init__(self, queue: GenerationQueue) -> None:
        self.queue = queue
        self._released = False

    @asynccontextmanager
    async def turn(self, deadline: float | None = None) -> AsyncIterator[None]:
        """Wait for the model (until `deadline`, a `time.monotonic()` value: then `TimedOut`), hold it inside."""
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            await asyncio.wait_for(self.queue._turn.acquire(), timeout)
        except TimeoutError:
            self.release()
            raise TimedOut("The request timed out waiting for the model.") from None
        self.queue._running += 1
        self.queue._changed()
        try:
            yield
        finally:
            self.queue._running -= 1
            self.queue._turn.release()
            self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            self.queue._admitted -= 1
            self.queue._changed()
