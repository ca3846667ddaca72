"""Drive the real app in headless Chromium: start it, ask, click a citation, take a screenshot.

Used by the browser test (``tests/ui/test_browser.py``) and by ``scripts/screenshot.py``. Needs Debian's
``chromium`` (plus ``fonts-wqy-microhei`` for Chinese) and the ``playwright`` package, whose driver runs
the system browser; Playwright's own browser download is never used.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from rag_ui.launch import streamlit_command

CHROMIUM = Path("/usr/bin/chromium")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Talks to the local app directly, whatever proxy the environment names."""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def missing_requirements() -> str | None:
    """Why a browser run can't happen here, or None."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-wqy-microhei)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install playwright; never 'playwright install')"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(env: Mapping[str, str], port: int | None = None, timeout: float = 60.0, log: Path | None = None) -> Iterator[str]:
    """Serve ui/app.py on 127.0.0.1 with `env` added to the environment; yields its URL."""
    port = port or free_port()
    command = streamlit_command([
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.fileWatcherType", "none",
    ])
    output = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, timeout)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            output.close()


def _wait_until_serving(url: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode} before serving")
        try:
            with _DIRECT.open(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not serve {url} within {timeout:.0f} s")


@dataclass
class Visit:
    """What the browser saw."""

    answer: str
    chip: str
    passage: str
    highlighted: str
    """The first highlighted piece of the passage ("" when nothing is highlighted)."""
    seconds_to_answer: float
    highlights: tuple[str, ...] = ()
    """Every highlighted piece of the passage, top to bottom."""
    first_highlight_in_view: bool = False
    """Whether the first highlighted piece lies within the popover's visible area as it opens (no scrolling)."""


@contextmanager
def browser_page(width: int = 1280, height: int = 900) -> Iterator[object]:
    """A Playwright page in headless system Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            yield page
        finally:
            browser.close()


def ask_and_open_citation(page, url: str, question: str, screenshot: Path | None = None, timeout_s: float = 120.0,
                          turn: int = 0, load: bool = True) -> Visit:
    """Type `question`, wait for the cited answer, click its first [n] chip, optionally save a screenshot."""
    timeout = timeout_s * 1000
    if load:
        page.goto(url, timeout=timeout)
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=timeout)
    started = time.perf_counter()
    box.fill(question)
    box.press("Enter")
    messages = page.get_by_test_id("stChatMessage")
    answer = messages.nth(2 * turn + 1)
    chip = answer.get_by_test_id("stPopover").first.locator("button")
    chip.wait_for(timeout=timeout)
    seconds = time.perf_counter() - started
    chip.click()
    body = page.get_by_test_id("stPopoverBody").last
    body.wait_for(timeout=timeout)
    page.wait_for_timeout(300)  # let the popover finish its opening animation
    marked = body.locator("span.stMarkdownColoredBackground")
    highlights = tuple(marked.all_inner_texts())
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=False)
    return Visit(
        answer=answer.get_by_test_id("stMarkdownContainer").first.inner_text(),
        chip=chip.get_by_test_id("stMarkdownContainer").first.inner_text(),
        passage=body.inner_text(),
        highlighted=highlights[0] if highlights else "",
        seconds_to_answer=seconds,
        highlights=highlights,
        first_highlight_in_view=bool(highlights) and _inside(marked.first.bounding_box(), body.bounding_box()),
    )


def _inside(box: dict | None, frame: dict | None) -> bool:
    """Whether `box` lies vertically within `frame` (Playwright bounding boxes, in page pixels)."""
    if not box or not frame:
        return False
    return frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]


@dataclass
class Stages:
    """When each stage of an answer first showed in the browser, in seconds after the question was sent."""

    reading: float | None
    """The passages the model reads ("Reading: [1] …"); None if never shown (extractive answers, refusals)."""
    draft: float | None
    """The model's first draft text; None if the poll never caught it."""
    answer: float
    """The checked answer's first [n] chip."""


def watch_stages(page, url: str, question: str, timeout_s: float = 180.0, poll_s: float = 0.05) -> Stages:
    """Load the app, send `question` and poll the reply until its cited answer shows, noting when the passages being
    read and the first draft text first appeared."""
    page.goto(url, timeout=timeout_s * 1000)
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=timeout_s * 1000)
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    reply = page.get_by_test_id("stChatMessage").nth(1)
    reading = draft = None
    while time.perf_counter() - started < timeout_s:
        now = time.perf_counter() - started
        text = reply.inner_text(timeout=1000) if reply.count() else ""
        if reading is None and "Reading:" in text:
            reading = now
        if draft is None and "Draft" in text:
            draft = now
        if reply.count() and reply.get_by_test_id("stPopover").count():
            return Stages(reading, draft, now)
        time.sleep(poll_s)
    raise TimeoutError(f"no cited answer to {question!r} within {timeout_s:.0f} s")
