"""Inbound mail's inputs: SES's notification of a received message, trusted senders, dismissals, and
the local stack's stand-in for SES (``/dev/mail/inbound``)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import FieldError, InvalidInput
from chalicelib.domain.mail_trust import (
    MAX_NOTE_CHARS,
    Receipt,
    SenderKind,
    Verdict,
    normalise_sender,
    sender_address,
)
from chalicelib.schemas.fields import Problems, reject_unknown, require_object, text

MAX_DISMISSAL_CHARS = 1000
VERDICTS = ("spf", "dkim", "dmarc", "spam", "virus")


@dataclass(frozen=True, slots=True)
class StoredMail:
    """Where SES stored a received message, and what it said of it."""

    bucket: str
    key: str
    receipt: Receipt


def parse_ses_notification(notification: Any) -> StoredMail:
    """SES's "Received" notification of an S3 action (``receipt.action.bucketName``/``objectKey``, the
    verdicts, ``mail.source``); raises ValueError when it does not say where the message is.

    A verdict the notification leaves out counts as ``NONE``: never as a pass."""
    if not isinstance(notification, Mapping):
        raise ValueError("the notification is not a JSON object")
    receipt = notification.get("receipt")
    if not isinstance(receipt, Mapping):
        raise ValueError("the notification has no receipt")
    action = receipt.get("action")
    if not isinstance(action, Mapping):
        raise ValueError("the receipt has no action")
    bucket, key = action.get("bucketName"), action.get("objectKey")
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        raise ValueError("the receipt's action names no stored message")
    mail = notification.get("mail")
    source = mail.get("source") if isinstance(mail, Mapping) else None
    policy = receipt.get("dmarcPolicy")
    return StoredMail(
        bucket=bucket,
        key=key,
        receipt=Receipt(
            spf=Verdict.read(receipt.get("spfVerdict")),
            dkim=Verdict.read(receipt.get("dkimVerdict")),
            dmarc=Verdict.read(receipt.get("dmarcVerdict")),
            spam=Verdict.read(receipt.get("spamVerdict")),
            virus=Verdict.read(receipt.get("virusVerdict")),
            envelope_from=sender_address(source) if isinstance(source, str) else None,
            dmarc_policy=str(policy)[:20] if isinstance(policy, str) else None,
        ),
    )


@dataclass(frozen=True, slots=True)
class SenderEntry:
    sender: str
    kind: SenderKind
    note: str


def parse_trusted_sender(body: Any) -> SenderEntry:
    """``{"sender": "ice.dhs.gov", "note": "…"}``: an email address or a domain (lower-cased)."""
    body = require_object(body, "trusted sender")
    problems = Problems()
    reject_unknown(body, {"sender", "note"}, problems)
    raw = text(body, "sender", problems, max_len=300, single_line=True)
    note = text(body, "note", problems, required=False, max_len=MAX_NOTE_CHARS, single_line=True) or ""
    sender: tuple[str, SenderKind] | None = None
    if raw is not None:
        try:
            sender = normalise_sender(raw)
        except ValueError as exc:
            problems.add("sender", str(exc))
    problems.raise_if_any("trusted sender")
    assert sender is not None  # narrowed by raise_if_any
    return SenderEntry(sender[0], sender[1], note)


def parse_sender_path(value: str) -> str:
    """The ``{sender}`` of ``DELETE /inbound/senders/{sender}``, as it is stored."""
    try:
        return normalise_sender(value)[0]
    except ValueError as exc:
        raise InvalidInput("sender is invalid", [FieldError("sender", str(exc))]) from None


def parse_dismissal(body: Any) -> str:
    """``{"reason": "…"}``: why a held message is dismissed (audited)."""
    body = require_object(body, "dismissal")
    problems = Problems()
    reject_unknown(body, {"reason"}, problems)
    reason = text(body, "reason", problems, max_len=MAX_DISMISSAL_CHARS)
    problems.raise_if_any("dismissal")
    assert reason is not None  # narrowed by raise_if_any
    return reason


@dataclass(frozen=True, slots=True)
class DevMail:
    raw: bytes
    verdicts: dict[str, str]


def parse_dev_mail(body: Any, *, max_bytes: int) -> DevMail:
    """``{"raw": "<base64 of the RFC 822 message>", "verdicts": {"spf": "PASS", …}}`` (the local stack)."""
    body = require_object(body, "inbound mail")
    problems = Problems()
    reject_unknown(body, {"raw", "verdicts"}, problems)
    raw = b""
    encoded = body.get("raw")
    if not isinstance(encoded, str) or not encoded.strip():
        problems.add("raw", "is required: the message, base64-encoded")
    else:
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            problems.add("raw", "must be base64")
        if len(raw) > max_bytes:
            problems.add("raw", f"must decode to at most {max_bytes} bytes")
    verdicts: dict[str, str] = {}
    given = body.get("verdicts", {})
    if not isinstance(given, Mapping):
        problems.add("verdicts", "must be an object of spf, dkim, dmarc, spam and virus")
    else:
        reject_unknown(given, set(VERDICTS), problems, prefix="verdicts.")
        for name in VERDICTS:
            value = given.get(name, "NONE")
            if not isinstance(value, str) or value.upper() not in {str(v) for v in Verdict}:
                problems.add(f"verdicts.{name}", "must be PASS, FAIL, GRAY, PROCESSING_FAILED or NONE")
            else:
                verdicts[name] = value.upper()
    problems.raise_if_any("inbound mail")
    return DevMail(raw, verdicts)
