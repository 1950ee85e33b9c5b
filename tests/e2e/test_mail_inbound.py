"""The story on the local stack, through the path SES takes (``POST /dev/mail/inbound``): the desk
sergeant's authenticated forward of ICE's Friday email becomes a statewide rollout that goes out
marked low-key, quoting the sentence it was read from; the patrol supervisors' forward of the same
email adds a report and sends nothing; a copy claiming to come from ICE that fails DMARC is held in
triage and the admins are emailed."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_local_stack import (
    DELIVERY_TIMEOUT_SECONDS,
    STATEWIDE_ROLLOUT_EMAILS,
    emails_for,
    recipients,
)

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
ALL_PASS = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS", "spam": "PASS", "virus": "PASS"}
FORGED = {"spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL", "spam": "PASS", "virus": "PASS"}
STATE_OFFICIALS = {"cj.adviser@governor.example.gov", "commissioner@doc.example.gov"}
ADMINS = "vigil-admins@example.gov"  # the local stack's VIGIL_ADMIN_EMAILS
QUOTED = (
    "“This is to advise that Secure Communities, currently operating in Fairfield County, will be "
    "activated statewide on Wednesday.”"
)


def story(name: str) -> bytes:
    """A copy of the story's message, as ICE sent it a couple of minutes later: the same copy as the
    corpus's in every other way, and its own original, so that this test's notice is its own whatever
    else ran on the shared stack first (another test posts the corpus's story)."""
    raw = (CORPUS / f"{name}.eml").read_bytes()
    assert b" 4:05 PM" in raw
    return raw.replace(b" 4:05 PM", b" 4:07 PM")


def receive(stack: RunningStack, raw: bytes, verdicts: dict[str, str]) -> Any:
    answer = stack.call(
        "POST", "/dev/mail/inbound", {"raw": base64.b64encode(raw).decode(), "verdicts": verdicts}, key=None
    )
    assert answer.status == 202, answer
    return answer.body


def trust(stack: RunningStack, sender: str) -> None:
    answer = stack.call(
        "POST", "/inbound/senders", {"sender": sender, "note": "an officer who forwards notices"}
    )
    assert answer.status in (201, 409), answer  # 409: listed by an earlier test on the same stack


def test_the_storys_forwards_make_one_low_key_statewide_rollout_quoting_its_sentence(
    local_stack: RunningStack,
) -> None:
    trust(local_stack, "desk.sergeant@example.gov")
    trust(local_stack, "patrol.supervisors@example.gov")

    first = receive(local_stack, story("story-inline-forward"), ALL_PASS)
    [accepted] = first["notices"]
    assert accepted["low_key"] is True
    assert first["sender"] == {"reporter": "desk.sergeant@example.gov", "verified": True, "via": "email"}
    notice_id = accepted["notice_id"]
    emails = wait_for(
        lambda: emails_for(local_stack, notice_id),
        lambda found: {a for e in found for a in e["to"]} >= STATE_OFFICIALS | STATEWIDE_ROLLOUT_EMAILS,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the statewide rollout's emails",
    )
    # The forwarded statewide notice reaches the places inside the state too, each person once.
    addresses = recipients(emails_for(local_stack, notice_id))
    for one in (
        "mayor@newhaven.example.gov",  # a town mayor
        "public.safety@fairfieldcounty.example.gov",  # a county coordinator
        "director@southcentral-cog.example.gov",  # a planning region's council
        "cj.adviser@governor.example.gov",  # the governor's office
    ):
        assert addresses.count(one) == 1, one
    to_adviser = next(e for e in emails if "cj.adviser@governor.example.gov" in e["to"])
    assert "low-key" in to_adviser["subject"]
    assert to_adviser["text"].startswith(
        "LOW-KEY: the original went only to lower-level staff (desk.sergeant@example.gov, "
        "patrol.supervisors@example.gov) on Fri 17 Feb 2012, 4:07 PM EST; nobody above them was told."
    )
    assert QUOTED in to_adviser["text"]
    assert "Original sender: ero.hartford@example.gov (claimed, not verified)" in to_adviser["text"]
    assert "Forwarded by: desk.sergeant@example.gov (verified)" in to_adviser["text"]
    sent_before = len(emails_for(local_stack, notice_id))

    second = receive(local_stack, story("story-outlook-forward-second-officer"), ALL_PASS)
    assert second["notices"] == []
    assert second["reported"] == [{"notice_id": notice_id, "status": "open", "report_count": 2}]
    time.sleep(3)  # the queue pump polls every second: anything the copy had queued would be out by now
    assert len(emails_for(local_stack, notice_id)) == sent_before
    notice = local_stack.call("GET", f"/notices/{notice_id}").body
    assert notice["report_count"] == 2
    assert [r["reporter"] for r in notice["reports"]] == [
        "desk.sergeant@example.gov",
        "patrol.supervisors@example.gov",
    ]
    log = local_stack.call("GET", f"/notices/{notice_id}/log").body
    assert log["verified"] is True
    assert [e["kind"] for e in log["entries"]].count("reported") == 2


def test_a_dmarc_failing_copy_claiming_ice_is_held_in_triage_and_the_admins_are_emailed(
    local_stack: RunningStack,
) -> None:
    trust(local_stack, "example.gov")  # even ICE's own domain trusted: its name on a forgery is not enough
    answer = receive(local_stack, (CORPUS / "story-forged-ice.eml").read_bytes(), FORGED)
    assert answer["notices"] == []
    held_id = answer["triage"]["notice_id"]
    assert [r["code"] for r in answer["triage"]["held"]] == ["dmarc-failed"]
    queue = local_stack.call("GET", "/inbound/triage?limit=100").body
    [held] = [item for item in queue["items"] if item["notice_id"] == held_id]
    assert held["verdicts"]["dmarc"] == "FAIL"
    assert held["sender"] == {"address": "ero.hartford@example.gov", "verified": False}
    alert = wait_for(
        lambda: [e for e in local_stack.outbox()["emails"] if ADMINS in e["to"] and held_id in e["text"]],
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what="the admins' email about the held copy",
    )[0]
    assert alert["subject"].startswith("[Vigil] Held for triage (dmarc-failed): URGENT: Secure Communities")
    assert "SPF FAIL, DKIM GRAY, DMARC FAIL" in alert["text"]
    assert "Correction to our earlier message" in alert["text"]
    assert local_stack.call("GET", f"/notices/{held_id}").body["status"] == "triage"
