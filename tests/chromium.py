"""Open a page in headless Chromium over the DevTools protocol, the way a person's browser would show it.

Collects console errors, uncaught exceptions, JavaScript dialogs and images that did not render, and saves a
full-page screenshot. Uses the Debian ``chromium`` package (``.ci/run`` installs it when missing).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import websocket


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images: int = 0
    scripts: int = 0
    title: str = ""
    text: str = ""
    too_wide: dict[int, list[str]] = field(default_factory=dict)  # viewport width -> elements cut off at it


# What a reader cannot see at that width without scrolling sideways: elements whose right edge passes the viewport
# outside any scrolling box, and scrolling boxes whose content is wider than the box (a matrix cut off on the right
# with only a scroll bar to say so). Closed <details> are opened first, so content folded away is measured too.
_TOO_WIDE = """(() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const cut = Array.from(document.body.querySelectorAll('*')).filter(e => {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= document.documentElement.clientWidth + 1) return false;
    for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return false;
    }
    return true;
  });
  const scrolled = Array.from(document.body.querySelectorAll('*')).filter(e => {
    const o = getComputedStyle(e).overflowX;
    return (o === 'auto' || o === 'scroll' || o === 'hidden') && e.scrollWidth > e.clientWidth + 2;
  });
  return JSON.stringify([...cut, ...scrolled].map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ': ' + (e.textContent || '').trim().slice(0, 40)).slice(0, 10));
})()"""


def check_page(
    html: Path, screenshot: Path, timeout: float = 60.0, widths: tuple[int, ...] = (1400, 1000)
) -> PageCheck:
    binary = find_chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix="embedeval-chromium-")
    proc = subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1280,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = _devtools_url(proc, timeout)
        return _inspect(url, html, screenshot, timeout, widths)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_url(proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise RuntimeError(f"chromium exited with code {proc.returncode} before DevTools started")
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            return found.group(1)
    raise RuntimeError("chromium did not start DevTools in time")


class _Session:
    def __init__(self, ws: websocket.WebSocket, session_id: str | None = None):
        self.ws, self.session_id, self.ids, self.events = ws, session_id, itertools.count(1), []

    def call(self, method: str, **params):
        msg_id = next(self.ids)
        message = {"id": msg_id, "method": method, "params": params}
        if self.session_id:
            message["sessionId"] = self.session_id
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return
        while time.monotonic() < deadline:
            self.ws.settimeout(max(deadline - time.monotonic(), 0.1))
            event = json.loads(self.ws.recv())
            self.events.append(event)
            if event.get("method") == method:
                return
        raise TimeoutError(method)


def _inspect(browser_url: str, html: Path, screenshot: Path, timeout: float, widths: tuple[int, ...]) -> PageCheck:
    ws = websocket.create_connection(browser_url, timeout=timeout, suppress_origin=True)
    try:
        browser = _Session(ws)
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = _Session(ws, session)
        page.events = browser.events
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            page.call(domain)
        page.call("Page.navigate", url=html.resolve().as_uri())
        page.wait_for("Page.loadEventFired", timeout)
        check = PageCheck()
        probe = (
            "JSON.stringify({images: document.images.length, scripts: document.scripts.length, title: document.title,"
            " text: document.body.innerText, broken: Array.from(document.images)"
            ".filter(i => !i.complete || i.naturalWidth === 0).map(i => i.alt || i.src.slice(0, 60))})"
        )
        found = json.loads(page.call("Runtime.evaluate", expression=probe, returnByValue=True)["result"]["value"])
        check.images, check.scripts, check.title, check.text = (
            found["images"],
            found["scripts"],
            found["title"],
            found["text"],
        )
        check.broken_images = found["broken"]
        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        for width in widths:
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
            result = page.call("Runtime.evaluate", expression=_TOO_WIDE, returnByValue=True)["result"]["value"]
            check.too_wide[width] = json.loads(result)
            shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            screenshot.with_name(f"{screenshot.stem}-{width}px.png").write_bytes(base64.b64decode(shot["data"]))
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                check.console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                check.console_errors.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                check.console_errors.append(params["entry"].get("text", ""))
            elif method == "Page.javascriptDialogOpening":
                check.dialogs.append(params.get("message", ""))
        return check
    finally:
        ws.close()
