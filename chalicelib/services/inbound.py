"""Notices by email: what arrives in an inbox becomes a routed, tracked notice, once per original
message, when it can be trusted and read; otherwise it is held in triage with the reasons.

A message is first read (``domain/inbound_mail``), then judged (``services/senders.judge``: SES's
verdicts and the trusted senders), then matched against the notices already made of the same
original (``Extraction.original_id``): a later copy is a further report of those notices and alarms
nobody. Only then is a new original routed, one notice per place named, or held when the reader
could not tell its program, date or place.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.errors import Conflict, FieldError, InvalidInput, NotFound, TooLarge, VigilError
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.mail_trust import Assessment, HoldCode, HoldReason, Receipt
from chalicelib.domain.notices import Notice, notice_id_for
from chalicelib.domain.places import STATE_ID
from chalicelib.domain.subscribers import Channel, EventType
from chalicelib.ports import (
    AckLog,
    ContactStore,
    MailStore,
    NoticeStore,
    PolicyStore,
    Senders,
    SubscriberStore,
    SubscriptionIndex,
    TrustedSenderStore,
    WorkQueue,
)
from chalicelib.schemas.events import SubmittedEvent, parse_event
from chalicelib.services import ingest, senders, triage

if TYPE_CHECKING:
    # The mail reader is imported by receive(), not at module level: its parser and regular expressions
    # are the largest single import of the package, and only the inbound email paths need them, while
    # every Lambda function imports this module through app.py (cold start, docs/benchmarks.md §2).
    from chalicelib.domain.inbound_mail import Extraction, Found

logger = structlog.get_logger()

MAX_NOTICES_PER_MESSAGE = 10  # one per place named; more than this is a list to triage by hand


@dataclass(frozen=True, slots=True)
class Inbound:
    """What became of one received message."""

    raw_uri: str
    extraction: Extraction
    assessment: Assessment
    # Notices this copy made (or, sent again, found it had made).
    notices: list[ingest.Accepted] = field(default_factory=list)
    # Notices made earlier of the same original, to which this copy was added as a further report.
    reported: list[Notice] = field(default_factory=list)
    triage: Notice | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "raw": self.raw_uri,
            "notices": [{**a.as_json(), "low_key": a.notice.low_key} for a in self.notices],
            "reported": [
                {"notice_id": n.id, "status": str(n.status), "report_count": n.report_count}
                for n in self.reported
            ],
            "triage": (
                {
                    "notice_id": self.triage.id,
                    "missing": list(self.triage.extra.get("missing", [])),
                    "held": list(self.triage.extra.get("held", [])),
                }
                if self.triage
                else None
            ),
            "sender": assessment_json(self.assessment),
            "extraction": extraction_json(self.extraction),
        }


def assessment_json(a: Assessment) -> dict[str, Any]:
    return {"reporter": a.reporter, "verified": a.verified, "via": a.via}


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
    trusted: TrustedSenderStore


def receive(
    raw: bytes,
    *,
    caller: Caller,
    desk: MailDesk,
    now: datetime,
    stored_at: str | None = None,
    receipt: Receipt | None = None,
) -> Inbound:
    """``stored_at``: the S3 URI when SES already stored the message (the S3 path); else it is stored
    here. ``receipt``: SES's verdicts on it (None: posted to the API by ``caller``, who vouches for it)."""
    from chalicelib.domain.inbound_mail import (  # noqa: PLC0415  # cold start: see TYPE_CHECKING above
        MAX_MESSAGE_BYTES,
        MalformedMessage,
        MessageTooLarge,
        looks_unrelated,
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
    judged = senders.judge(
        extraction,
        raw,
        receipt=receipt,
        caller=caller,
        trusted=desk.trusted,
        contacts=desk.contacts,
        subscribers=desk.subscribers,
    )
    copy = _Copy(
        x=extraction,
        judged=judged,
        receipt=receipt,
        report=_report(raw, extraction, judged, uri, now),
        uri=uri,
        caller=caller,
        now=now,
    )
    if not judged.may_route:
        # Each untrusted copy is held by itself: a trusted copy of the same original still goes out.
        held = triage.hold(
            copy.held_as(key=f"{extraction.original_id}:held:{copy.report['id']}", reasons=judged.held),
            desk=desk,
        )
        return Inbound(uri, extraction, judged, triage=held)
    earlier = _notices_of(extraction, desk)
    if earlier:
        for notice in earlier:
            triage.attach(notice.id, copy.report, desk=desk, actor=caller.key_id, now=now)
        logger.info("inbound_mail.reported_again", notices=[n.id for n in earlier])
        return Inbound(uri, extraction, judged, reported=[desk.notices.get(n.id) for n in earlier])
    if needs_triage(extraction):
        unrelated = looks_unrelated(extraction)
        reason = (
            HoldReason(HoldCode.UNRELATED, "nothing in it reads as a rollout: no program, date or place")
            if unrelated
            else HoldReason(
                HoldCode.INCOMPLETE, "its " + ", ".join(_missing(extraction)) + " could not be told"
            )
        )
        held = triage.hold(
            copy.held_as(key=extraction.original_id, reasons=(reason,), quiet=unrelated), desk=desk
        )
        return Inbound(uri, extraction, judged, triage=held)
    accepted = [_accept(copy, place, desk=desk) for place in _places(extraction)]
    logger.info("inbound_mail.accepted", notices=len(accepted), low_key=accepted[0].notice.low_key)
    return Inbound(uri, extraction, judged, notices=accepted)


@dataclass(frozen=True, slots=True)
class _Copy:
    """One received copy of a message, read and judged."""

    x: Extraction
    judged: Assessment
    receipt: Receipt | None
    report: dict[str, Any]
    uri: str
    caller: Caller
    now: datetime

    def held_as(self, *, key: str, reasons: Sequence[HoldReason], quiet: bool = False) -> triage.Held:
        return triage.Held(
            key=key,
            extraction=self.x,
            reasons=tuple(reasons),
            missing=tuple(_missing(self.x)),
            receipt=self.receipt,
            assessment=self.judged,
            report=self.report,
            mail=evidence(self.x, self.judged),
            uri=self.uri,
            caller=self.caller,
            now=self.now,
            quiet=quiet,
        )


def _missing(x: Extraction) -> list[str]:
    fields = (("program", x.program), ("effective_at", x.effective_at), ("jurisdiction", x.jurisdictions))
    return [name for name, found in fields if not found.value]


def _report(raw: bytes, x: Extraction, judged: Assessment, uri: str, now: datetime) -> dict[str, Any]:
    """Who reported the original this time, and how: one copy, named by the hash of its bytes (SES or a
    retry delivering the same copy again counts once)."""
    return {
        "id": hashlib.sha256(raw).hexdigest()[:32],
        "at": now.isoformat(),
        "reporter": judged.reporter,
        "verified": judged.verified,
        "via": judged.via,
        "forwarded": bool(x.forwarders),
        "raw": uri,
    }


def evidence(x: Extraction, judged: Assessment) -> dict[str, Any]:
    """What a notice made from mail shows of where it came from: the original's sender (claimed unless
    SES verified it as the sender of the message itself), date and recipients, the forwarders, and the
    sentences each value was read from, as written."""
    direct_by_email = not x.forwarders and judged.via == "email"
    sent = x.sent_at.value
    return {
        "original_id": x.original_id,
        "original": {
            "sender": x.original_sender.value,
            "sender_verified": direct_by_email and judged.verified,
            "sent_at": sent.isoformat() if sent else None,
            "recipients": list(x.original_recipients.value or ()),
            "subject": x.subject.value,
            "message_id": x.message_id,
        },
        "forwarders": [
            {"address": address, "verified": i == 0 and judged.via == "email" and judged.verified}
            for i, address in enumerate(x.forwarders)
        ],
        "read_from": [
            {"field": name, "sentences": list(found.sentences), "certain": found.certain}
            for name, found in (
                ("program", x.program),
                ("effective_at", x.effective_at),
                ("jurisdiction", x.jurisdictions),
            )
            if found.value is not None and found.sentences
        ],
    }


def _notices_of(x: Extraction, desk: MailDesk) -> list[Notice]:
    """Notices already made of this original: held for triage, or routed per place (and what a
    completed triage notice was routed as)."""
    found: list[Notice] = []
    for key in [x.original_id, *(f"{x.original_id}:{place}" for place in _places(x))]:
        try:
            notice = desk.notices.get(notice_id_for(EventType.ROLLOUT, key))
        except NotFound:
            continue
        found.append(notice)
        routed_as = notice.extra.get("routed_as")
        if isinstance(routed_as, str) and routed_as not in {n.id for n in found}:
            with contextlib.suppress(NotFound):
                found.append(desk.notices.get(routed_as))
    return found


def _places(x: Extraction) -> list[str]:
    places = list(x.jurisdictions.value or ())
    if STATE_ID in places:
        return [STATE_ID]  # statewide covers every other place named
    return places[:MAX_NOTICES_PER_MESSAGE]


def low_key(recipients: Sequence[str], desk: MailDesk) -> bool:
    """Nobody of the roles a rollout requires was among the original recipients."""
    required = set(desk.policies.get(EventType.ROLLOUT).required_roles)
    for address in recipients:
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
        "external_id": key,
        "program": x.program.value,
        "jurisdiction": place,
        "effective_at": effective.isoformat(),
        "summary": summary[:2000],
        "source": source,
    }


