"""The dashboard in headless Chromium (Debian's ``chromium`` and ``chromium-driver``), driven by Selenium,
against the same local stack as the e2e tests (``python -m vigil_local`` in its own process).

Without the browser the tests fail with what to install when ``CI`` is set, and are skipped otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import RunningStack

__all__ = ["Dashboard", "start_chromium"]

CHROMIUM = Path(os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("VIGIL_CHROMEDRIVER", "/usr/bin/chromedriver"))
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP = (1280, 900)
PHONE = (390, 844)
WAIT_SECONDS = 20.0
# The dashboard refreshes itself every 15 s; a change shows within one refresh and its requests.
REFRESH_WAIT_SECONDS = 35.0

T = TypeVar("T")


def missing_browser() -> list[str]:
    return [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def start_chromium(user_data_dir: Path, *, size: tuple[int, int] = DESKTOP) -> webdriver.Chrome:
    """Debian's Chromium with its own chromedriver: no download, no Selenium Manager, no network."""
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    set_viewport(driver, size)
    return driver


def set_viewport(driver: webdriver.Chrome, size: tuple[int, int]) -> None:
    """The page's own width and height (a window's outer size would include what is not the page)."""
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700},
    )


@pytest.fixture(scope="session")
def chromium() -> None:
    """First of the session fixtures, so that a machine without a browser does not start the stack."""
    missing = missing_browser()
    if missing:
        message = (
            f"headless Chromium is not installed (missing {', '.join(missing)}); "
            "install it with: apt-get install -y chromium chromium-driver"
        )
        if running_in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@dataclass
class Dashboard:
    """The page at ``/dashboard`` in one browser, with what the tests do to it."""

    driver: webdriver.Chrome
    stack: RunningStack

    def open(self, fragment: str = "") -> None:
        self.driver.get(f"{self.stack.api_url}/dashboard{fragment}")

    def enter_key(self, key: str) -> None:
        field = self.wait_for_testid("key-input")
        assert field.is_displayed(), "the key form is not shown"
        field.clear()
        field.send_keys(key)
        self.testid("key-submit").click()

    def sign_in(self, fragment: str = "", *, key: str | None = None) -> None:
        self.open(fragment)
        self.enter_key(key or self.stack.admin_key)
        self.wait_until_loaded()

    def show(self, view: str) -> None:
        """Go to a view (open, detail=<id>, coverage, acks, detainers) and wait until it is read."""
        before = self.refreshes()
        self.script("location.hash = arguments[0]", view)
        self.wait_until_loaded(view.split("=", maxsplit=1)[0], after=before)

    def testid(self, testid: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(
        self,
        produce: Callable[[], T],
        *,
        what: str,
        timeout: float = WAIT_SECONDS,
        done: Callable[[T], bool] = bool,
    ) -> T:
        """Poll ``produce()`` until ``done`` holds (elements re-rendered meanwhile are simply retried)."""
        last: list[Any] = [None]

        def attempt(_driver: Any) -> Any:
            try:
                value = produce()
            except StaleElementReferenceException:
                return False
            last[0] = value
            return done(value)

        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(attempt)
        except TimeoutException:
            pytest.fail(
                f"timed out after {timeout:g}s waiting for {what}; last value: {last[0]!r}\n"
                f"status: {self.status()!r}\npage text:\n{self.text()[:3000]}"
            )
        return last[0]  # type: ignore[no-any-return]  # the value ``done`` accepted

    def wait_for_testid(self, testid: str, *, timeout: float = WAIT_SECONDS) -> WebElement:
        found = self.wait(
            lambda: [e for e in self.all(f'[data-testid="{testid}"]') if e.is_displayed()],
            what=f"a visible [data-testid={testid}]",
            timeout=timeout,
        )
        return found[0]

    def refreshes(self) -> int:
        """How many times the page has read a view from the API (``data-refreshes`` on the app)."""
        return int(self.testid("app").get_attribute("data-refreshes") or 0)

    def wait_until_loaded(
        self, view: str | None = None, *, after: int = 0, timeout: float = WAIT_SECONDS
    ) -> None:
        """``view`` (default: any) has been read from the API since the page had read ``after`` times."""

        def loaded() -> bool:
            app = self.testid("app")
            return (
                app.is_displayed()
                and int(app.get_attribute("data-refreshes") or 0) > after
                and (view is None or app.get_attribute("data-loaded-view") == view)
            )

        self.wait(loaded, what=f"the {view or 'current'} view to load", timeout=timeout)

    def status(self) -> str:
        try:
            return self.testid("refresh-status").text
        except Exception:  # only for diagnostics: never hides a failure
            return ""

    def text(self) -> str:
        return str(self.driver.execute_script("return document.body.innerText"))

    def script(self, source: str, *args: Any) -> Any:
        return self.driver.execute_script(source, *args)

    def row(self, css: str, notice_id: str) -> WebElement | None:
        rows = self.all(f'{css}[data-notice-id="{notice_id}"]')
        return rows[0] if rows else None

    def severe_console_errors(self) -> list[str]:
        """Script errors and CSP violations; answers of 401, 403 and 404 are expected, not errors."""
        entries: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        return [
            str(e.get("message"))
            for e in entries
            if e.get("level") == "SEVERE" and "Failed to load resource" not in str(e.get("message"))
        ]


@pytest.fixture
def dashboard(chromium: None, local_stack: RunningStack, tmp_path: Path) -> Iterator[Dashboard]:
    """A fresh browser per test (its own profile: nothing kept from another test's session)."""
    driver = start_chromium(tmp_path / "chromium-profile")
    page = Dashboard(driver, local_stack)
    try:
        yield page
        errors = page.severe_console_errors()
        assert not errors, f"the page logged errors: {errors}"
    finally:
        driver.quit()
