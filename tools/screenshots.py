"""``make screenshots``: every view of the dashboard, at desktop and phone size, in docs/screenshots/.

    .venv/bin/python -m tools.screenshots [--out docs/screenshots]

Starts the local stack as ``make run`` does (``python -m vigil_local``, in its own process, on free
ports, with the demo subscribers and their twelve weeks of past notices), gives it something to show,
opens the dashboard in Debian's headless Chromium and saves ``<view>.png`` (1280×900) and
``<view>-phone.png`` (390×844) for each view, overwriting what is there, and
``acknowledgment-charts.png``, the weekly charts alone, and ``coverage-map.png``, Connecticut's
counties on the coverage map with a county's coverage open beside it (the README's pictures). The
coverage grid and map show the demo's own gaps: its rollout policy asks for the governor's office and
the town's ``local-official``, and the demo has no local official in five of the eight counties. What
it posts:

- rollouts for New Haven, Hartford, Bridgeport, Stamford and Andover, acknowledged through their emailed
  links a few seconds apart (so that acknowledgment times differ), some of them only in part;
- three detainers: one whose hold deadline is two days away, one whose deadline has passed, and one a
  reviewer has decided (for the report).
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import DESKTOP, PHONE, Dashboard, missing_browser, set_viewport, start_chromium
from tests.e2e.conftest import REPO_ROOT, RunningStack, StackNotReady, launched_stack

OUT = REPO_ROOT / "docs" / "screenshots"
START_TIMEOUT_SECONDS = 90.0
DELIVERY_TIMEOUT_SECONDS = 20.0
ADVISER = "cj.adviser@governor.example.gov"

# Desktop shots of these views take the whole page (up to FULL_PAGE_MAX_HEIGHT): much is below the fold.
FULL_PAGE = frozenset({"notice-detail", "acknowledgment-times", "detainers"})
FULL_PAGE_MAX_HEIGHT = 2400
# (file name, the view's location hash); the detail view's hash gets the notice id.
VIEWS = (
    ("open-notices", "open"),
    ("notice-detail", "detail"),
    ("coverage", "coverage"),
    ("acknowledgment-times", "acks"),
    ("detainers", "detainers"),
)


@contextmanager
def local_stack(log_path: Path) -> Iterator[RunningStack]:
    """The local stack as the e2e tests run it; a stack that does not start ends the tool."""
    try:
        with launched_stack(log_path) as stack:
            yield stack
    except StackNotReady as exc:
        raise SystemExit(str(exc)) from None


# ---------------------------------------------------------------------------------------------- data


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def rollout(place: str) -> dict[str, Any]:
    return {
        "type": "rollout",
        "external_id": f"screenshot-{uuid.uuid4().hex[:12]}",
        "program": "secure-communities",
        "jurisdiction": place,
        "effective_at": "2026-12-02T00:00:00-05:00",
        "summary": f"Secure Communities activates in {place}",
        "source": {"agency": "ICE", "channel": "email"},
    }


def detainer(facility: str, *, issued: datetime, release_due: datetime) -> dict[str, Any]:
    """An example person: the dashboard must never show the name, and does not."""
    return {
        "type": "detainer",
        "external_id": f"I247A-screenshot-{uuid.uuid4().hex[:8]}",
        "form": "I-247A",
        "issued_at": _iso(issued),
        "facility": facility,
        "subject": {"name": "Example Person", "date_of_birth": "1990-01-01"},
        "release_due_at": _iso(release_due),
        "judicial_warrant": False,
        "convictions": [{"statute": "53a-125b", "class": "A misdemeanor", "date": "2020-05-01"}],
        "criminal_history_entered": True,
    }


def submit(stack: RunningStack, event: dict[str, Any]) -> str:
    answer = stack.call("POST", "/events", event)
    if answer.status != 202:
        raise SystemExit(f"POST /events answered {answer.status}: {answer.body}")
    return str(answer.body["notice_id"])


def ack_link(stack: RunningStack, notice_id: str, address: str) -> str:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for email in stack.outbox()["emails"]:
            if address in email["to"] and notice_id in email["text"]:
                return "/ack/" + str(email["text"]).split("/ack/")[1].split()[0]
        time.sleep(0.3)
    raise SystemExit(f"no email to {address} for {notice_id} within {DELIVERY_TIMEOUT_SECONDS:g}s")


def acknowledge(stack: RunningStack, notice_id: str, address: str) -> None:
    """As the button on the emailed link's page does."""
    answer = stack.call(
        "POST",
        ack_link(stack, notice_id, address),
        key=None,
        headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
    )
    if answer.status != 200:
        raise SystemExit(f"acknowledging {notice_id} as {address} answered {answer.status}")


