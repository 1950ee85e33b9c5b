"""GET /dashboard in headless Chromium against the local stack: the key, the views, a notice acknowledged
through its emailed link showing up without a reload, what a viewer never sees, and a phone's width."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import PHONE, REFRESH_WAIT_SECONDS, Dashboard, set_viewport
from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_acknowledgment import ack_path, emails_to
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, rollout, submit

pytestmark = pytest.mark.browser

ADVISER = "cj.adviser@governor.example.gov"
BRIDGEPORT_MAYOR = "mayor@bridgeport.example.gov"
KEY_STORAGE = "vigil.dashboard.key"


def stored_key(page: Dashboard) -> Any:
    return page.script("return sessionStorage.getItem(arguments[0])", KEY_STORAGE)


def key_form_shown(page: Dashboard) -> bool:
    return (
        page.testid("key-section").is_displayed()
        and not page.testid("app").is_displayed()
        and not page.testid("forget-key").is_displayed()
    )


def test_dashboard_asks_for_a_key_once_and_keeps_it_for_the_session(dashboard: Dashboard) -> None:
    dashboard.open()
    field = dashboard.wait_for_testid("key-input")
    assert field.get_attribute("type") == "password"
    label = dashboard.driver.find_element(By.CSS_SELECTOR, 'label[for="key-input"]')
    assert label.text == "API key"
    assert not dashboard.testid("app").is_displayed()
    assert not dashboard.testid("forget-key").is_displayed()  # nothing to forget, nothing to refresh
    assert not dashboard.testid("refresh-button").is_displayed()

    dashboard.enter_key(dashboard.stack.admin_key)
    dashboard.wait_until_loaded("open")
    assert stored_key(dashboard) == dashboard.stack.admin_key
    assert dashboard.script("return localStorage.length") == 0  # the session only, never kept on disk
    assert dashboard.script("return document.cookie") == ""
    assert dashboard.stack.admin_key not in dashboard.driver.page_source  # not echoed into the page

    dashboard.driver.refresh()  # the same tab: no second prompt
    dashboard.wait_until_loaded("open")
    assert not dashboard.testid("key-section").is_displayed()
    dashboard.show("coverage")
    dashboard.driver.refresh()
    dashboard.wait_until_loaded("coverage")
    assert not dashboard.testid("key-section").is_displayed()

    dashboard.testid("forget-key").click()
    dashboard.wait(lambda: key_form_shown(dashboard), what="the key form after forgetting the key")
    assert stored_key(dashboard) is None
    assert dashboard.all('[data-testid="coverage-row"]') == []  # nothing read with the key stays on the page
    dashboard.driver.refresh()
    dashboard.wait(lambda: key_form_shown(dashboard), what="the key form after a reload")


def test_a_posted_rollout_appears_among_open_notices(dashboard: Dashboard) -> None:
    dashboard.sign_in()
    notice_id = submit(dashboard.stack, rollout("Waterbury"))

    dashboard.testid("refresh-button").click()
    row = dashboard.wait(
        lambda: dashboard.row('[data-testid="open-notice-row"]', notice_id), what="the rollout's row"
    )

    assert row is not None
    assert row.find_element(By.CSS_SELECTOR, '[data-testid="notice-type"]').text == "Rollout"
    assert row.find_element(By.CSS_SELECTOR, '[data-testid="notice-jurisdiction"]').text == "Waterbury"
    role = row.find_element(By.CSS_SELECTOR, '[data-testid="required-role"][data-role="state-executive"]')
    assert role.get_attribute("data-acknowledged") == "false"
    assert "missing" in role.text
    assert "Step 0 · recipients" in row.text
    assert "Next: step 1 · unacknowledged" in row.text


def first_email(stack: RunningStack, notice_id: str, address: str) -> dict[str, Any]:
    found = wait_for(
        lambda: emails_to(stack, notice_id, address),
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what=f"the email to {address}",
    )
    return found[0]


def test_acknowledging_through_the_emailed_link_changes_the_notice_state_on_the_dashboard(
    dashboard: Dashboard,
) -> None:
    """The demo's rollout policy asks for the governor's office and the town's own officials: the
    adviser's click and the mayor's together acknowledge the notice."""
    stack = dashboard.stack
    notice_id = submit(stack, rollout("Bridgeport"))
    emails = [first_email(stack, notice_id, address) for address in (ADVISER, BRIDGEPORT_MAYOR)]
    dashboard.sign_in(f"#detail={notice_id}")
    dashboard.wait_until_loaded("detail")
    status = dashboard.testid("detail-status")
    assert status.get_attribute("data-status") == "open"
    dashboard.script("window.__not_reloaded = true")
    before = dashboard.refreshes()

    for email in emails:
        clicked = stack.call(  # what the button on the link's page sends
            "POST",
            ack_path(email),
            key=None,
            headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert clicked.status == 200

    dashboard.wait(
        lambda: dashboard.testid("detail-status").get_attribute("data-status"),
        what="the detail to show the notice acknowledged, by itself",
        timeout=REFRESH_WAIT_SECONDS,
        done=lambda s: s == "acknowledged",
    )
    assert dashboard.refreshes() > before
    assert dashboard.script("return window.__not_reloaded === true")  # refreshed in place, not reloaded
    for required in ("state-executive", "local-official"):
        role = dashboard.driver.find_element(
            By.CSS_SELECTOR,
            f'[data-testid="detail-facts"] [data-testid="required-role"][data-role="{required}"]',
        )
        assert role.get_attribute("data-acknowledged") == "true"
    acked = dashboard.all('[data-testid="recipient-row"][data-acknowledged="true"]')
    assert len(acked) == 2
    assert all("via link" in row.text for row in acked)
    acked_text = " ".join(row.text for row in acked)
    assert "Governor's Criminal Justice Policy Adviser" in acked_text  # an admin key sees names
    assert "Mayor of Bridgeport" in acked_text
    kinds = [e.get_attribute("data-kind") for e in dashboard.all('[data-testid="log-entry"]')]
    assert "acknowledged" in kinds

    dashboard.testid("tab-open").click()
    dashboard.wait_until_loaded("open", after=dashboard.refreshes())
    assert dashboard.row('[data-testid="open-notice-row"]', notice_id) is None


def test_notice_detail_shows_recipients_and_a_verified_log(dashboard: Dashboard) -> None:
    stack = dashboard.stack
    notice_id = submit(stack, rollout("New Haven"))
    wait_for(
        lambda: stack.call("GET", f"/notices/{notice_id}").body["recipients_detail"],
        lambda found: len(found) == 7 and all(d["status"] == "sent" for r in found for d in r["deliveries"]),
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="every delivery of the New Haven rollout",
    )
    dashboard.sign_in()
    row = dashboard.wait(
        lambda: dashboard.row('[data-testid="open-notice-row"]', notice_id), what="the rollout's row"
    )
    assert row is not None
    details = row.find_element(By.CSS_SELECTOR, '[data-testid="open-detail"]')
    details.send_keys(Keys.ENTER)  # by keyboard
    dashboard.wait_until_loaded("detail")
    title = dashboard.wait_for_testid("detail-title")
    assert dashboard.driver.switch_to.active_element == title  # focus follows to what was opened

    recipients = dashboard.all('[data-testid="recipient-row"]')
    assert len(recipients) == 7
    roles = sorted(r.find_element(By.CSS_SELECTOR, '[data-label="Role"]').text for r in recipients)
    assert roles == sorted(
        [
            "local-official",
            "law-enforcement",
            "legal",
            "local-official",
            "state-executive",
            "corrections",
            "advocate",
        ]
    )
    adviser = next(r for r in recipients if "Governor's Criminal Justice Policy Adviser" in r.text)
    assert "email: sent" in adviser.text
    assert "sms: sent" in adviser.text
    assert "✗ not yet" in adviser.text
    # An admin key sees what each recipient subscribed to, with its scope.
    subscribed = adviser.find_element(By.CSS_SELECTOR, '[data-testid="recipient-subscriptions"]')
    assert subscribed.text == "us-ct · detainer, rollout · contained"
    assert all(r.get_attribute("data-acknowledged") == "false" for r in recipients)

    badge = dashboard.testid("log-badge")
    assert badge.get_attribute("data-verified") == "true"
    assert "Log verified ✓" in badge.text
    kinds = [e.get_attribute("data-kind") for e in dashboard.all('[data-testid="log-entry"]')]
    assert kinds[:2] == ["created", "routed"]
    assert "delivered" in kinds


def coverage_cell(page: Dashboard, place_id: str, role: str) -> Any:
    return page.driver.find_element(
        By.CSS_SELECTOR,
        f'[data-testid="coverage-row"][data-jurisdiction-id="{place_id}"] '
        f'[data-testid="coverage-cell"][data-type="rollout"][data-role="{role}"]',
    )


def test_coverage_grid_marks_gaps_in_text_not_only_colour(dashboard: Dashboard) -> None:
    dashboard.sign_in()
    before = dashboard.refreshes()
    dashboard.script("arguments[0].focus()", dashboard.testid("tab-open"))
    ActionChains(dashboard.driver).send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT).perform()  # tabs: arrow keys
    dashboard.wait_until_loaded("coverage", after=before)
    assert dashboard.driver.switch_to.active_element == dashboard.testid("tab-coverage")
    assert dashboard.testid("tab-coverage").get_attribute("aria-selected") == "true"

    gap = coverage_cell(dashboard, "us-ct/town/andover", "local-official")  # nobody local subscribes there
    covered = coverage_cell(dashboard, "us-ct/town/hartford", "local-official")  # the demo mayor does
    assert gap.get_attribute("data-gap") == "true"
    assert "GAP" in gap.text
    assert covered.get_attribute("data-gap") == "false"
    assert covered.text == "✓ 1"
    gap_colour = gap.value_of_css_property("background-color")
    assert gap_colour != covered.value_of_css_property("background-color")
    assert gap_colour != gap.value_of_css_property("color")
    assert "places have a gap" in dashboard.testid("coverage-summary").text

    only_gaps = dashboard.testid("coverage-gaps-only")
    only_gaps.send_keys(Keys.SPACE)  # by keyboard
    assert only_gaps.is_selected()
    shown = {r.get_attribute("data-jurisdiction-id") for r in dashboard.all('[data-testid="coverage-row"]')}
    assert "us-ct/town/andover" in shown
    assert "us-ct/town/hartford" not in shown

    dashboard.testid("coverage-filter").send_keys("Andover")
    rows = dashboard.all('[data-testid="coverage-row"]')
    assert [r.get_attribute("data-jurisdiction-id") for r in rows] == ["us-ct/town/andover"]


def test_the_coverage_state_picker_shows_another_state_s_places_by_keyboard(dashboard: Dashboard) -> None:
    dashboard.sign_in()
    dashboard.show("coverage")
    picker = dashboard.testid("coverage-state")
    assert picker.get_attribute("value") == "us-ct"
    before = dashboard.refreshes()
    picker.send_keys("Texas")  # a native select: typing a name picks it, as arrow keys would
    dashboard.wait_until_loaded("coverage", after=before)

    def texas_rows() -> list[str]:
        if dashboard.testid("coverage-state").get_attribute("value") != "us-tx":
            return []
        return [
            r.get_attribute("data-jurisdiction-id") or ""
            for r in dashboard.all('[data-testid="coverage-row"]')
        ]

    rows = dashboard.wait(texas_rows, what="Texas's places")
    assert "us-tx/county/harris" in rows
    assert all(r.startswith("us-tx") for r in rows)
    assert "of 255 places" in dashboard.testid("coverage-count").text


def test_wrong_key_is_refused_and_asked_again(dashboard: Dashboard) -> None:
    dashboard.open()
    dashboard.enter_key("vk_nosuchkey_0123456789abcdefghijklmnop")

    message = dashboard.wait(
        lambda: dashboard.testid("key-message").text if key_form_shown(dashboard) else "",
        what="the key form to come back with a message",
    )
    assert "refused" in message
    assert stored_key(dashboard) is None
    assert dashboard.testid("key-input").get_attribute("value") == ""
    assert dashboard.driver.switch_to.active_element == dashboard.testid("key-input")

    dashboard.enter_key(dashboard.stack.admin_key)
    dashboard.wait_until_loaded("open")
    assert stored_key(dashboard) == dashboard.stack.admin_key


def test_a_viewer_key_sees_no_personal_data(dashboard: Dashboard) -> None:
    stack = dashboard.stack
    name = f"Marisol Quintero-{uuid.uuid4().hex[:6]}"
    particulars = [name, "1987-06-05", "A012345678", "012345678", "53a-60"]
    notice_id = submit(
        stack,
        {
            "type": "detainer",
            "external_id": f"I247A-browser-{uuid.uuid4().hex[:8]}",
            "form": "I-247A",
            "issued_at": "2026-11-27T09:30:00-05:00",
            "facility": "Bridgeport Correctional Center",
            "subject": {"name": name, "date_of_birth": "1987-06-05", "a_number": "A012345678"},
            "release_due_at": "2026-11-28T17:00:00-05:00",
            "judicial_warrant": False,
            "convictions": [{"statute": "53a-60", "class": "D felony", "date": "2019-03-01"}],
            "summary": f"Request concerning {name}, born 1987-06-05",
        },
    )
    viewer = stack.call("POST", "/keys", {"name": "browser viewer", "role": "viewer"})
    assert viewer.status == 201

    dashboard.sign_in(key=viewer.body["key"])
    seen: list[str] = []
    for view in ("open", f"detail={notice_id}", "coverage", "acks", "detainers"):
        dashboard.show(view)
        seen += [dashboard.text(), dashboard.driver.page_source]
    dashboard.show(f"detail={notice_id}")
    assert (
        dashboard.testid("detail-title").text == "I-247A detainer request at Bridgeport Correctional Center"
    )
    assert "Recipient names are shown to admin keys only." in dashboard.text()
    assert "@" not in dashboard.text()  # no recipient's address either

    for text in seen:
        for particular in particulars:
            assert particular not in text


def test_page_works_at_phone_width(dashboard: Dashboard) -> None:
    notice_id = submit(dashboard.stack, rollout("Norwalk"))
    set_viewport(dashboard.driver, PHONE)
    dashboard.open()
    dashboard.wait_for_testid("key-input")
    assert dashboard.script("return innerWidth") == PHONE[0]

    def overflow() -> Any:
        return dashboard.script("return document.documentElement.scrollWidth - innerWidth")

    assert overflow() <= 0
    dashboard.enter_key(dashboard.stack.admin_key)
    dashboard.wait_until_loaded("open")
    for view in ("open", f"detail={notice_id}", "coverage", "acks", "detainers"):
        dashboard.show(view)
        assert overflow() <= 0, f"{view} is wider than the phone's screen"
    # Single column: the open notices' table reads as one card per notice.
    dashboard.show("open")
    row = dashboard.row('[data-testid="open-notice-row"]', notice_id)
    assert row is not None
    assert row.value_of_css_property("display") == "block"


def test_a_link_with_the_key_in_its_fragment_opens_the_dashboard_and_drops_the_key_from_the_address(
    dashboard: Dashboard,
) -> None:
    """make run prints /dashboard#key=…: a fragment is never sent to the server."""
    key = dashboard.stack.admin_key
    dashboard.open(f"#key={key}")

    dashboard.wait_until_loaded("open")
    assert stored_key(dashboard) == key
    assert key not in dashboard.driver.current_url
    assert dashboard.script("return location.hash") == ""
    assert not dashboard.testid("key-section").is_displayed()


