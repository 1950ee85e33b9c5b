"""Triage: the queue of received messages held rather than routed, and the admins who work it.

A message is held when it cannot be trusted (its sender's checks, a flag, an untrusted sender) or
its program, date or place cannot be told (``services/inbound``). Held, it is a notice in status
``triage`` that nobody but the admins hears of: they are emailed what was held and why, with the
sender, SES's verdicts and an excerpt (unless nothing in it reads as a rollout: a newsletter waits in
the queue without an email). An admin completes it (program, place, date: it is then routed like any
notice of its original) or dismisses it with a reason; both are audited.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import Caller
from chalicelib.domain.errors import Conflict, FieldError, InvalidInput, NotFound
from chalicelib.domain.mail_trust import Assessment, HoldReason, Receipt
from chalicelib.domain.messages import OutgoingEmail
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.places import STATE_ID
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import AckLog, NoticeExists, NoticeStore, Page, SendFailed
from chalicelib.schemas.events import parse_event
from chalicelib.services import audit, ingest

if TYPE_CHECKING:
    from chalicelib.domain.inbound_mail import Extraction
    from chalicelib.services.inbound import MailDesk

logger = structlog.get_logger()

EXCERPT_CHARS = 600
# What a routed notice keeps of the notice it was completed from: the evidence, not the reasons it was held.
_CARRIED = ("raw", "low_key", "mail", "extraction", "original_id")


@dataclass(frozen=True, slots=True)
class Held:
    """A received copy to hold, and everything the admins are shown of it."""

    key: str
    extraction: Extraction
    reasons: tuple[HoldReason, ...]
    missing: tuple[str, ...]
    receipt: Receipt | None
    assessment: Assessment
    report: dict[str, Any]
    mail: dict[str, Any]
    uri: str
    caller: Caller
    now: datetime
    quiet: bool = False


def attach(notice_id: str, report: dict[str, Any], *, desk: MailDesk, actor: str, now: datetime) -> bool:
    """Count a copy as a report of the notice, once, and write it to the notice's log."""
    if not desk.notices.add_report(notice_id, report):
        return False
    desk.ack_log.append(
        notice_id,
        EntryKind.REPORTED,
        at=now,
        actor=actor,
        data={k: report[k] for k in ("id", "reporter", "verified", "via", "forwarded", "raw")},
    )
    return True


def hold(held: Held, *, desk: MailDesk) -> Notice:
    """Kept as a notice in triage (never routed on a guess nor on an untrusted word) and the admins
    told what was held and why."""
    from chalicelib.domain.inbound_mail.text import one_line  # noqa: PLC0415  # the reader: inbound paths only
    from chalicelib.services.inbound import extraction_json, low_key  # noqa: PLC0415  # a cycle at import

    x = held.extraction
    subject = x.subject.value or ""
    event = {"type": "rollout", "external_id": held.key, "summary": subject, "extraction": extraction_json(x)}
    notice = Notice(
        id=notice_id_for(EventType.ROLLOUT, held.key),
        type=EventType.ROLLOUT,
        status=NoticeStatus.TRIAGE,
        idempotency_key=held.key,
        fingerprint=fingerprint(event),
        jurisdiction_id=STATE_ID,
        title=one_line(f"Held for triage: {subject or 'a received message'}")[:200],
        received_at=held.now,
        event=event,
        submitted_by=held.caller.key_id,
        extra={
            "raw": held.uri,
            "original_id": x.original_id,
            "missing": list(held.missing),
            "held": [reason.as_json() for reason in held.reasons],
            "receipt": held.receipt.as_json() if held.receipt else None,
            "sender": {"address": held.assessment.reporter, "verified": held.assessment.verified},
            "subject": subject,
            "excerpt": one_line(x.text)[:EXCERPT_CHARS],
            "low_key": low_key(x.original_recipients.value or (), desk),
            "mail": held.mail,
            "quiet": held.quiet,
        },
    )
    try:
        desk.notices.add(notice)
    except NoticeExists as exists:
        attach(exists.existing.id, held.report, desk=desk, actor=held.caller.key_id, now=held.now)
        return desk.notices.get(exists.existing.id)
    codes = [str(reason.code) for reason in held.reasons]
    desk.ack_log.append(
        notice.id,
        EntryKind.CREATED,
        at=held.now,
        actor=held.caller.key_id,
        data={"triage": list(held.missing), "held": codes, "raw": held.uri},
    )
    attach(notice.id, held.report, desk=desk, actor=held.caller.key_id, now=held.now)
    if not held.quiet:
        _tell_admins(notice, held, desk=desk)
    logger.warning("inbound_mail.held", notice_id=notice.id, held=codes, missing=list(held.missing))
    return desk.notices.get(notice.id)


