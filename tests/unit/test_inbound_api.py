"""Mail in: a forwarded notice posted with a key (trusted as its holder) or received by SES (trusted only
when authenticated and sent by a trusted sender) becomes one routed notice per original message,
flagged low-key when nobody accountable was told; later copies are further reports; anything that
cannot be trusted or read is held in triage, which admins work through the API. Bad messages are
refused and kept."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

import app as app_module
from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.mail_trust import SenderKind, TrustedSender
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import Channel, ChannelRef, ChannelType, Role
from tests.builders import NOW, UNIT_SECRET, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call
from tests.unit.test_pipeline import run
from vigil_local.ses import received_notification, sns_event

Keys = dict[ApiRole, str]
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
ALL_PASS = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS", "spam": "PASS", "virus": "PASS"}
ADMIN_EMAIL = "ops@vigil.example.gov"


def message(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(
        world.deps(
            Settings.from_env(
                {"VIGIL_STAGE": "dev", "VIGIL_ACK_SECRET": UNIT_SECRET, "VIGIL_ADMIN_EMAILS": ADMIN_EMAIL}
            )
        )
    )
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    with Client(app) as test_client:
        yield test_client


def post_mail(
    client: Client, key: str | None, raw: bytes, content_type: str = "message/rfc822"
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    response = client.http.post("/inbound/email", headers=headers, body=raw)
    return response.status_code, json.loads(response.body)


def trust(world: FakeWorld, sender: str) -> None:
    kind = SenderKind.ADDRESS if "@" in sender else SenderKind.DOMAIN
    world.trusted_senders.add(TrustedSender(sender, kind, "", added_by="k", added_at=NOW))


def received(world: FakeWorld, raw: bytes, verdicts: dict[str, str] | None = None) -> str:
    """What SES does: store the message in the bucket, then publish its notification to on_inbound_email."""
    key = f"inbound/{hashlib.sha256(raw).hexdigest()}"
    world.mail.objects[key] = raw
    notification = received_notification(
        raw, bucket="fake-bucket", key=key, verdicts=verdicts or ALL_PASS, stage="dev"
    )
    app_module.on_inbound_email(sns_event(json.dumps(notification), stage="dev"), None)
    return key


def notices(world: FakeWorld, status: NoticeStatus | None = None) -> list[Any]:
    return [n for n in world.notices.notices.values() if status is None or n.status is status]


def admin_emails(world: FakeWorld) -> list[Any]:
    return [e for e in world.email.sent if e.to == ADMIN_EMAIL]


# --- posted to the API with a key: trusted as the key's holder -------------------------------------


def test_the_storys_forwarded_email_becomes_a_statewide_rollout_flagged_low_key(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    assert status == 202, body
    [accepted] = body["notices"]
    notice = world.notices.get(accepted["notice_id"])
    assert notice.jurisdiction_id == "us-ct"
    assert notice.event["program"] == "secure-communities"
    assert notice.event["effective_at"] == "2012-02-22T00:00:00-05:00"
    assert notice.low_key is True  # a desk sergeant and patrol supervisors: no state executive
    assert accepted["low_key"] is True
    assert body["extraction"]["effective_at"]["certain"] is True
    assert body["sender"] == {
        "reporter": f"API key {keys[ApiRole.SOURCE].split('_')[1]}",
        "verified": True,
        "via": "api",
    }
    assert body["raw"].startswith("s3://")
    assert list(world.mail.objects.values()) == [message("story-inline-forward")]
    created, reported = world.ack_log.entries(notice.id)[:2]
    assert (created.kind, created.data["raw"], created.data["low_key"]) == (
        EntryKind.CREATED,
        body["raw"],
        True,
    )
    assert reported.kind is EntryKind.REPORTED
    assert notice.report_count == 1
    run(world)
    assert [m.to for m in world.email.sent] == ["adviser@example.gov"]


def test_a_low_key_notice_escalates_three_times_sooner(client: Client, keys: Keys, world: FakeWorld) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    run(world)
    notice = world.notices.get(body["notices"][0]["notice_id"])
    assert notice.next_step_at is not None
    assert (notice.next_step_at - notice.received_at).total_seconds() == 15 * 60 / 3


def test_a_notice_the_executive_received_is_not_low_key(client: Client, keys: Keys, world: FakeWorld) -> None:
    world.subscribers.subscribers["adviser"] = subscriber(
        "adviser",
        Role.STATE_EXECUTIVE,
        "us-ct",
        channels=(Channel(ChannelType.EMAIL, "patrol.supervisors@example.gov"),),
    )
    world.contacts.claim("patrol.supervisors@example.gov", ChannelRef("adviser", "x"))
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    assert body["notices"][0]["low_key"] is False


def test_the_same_message_twice_is_one_notice_and_one_report(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, first = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    _, second = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    notice_id = first["notices"][0]["notice_id"]
    assert second["notices"] == []
    assert second["reported"] == [{"notice_id": notice_id, "status": "open", "report_count": 1}]
    assert world.notices.get(notice_id).report_count == 1  # the same copy counts once


def test_a_message_naming_no_program_is_held_for_triage_and_the_admins_told(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    assert status == 202
    assert body["notices"] == []
    assert body["triage"]["missing"] == ["program"]
    assert [r["code"] for r in body["triage"]["held"]] == ["incomplete"]
    held = world.notices.get(body["triage"]["notice_id"])
    assert held.status is NoticeStatus.TRIAGE
    assert world.route_queue.sent == []  # never routed on a guess
    [email] = admin_emails(world)
    assert email.subject == "[Vigil] Held for triage (incomplete): Change to fingerprint processing"
    assert "Subject: Change to fingerprint processing" in email.text
    assert "Verdicts: none: posted to the API by API key" in email.text
    assert "Effective Wednesday, February 22, 2012, fingerprints submitted" in email.text  # the excerpt


def test_a_newsletter_is_held_quietly_and_never_routed(client: Client, keys: Keys, world: FakeWorld) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("newsletter-fingerprints"))
    assert body["notices"] == []
    assert [r["code"] for r in body["triage"]["held"]] == ["unrelated"]
    assert admin_emails(world) == []
    assert world.route_queue.sent == []
    status, queue = call(client, "GET", "/inbound/triage", keys[ApiRole.ADMIN])
    assert status == 200
    assert [(item["notice_id"], item["quiet"]) for item in queue["items"]] == [
        (body["triage"]["notice_id"], True)
    ]


def test_an_admin_completes_triage_and_the_notice_is_routed(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    held_id = body["triage"]["notice_id"]
    status, done = call(
        client,
        "POST",
        f"/inbound/triage/{held_id}",
        keys[ApiRole.ADMIN],
        {
            "program": "secure-communities",
            "jurisdiction": "statewide",
            "effective_at": "2012-02-22T00:00:00-05:00",
        },
    )
    assert status == 202
    routed = world.notices.get(done["notices"][0]["notice_id"])
    assert routed.status is NoticeStatus.OPEN
    assert routed.extra["triaged_from"] == held_id
    assert routed.report_count == 1  # the held copy's report goes with it
    assert world.notices.get(held_id).status is NoticeStatus.CLOSED
    assert call(client, "POST", f"/inbound/triage/{held_id}", keys[ApiRole.ADMIN], {})[0] == 404


def test_triage_completion_with_bad_fields_is_400_naming_them(client: Client, keys: Keys) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    status, answer = call(
        client,
        "POST",
        f"/inbound/triage/{body['triage']['notice_id']}",
        keys[ApiRole.ADMIN],
        {"jurisdiction": "Gotham"},
    )
    assert status == 400
    assert {"program", "jurisdiction", "effective_at"} <= {d["field"] for d in answer["details"]}


def test_a_malformed_message_is_refused_and_kept_for_inspection(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, body = post_mail(client, keys[ApiRole.SOURCE], message("malformed-not-an-email"))
    assert status == 400
    assert_error(body, "invalid_input")
    assert body["details"][0]["field"] == "body"
    assert [k.split("/")[0] for k in world.mail.objects] == ["malformed"]
    assert world.notices.notices == {}


def test_an_oversized_message_is_413_and_not_kept(client: Client, keys: Keys, world: FakeWorld) -> None:
    status, body = post_mail(
        client, keys[ApiRole.SOURCE], b"Subject: x\r\n\r\n" + b"x" * (10 * 1024 * 1024 + 1)
    )
    assert status == 413
    assert_error(body, "too_large")
    assert world.mail.objects == {}


def test_inbound_mail_needs_a_source_or_admin_key(client: Client, keys: Keys, world: FakeWorld) -> None:
    raw = message("story-inline-forward")
    assert post_mail(client, None, raw)[0] == 401
    for role in (ApiRole.VIEWER, ApiRole.REVIEWER):
        assert post_mail(client, keys[role], raw)[0] == 403
    assert call(client, "POST", "/inbound/triage/x", keys[ApiRole.SOURCE], {})[0] == 403
    assert world.notices.notices == {}
    assert world.mail.objects == {}


# --- received by SES: authenticated, trusted, or held ----------------------------------------------


def test_a_trusted_forwarders_copy_is_routed_the_forwarder_verified_and_the_original_claimed(
    client: Client, world: FakeWorld
) -> None:
    trust(world, "desk.sergeant@example.gov")
    received(world, message("story-inline-forward"))
    [notice] = notices(world)
    assert notice.status is NoticeStatus.OPEN
    assert notice.jurisdiction_id == "us-ct"
    assert notice.submitted_by == "ses-inbound"
    [report] = notice.reports
    assert (report["reporter"], report["verified"], report["via"], report["forwarded"]) == (
        "desk.sergeant@example.gov",
        True,
        "email",
        True,
    )
    mail = notice.extra["mail"]
    assert mail["original"]["sender"] == "ero.hartford@example.gov"
    assert mail["original"]["sender_verified"] is False  # inside a forward: claimed
    assert mail["forwarders"] == [{"address": "desk.sergeant@example.gov", "verified": True}]
    assert world.route_queue.sent == [{"notice_id": notice.id}]


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        ({**ALL_PASS, "dmarc": "FAIL"}, "dmarc-failed"),
        ({**ALL_PASS, "spf": "FAIL", "dkim": "FAIL", "dmarc": "GRAY"}, "spf-and-dkim-failed"),
        (
            {"spf": "GRAY", "dkim": "GRAY", "dmarc": "GRAY", "spam": "PASS", "virus": "PASS"},
            "unauthenticated",
        ),
        ({**ALL_PASS, "spam": "FAIL"}, "spam"),
        ({**ALL_PASS, "virus": "FAIL"}, "virus"),
    ],
)
def test_a_copy_that_fails_its_checks_is_held_never_routed(
    client: Client, world: FakeWorld, verdicts: dict[str, str], code: str
) -> None:
    trust(world, "desk.sergeant@example.gov")
    received(world, message("story-inline-forward"), verdicts)
    [held] = notices(world)
    assert held.status is NoticeStatus.TRIAGE
    assert [reason["code"] for reason in held.extra["held"]] == [code]
    assert world.route_queue.sent == []
    [email] = admin_emails(world)
    assert f"Held for triage ({code})" in email.subject


def test_the_forged_ice_copy_is_held_and_the_admins_see_its_subject_sender_verdicts_and_an_excerpt(
    client: Client, world: FakeWorld
) -> None:
    trust(world, "example.gov")  # the agency's domain: its name on a forged message is still not enough
    received(world, message("story-forged-ice"), {**ALL_PASS, "spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL"})
    [held] = notices(world)
    assert held.status is NoticeStatus.TRIAGE
    assert world.route_queue.sent == []
    [email] = admin_emails(world)
    assert email.subject == (
        "[Vigil] Held for triage (dmarc-failed): URGENT: Secure Communities - Connecticut (corrected date)"
    )
    assert "From: ero.hartford@example.gov (not verified)" in email.text
    assert "SPF FAIL, DKIM GRAY, DMARC FAIL, spam PASS, virus PASS" in email.text
    assert "envelope sender bounce-8812@bulk-mailer.example.net" in email.text
    assert "Correction to our earlier message: Secure Communities will be activated" in email.text


def test_an_untrusted_sender_is_held_and_trusting_it_lets_its_next_message_through(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    received(world, message("story-inline-forward"))
    [held] = notices(world)
    assert [reason["code"] for reason in held.extra["held"]] == ["untrusted-sender"]
    status, _ = call(client, "POST", "/inbound/senders", keys[ApiRole.ADMIN], {"sender": "Example.gov"})
    assert status == 201
    received(world, message("story-outlook-forward-second-officer"))  # patrol.supervisors@example.gov
    assert len(notices(world, NoticeStatus.OPEN)) == 1


def test_a_subscribers_confirmed_address_is_a_trusted_forwarder_and_an_unconfirmed_one_is_not(
    client: Client, world: FakeWorld
) -> None:
    desk = Channel(ChannelType.EMAIL, "desk.sergeant@example.gov", verified=False)
    world.subscribers.add(subscriber("desk", Role.LAW_ENFORCEMENT, "us-ct/town/hartford", channels=(desk,)))
    world.contacts.claim(desk.address, ChannelRef("desk", desk.id))
    received(world, message("story-inline-forward"))
    assert [n.status for n in notices(world)] == [NoticeStatus.TRIAGE]
    world.subscribers.subscribers["desk"] = subscriber(
        "desk",
        Role.LAW_ENFORCEMENT,
        "us-ct/town/hartford",
        channels=(Channel(ChannelType.EMAIL, desk.address),),
    )
    received(
        world, message("story-inline-forward").replace(b"Forwarding for the record.", b"Forwarding again.")
    )
    assert sorted(n.status for n in notices(world)) == [NoticeStatus.OPEN, NoticeStatus.TRIAGE]


def test_an_unreadable_notification_is_dropped_without_a_notice(client: Client, world: FakeWorld) -> None:
    app_module.on_inbound_email(sns_event(json.dumps({"receipt": {}}), stage="dev"), None)
    app_module.on_inbound_email(sns_event("not json", stage="dev"), None)
    assert world.notices.notices == {}


# --- one notice per original message ---------------------------------------------------------------


def test_the_same_original_forwarded_by_two_officers_is_one_notice_with_two_reports_and_one_alert(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    trust(world, "example.gov")
    received(world, message("story-inline-forward"))
    run(world)
    received(world, message("story-outlook-forward-second-officer"))
    received(world, message("spanish-client-forward"), ALL_PASS)  # coalicion@example.org: not trusted
    run(world)
    [notice] = notices(world, NoticeStatus.OPEN)
    assert notice.report_count == 2
    assert [r["reporter"] for r in notice.reports] == [
        "desk.sergeant@example.gov",
        "patrol.supervisors@example.gov",
    ]
    assert [m.to for m in world.email.sent if m.to != ADMIN_EMAIL] == ["adviser@example.gov"]  # alerted once
    kinds = [e.kind for e in world.ack_log.entries(notice.id)]
    assert kinds.count(EntryKind.REPORTED) == 2
    status, shown = call(client, "GET", f"/notices/{notice.id}", keys[ApiRole.VIEWER])
    assert status == 200
    assert shown["report_count"] == 2
    assert [r["reporter"] for r in shown["reports"]] == [
        "desk.sergeant@example.gov",
        "patrol.supervisors@example.gov",
    ]


def test_the_original_sent_directly_and_forwarded_is_one_notice(client: Client, world: FakeWorld) -> None:
    trust(world, "example.gov")
    received(world, message("story-direct-from-ice"))
    received(world, message("story-inline-forward"))
    [notice] = notices(world)
    assert notice.report_count == 2
    first, second = notice.reports
    assert (first["reporter"], first["forwarded"]) == ("ero.hartford@example.gov", False)
    assert notice.extra["mail"]["original"]["sender_verified"] is True  # sent directly, authenticated
    assert (second["reporter"], second["forwarded"]) == ("desk.sergeant@example.gov", True)
    assert len(world.route_queue.sent) == 1


def test_a_copy_delivered_twice_by_ses_counts_once(client: Client, world: FakeWorld) -> None:
    trust(world, "example.gov")
    raw = message("story-inline-forward")
    received(world, raw)
    received(world, raw)
    [notice] = notices(world)
    assert notice.report_count == 1


def test_two_different_messages_about_the_same_place_and_date_stay_two_notices(
    client: Client, world: FakeWorld
) -> None:
    trust(world, "example.gov")
    original = message("story-direct-from-ice")
    reminder = original.replace(
        b"Date: Fri, 17 Feb 2012 16:05:00", b"Date: Mon, 20 Feb 2012 09:30:00"
    ).replace(b"Good afternoon,", b"Reminder:")
    received(world, original)
    received(world, reminder)
    opened = notices(world, NoticeStatus.OPEN)
    assert len(opened) == 2
    assert {n.jurisdiction_id for n in opened} == {"us-ct"}
    assert {n.event["effective_at"] for n in opened} == {"2012-02-22T00:00:00-05:00"}


def test_an_untrusted_copy_held_does_not_block_a_trusted_copy_of_the_same_original(
    client: Client, world: FakeWorld
) -> None:
    trust(world, "desk.sergeant@example.gov")
    received(world, message("story-outlook-forward-second-officer"))  # patrol supervisors: not trusted
    received(world, message("story-inline-forward"))
    assert sorted(n.status for n in notices(world)) == [NoticeStatus.OPEN, NoticeStatus.TRIAGE]


def test_completing_a_held_copy_routes_it_once_and_later_copies_of_its_original_are_reports(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    received(world, message("story-outlook-forward-second-officer"))  # untrusted: held
    [held] = notices(world)
    completion = {
        "program": "secure-communities",
        "jurisdiction": "statewide",
        "effective_at": "2012-02-22T00:00:00-05:00",
    }
    status, done = call(client, "POST", f"/inbound/triage/{held.id}", keys[ApiRole.ADMIN], completion)
    assert status == 202
    routed_id = done["notices"][0]["notice_id"]
    trust(world, "desk.sergeant@example.gov")
    received(world, message("story-inline-forward"))
    assert len(notices(world, NoticeStatus.OPEN)) == 1
    routed = world.notices.get(routed_id)
    assert routed.report_count == 2
    assert len(world.route_queue.sent) == 1


def test_completing_a_held_copy_whose_original_was_routed_meanwhile_finds_that_notice(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    received(world, message("story-outlook-forward-second-officer"))  # untrusted: held
    [held] = notices(world)
    trust(world, "desk.sergeant@example.gov")
    received(world, message("story-inline-forward"))  # trusted: routed
    [routed] = notices(world, NoticeStatus.OPEN)
    completion = {
        "program": "secure-communities",
        "jurisdiction": "statewide",
        "effective_at": "2012-02-22T00:00:00-05:00",
    }
    status, done = call(client, "POST", f"/inbound/triage/{held.id}", keys[ApiRole.ADMIN], completion)
    assert status == 202
    assert done["notices"][0] == {**done["notices"][0], "notice_id": routed.id, "duplicate": True}
    assert world.notices.get(routed.id).report_count == 2
    assert len(world.route_queue.sent) == 1


# --- the triage queue ------------------------------------------------------------------------------


def test_the_triage_queue_lists_held_messages_oldest_first_with_why_verdicts_sender_and_excerpt(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    received(world, message("story-forged-ice"), {**ALL_PASS, "spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL"})
    post_mail(client, keys[ApiRole.SOURCE], message("no-program-named"))
    status, queue = call(client, "GET", "/inbound/triage?limit=1", keys[ApiRole.ADMIN])
    assert status == 200
    [forged] = queue["items"]
    assert [r["code"] for r in forged["reasons"]] == ["dmarc-failed", "untrusted-sender"]
    assert forged["verdicts"]["dmarc"] == "FAIL"
    assert forged["sender"] == {"address": "ero.hartford@example.gov", "verified": False}
    assert forged["subject"] == "URGENT: Secure Communities - Connecticut (corrected date)"
    assert forged["excerpt"].startswith("Correction to our earlier message")
    assert forged["read_as"] == {
        "program": "secure-communities",
        "effective_at": "2012-02-20T00:00:00-05:00",
        "jurisdictions": ["us-ct"],
    }
    status, rest = call(client, "GET", f"/inbound/triage?cursor={queue['cursor']}", keys[ApiRole.ADMIN])
    assert status == 200
    assert [item["missing"] for item in rest["items"]] == [["program"]]
    assert rest["items"][0]["verdicts"] is None  # posted to the API


def test_an_admin_dismisses_a_held_message_with_a_reason_and_it_is_audited(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("newsletter-fingerprints"))
    held_id = body["triage"]["notice_id"]
    status, answer = call(
        client, "POST", f"/inbound/triage/{held_id}/dismiss", keys[ApiRole.ADMIN], {"reason": "a newsletter"}
    )
    assert status == 200
    assert answer["status"] == "closed"
    assert answer["dismissed"]["reason"] == "a newsletter"
    assert world.notices.get(held_id).status is NoticeStatus.CLOSED
    [audited] = [e for e in world.ack_log.entries("audit") if e.data["action"] == "triage.dismissed"]
    assert audited.data["after"] == {"status": "closed", "dismissed": "a newsletter"}
    assert call(client, "GET", "/inbound/triage", keys[ApiRole.ADMIN])[1]["items"] == []
    assert (
        call(client, "POST", f"/inbound/triage/{held_id}/dismiss", keys[ApiRole.ADMIN], {"reason": "x"})[0]
        == 404
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"reason"}),
        ({"reason": "  "}, {"reason"}),
        ({"reason": "x" * 1001}, {"reason"}),
        ({"why": "x"}, {"reason", "why"}),
    ],
)
def test_a_dismissal_without_a_usable_reason_is_400_naming_the_field(
    client: Client, keys: Keys, body: dict[str, Any], fields: set[str]
) -> None:
    _, held = post_mail(client, keys[ApiRole.SOURCE], message("newsletter-fingerprints"))
    status, answer = call(
        client, "POST", f"/inbound/triage/{held['triage']['notice_id']}/dismiss", keys[ApiRole.ADMIN], body
    )
    assert status == 400
    assert {d["field"] for d in answer["details"]} == fields


def test_triage_is_for_admins_only(client: Client, keys: Keys) -> None:
    for role in (ApiRole.SOURCE, ApiRole.REVIEWER, ApiRole.VIEWER):
        assert call(client, "GET", "/inbound/triage", keys[role])[0] == 403
        assert call(client, "POST", "/inbound/triage/x/dismiss", keys[role], {"reason": "x"})[0] == 403


def test_a_notice_that_is_not_held_cannot_be_dismissed(client: Client, keys: Keys) -> None:
    _, body = post_mail(client, keys[ApiRole.SOURCE], message("story-inline-forward"))
    notice_id = body["notices"][0]["notice_id"]
    status, answer = call(
        client, "POST", f"/inbound/triage/{notice_id}/dismiss", keys[ApiRole.ADMIN], {"reason": "x"}
    )
    assert status == 404
    assert_error(answer, "not_found")


# --- trusted senders -------------------------------------------------------------------------------


def test_admins_list_add_and_remove_trusted_senders_and_each_change_is_audited(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    admin = keys[ApiRole.ADMIN]
    status, added = call(
        client, "POST", "/inbound/senders", admin, {"sender": " ICE.DHS.gov ", "note": "ICE"}
    )
    assert status == 201
    assert (added["sender"], added["kind"], added["note"]) == ("ice.dhs.gov", "domain", "ICE")
    assert added["added_by"] == admin.split("_")[1]
    call(client, "POST", "/inbound/senders", admin, {"sender": "Desk.Sergeant@Example.gov"})
    status, listed = call(client, "GET", "/inbound/senders", admin)
    assert status == 200
    assert [(e["sender"], e["kind"]) for e in listed["items"]] == [
        ("desk.sergeant@example.gov", "address"),
        ("ice.dhs.gov", "domain"),
    ]
    assert call(client, "DELETE", "/inbound/senders/desk.sergeant%40example.gov", admin) == (204, None)
    assert call(client, "DELETE", "/inbound/senders/ICE.dhs.gov", admin) == (204, None)
    assert call(client, "GET", "/inbound/senders", admin)[1]["items"] == []
    actions = [e.data["action"] for e in world.ack_log.entries("audit")]
    assert actions == ["sender.trusted", "sender.trusted", "sender.untrusted", "sender.untrusted"]


def test_a_sender_listed_twice_is_409_and_one_not_listed_is_404(client: Client, keys: Keys) -> None:
    admin = keys[ApiRole.ADMIN]
    assert call(client, "POST", "/inbound/senders", admin, {"sender": "ice.dhs.gov"})[0] == 201
    status, answer = call(client, "POST", "/inbound/senders", admin, {"sender": "ICE.dhs.gov"})
    assert status == 409
    assert_error(answer, "conflict")
    status, answer = call(client, "DELETE", "/inbound/senders/nobody.example.gov", admin)
    assert status == 404
    assert_error(answer, "not_found")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"sender"}),
        ({"sender": "gov"}, {"sender"}),
        ({"sender": "*.dhs.gov"}, {"sender"}),
        ({"sender": 7}, {"sender"}),
        ({"sender": "ice.dhs.gov\nBcc: x@example.com"}, {"sender"}),
        ({"sender": "ice.dhs.gov", "note": 3, "trust": "all"}, {"note", "trust"}),
    ],
)
def test_a_trusted_sender_that_is_not_an_address_or_a_domain_is_400_naming_the_field(
    client: Client, keys: Keys, body: dict[str, Any], fields: set[str]
) -> None:
    status, answer = call(client, "POST", "/inbound/senders", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert {d["field"] for d in answer["details"]} == fields


def test_trusted_senders_are_for_admins_only(client: Client, keys: Keys) -> None:
    for role in (ApiRole.SOURCE, ApiRole.REVIEWER, ApiRole.VIEWER):
        assert call(client, "GET", "/inbound/senders", keys[role])[0] == 403
        assert call(client, "POST", "/inbound/senders", keys[role], {"sender": "ice.dhs.gov"})[0] == 403
        assert call(client, "DELETE", "/inbound/senders/ice.dhs.gov", keys[role])[0] == 403


# --- the local stack's stand-in for SES --------------------------------------------------------------


@pytest.fixture
def local(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(world.deps(Settings.from_env({"VIGIL_STAGE": "local", "VIGIL_ADMIN_EMAILS": ADMIN_EMAIL})))
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct"))
    with Client(app) as test_client:
        yield test_client


def dev_mail(client: Client, name: str, verdicts: dict[str, Any] | None = None) -> tuple[int, Any]:
    body: dict[str, Any] = {"raw": base64.b64encode(message(name)).decode()}
    if verdicts is not None:
        body["verdicts"] = verdicts
    return call(client, "POST", "/dev/mail/inbound", None, body)


def test_dev_mail_goes_through_the_ses_handler_stored_in_the_bucket_as_ses_would(
    local: Client, world: FakeWorld
) -> None:
    trust(world, "example.gov")
    status, answer = dev_mail(local, "story-inline-forward", ALL_PASS)
    assert status == 202, answer
    [accepted] = answer["notices"]
    assert answer["sender"] == {"reporter": "desk.sergeant@example.gov", "verified": True, "via": "email"}
    assert answer["raw"].startswith("s3://fake-bucket/inbound/")
    assert list(world.mail.objects.values()) == [message("story-inline-forward")]
    assert world.notices.get(accepted["notice_id"]).submitted_by == "ses-inbound"
    status, again = dev_mail(local, "story-outlook-forward-second-officer", ALL_PASS)
    assert status == 202
    assert (again["notices"], again["reported"][0]["report_count"]) == ([], 2)


def test_dev_mail_without_verdicts_counts_them_as_none_and_holds_the_message(
    local: Client, world: FakeWorld
) -> None:
    trust(world, "example.gov")
    status, answer = dev_mail(local, "story-inline-forward")
    assert status == 202
    assert [r["code"] for r in answer["triage"]["held"]] == ["unauthenticated"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"raw"}),
        ({"raw": "not base64!"}, {"raw"}),
        ({"raw": "Zm9v", "verdicts": {"dmarc": "MAYBE", "arc": "PASS"}}, {"verdicts.dmarc", "verdicts.arc"}),
        ({"raw": "Zm9v", "verdicts": []}, {"verdicts"}),
    ],
)
def test_dev_mail_names_each_bad_field(local: Client, body: dict[str, Any], fields: set[str]) -> None:
    status, answer = call(local, "POST", "/dev/mail/inbound", None, body)
    assert status == 400
    assert {d["field"] for d in answer["details"]} == fields


def test_dev_mail_that_is_not_email_is_400_and_kept(local: Client, world: FakeWorld) -> None:
    body = {"raw": base64.b64encode(message("malformed-not-an-email")).decode(), "verdicts": ALL_PASS}
    status, answer = call(local, "POST", "/dev/mail/inbound", None, body)
    assert status == 400
    assert answer["details"][0]["field"] == "raw"
    assert len(world.mail.objects) == 1


def test_dev_mail_is_not_served_outside_the_local_stage(client: Client, world: FakeWorld) -> None:
    assert dev_mail(client, "story-inline-forward", ALL_PASS)[0] == 404
    assert world.mail.objects == {}
