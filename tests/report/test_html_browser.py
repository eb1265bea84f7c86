"""report.html in a real browser: headless Chromium (Debian's package) renders it and its filters work.

The unit tests read the page as text; only a browser says whether the CSS ``:has()`` filters really hide rows,
whether the CSP lets our own script run (a wrong hash would silently disable it), and whether the count and
"expand all" behave. Chromium is driven over the DevTools protocol (``--remote-debugging-port`` bound to
127.0.0.1, a websocket per page): no selenium or playwright, nothing downloaded. Where no browser is installed
and ``scripts/setup-chromium.sh`` cannot install one, the test is skipped with that script's reason.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from atcheck.report.html import render_html
from atcheck.report.model import RunReport, requirement_matrix
from atcheck.report.summary import VERDICT_ORDER

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 15.0


def _browser() -> str:
    """The chromium binary, installing Debian's package through the cached setup step if it is missing."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    try:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "setup-chromium.sh")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("installing chromium took over 15 minutes")
    if done.returncode != 0:
        pytest.skip(f"no browser: {done.stderr.strip() or 'scripts/setup-chromium.sh failed'}")
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("no browser: chromium is not on PATH after scripts/setup-chromium.sh")
    return found


class Page:
    """One DevTools page session: send a command, wait for its answer (events in between are kept)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_event(self, method: str) -> None:
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while not any(e.get("method") == method for e in self.events):
            self.events.append(json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))))

    def js(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[int]:
    """Headless Chromium with its DevTools endpoint on 127.0.0.1; yields the port; always stopped."""
    binary = _browser()
    proc = subprocess.Popen(
        [
            binary,
            "--headless=new",
            "--no-sandbox",  # the self-tests run as root in a container
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (port_file.is_file() and port_file.read_text().strip()):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                pytest.skip(f"chromium exited at start ({proc.returncode}): {err.strip()}")
            if time.monotonic() > deadline:
                raise AssertionError("chromium did not open its DevTools port within 30 s")
            time.sleep(0.1)
        yield int(port_file.read_text().split()[0])
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


@contextlib.contextmanager
def opened(port: int, url: str) -> Iterator[Page]:
    targets = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=CALL_TIMEOUT_S).json()
    ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
    with connect(ws_url, open_timeout=CALL_TIMEOUT_S, max_size=None) as ws:
        page = Page(ws)
        page.call("Page.enable")
        page.call("Page.navigate", url=url)
        page.wait_event("Page.loadEventFired")
        yield page


VISIBLE = "[...document.querySelectorAll('#matrix .req')].filter(r => getComputedStyle(r).display !== 'none')"


def _visible_ids(page: Page) -> list[str]:
    return list(page.js(f"{VISIBLE}.map(r => r.querySelector('.id code').textContent)"))


def _choose(page: Page, radio_id: str) -> None:
    page.js(f"document.getElementById({json.dumps(radio_id)}).click()")


def test_filters_hide_rows_and_count_them_in_chromium(tmp_path: Path, report: RunReport) -> None:
    page_path = tmp_path / "report.html"
    page_path.write_text(render_html(report), encoding="utf-8")
    matrix = requirement_matrix(report)
    areas = sorted({r.area for r in report.requirements})
    every = [r.id for r in report.requirements]

    with chromium(tmp_path / "profile") as port, opened(port, page_path.as_uri()) as page:
        assert page.js("document.title").startswith("atcheck report")
        assert _visible_ids(page) == every
        # Our script ran (the CSP's hash matches it): it wrote the count and added the buttons.
        assert (
            page.js("document.getElementById('count').textContent")
            == f"Showing {len(every)} of 5 requirements."
        )
        assert page.js("[...document.querySelectorAll('button')].map(b => b.textContent)") == [
            "Expand all",
            "Collapse all",
        ]
        # Area: only xrpc's rows remain, by CSS :has() alone, and the count follows.
        _choose(page, f"fa-{areas.index('xrpc')}")
        xrpc = [r.id for r in report.requirements if r.area == "xrpc"]
        assert _visible_ids(page) == xrpc
        assert (
            page.js("document.getElementById('count').textContent")
            == f"Showing {len(xrpc)} of 5 requirements."
        )
        # Area and level together.
        _choose(page, "fl-0")  # MUST
        assert _visible_ids(page) == [
            r.id for r in report.requirements if r.area == "xrpc" and r.level == "MUST"
        ]
        _choose(page, "fa-all")
        _choose(page, "fl-all")
        # Verdict on any target: failed.
        failed_index = VERDICT_ORDER.index("failed")  # type: ignore[arg-type]
        _choose(page, f"fv-{failed_index}")
        failing = [
            r.id
            for r in report.requirements
            if any(matrix[(r.id, t.name)] == "failed" for t in report.targets)
        ]
        assert failing and _visible_ids(page) == failing
        _choose(page, "fv-all")
        # Hide untested.
        page.js("document.getElementById('hide-untested').click()")
        assert _visible_ids(page) == [r.id for r in report.requirements if r.tests]
        # Expand all opens the visible rows only.
        page.js("document.getElementById('hide-untested').click()")
        _choose(page, f"fa-{areas.index('repo')}")
        page.js("[...document.querySelectorAll('button')].find(b => b.textContent === 'Expand all').click()")
        opened_ids = page.js(
            "[...document.querySelectorAll('#matrix details.req[open] .id code')].map(c => c.textContent)"
        )
        assert opened_ids == [r.id for r in report.requirements if r.area == "repo"]
        # A failed cell's link opens the evidence it points at.
        href = page.js("document.querySelector('#matrix a.v-failed, #matrix a.v-error').getAttribute('href')")
        assert page.js(f"document.getElementById({json.dumps(href[1:])}) !== null")
        # The coverage bars are drawn (inline SVG, allowed by the CSP).
        assert page.js("document.querySelectorAll('#coverage svg.bar rect').length") > 0
