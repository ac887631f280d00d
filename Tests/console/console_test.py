#!/usr/bin/env python3
"""Browser test of the web console, in headless Chromium through Selenium.

Usage: console_test.py BASE_URL   (e.g. http://127.0.0.1:8080, the URL `tts-repl serve` prints)

The server must be running with a working engine (espeak is enough). When it was started with
tokens, pass one in CONSOLE_TOKEN. The test makes its own clips (through the API, then through
the page) with a phrase unique to this run, and removes the one it made through the page.
With CONSOLE_TOKEN it also checks the token prompt in a second browser.

Checks: the page loads; typing part of a phrase finds it; a clip plays (the audio element's
currentTime advances or it ends) and its waveform is drawn; j/k move; saying a new phrase shows
it with its tier; "Say and play as it streams" plays the native stream (Web Audio's clock
advances past the first pieces) and the clip appears afterwards; a pin survives a reload; removing (after the confirmation) takes the clip
away; the dashboard draws; at 360 px nothing overflows sideways; the browser console has no
errors. Screenshots go to .build/console.png (1280 px) and .build/console-360.png.
Prints "N passed, M failed"; the exit status is 1 when anything failed.
"""
import json
import os
import sys
import time
import traceback
import urllib.parse
import urllib.request
import uuid

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CONSOLE_URL", "")).rstrip("/")
TOKEN = os.environ.get("CONSOLE_TOKEN", "")
OUT = os.environ.get("CONSOLE_SCREENSHOT_DIR", ".build")
RUN = uuid.uuid4().hex[:6]
SEED = f"Console seed {RUN} welcomes you."
NEW = f"Console check {RUN}, say it once."
STREAMED = f"Console stream {RUN} plays while it is made, and then it is kept."
WAIT = 20  # seconds, for the engine's first generation on a busy machine


