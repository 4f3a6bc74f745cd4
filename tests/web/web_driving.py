"""Drive the web chat in Debian's headless Chromium (Selenium) and check it with axe-core."""
from __future__ import annotations

import base64
import json
import shutil
import tempfile
from pathlib import Path
from typing import List

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from bot.settings import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = PROJECT_ROOT / "tests" / "web" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "web"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1000,900", "--lang=en-GB")
WAIT_SECONDS = 30


def missing_tools() -> List[str]:
    """What the browser tests need that this machine lacks (scripts/install-browser.sh adds it)."""
    return [str(path) for path in (CHROMIUM, CHROMEDRIVER, AXE) if not path.exists()]


class Browser:
    """One headless Chromium with its own empty profile: a new device for a participant."""

    def __init__(self, base_url: str, javascript: bool = True):
        self.base_url = base_url
        self.profile = tempfile.mkdtemp(prefix="coproduce-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.add_argument("--autoplay-policy=user-gesture-required")
        if not javascript:
            options.add_experimental_option(
                "prefs", {"profile.managed_default_content_settings.javascript": 2})
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.set_script_timeout(WAIT_SECONDS)
        self.wait = WebDriverWait(self.driver, WAIT_SECONDS,
                                  ignored_exceptions=(StaleElementReferenceException,))

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)

    # Reading the page --------------------------------------------------------------------

    def open(self) -> None:
        """Open the chat page and wait until the assistant has spoken."""
        self.driver.get(self.base_url + "/")
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .message, #notice p"))

    def texts(self) -> List[str]:
        """Every message's words on the page, in order (none while a new page loads); not the
        participant's own words the script shows while they are being sent."""
        return self._read_all("#messages .message:not(.sending) .text")

    def choices(self) -> List[str]:
        """The titles of the buttons that can be pressed now (none while a new page loads)."""
        return self._read_all(".choices button:not([aria-disabled='true'])")

    def controls(self) -> List[str]:
        """The titles of the page's own buttons (Help, Say that again ...)."""
        return self._read_all("#controls button")

    def busy(self) -> bool:
        """True while the script waits for a reply (the log says it is busy)."""
        return self.driver.find_element(By.ID, "log").get_attribute("aria-busy") == "true"

    def status(self) -> str:
        """The words in the announced status line (such as "Sending. Please wait.")."""
        return self.driver.find_element(By.ID, "status").text

    def wait_for_status(self, words: str) -> None:
        """Wait until the status line says these words (it is emptied, then filled 50 ms later,
        so that saying it again is announced again)."""
        self.wait.until(lambda d: self.status() == words,
                        message=f"status is {self.status()!r}, not {words!r}")

    def wait_for_reply(self, count: int) -> None:
        """Wait until the page shows more than `count` messages and is no longer sending."""
        self.wait.until(lambda d: len(self.texts()) > count and not self.busy(),
                        message=f"no reply; page has {self.texts()[-3:]}")

    def _read_all(self, selector: str) -> List[str]:
        """The visible words of every match, read in one step (none while a page loads)."""
        from selenium.common.exceptions import WebDriverException

        try:
            return self.driver.execute_script(
                "return Array.from(document.querySelectorAll(arguments[0]))"
                ".map(e => e.innerText.trim());", selector) or []
        except WebDriverException:
            return []

    def notice(self) -> str:
        """The words in the announced notice area."""
        return self.driver.find_element(By.ID, "notice").text

    def active(self):
        """The element that has keyboard focus."""
        return self.driver.switch_to.active_element

    def wait_for_message(self, words: str) -> None:
        """Wait until a message on the page contains these words."""
        self.wait.until(lambda d: any(words in text for text in self.texts()),
                        message=f"no message with {words!r}; page has {self.texts()[-3:]}")

    def wait_for_choice(self, title: str) -> None:
        """Wait until a button with this title can be pressed."""
        self.wait.until(lambda d: title in self.choices(),
                        message=f"no button {title!r}; buttons now {self.choices()}")

    # Acting as a participant --------------------------------------------------------------

    ADD_MORE = "Do you want to add anything else?"
    THEME_CHECK = "I think this is about"
    PICK_THEMES = "I am not sure what this is about"

    def confirm_themes_if_asked(self) -> None:
        """After an answer, say yes if the assistant checks what it was about, or pick the
        first theme if it found none and asks the participant to pick."""
        self.wait.until(lambda d: any(self.ADD_MORE in t or self.THEME_CHECK in t
                                      or self.PICK_THEMES in t for t in self.texts()[-3:]),
                        message=f"no add-more or theme check; page has {self.texts()[-3:]}")
        if any(self.THEME_CHECK in t for t in self.texts()[-2:]):
            self.press("Yes")
            self.wait_for_message(self.ADD_MORE)
        elif any(self.PICK_THEMES in t for t in self.texts()[-3:]):
            self.press(self.choices()[0])
            self.press("That is all")
            self.wait_for_message(self.ADD_MORE)

    def press(self, title: str, *, wait: bool = True) -> None:
        """Click the choice button with this title (and wait for more messages, unless told
        not to: after an erasure the page holds fewer)."""
        self.wait_for_choice(title)
        self._click(".choices button", title, wait)

    def press_control(self, title: str, *, wait: bool = True) -> None:
        """Click one of the page's own buttons (Help, Say that again ...) and wait for the reply."""
        self._click("#controls button", title, wait)

    def _click(self, selector: str, title: str, wait: bool) -> None:
        count = len(self.texts())
        button = next(e for e in self.driver.find_elements(By.CSS_SELECTOR, selector)
                      if e.text == title)
        button.click()
        if wait:
            self.wait_for_reply(count)

    def say(self, words: str, *, press_enter: bool = True) -> None:
        """Type words in the message box and send them (Enter, or the Send button)."""
        count = len(self.texts())
        box = self.driver.find_element(By.ID, "message")
        box.clear()
        box.send_keys(words)
        if press_enter:
            box.send_keys(Keys.ENTER)
        else:
            self.driver.find_element(By.CSS_SELECTOR, "#compose .send").click()
        self.wait_for_reply(count)

    # Checks ------------------------------------------------------------------------------

    def axe(self, state: str) -> list:
        """Run axe-core on the page; return serious and critical violations (all are saved)."""
        if not self.driver.execute_script("return typeof axe !== 'undefined'"):
            self.driver.execute_script(AXE.read_text(encoding="utf-8"))
        violations = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact:"
            " 'critical', help: String(e), nodes: []}]));")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"axe-{state}.json").write_text(json.dumps(violations, indent=1))
        return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                 "nodes": [n.get("html") for n in v.get("nodes", [])][:3]}
                for v in violations if v["impact"] in ("serious", "critical")]

    def screenshot(self, state: str) -> Path:
        """Save a screenshot of the whole page in this state under tests/artifacts/web/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{state}.png"
        size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000),
                     "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def set_width(self, width: int, height: int = 700) -> None:
        """Show the page in a viewport this many CSS pixels wide, like a small phone."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than its viewport (0 means no sideways scroll)."""
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")

    def small_targets(self) -> List[str]:
        """Buttons and links smaller than 44 by 44 CSS pixels."""
        return self.driver.execute_script(
            "return Array.from(document.querySelectorAll('button, a, textarea'))"
            ".filter(e => e.offsetParent !== null)"
            ".map(e => [e, e.getBoundingClientRect()])"
            ".filter(([e, r]) => r.width < 44 || r.height < 44)"
            ".map(([e, r]) => e.outerHTML.slice(0, 80) + ` ${r.width}x${r.height}`)")

    def focus_is_visible(self) -> bool:
        """True when the focused element shows a focus ring and sits wholly in the viewport."""
        return self.driver.execute_script(
            "const e = document.activeElement; if (!e || e === document.body) return false;"
            "const s = getComputedStyle(e); const r = e.getBoundingClientRect();"
            "const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)"
            " || s.boxShadow !== 'none';"
            "return ring && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight"
            " && r.right <= document.documentElement.clientWidth;")
