"""Low-key notices by email: what arrives in an inbox becomes a routed, tracked notice, or goes to
the admins for triage when the program, date or place cannot be told from it."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.errors import FieldError, InvalidInput, NotFound, TooLarge, VigilError
from chalicelib.domain.jurisdictions import STATE_ID, JurisdictionRegistry
from chalicelib.domain.messages import OutgoingEmail
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.subscribers import Channel, EventType
from chalicelib.ports import (
    AckLog,
    ContactStore,
    MailStore,
    NoticeExists,
    NoticeStore,
    PolicyStore,
    Senders,
    SendFailed,
    SubscriberStore,
    SubscriptionIndex,
    WorkQueue,
)
from chalicelib.schemas.events import SubmittedEvent, parse_event
from chalicelib.services import audit, ingest

if TYPE_CHECKING:
    # The mail reader is imported by receive(), not at module level: its parser and regular expressions
    # are the largest single import of the package, and only the inbound email paths need them, while
    # every Lambda function imports this module through app.py (cold start, docs/benchmarks.md §2).
    from chalicelib.domain.inbound_mail import Extraction, Found

logger = structlog.get_logger()

MAX_NOTICES_PER_MESSAGE = 10  # one per place named; more than this is a list to triage by hand


@dataclass(frozen=True, slots=True)
class Inbound:
    raw_uri: str
    extraction: Extraction
    notices: list[ingest.Accepted] = field(default_factory=list)
    triage: Notice | None = None

    def as_json(self) -> dict[str, Any]:
        x = self.extraction
        return {
            "raw": self.raw_uri,
            "notices": [{**a.as_json(), "low_key": a.notice.low_key} for a in self.notices],
            "triage": (
                {"notice_id": self.triage.id, "missing": list(self.triage.extra.get("missing", []))}
                if self.triage
                else None
            ),
            "extraction": extraction_json(x),
        }


def _found(found: Found[Any]) -> dict[str, Any]:
    value = found.value
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, tuple):
        value = list(value)
    return {"value": value, "source": found.source, "certain": found.certain}


def extraction_json(x: Extraction) -> dict[str, Any]:
    """Each field with where it came from, for the admin who checks it (no message body)."""
    return {
        "forwarded_by": x.forwarded_by,
        "original_sender": _found(x.original_sender),
        "original_recipients": _found(x.original_recipients),
        "sent_at": _found(x.sent_at),
        "subject": _found(x.subject),
        "program": _found(x.program),
        "effective_at": _found(x.effective_at),
        "jurisdictions": _found(x.jurisdictions),
        "attachments": list(x.attachments),
        "problems": list(x.problems),
    }


def raw_key(raw: bytes, now: datetime, *, folder: str) -> str:
    return f"{folder}/{now:%Y/%m/%d}/{hashlib.sha256(raw).hexdigest()}.eml"


@dataclass(frozen=True, slots=True)
class MailDesk:
    """What turning a message into notices needs."""

    mail: MailStore
    notices: NoticeStore
    index: SubscriptionIndex
    registry: JurisdictionRegistry
    policies: PolicyStore
    route_queue: WorkQueue
    contacts: ContactStore
    subscribers: SubscriberStore
    senders: Senders
    admins: Sequence[Channel]
    ack_log: AckLog


def receive(
    raw: bytes, *, caller: Caller, desk: MailDesk, now: datetime, stored_at: str | None = None
) -> Inbound:
    """``stored_at``: the S3 URI when SES already stored the message (the S3 path); else it is stored here."""
    from chalicelib.domain.inbound_mail import (  # noqa: PLC0415  # cold start: see TYPE_CHECKING above
        MAX_MESSAGE_BYTES,
        MalformedMessage,
        MessageTooLarge,
        needs_triage,
        parse_message,
    )

    if len(raw) > MAX_MESSAGE_BYTES:
        raise TooLarge(
            f"the message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}",
            [FieldError("body", f"must be at most {MAX_MESSAGE_BYTES} bytes")],
        )
    try:
        extraction = parse_message(raw, registry=desk.registry, received_at=now)
    except MessageTooLarge as exc:
        raise TooLarge(exc.reason, [FieldError("body", exc.reason)]) from None
    except MalformedMessage as exc:
        # Kept for inspection: a message someone forwarded in earnest is evidence even unreadable.
        uri = stored_at or desk.mail.put(raw_key(raw, now, folder="malformed"), raw)
        logger.warning("inbound_mail.malformed", stored=uri)
        raise InvalidInput(
            f"the message is not readable email: {exc.reason}", [FieldError("body", exc.reason)]
        ) from None
    uri = stored_at or desk.mail.put(raw_key(raw, now, folder="inbound"), raw)
    key = _idempotency_key(raw)
    if needs_triage(extraction):
        triage = _triage(extraction, key=key, uri=uri, caller=caller, desk=desk, now=now)
        return Inbound(uri, extraction, triage=triage)
    low_key = _low_key(extraction, desk)
    accepted = [
        _accept(extraction, place, key=key, uri=uri, low_key=low_key, caller=caller, desk=desk, now=now)
        for place in _places(extraction)
    ]
    logger.info("inbound_mail.accepted", notices=len(accepted), low_key=low_key)
    return Inbound(uri, extraction, notices=accepted)


def _idempotency_key(raw: bytes) -> str:
    # The same bytes forwarded twice are the same notice; so is the same message relayed twice by SES.
    return "email:" + hashlib.sha256(raw).hexdigest()[:32]


def _places(x: Extraction) -> list[str]:
    places = list(x.jurisdictions.value or ())
    if STATE_ID in places:
        return [STATE_ID]  # statewide covers every other place named
    return places[:MAX_NOTICES_PER_MESSAGE]


def _low_key(x: Extraction, desk: MailDesk) -> bool:
    """Nobody of the roles a rollout requires was among the original recipients."""
    required = set(desk.policies.get(EventType.ROLLOUT).required_roles)
    for address in x.original_recipients.value or ():
        owner = desk.contacts.owner(address)
        if owner is None:
            continue
        try:
            if desk.subscribers.get(owner.subscriber_id).role in required:
                return False
        except NotFound:
            continue
    return True


def _event_body(x: Extraction, place: str, key: str) -> dict[str, Any]:
    effective = x.effective_at.value
    assert effective is not None  # needs_triage ruled this out
    source: dict[str, Any] = {"agency": "forwarded email", "channel": "email"}
    if x.sent_at.value:
        source["sent_at"] = x.sent_at.value.isoformat()
    recipients = [a for a in (x.original_recipients.value or ()) if "@" in a][:200]
    if recipients:
        source["original_recipients"] = recipients
    summary = (x.subject.value or "Forwarded notice").strip()
    return {
        "type": "rollout",
        "external_id": f"{key}:{place}",
        "program": x.program.value,
        "jurisdiction": place,
        "effective_at": effective.isoformat(),
        "summary": summary[:2000],
        "source": source,
    }


def _accept(
    x: Extraction,
    place: str,
    *,
    key: str,
    uri: str,
    low_key: bool,
    caller: Caller,
    desk: MailDesk,
    now: datetime,
) -> ingest.Accepted:
    submitted: SubmittedEvent = parse_event(
        _event_body(x, place, key), idempotency_header=None, registry=desk.registry
    )
    submitted = replace(submitted, extra={"low_key": low_key, "raw": uri, "extraction": extraction_json(x)})
    return ingest.accept(
        submitted,
        caller=caller,
        notices=desk.notices,
        index=desk.index,
        registry=desk.registry,
        policies=desk.policies,
        route_queue=desk.route_queue,
        ack_log=desk.ack_log,
        now=now,
    )


def _triage(x: Extraction, *, key: str, uri: str, caller: Caller, desk: MailDesk, now: datetime) -> Notice:
    """Kept as a notice in triage (never routed on a guess) and the admins told what is missing."""
    missing = [
        name
        for name, found in (
            ("program", x.program),
            ("effective_at", x.effective_at),
            ("jurisdiction", x.jurisdictions),
        )
        if not found.value
    ]
    event = {
        "type": "rollout",
        "external_id": key,
        "summary": x.subject.value or "",
        "extraction": extraction_json(x),
    }
    notice = Notice(
        id=notice_id_for(EventType.ROLLOUT, key),
        type=EventType.ROLLOUT,
        status=NoticeStatus.TRIAGE,
        idempotency_key=key,
        fingerprint=fingerprint(event),
        jurisdiction_id=STATE_ID,
        title=f"Needs triage: {x.subject.value or 'forwarded notice'}"[:200],
        received_at=now,
        event=event,
        submitted_by=caller.key_id,
        extra={"raw": uri, "missing": missing, "low_key": _low_key(x, desk)},
    )
    try:
        desk.notices.add(notice)
    except NoticeExists as exists:
        return exists.existing
    desk.ack_log.append(
        notice.id, EntryKind.CREATED, at=now, actor=caller.key_id, data={"triage": missing, "raw": uri}
    )
    unknown = ", ".join(missing)
    text = (
        f"A forwarded email could not be turned into a notice: {unknown} could not be determined.\n"
        f"Complete it: POST /inbound/triage/{notice.id} with program, effective_at and jurisdiction.\n"
        f"Raw message: {uri}\n"
    )
    for admin in desk.admins:
        try:
            desk.senders.email.send(
                OutgoingEmail(
                    to=admin.address,
                    subject=f"[Vigil] A forwarded notice needs triage ({unknown} unknown)",
                    text=text,
                    html="<pre>" + html.escape(text) + "</pre>",
                )
            )
        except SendFailed as exc:
            logger.error("admin_alert.failed", reason=exc.reason)
    logger.warning("inbound_mail.triage", notice_id=notice.id, missing=missing)
    return notice


# The caller recorded for mail that SES received: it arrives with no API key behind it.
SES_RECEIVER = Caller(key_id="ses-inbound", role=ApiRole.SOURCE)


def receive_stored(bucket: str, key: str, *, desk: MailDesk, now: datetime) -> Inbound | None:
    """A message SES received and stored in the inbound-mail bucket; None when it is malformed or too
    large (it stays in the bucket for inspection: nothing to retry)."""
    try:
        return receive(
            desk.mail.get(key), caller=SES_RECEIVER, desk=desk, now=now, stored_at=f"s3://{bucket}/{key}"
        )
    except VigilError as exc:
        logger.warning("inbound_mail.refused", reason=exc.message)
        return None


def complete_triage(
    notice_id: str,
    body: Any,
    *,
    caller: Caller,
    desk: MailDesk,
    now: datetime,
) -> list[ingest.Accepted]:
    """An admin supplies what the message did not say; the notice is then routed like any other."""
    held = desk.notices.get(notice_id)
    if held.status is not NoticeStatus.TRIAGE:
        raise NotFound(f"no notice in triage {notice_id!r}")
    if not isinstance(body, dict):
        raise InvalidInput("triage is invalid", [FieldError("body", "expected a JSON object")])
    event = {
        "type": "rollout",
        "external_id": f"{held.idempotency_key}:triaged",
        "program": body.get("program"),
        "jurisdiction": body.get("jurisdiction"),
        "effective_at": body.get("effective_at"),
        "summary": body.get("summary") or held.event.get("summary") or held.title,
        "title": body.get("title"),
    }
    submitted = parse_event(
        {k: v for k, v in event.items() if v is not None}, idempotency_header=None, registry=desk.registry
    )
    submitted = replace(submitted, extra={**held.extra, "triaged_from": held.id})
    accepted = ingest.accept(
        submitted,
        caller=caller,
        notices=desk.notices,
        index=desk.index,
        registry=desk.registry,
        policies=desk.policies,
        route_queue=desk.route_queue,
        ack_log=desk.ack_log,
        now=now,
    )
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
    return [accepted]