def _tell_admins(notice: Notice, held: Held, *, desk: MailDesk) -> None:
    """The subject, sender, verdicts and an excerpt, so an admin can judge from the email alone."""
    x = held.extraction
    why = "; ".join(reason.text for reason in held.reasons)
    receipt = held.receipt
    verdicts = (
        f"SPF {receipt.spf}, DKIM {receipt.dkim}, DMARC {receipt.dmarc}, spam {receipt.spam}, "
        f"virus {receipt.virus}"
        + (f", envelope sender {receipt.envelope_from}" if receipt.envelope_from else "")
        if receipt
        else f"none: posted to the API by {held.assessment.reporter}"
    )
    sender = held.assessment.reporter + (" (verified)" if held.assessment.verified else " (not verified)")
    read = [
        f"program {x.program.value or '?'}",
        f"effective {x.effective_at.value.isoformat() if x.effective_at.value else '?'}",
        f"places {', '.join(x.jurisdictions.value) if x.jurisdictions.value else '?'}",
    ]
    lines = [
        f"A message sent to Vigil was held, not routed: {why}.",
        "",
        f"Subject: {x.subject.value or '(none)'}",
        f"From: {sender}",
        f"Original sender (claimed): {x.original_sender.value or '(none)'}" if x.forwarders else None,
        f"Verdicts: {verdicts}",
        f"Read as: {'; '.join(read)}",
        "",
        "Excerpt:",
        notice.extra["excerpt"] or "(no text)",
        "",
        f"Complete it (program, place, date) or dismiss it with a reason: the dashboard's Triage view, "
        f"POST /inbound/triage/{notice.id} (or /dismiss), or `vigil triage complete|dismiss {notice.id}`.",
        f"Raw message: {held.uri}",
        "",
    ]
    text = "\n".join(line for line in lines if line is not None)
    codes = ", ".join(str(reason.code) for reason in held.reasons)
    subject = " ".join(
        f"[Vigil] Held for triage ({codes}): {x.subject.value or 'a received message'}".split()
    )
    for admin in desk.admins:
        try:
            desk.senders.email.send(
                OutgoingEmail(
                    to=admin.address,
                    subject=subject[:250],
                    text=text,
                    html="<pre>" + html.escape(text) + "</pre>",
                )
            )
        except SendFailed as exc:
            logger.error("admin_alert.failed", reason=exc.reason)


def queue(*, notices: NoticeStore, limit: int, cursor: str | None) -> Page[Notice]:
    """The held messages, oldest first."""
    return notices.held(limit=limit, cursor=cursor)


def complete(
    notice_id: str, body: Any, *, caller: Caller, desk: MailDesk, now: datetime
) -> list[ingest.Accepted]:
    """An admin supplies the program, place and date; the notice is then routed like any notice made of
    its original (a copy of the same original that arrives later is a further report of it)."""
    held = _in_triage(desk.notices, notice_id)
    if not isinstance(body, dict):
        raise InvalidInput("triage is invalid", [FieldError("body", "expected a JSON object")])
    event = {
        "type": "rollout",
        "program": body.get("program"),
        "jurisdiction": body.get("jurisdiction"),
        "effective_at": body.get("effective_at"),
        "summary": body.get("summary") or held.event.get("summary") or held.title,
        "title": body.get("title"),
    }
    fields = {k: v for k, v in event.items() if v is not None}
    submitted = parse_event(
        {**fields, "external_id": held.id}, idempotency_header=None, registry=desk.registry
    )
    original = held.extra.get("original_id")
    key = f"{original}:{submitted.jurisdiction_id}" if original else f"{held.idempotency_key}:triaged"
    submitted = parse_event({**fields, "external_id": key}, idempotency_header=None, registry=desk.registry)
    extra = {k: v for k, v in held.extra.items() if k in _CARRIED} | {"triaged_from": held.id}
    target = notice_id_for(EventType.ROLLOUT, key)
    try:
        accepted = ingest.Accepted(desk.notices.get(target), duplicate=True)  # a trusted copy came first
    except NotFound:
        try:
            accepted = ingest.accept(
                replace(submitted, extra=extra),
                caller=caller,
                notices=desk.notices,
                index=desk.index,
                registry=desk.registry,
                policies=desk.policies,
                route_queue=desk.route_queue,
                ack_log=desk.ack_log,
                now=now,
            )
        except Conflict:
            accepted = ingest.Accepted(desk.notices.get(target), duplicate=True)
    for report in held.reports:
        attach(accepted.notice.id, report, desk=desk, actor=caller.key_id, now=now)
    if desk.notices.close_triage(held.id, routed_as=accepted.notice.id, at=now):
        desk.ack_log.append(
            held.id, EntryKind.CLOSED, at=now, actor=caller.key_id, data={"routed_as": accepted.notice.id}
        )
        audit.record(
            desk.ack_log,
            actor=caller.key_id,
            action="triage.completed",
            target=held.id,
            before={"status": str(held.status)},
            after={"status": "closed", "routed_as": accepted.notice.id},
            now=now,
        )
    return [ingest.Accepted(desk.notices.get(accepted.notice.id), accepted.duplicate)]


def dismiss(
    notice_id: str, reason: str, *, caller: Caller, notices: NoticeStore, ack_log: AckLog, now: datetime
) -> Notice:
    """Closed without routing (a newsletter, a forgery, a duplicate), with the reason, audited."""
    held = _in_triage(notices, notice_id)
    if not notices.dismiss_triage(held.id, reason=reason, by=caller.key_id, at=now):
        raise NotFound(f"no notice in triage {notice_id!r}")
    ack_log.append(held.id, EntryKind.CLOSED, at=now, actor=caller.key_id, data={"dismissed": reason})
    audit.record(
        ack_log,
        actor=caller.key_id,
        action="triage.dismissed",
        target=held.id,
        before={"status": str(held.status)},
        after={"status": "closed", "dismissed": reason},
        now=now,
    )
    return notices.get(held.id)


def _in_triage(notices: NoticeStore, notice_id: str) -> Notice:
    held = notices.get(notice_id)
    if held.status is not NoticeStatus.TRIAGE:
        raise NotFound(f"no notice in triage {notice_id!r}")
    return held
