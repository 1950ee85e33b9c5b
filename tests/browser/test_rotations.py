"""Duty rotations on the dashboard in headless Chromium: an admin sees who is on duty and who is next
in the Rotations view, and a rotation nobody in it can be reached marked as a gap in words; a
notice's log names the one on duty; other keys are told the view is not theirs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import Dashboard
from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_detainer_review import detainer
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, submit

pytestmark = pytest.mark.browser

FACILITY = "York Correctional Institution"


def reviewer(stack: RunningStack, name: str) -> str:
    """A reviewer whose only channel is an email address nobody confirms: they cannot be reached."""
    created = stack.call(
        "POST",
        "/subscribers",
        {
            "name": name,
            "role": "corrections",
            "channels": [{"type": "email", "address": f"york.{uuid.uuid4().hex[:8]}@doc.example.gov"}],
            "subscriptions": [{"jurisdiction": FACILITY, "event_types": ["detainer"]}],
        },
    )
    assert created.status == 201, created
    return str(created.body["id"])


@pytest.fixture
def york(local_stack: RunningStack) -> Iterator[dict[str, Any]]:
    """Two reviewers of York Correctional Institution, neither confirmed yet, in daily shifts from a
    week ago handing off at midnight New York time (who is on duty today depends on the day: the test
    reads it from the API)."""
    tag = uuid.uuid4().hex[:6]
    ids = [reviewer(local_stack, f"York reviewer {n} {tag}") for n in ("Ana", "Ben")]
    today = datetime.now(ZoneInfo("America/New_York")).date()
    made = local_stack.call(
        "POST",
        "/rotations",
        {
            "jurisdiction": FACILITY,
            "role": "corrections",
            "name": f"York reviewers {tag}",
            "members": ids,
            "shift": "P1D",
            "handoff": "00:00",
            "start": (today - timedelta(days=7)).isoformat(),
        },
    )
    assert made.status == 201, made
    try:
        yield made.body
    finally:
        assert local_stack.call("DELETE", f"/rotations/{made.body['id']}").status == 204
        for subscriber_id in ids:
            assert local_stack.call("DELETE", f"/subscribers/{subscriber_id}").status == 204


def rotation_row(page: Dashboard, rotation_id: str) -> Any:
    rows = page.all(f'[data-testid="rotation-row"][data-rotation-id="{rotation_id}"]')
    return rows[0] if rows else None


def test_an_admin_sees_who_is_on_duty_now_and_next_and_a_gap_in_words(
    dashboard: Dashboard, york: dict[str, Any]
) -> None:
    dashboard.sign_in("#rotations")
    row = dashboard.wait(lambda: rotation_row(dashboard, york["id"]), what="the rotation's row")

    on_duty = row.find_element(By.CSS_SELECTOR, '[data-testid="rotation-on-duty"]').text
    following = row.find_element(By.CSS_SELECTOR, '[data-testid="rotation-next"]').text
    assert york["on_duty"]["name"] != york["next_on_duty"]["name"]
    assert on_duty.startswith(york["on_duty"]["name"])
    assert "until" in on_duty
    assert following.startswith(york["next_on_duty"]["name"])
    assert "from" in following
    assert "York Correctional Institution" in row.text
    # Neither reviewer has confirmed an address: a gap, said in words as well as by the red edge.
    assert york["coverage_gap"] is True
    gap = row.find_element(By.CSS_SELECTOR, '[data-testid="rotation-gap"]')
    assert gap.text == "✗ GAP: nobody in it can be reached"
    assert "urgent" in (row.get_attribute("class") or "")
    members = row.find_element(By.CSS_SELECTOR, '[data-testid="rotation-members"]').text
    assert members.count("(cannot be reached)") == 2


def test_a_notice_s_log_on_the_dashboard_names_the_one_on_duty(
    dashboard: Dashboard, york: dict[str, Any]
) -> None:
    stack = dashboard.stack
    notice_id = submit(stack, {**detainer(), "facility": FACILITY})
    wait_for(
        lambda: [
            e for e in stack.call("GET", f"/notices/{notice_id}/log").body["entries"] if e["kind"] == "routed"
        ],
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the detainer to be routed",
    )

    dashboard.sign_in(f"#detail={notice_id}")
    routed = dashboard.wait(
        lambda: [
            e for e in dashboard.all('[data-testid="log-entry"]') if e.get_attribute("data-kind") == "routed"
        ],
        what="the routed entry in the notice's log",
    )[0]
    # Neither reviewer can be reached, so the rotation steps aside: the log says so in words.
    assert f"on duty: corrections: {york['on_duty']['name']} (cannot be reached" in routed.text


def test_other_keys_are_told_the_rotations_view_is_not_theirs(dashboard: Dashboard) -> None:
    created = dashboard.stack.call("POST", "/keys", {"name": "browser viewer", "role": "viewer"})
    assert created.status == 201
    dashboard.open("#rotations")
    dashboard.enter_key(created.body["key"])
    refusal = dashboard.wait_for_testid("view-forbidden")
    assert "GET /rotations" in refusal.text
    assert "Rotations" in dashboard.testid("forbidden-views").text