def api(method, path, body=None):
    request = urllib.request.Request(BASE + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    if TOKEN:
        request.add_header("Authorization", "Bearer " + TOKEN)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--autoplay-policy=no-user-gesture-required", "--mute-audio"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


class ConsoleTest:
    def __init__(self, driver):
        self.driver = driver
        # A row may be redrawn between finding it and reading it: look again.
        self.wait = WebDriverWait(driver, WAIT, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException])
        self.key = None

    # ---- helpers

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def by_id(self, id_):
        return self.driver.find_element(By.ID, id_)

    def open(self):
        if TOKEN:
            # Stored before the page's script runs, so its first request already carries the
            # token (a 401 would be logged as a console error).
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
                "source": "sessionStorage.setItem('tts-console-token', %s)" % json.dumps(TOKEN)})
        self.driver.get(BASE + "/")
        self.wait.until(lambda d: d.execute_script("return document.getElementById('list-status').textContent !== 'Loading…'"))

    def rows(self):
        return self.driver.find_elements(By.CSS_SELECTOR, "#list > li.clip")

    def texts(self):
        return self.js("return [...document.querySelectorAll('#list > li .text')].map(e => e.textContent)")

    def search(self, phrase):
        """Types into the search box as a person does (so input events fire) and waits for that list."""
        box = self.by_id("q")
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
        if phrase:
            box.send_keys(phrase)
        wanted = urllib.parse.urlencode({"match": phrase}) if phrase else ""
        self.wait.until(lambda d: d.execute_script(
            "const h = location.hash; const listed = arguments[0] ? h.includes(arguments[0]) : !h.includes('match=');"
            "return listed && document.getElementById('list-status').textContent !== 'Loading…'", wanted))

    def row_for(self, text):
        return self.js("return [...document.querySelectorAll('#list > li')].find(r => r.querySelector('.text').textContent === arguments[0]) || null", text)

    def click_in_row(self, text, selector):
        self.wait.until(lambda d: self.row_for(text) is not None)
        self.wait.until(lambda d: self.row_for(text).find_element(By.CSS_SELECTOR, selector).click() or True)

    # ---- checks, in order

    def test_page_loads(self):
        self.open()
        assert self.driver.title == "tts-repl console", self.driver.title
        assert self.rows(), "the list shows the clips the server has"

    def test_search_finds_phrase(self):
        self.search(f"seed {RUN}")
        self.wait.until(lambda d: self.texts() == [SEED])
        assert "1–1" in self.by_id("range").text, self.by_id("range").text

    def test_play_advances_audio(self):
        row = self.rows()[0]
        self.wait.until(lambda d: d.execute_script(
            "const c = arguments[0].querySelector('canvas'); if (!c.width) return false;"
            "const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "for (let i = 3; i < px.length; i += 4) if (px[i]) return true; return false;", row)), "waveform drawn"
        row.find_element(By.CSS_SELECTOR, "button.play").click()
        self.wait.until(lambda d: d.execute_script(
            "const a = document.getElementById('player'); return a.ended || a.currentTime > 0.05;"))
        src = self.js("return document.getElementById('player').src")
        assert "/v1/blobs/" in src or src.startswith("blob:"), src

    def test_keyboard_moves_and_plays(self):
        self.search("")
        self.wait.until(lambda d: len(self.texts()) >= 2)
        self.js("document.activeElement.blur()")
        body = self.driver.find_element(By.TAG_NAME, "body")
        cur = "return [...document.querySelectorAll('#list > li')].findIndex(r => r.classList.contains('cur'))"
        start = self.js(cur)
        body.send_keys("j")
        assert self.js(cur) == start + 1, "j moves down"
        body.send_keys(Keys.SPACE)
        self.wait.until(lambda d: d.execute_script(
            "const row = document.querySelector('#list > li.cur'); return !!row && row.classList.contains('playing');"))
        body.send_keys("k")
        assert self.js(cur) == start, "k moves up"

    def test_say_new_phrase_appears(self):
        self.by_id("say-text").send_keys(NEW)
        self.by_id("say-go").click()
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#say-result .tier"))
        tier = self.driver.find_element(By.CSS_SELECTOR, "#say-result .tier").text
        assert tier in ("engine", "local", "redis", "memory"), tier
        self.wait.until(lambda d: self.row_for(NEW) is not None)
        self.key = self.row_for(NEW).get_attribute("data-key")
        assert self.key and len(self.key) == 64, self.key

    def test_streamed_say_plays_and_then_appears(self):
        self.by_id("say-text").clear()
        self.by_id("say-text").send_keys(STREAMED)
        self.by_id("say-stream").click()
        played = "return parseFloat(document.getElementById('say-result').dataset.played || '0');"
        # Audio advances: Web Audio plays the pieces of the native stream as they come.
        self.wait.until(lambda d: self.js(played) > 0.2)
        first_ms = self.js("return document.getElementById('say-result').dataset.firstMs;")
        assert first_ms is not None, "the first audio's time is shown"
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#say-result .tier"))
        tier = self.driver.find_element(By.CSS_SELECTOR, "#say-result .tier").text
        assert tier in ("engine", "local", "redis", "memory"), tier
        # Once the stream has ended the clip is in the cache and in the list.
        self.wait.until(lambda d: self.row_for(STREAMED) is not None)
        clips = api("GET", "/v1/clips?match=" + urllib.parse.quote(f"Console stream {RUN}"))
        assert STREAMED in json.dumps(clips), clips
        self.by_id("say-text").clear()

    def test_pin_survives_reload(self):
        self.click_in_row(NEW, "button.pin")
        self.wait.until(lambda d: "on" in self.row_for(NEW).find_element(By.CSS_SELECTOR, "button.pin").get_attribute("class"))
        self.driver.refresh()
        self.wait.until(lambda d: self.row_for(NEW) is not None)
        row = self.row_for(NEW)
        assert "on" in row.find_element(By.CSS_SELECTOR, "button.pin").get_attribute("class")
        assert row.find_elements(By.CSS_SELECTOR, ".meta .pinned"), "the row says pinned"

    def test_remove_after_confirmation(self):
        self.click_in_row(NEW, "button.remove")
        self.wait.until(lambda d: d.execute_script("return document.getElementById('confirm-dialog').open"))
        self.by_id("confirm-cancel").click()
        assert self.row_for(NEW) is not None, "cancel keeps the clip"
        self.click_in_row(NEW, "button.remove")
        self.wait.until(lambda d: d.execute_script("return document.getElementById('confirm-dialog').open"))
        self.by_id("confirm-ok").click()
        self.wait.until(lambda d: self.row_for(NEW) is None)
        self.search(f"check {RUN}")
        self.wait.until(lambda d: self.by_id("list-status").text == "No clip matches.")

    def test_dashboard_draws(self):
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#c-ratio svg"))
        assert self.driver.find_elements(By.CSS_SELECTOR, "#c-store svg")
        assert self.driver.find_elements(By.CSS_SELECTOR, "#c-health li")

    def test_screenshots_and_narrow_layout(self):
        self.search("")
        self.wait.until(lambda d: len(self.rows()) >= 1)
        os.makedirs(OUT, exist_ok=True)
        self.driver.save_screenshot(os.path.join(OUT, "console.png"))
        self.driver.set_window_size(360, 800)
        self.wait.until(lambda d: d.execute_script("return window.innerWidth") <= 360)
        overflow = self.js("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a 360 px window"
        self.driver.save_screenshot(os.path.join(OUT, "console-360.png"))
        self.driver.set_window_size(1280, 900)

    def token_prompt(self):
        """With tokens set: a tab without one is asked for it, a wrong one is refused, the right one lists."""
        other = browser()
        try:
            wait = WebDriverWait(other, WAIT, poll_frequency=0.1)
            other.get(BASE + "/")
            wait.until(lambda d: d.execute_script("return document.getElementById('token-dialog').open"))
            other.find_element(By.ID, "token-input").send_keys("not-the-token\n")
            wait.until(lambda d: d.execute_script(
                "return document.getElementById('token-dialog').open && !!document.getElementById('token-error').textContent"))
            other.find_element(By.ID, "token-input").send_keys(TOKEN + "\n")
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#list > li.clip"))
            assert other.execute_script("return sessionStorage.getItem('tts-console-token')") == TOKEN
        finally:
            other.quit()

    def test_browser_console_has_no_errors(self):
        errors = [e for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors


def run_checks(test, names, after_failure=None):
    """Runs each named check of `test`, printing ok/FAIL with its time; a failure is reported
    and the rest still run (later checks still say something). Returns (passed, failed)."""
    passed = failed = 0
    for name in names:
        started = time.monotonic()
        try:
            getattr(test, name)()
            passed += 1
            print(f"ok    {name} ({time.monotonic() - started:.1f} s)")
        except Exception as error:
            failed += 1
            print(f"FAIL  {name}: {error!r}")
            traceback.print_exc(limit=2)
            if after_failure:
                after_failure()
    return passed, failed


def main():
    if not BASE:
        print(__doc__)
        return 2
    # A clip to find, made through the API before the page opens.
    api("POST", "/v1/speech", {"text": SEED})
    driver = browser()
    passed = failed = 0
    try:
        names = [n for n in ConsoleTest.__dict__ if n.startswith("test_")] + (["token_prompt"] if TOKEN else [])
        passed, failed = run_checks(ConsoleTest(driver), names)
    finally:
        driver.quit()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