def test_dates_carry_their_year_old_deadlines_read_as_dates_and_each_notice_says_its_state(
    dashboard: Dashboard,
) -> None:
    """A detainer of 2013 and one of this year must not look alike; a deadline years past is a date,
    not "passed 4533 d 18 h ago"; the open list says what each notice waits for."""
    stack = dashboard.stack
    old_id = submit(
        stack,
        {
            "type": "detainer",
            "external_id": f"I247-2013-{uuid.uuid4().hex[:8]}",
            "form": "I-247",
            "issued_at": "2013-03-04T10:00:00-05:00",
            "facility": "Bridgeport Correctional Center",
            "subject": {"name": "Old Case", "date_of_birth": "1980-01-01", "a_number": "A012345670"},
            "release_due_at": "2013-03-05T17:00:00-05:00",
            "judicial_warrant": False,
            "summary": "An I-247 of 2013",
        },
    )
    dashboard.sign_in()
    dashboard.show(f"detail={old_id}")
    text = dashboard.wait(dashboard.text, what="the 2013 dates", done=lambda shown: "2013" in shown)
    assert "Mar 4, 2013" in text
    assert "passed on Mar" in text
    assert " d " not in text.split("Hold deadline", 1)[1].split("\n", 1)[0]  # a date, not thousands of days
    assert "waiting for a reviewer's decision" in dashboard.testid("detail-state").text

    dashboard.show("open")
    row = dashboard.wait(lambda: dashboard.row('[data-testid="open-notice-row"]', old_id), what="the row")
    assert row is not None
    state = row.find_element(By.CSS_SELECTOR, '[data-testid="notice-state"]').text
    assert state.startswith("Open: waiting for a reviewer's decision")
    assert "passed on Mar 7, 2013" in row.text  # the hold deadline years ago: a date, not an age
