#!/usr/bin/env python3
"""Browser test of the web console in headless Firefox, spoken to over WebDriver BiDi.

Usage: firefox_test.py BASE_URL   (e.g. http://127.0.0.1:8080, the URL `tts-repl serve` prints)

Debian ships Firefox but no geckodriver, so Selenium cannot drive it; Firefox speaks WebDriver
BiDi itself (`--remote-debugging-port`), and this file is a small client of that protocol over
one WebSocket (websocket-client). The server must be running with a working engine (espeak is
enough); when it was started with tokens, pass one in CONSOLE_TOKEN. FIREFOX names the browser
(default /usr/bin/firefox-esr); a missing browser is a failure, never a skip.

Checks, like console_test.py does in Chromium: the page loads; typing part of a phrase finds it;
a clip plays after a real click (the audio element's currentTime advances or it ends); saying a
new phrase shows it in the list; removing it (after the confirmation) takes it away; at 360 px nothing overflows sideways; no JavaScript error was
logged (console.error, uncaught exceptions, unhandled rejections). Screenshots go to
.build/console-firefox.png (1280 px) and .build/console-firefox-360.png.
Prints "N passed, M failed"; the exit status is 1 when anything failed. Firefox and its
throwaway profile are removed on every exit path, a timeout's SIGTERM included.
"""
import base64
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

import websocket

# The server, its token, the run's tag and the helper that makes a clip through the API are
# console_test.py's (it reads the same argument and variables).
from console_test import BASE, OUT, RUN, TOKEN, WAIT, api, run_checks

FIREFOX = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
SEED = f"Console seed {RUN} welcomes Firefox."
NEW = f"Console check {RUN}, said in Firefox."
START = 60  # seconds for Firefox to open its BiDi port on a loaded machine