def seed(stack: RunningStack) -> str:
    """Posts what the screenshots show; returns the notice the detail view shows."""
    now = datetime.now(UTC)
    submit(stack, detainer("New Haven Correctional Center", issued=now - timedelta(hours=3), release_due=now))
    submit(
        stack,
        detainer(
            "Bridgeport Correctional Center",
            issued=now - timedelta(days=3),
            release_due=now - timedelta(hours=60),
        ),
    )
    decided = submit(
        stack, detainer("New Haven Correctional Center", issued=now - timedelta(days=1), release_due=now)
    )
    reviewer = stack.call("POST", "/keys", {"name": "screenshots reviewer", "role": "reviewer"}).body["key"]
    decision = stack.call(
        "POST",
        f"/detainers/{decided}/decision",
        {"decision": "decline", "reasons": "No statutory criterion is met.", "criteria_relied_on": []},
        key=reviewer,
    )
    if decision.status != 201:
        raise SystemExit(f"the decision answered {decision.status}: {decision.body}")

    notices = {place: submit(stack, rollout(place)) for place in ("New Haven", "Hartford", "Bridgeport")}
    submit(stack, rollout("Stamford"))
    submit(stack, rollout("Andover"))  # no local official subscribes there: a coverage gap
    # Acknowledgments a few seconds apart, so that the times differ between roles and places.
    acknowledge(stack, notices["Hartford"], "mayor@hartford.example.gov")
    time.sleep(4)
    acknowledge(stack, notices["Bridgeport"], "mayor@bridgeport.example.gov")
    acknowledge(stack, notices["Bridgeport"], ADVISER)
    time.sleep(8)
    acknowledge(stack, notices["New Haven"], "mayor@newhaven.example.gov")
    time.sleep(10)
    acknowledge(stack, notices["Hartford"], ADVISER)
    return notices["New Haven"]


# ---------------------------------------------------------------------------------------------- shots


def save_full_page(page: Dashboard, path: Path) -> None:
    """The page from the top down to its end (or FULL_PAGE_MAX_HEIGHT), at the current width."""
    width, height = page.script("return [window.innerWidth, document.documentElement.scrollHeight]")
    shot = page.driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, FULL_PAGE_MAX_HEIGHT), "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def save_element(page: Dashboard, css_from: str, css_to: str, path: Path) -> None:
    """The page from the top of one element to the bottom of another, across the page's width."""
    top, bottom, width = page.script(
        "var a = document.querySelector(arguments[0]).getBoundingClientRect();"
        "var b = document.querySelector(arguments[1]).getBoundingClientRect();"
        "return [a.top + scrollY - 8, b.bottom + scrollY + 8, innerWidth];",
        css_from,
        css_to,
    )
    shot = page.driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": top, "width": width, "height": bottom - top, "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def shoot_charts(page: Dashboard, out: Path) -> Path:
    """The weekly charts of rollouts: from the view's heading to the share chart's readout."""
    page.show("acks")
    page.script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
    path = out / "acknowledgment-charts.png"
    save_element(page, "#panel-acks h2", '[data-testid="share-chart"] [data-testid="chart-readout"]', path)
    return path


def wait_for_map(page: Dashboard) -> None:
    """The coverage map drawn (its libraries and geometry load after the view's answer)."""
    page.wait(lambda: page.all('[data-testid="map-county"]'), what="the coverage map's counties")


def shoot_map(page: Dashboard, out: Path) -> Path:
    """The coverage map of Connecticut with the first county that has a gap opened beside it."""
    page.show("coverage")
    wait_for_map(page)
    gap = page.all('[data-testid="map-county"][data-status="gap"]')
    if not gap:
        raise SystemExit("the demo's coverage map shows no gap: the picture would not show what it is for")
    page.script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", gap[0])
    page.wait_for_testid("map-detail")
    page.script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
    path = out / "coverage-map.png"
    save_element(page, '[data-testid="coverage-map-section"]', '[data-testid="coverage-map-section"]', path)
    return path


def shoot(page: Dashboard, out: Path, detail_id: str, *, phone: bool) -> list[Path]:
    saved = []
    for name, view in VIEWS:
        page.show(f"detail={detail_id}" if view == "detail" else view)
        if view == "coverage":
            wait_for_map(page)
        page.script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
        path = out / f"{name}{'-phone' if phone else ''}.png"
        if name in FULL_PAGE and not phone:
            save_full_page(page, path)
        else:
            page.driver.save_screenshot(str(path))
        saved.append(path)
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go (default: %(default)s)")
    args = parser.parse_args(argv)
    missing = missing_browser()
    if missing:
        print(
            f"headless Chromium is not installed (missing {', '.join(missing)}); "
            "install it with: apt-get install -y chromium chromium-driver",
            file=sys.stderr,
        )
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="vigil-screenshots-") as scratch,
        local_stack(Path(scratch) / "stack.log") as stack,
    ):
        print(f"local stack at {stack.api_url}; posting notices and acknowledging some (about 30 s)")
        detail_id = seed(stack)
        driver = start_chromium(Path(scratch) / "chromium-profile", size=DESKTOP)
        try:
            page = Dashboard(driver, stack)
            page.open()
            page.wait_for_testid("key-input")
            driver.save_screenshot(str(out / "key-entry.png"))
            saved = [out / "key-entry.png"]
            page.enter_key(stack.admin_key)
            page.wait_until_loaded("open")
            saved += shoot(page, out, detail_id, phone=False)
            saved.append(shoot_charts(page, out))
            saved.append(shoot_map(page, out))
            set_viewport(driver, PHONE)
            # A clipped capture shorter than the window leaves Chromium zoomed in by the ratio of the
            # two, which a phone's emulation keeps: back to the page's own scale.
            driver.execute_cdp_cmd("Emulation.setPageScaleFactor", {"pageScaleFactor": 1})
            saved += shoot(page, out, detail_id, phone=True)
        finally:
            driver.quit()
    for path in saved:
        print(f"saved {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