def _accept(copy: _Copy, place: str, *, desk: MailDesk) -> ingest.Accepted:
    x = copy.x
    key = f"{x.original_id}:{place}"
    submitted: SubmittedEvent = parse_event(
        _event_body(x, place, key), idempotency_header=None, registry=desk.registry
    )
    extra = {
        "low_key": low_key(x.original_recipients.value or (), desk),
        "raw": copy.uri,
        "extraction": extraction_json(x),
        "mail": evidence(x, copy.judged),
    }
    try:
        accepted = ingest.accept(
            replace(submitted, extra=extra),
            caller=copy.caller,
            notices=desk.notices,
            index=desk.index,
            registry=desk.registry,
            policies=desk.policies,
            route_queue=desk.route_queue,
            ack_log=desk.ack_log,
            now=copy.now,
        )
    except Conflict:
        # Another copy of the same original made this notice a moment ago, read a little differently
        # (a forwarder's note filled in what the original left out): it is this copy's notice too.
        accepted = ingest.Accepted(desk.notices.get(notice_id_for(EventType.ROLLOUT, key)), duplicate=True)
    triage.attach(accepted.notice.id, copy.report, desk=desk, actor=copy.caller.key_id, now=copy.now)
    return replace(accepted, notice=desk.notices.get(accepted.notice.id))


# The caller recorded for mail that SES received: it arrives with no API key behind it.
SES_RECEIVER = Caller(key_id="ses-inbound", role=ApiRole.SOURCE)


def receive_stored(
    bucket: str, key: str, *, receipt: Receipt, desk: MailDesk, now: datetime
) -> Inbound | None:
    """A message SES received and stored in the inbound-mail bucket, with SES's verdicts on it; None
    when it is malformed or too large (it stays in the bucket for inspection: nothing to retry)."""
    try:
        return receive(
            desk.mail.get(key),
            caller=SES_RECEIVER,
            desk=desk,
            now=now,
            stored_at=f"s3://{bucket}/{key}",
            receipt=receipt,
        )
    except VigilError as exc:
        logger.warning("inbound_mail.refused", reason=exc.message)
        return None