def die_with_parent():
    """Runs in the child before exec: Linux kills Firefox if this test dies without cleaning up."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class BiDiError(Exception):
    pass


class Firefox:
    """Headless Firefox on a free loopback port with a throwaway profile, and one BiDi session."""

    def __init__(self):
        if not os.access(FIREFOX, os.X_OK):
            raise BiDiError(f"{FIREFOX} is not installed: `make deps` installs firefox-esr (or set FIREFOX)")
        self.profile = tempfile.mkdtemp(prefix="tts-firefox.")
        self.process = None
        self.ws = None
        self.next_id = 0
        self.events = []
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        # Port 0: Firefox picks a free one and writes it into the profile.
        self.process = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--profile", self.profile, "--remote-debugging-port", "0",
             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.profile, "stderr.log"), "w"),
            start_new_session=True, preexec_fn=die_with_parent)
        port_file = os.path.join(self.profile, "WebDriverBiDiServer.json")
        deadline = time.monotonic() + START
        while True:
            if self.process.poll() is not None:
                raise BiDiError(f"Firefox exited with status {self.process.returncode} before listening: {self.stderr()}")
            try:
                with open(port_file) as f:
                    port = json.load(f)["ws_port"]
                break
            except (OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise BiDiError(f"Firefox opened no BiDi port within {START} s: {self.stderr()}")
            time.sleep(0.1)
        # Firefox refuses a handshake whose Origin is a web page's; a client sends none.
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}/session", timeout=WAIT, suppress_origin=True)
        self.send("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": False}}})
        self.send("session.subscribe", {"events": ["log.entryAdded"]})
        self.context = self.send("browsingContext.getTree", {"maxDepth": 0})["contexts"][0]["context"]

    def stderr(self):
        try:
            with open(os.path.join(self.profile, "stderr.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def send(self, method, params):
        """One command; events that arrive meanwhile are kept in `events`."""
        self.next_id += 1
        ident = self.next_id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())  # bounded by the socket's timeout
            if message.get("type") == "event":
                self.events.append(message)
            elif message.get("id") == ident:
                if message.get("type") == "error":
                    raise BiDiError(f"{method}: {message.get('error')}: {message.get('message')}")
                return message["result"]

    def close(self):
        if self.ws is not None:
            try:
                self.ws.settimeout(5)
                self.send("session.end", {})
            except Exception:
                pass
            try:
                self.ws.close()
            except Exception:
                pass
        if self.process is not None and self.process.returncode is None:
            self._stop(self.process.pid)
        for _ in range(50):  # a process that was dying may still have closed a file in it
            shutil.rmtree(self.profile, ignore_errors=True)
            if not os.path.exists(self.profile):
                break
            time.sleep(0.1)

    def _stop(self, pid):
        """SIGTERM to Firefox's process group (its content processes too), then SIGKILL to whatever
        is left of it. The leader is reaped last, so the group id stays Firefox's throughout."""
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
            time.sleep(0.1)
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    # ---- script

    def js(self, expression):
        """Evaluates an expression in the page (promises awaited) and returns it as Python values;
        a DOM node comes back as {"sharedId": ...} for input actions."""
        result = self.send("script.evaluate", {"expression": expression, "target": {"context": self.context},
                                               "awaitPromise": True})
        if result["type"] == "exception":
            raise BiDiError(f"script threw: {result['exceptionDetails'].get('text')} in {expression[:120]!r}")
        return value(result["result"])

    def until(self, expression, what):
        """Polls an expression until it is truthy, for at most WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                last = self.js(expression)
                if last:
                    return last
            except BiDiError as error:  # a page between two lists may not have the node yet
                last = error
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {WAIT} s (last: {last!r})")
            time.sleep(0.1)

    # ---- input, as a person gives it (real events, with the user activation media play needs)

    def click(self, selector):
        self.click_node("document.querySelector(%s)" % json.dumps(selector), selector)

    def click_node(self, expression, what):
        """A mouse click in the middle of the element an expression finds."""
        node = self.until("(() => { const e = %s; if (!e) return null;"
                          " e.scrollIntoView({block: 'center'}); return e; })()" % expression,
                          f"{what} is on the page")
        self.send("input.performActions", {"context": self.context, "actions": [{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "x": 0, "y": 0, "origin": {"type": "element", "element": {"sharedId": node["sharedId"]}}},
                {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})

    def type_into(self, selector, text):
        """Focuses a field, selects what it holds and types over it, key by key."""
        self.until("(() => { const e = document.querySelector(%s); if (!e) return false;"
                   " e.focus(); e.select(); return document.activeElement === e; })()" % json.dumps(selector),
                   f"{selector} takes the focus")
        keys = [{"type": "keyDown", "value": "\uE003"}, {"type": "keyUp", "value": "\uE003"}]  # Backspace
        for ch in text:
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self.send("input.performActions", {"context": self.context, "actions": [{"type": "key", "id": "keyboard", "actions": keys}]})
        self.send("input.releaseActions", {"context": self.context})

    def screenshot(self, path):
        data = self.send("browsingContext.captureScreenshot", {"context": self.context})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def errors(self):
        return [e["params"] for e in self.events
                if e.get("method") == "log.entryAdded" and e["params"].get("level") == "error"]


def where(entry):
    frames = entry.get("stackTrace", {}).get("callFrames") or [{}]
    return f"{frames[0].get('url')}:{frames[0].get('lineNumber')}"


def value(remote):
    """A BiDi remote value as plain Python."""
    kind = remote.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return remote["value"]
    if kind == "number":
        v = remote["value"]
        return float("nan") if v == "NaN" else v
    if kind in ("array", "set"):
        return [value(v) for v in remote.get("value", [])]
    if kind == "object":
        return {k if isinstance(k, str) else value(k): value(v) for k, v in remote.get("value", [])}
    if kind == "node":
        return {"sharedId": remote["sharedId"]}
    return remote


class FirefoxConsoleTest:
    ROW = "[...document.querySelectorAll('#list > li')].find(r => r.querySelector('.text').textContent === %s)"
    TEXTS = "[...document.querySelectorAll('#list > li .text')].map(e => e.textContent)"
    SETTLED = "document.getElementById('list-status').textContent !== 'Loading…'"

    def __init__(self, browser):
        self.b = browser

    def search(self, phrase):
        """Types into the search box and waits for that list (the hash carries the query)."""
        self.b.type_into("#q", phrase)
        wanted = urllib.parse.urlencode({"match": phrase}) if phrase else ""
        listed = f"location.hash.includes({json.dumps(wanted)})" if phrase else "!location.hash.includes('match=')"
        self.b.until(f"{listed} && {self.SETTLED}", f"the list for {phrase!r}")

    # ---- checks, in order

    def test_page_loads(self):
        if TOKEN:
            # Stored before the page's script runs, so its first request already carries the
            # token (a 401 would be logged as an error).
            self.b.send("script.addPreloadScript", {"functionDeclaration":
                "() => { try { if (location.protocol.startsWith('http')) sessionStorage.setItem('tts-console-token', %s); }"
                " catch (e) {} }" % json.dumps(TOKEN)})
        self.b.send("browsingContext.setViewport", {"context": self.b.context, "viewport": {"width": 1280, "height": 900}})
        self.b.send("browsingContext.navigate", {"context": self.b.context, "url": BASE + "/", "wait": "complete"})
        self.b.until(self.SETTLED, "the first list")
        title = self.b.js("document.title")
        assert title == "tts-repl console", title
        assert self.b.js("document.querySelectorAll('#list > li.clip').length"), "the list shows the clips the server has"

    def test_search_finds_phrase(self):
        self.search(f"seed {RUN}")
        self.b.until(f"JSON.stringify({self.TEXTS}) === {json.dumps(json.dumps([SEED], separators=(',', ':')))}",
                     "only the seed phrase listed")
        shown = self.b.js("document.getElementById('range').textContent")
        assert "1–1" in shown, shown

    def test_play_advances_audio(self):
        self.b.click("#list > li.clip button.play")
        self.b.until("(() => { const a = document.getElementById('player'); return a.ended || a.currentTime > 0.05; })()",
                     "the audio plays (currentTime advances or it ends)")
        src = self.b.js("document.getElementById('player').src")
        assert "/v1/blobs/" in src or src.startswith("blob:"), src

    def test_say_new_phrase_appears(self):
        self.search("")
        self.b.type_into("#say-text", NEW)
        self.b.click("#say-go")
        tier = self.b.until("document.querySelector('#say-result .tier')?.textContent", "the Say result shows a tier")
        assert tier in ("engine", "local", "redis", "memory"), tier
        key = self.b.until(f"({self.ROW % json.dumps(NEW)})?.dataset.key", "the new phrase in the list")
        assert len(key) == 64, key

    def test_remove_after_confirmation(self):
        """Takes away the clip the page made (Firefox's <dialog> confirms it)."""
        row = self.ROW % json.dumps(NEW)
        self.b.click_node(f"{row}?.querySelector('button.remove')", "the new phrase's Remove button")
        self.b.until("document.getElementById('confirm-dialog').open", "the confirmation dialog")
        self.b.click("#confirm-ok")
        self.b.until(f"!{row}", "the removed clip leaves the list")

    def test_screenshots_and_narrow_layout(self):
        os.makedirs(OUT, exist_ok=True)
        self.b.screenshot(os.path.join(OUT, "console-firefox.png"))
        self.b.send("browsingContext.setViewport", {"context": self.b.context, "viewport": {"width": 360, "height": 800}})
        self.b.until("window.innerWidth <= 360", "a 360 px viewport")
        width = self.b.js("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide in a 360 px viewport"
        self.b.screenshot(os.path.join(OUT, "console-firefox-360.png"))
        self.b.send("browsingContext.setViewport", {"context": self.b.context, "viewport": {"width": 1280, "height": 900}})

    def test_no_javascript_errors(self):
        self.b.js("0")  # one more round trip: events logged so far have arrived
        errors = [f"{e.get('type')}: {e.get('text')} at {where(e)}" for e in self.b.errors()]
        assert not errors, errors


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop Firefox


def main():
    if not BASE:
        print(__doc__)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    passed = failed = 0
    browser = None
    try:
        # A clip to find, made through the API before the page opens.
        api("POST", "/v1/speech", {"text": SEED})
        browser = Firefox()
        def last_message():
            try:
                toast = browser.js("document.getElementById('toast')?.textContent || ''")
            except Exception:
                toast = ""
            if toast:
                print(f"      the page's last message: {toast}")

        names = [n for n in FirefoxConsoleTest.__dict__ if n.startswith("test_")]
        passed, failed = run_checks(FirefoxConsoleTest(browser), names, after_failure=last_message)
    except Exception as error:
        failed += 1
        print(f"FAIL  firefox_setup: {error!r}")
    finally:
        if browser is not None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the cleanup short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            browser.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
