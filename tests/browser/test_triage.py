"""Mail on the dashboard in headless Chromium: a copy claiming to come from ICE that fails DMARC waits in
the Triage view, with why it was held and SES's verdicts, until an admin dismisses it there; a notice
made from a forwarded email shows that it is low-key, the sentence it was read from and who reported
it."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import Dashboard
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.browser

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
ALL_PASS = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS", "spam": "PASS", "virus": "PASS"}
FORGED = {"spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL", "spam": "PASS", "virus": "PASS"}


def receive(stack: RunningStack, raw: bytes, verdicts: dict[str, str]) -> Any:
    answer = stack.call(
        "POST", "/dev/mail/inbound", {"raw": base64.b64encode(raw).decode(), "verdicts": verdicts}, key=None
    )
    assert answer.status == 202, answer
    return answer.body


def a_forged_copy() -> bytes:
    """The corpus's forged copy, with a Message-ID of its own: each copy is held by itself."""
    raw = (CORPUS / "story-forged-ice.eml").read_bytes()
    return raw.replace(
        b"<20120217214000.8812@bulk-mailer.example.net>", f"<{uuid.uuid4()}@bulk-mailer.example.net>".encode()
    )


def test_a_forged_copy_claiming_ice_waits_in_triage_until_an_admin_dismisses_it(dashboard: Dashboard) -> None:
    held_id = receive(dashboard.stack, a_forged_copy(), FORGED)["triage"]["notice_id"]

    dashboard.sign_in("#triage")
    card = dashboard.wait(
        lambda: dashboard.row('[data-testid="triage-item"]', held_id), what="the held copy in the Triage view"
    )
    assert card is not None
    assert "URGENT: Secure Communities - Connecticut (corrected date)" in card.text
    reasons = card.find_element(By.CSS_SELECTOR, '[data-testid="triage-reasons"]')
    assert "fails DMARC" in reasons.text
    # (untrusted-sender too, unless an earlier test on the same stack trusted example.gov)
    assert "dmarc-failed" in [
        li.get_attribute("data-code") for li in reasons.find_elements(By.TAG_NAME, "li")
    ]
    verdicts = card.find_element(By.CSS_SELECTOR, '[data-testid="triage-verdicts"]').text
    assert "DMARC FAIL" in verdicts
    assert "envelope bounce-8812@bulk-mailer.example.net" in verdicts
    assert (
        "Correction to our earlier message"
        in card.find_element(By.CSS_SELECTOR, '[data-testid="triage-excerpt"]').text
    )
    assert "ero.hartford@example.gov (not verified)" in card.text

    dismiss = card.find_element(By.CSS_SELECTOR, '[data-testid="triage-dismiss"]')
    dismiss.find_element(By.CSS_SELECTOR, "input").send_keys("a forgery: it fails DMARC")
    dismiss.find_element(By.CSS_SELECTOR, '[data-testid="triage-dismiss-button"]').click()

    outcome = dashboard.wait_for_testid("triage-outcome")
    assert outcome.text == f"Dismissed {held_id}."
    dashboard.wait(
        lambda: dashboard.row('[data-testid="triage-item"]', held_id) is None,
        what="the dismissed copy to leave",
    )
    notice = dashboard.stack.call("GET", f"/notices/{held_id}").body
    assert notice["status"] == "closed"
    audit = dashboard.stack.call("GET", "/audit?limit=20").body
    assert any(
        e["data"]["action"] == "triage.dismissed" and e["data"]["target"] == held_id for e in audit["items"]
    )


def test_a_refused_completion_says_what_is_wrong_and_keeps_the_message_held(dashboard: Dashboard) -> None:
    held_id = receive(dashboard.stack, a_forged_copy(), FORGED)["triage"]["notice_id"]
    dashboard.sign_in("#triage")
    card = dashboard.wait(lambda: dashboard.row('[data-testid="triage-item"]', held_id), what="the held copy")
    assert card is not None
    place = card.find_element(By.CSS_SELECTOR, 'input[id$="-place"]')
    place.clear()
    place.send_keys("Gotham")
    card.find_element(By.CSS_SELECTOR, '[data-testid="triage-route"]').click()
    error = dashboard.wait_for_testid("triage-error")
    assert "jurisdiction" in error.text
    assert dashboard.stack.call("GET", f"/notices/{held_id}").body["status"] == "triage"


def test_a_notice_from_a_forwarded_email_shows_it_is_low_key_its_sentence_and_its_reporters(
    dashboard: Dashboard,
) -> None:
    stack = dashboard.stack
    assert stack.call("POST", "/inbound/senders", {"sender": "desk.sergeant@example.gov"}).status in (
        201,
        409,
    )
    # Its own original (another minute): the e2e tests post the story's on the same stack.
    raw = (CORPUS / "story-inline-forward.eml").read_bytes().replace(b" 4:05 PM", b" 4:11 PM")
    [accepted] = receive(stack, raw, ALL_PASS)["notices"]

    dashboard.sign_in(f"#detail={accepted['notice_id']}")
    note = dashboard.wait_for_testid("low-key-note")
    assert note.text == (
        "LOW-KEY: the original went only to lower-level staff (desk.sergeant@example.gov, "
        "patrol.supervisors@example.gov) on Fri 17 Feb 2012, 4:11 PM EST; nobody above them was told."
    )
    sentences = [e.text for e in dashboard.all('[data-testid="evidence-sentence"]')]
    assert any(
        s.startswith(
            "“This is to advise that Secure Communities, currently operating in Fairfield County, will be "
            "activated statewide on Wednesday.”"
        )
        for s in sentences
    )
    facts = dashboard.testid("mail-facts").text
    assert "ero.hartford@example.gov (claimed, not verified)" in facts
    assert "desk.sergeant@example.gov (verified)" in facts
    assert dashboard.testid("report-count").get_attribute("data-count") == "1"
