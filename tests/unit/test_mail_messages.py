"""What people are told of a notice made from mail: a low-key notice says, in the email's subject and
first line, the text and the webhook, that the original went only to lower-level staff (to whom) and
that nobody above them was told; every notice made from mail shows its evidence (the sentences it was
read from, as written; the original's sender, claimed or verified, date and recipients; the
forwarders; how many reported it). Texts carry no more than the place, date and reference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.messages import SMS_MAX_CHARS, low_key_sentence, render_email, render_sms
from chalicelib.domain.subscribers import Role
from tests.builders import subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import call
from tests.unit.test_pipeline import ALL_CHANNELS, run

Keys = dict[ApiRole, str]
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
QUOTED = (
    "“This is to advise that Secure Communities, currently operating in Fairfield County, will be "
    "activated statewide on Wednesday.”"
)
LOW_KEY = (
    "LOW-KEY: the original went only to lower-level staff (desk.sergeant@example.gov, "
    "patrol.supervisors@example.gov) on Fri 17 Feb 2012, 4:05 PM EST; nobody above them was told."
)


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=ALL_CHANNELS))
    with Client(app) as test_client:
        yield test_client


def forwarded(client: Client, keys: Keys, world: FakeWorld, name: str = "story-inline-forward") -> str:
    response = client.http.post(
        "/inbound/email",
        headers={"Authorization": f"Bearer {keys[ApiRole.SOURCE]}", "Content-Type": "message/rfc822"},
        body=(CORPUS / f"{name}.eml").read_bytes(),
    )
    assert response.status_code == 202, response.body
    run(world)
    return str(json.loads(response.body)["notices"][0]["notice_id"])


def test_a_low_key_email_says_so_in_its_subject_and_first_line(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    forwarded(client, keys, world)
    [email] = world.email.sent
    assert email.subject.startswith("[Vigil] Rollout notice, low-key (only lower-level staff were told")
    assert "nobody above them" in email.subject
    assert email.text.splitlines()[0] == LOW_KEY
    assert email.html.startswith(f"<html><body><p><strong>{LOW_KEY}</strong></p>")


def test_every_channel_of_a_low_key_notice_says_who_alone_was_told(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    forwarded(client, keys, world)
    [text] = world.sms.sent
    assert text.body.startswith(
        "VIGIL ROLLOUT, LOW-KEY: the original went only to lower-level staff "
        "(desk.sergeant@example.gov and 1 more) on Fri 17 Feb 2012, 4:05 PM EST; nobody above them was told."
    )
    assert text.body.endswith("Reply 100000 to acknowledge.")
    assert len(text.body) <= SMS_MAX_CHARS
    [(hook, _)] = world.webhooks.sent
    data = hook.payload["data"]
    assert data["low_key"] is True
    assert data["low_key_note"] == LOW_KEY
    assert data["mail"]["original"]["recipients"] == [
        "desk.sergeant@example.gov",
        "patrol.supervisors@example.gov",
    ]


def test_the_email_shows_the_evidence_quoted_as_written_the_claimed_sender_and_the_forwarder(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    forwarded(client, keys, world)
    [email] = world.email.sent
    assert f"The program, date and place, as written: {QUOTED}" in email.text
    assert "Original sender: ero.hartford@example.gov (claimed, not verified)" in email.text
    assert "Original sent: Fri 17 Feb 2012, 4:05 PM EST" in email.text
    assert "Original recipients: desk.sergeant@example.gov, patrol.supervisors@example.gov" in email.text
    assert (
        "Forwarded by: desk.sergeant@example.gov (claimed, not verified)" in email.text
    )  # posted with a key
    assert "Reported to Vigil by: 1: API key" in email.text
    assert "“This is to advise" in email.html


def test_the_acknowledgment_page_shows_the_low_key_sentence_and_the_evidence(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    forwarded(client, keys, world)
    link = world.email.sent[0].text.split("/ack/")[1].split()[0]
    page = client.http.get(f"/ack/{link}")
    assert page.status_code == 200
    text = page.body.decode()
    assert "LOW-KEY: the original went only to lower-level staff" in text
    assert "activated statewide on Wednesday.”" in text


def test_a_notice_that_is_not_low_key_says_nothing_of_it_but_still_shows_its_evidence(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice = world.notices.get(forwarded(client, keys, world, "several-counties"))
    told = replace(notice, extra={**notice.extra, "low_key": False})  # as if the governor's office had it
    assert low_key_sentence(told) is None
    email = render_email(told, to="adviser@example.gov", role=Role.STATE_EXECUTIVE, ack_url="https://x/ack/t")
    assert "low-key" not in email.subject.lower()
    assert email.text.startswith(told.title)
    assert (
        "The program, date and place, as written: “Secure Communities will be activated in Hartford"
        in email.text
    )
    assert "The place, as written: “New London County will be included on the same date.”" in email.text
    assert "Original sender: ero.hartford@example.gov (claimed, not verified)" in email.text
    assert "LOW-KEY" not in render_sms(told, to="+18605550100").body


def test_a_rollout_posted_as_json_has_no_mail_evidence(client: Client, keys: Keys, world: FakeWorld) -> None:
    from tests.builders import rollout_body  # noqa: PLC0415  # only here

    status, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body())
    assert status == 202
    run(world)
    [email] = world.email.sent
    assert "as written" not in email.text
    assert not email.subject.startswith("[Vigil] Rollout notice, low-key")
    status, shown = call(client, "GET", f"/notices/{accepted['notice_id']}", keys[ApiRole.VIEWER])
    assert (shown["mail"], shown["low_key_note"], shown["report_count"]) == (None, None, 0)


def test_a_text_with_long_addresses_still_fits_and_keeps_its_reply_code(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = forwarded(client, keys, world)
    notice = world.notices.get(notice_id)
    long_address = "a" * 60 + "@" + "b" * 60 + ".example.gov"
    mail: dict[str, Any] = {
        **notice.extra["mail"],
        "original": {**notice.extra["mail"]["original"], "recipients": [long_address]},
    }
    body = render_sms(
        replace(notice, extra={**notice.extra, "mail": mail}), to="+1", reply_code="123456"
    ).body
    assert len(body) <= SMS_MAX_CHARS
    assert "LOW-KEY: only lower-level staff were told; nobody above them." in body
    assert body.endswith("Reply 123456 to acknowledge.")


def test_the_notice_shows_its_evidence_and_reports_through_the_api(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    notice_id = forwarded(client, keys, world)
    status, shown = call(client, "GET", f"/notices/{notice_id}", keys[ApiRole.VIEWER])
    assert status == 200
    assert shown["low_key_note"] == LOW_KEY
    assert shown["mail"]["original"]["sender"] == "ero.hartford@example.gov"
    assert shown["mail"]["original"]["sender_verified"] is False
    sentences = [s for r in shown["mail"]["read_from"] for s in r["sentences"]]
    assert QUOTED.strip("“”") in sentences
    assert any(
        s.startswith("Beginning on that date, fingerprints") for s in sentences
    )  # "all … jurisdictions"
    assert shown["report_count"] == 1
