"""What the local stack "sent": emails and texts captured by moto, webhooks recorded on the way out.

``GET /dev/outbox`` (local stage only) reads it through ``read_outbox``. Emails and texts come from
moto's in-process backends, which is where SES ``SendEmail`` and SNS ``Publish`` land when moto runs
in server mode inside this process. moto keeps only part of a message, so the local stack records
the rest itself, keyed by the provider's message id:

- SES: of a v2 ``Simple`` message moto keeps the subject and *one* body — the HTML part when there
  is one — and drops the text part and the custom headers; neither SES nor SNS messages carry a
  send time. ``RecordingEmailSender`` and ``RecordingSmsSender`` wrap the real adapters and note the
  send time (and the email's text part) under the message id the provider returned.
- Webhooks never pass through moto: ``RecordingWebhookSender`` wraps the real HTTP sender and
  appends every attempt, successful or not, with the HTTP status, to a ``WebhookLog``; Slack and
  Teams messages likewise (``RecordingChatSender``, the ``chats`` log).

The local stack keeps these records with its state (``saved_records``, ``restore_records``), so the
outbox after a restart is the outbox before it.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
import threading
import urllib.error
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from chalicelib.adapters.chat import HttpChatSender
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.config import Settings
from chalicelib.domain.chat import OutgoingChat
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms, OutgoingWebhook
from chalicelib.ports import ChatSender, EmailSender, SendFailed, SmsSender, WebhookSender

# moto's account when credentials are not one of its special test keys.
MOTO_ACCOUNT_ID = "123456789012"

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SentNote:
    """What the local stack knows about a sent message that the provider emulator does not keep."""

    sent_at: datetime
    text: str | None = None


class SentLog:
    """Thread-safe notes by provider message id (the pump and the API server send concurrently)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._notes: dict[str, SentNote] = {}

    def note(self, message_id: str, note: SentNote) -> None:
        with self._lock:
            self._notes[message_id] = note

    def get(self, message_id: str) -> SentNote | None:
        with self._lock:
            return self._notes.get(message_id)

    def clear(self) -> None:
        with self._lock:
            self._notes.clear()

    def notes(self) -> dict[str, SentNote]:
        with self._lock:
            return dict(self._notes)

    def replace(self, notes: Mapping[str, SentNote]) -> None:
        with self._lock:
            self._notes = dict(notes)


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    url: str
    # The HTTP status the receiver answered; None when no answer came (refused, timed out).
    status: int | None
    body: dict[str, Any]
    sent_at: datetime
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": self.url,
            "status": self.status,
            "body": self.body,
            "sent_at": self.sent_at.isoformat(),
        }
        if self.error:
            out["error"] = self.error
        return out


class WebhookLog:
    """Every webhook POST the local stack made, in order; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[WebhookRecord] = []

    def append(self, record: WebhookRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[WebhookRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def replace(self, records: Sequence[WebhookRecord]) -> None:
        with self._lock:
            self._records = list(records)


# One moto per process, so one set of notes per process.
EMAILS = SentLog()
SMS = SentLog()
WEBHOOKS = WebhookLog()
CHATS = WebhookLog()


def saved_records() -> dict[str, Any]:
    """What the outbox keeps beside moto's backends, for the local stack's snapshot."""
    return {
        "emails": EMAILS.notes(),
        "sms": SMS.notes(),
        "webhooks": WEBHOOKS.records(),
        "chats": CHATS.records(),
    }


def restore_records(saved: Mapping[str, Any]) -> None:
    """Put back what ``saved_records`` returned (moto's own messages come back with its backends)."""
    EMAILS.replace(saved.get("emails", {}))
    SMS.replace(saved.get("sms", {}))
    WEBHOOKS.replace(saved.get("webhooks", []))
    CHATS.replace(saved.get("chats", []))


def clear_records() -> None:
    EMAILS.clear()
    SMS.clear()
    WEBHOOKS.clear()
    CHATS.clear()


class RecordingEmailSender:
    """An EmailSender that notes the send time and text part of what the wrapped sender sent."""

    def __init__(self, inner: EmailSender, *, log: SentLog = EMAILS, clock: Clock = _utcnow) -> None:
        self._inner = inner
        self._log = log
        self._clock = clock

    def send(self, message: OutgoingEmail) -> str:
        message_id = self._inner.send(message)
        self._log.note(message_id, SentNote(sent_at=self._clock(), text=message.text))
        return message_id


class RecordingSmsSender:
    """An SmsSender that notes the send time of what the wrapped sender sent."""

    def __init__(self, inner: SmsSender, *, log: SentLog = SMS, clock: Clock = _utcnow) -> None:
        self._inner = inner
        self._log = log
        self._clock = clock

    def send(self, message: OutgoingSms) -> str:
        message_id = self._inner.send(message)
        self._log.note(message_id, SentNote(sent_at=self._clock()))
        return message_id


def _recorded_post(
    post: Callable[[], str], message: OutgoingWebhook | OutgoingChat, *, log: WebhookLog, clock: Clock
) -> str:
    """A real POST, and its record in ``log`` whatever its outcome: the status the receiver answered
    (when it answered one) and, for a failure, why."""
    try:
        status = post()
    except SendFailed as exc:
        cause = exc.__cause__
        code = cause.code if isinstance(cause, urllib.error.HTTPError) else None
        log.append(WebhookRecord(message.url, code, message.payload, clock(), exc.reason))
        raise
    log.append(
        WebhookRecord(message.url, int(status) if status.isdigit() else None, message.payload, clock())
    )
    return status


class RecordingWebhookSender:
    """The real signed HTTP POST (``HttpWebhookSender`` by default), recorded whatever its outcome."""

    def __init__(
        self, inner: WebhookSender | None = None, *, log: WebhookLog = WEBHOOKS, clock: Clock = _utcnow
    ) -> None:
        self._inner: WebhookSender = inner or HttpWebhookSender(timeout_seconds=5.0, allow_private=True)
        self._log = log
        self._clock = clock

    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        return _recorded_post(
            lambda: self._inner.send(message, secrets=secrets, now=now),
            message,
            log=self._log,
            clock=self._clock,
        )


class RecordingChatSender:
    """The real Slack or Teams POST (``HttpChatSender`` by default), recorded whatever its outcome."""

    def __init__(
        self, inner: ChatSender | None = None, *, log: WebhookLog = CHATS, clock: Clock = _utcnow
    ) -> None:
        self._inner: ChatSender = inner or HttpChatSender(timeout_seconds=5.0, allow_private=True)
        self._log = log
        self._clock = clock

    def send(self, message: OutgoingChat) -> str:
        return _recorded_post(lambda: self._inner.send(message), message, log=self._log, clock=self._clock)


def read_outbox(settings: Settings, *, to: str | None = None) -> dict[str, Any]:
    """Everything sent so far, oldest first; ``to`` keeps only what went to that address, number or URL."""
    from moto.backends import get_backend  # noqa: PLC0415  # moto is a local-only dependency

    ses = get_backend("ses")[MOTO_ACCOUNT_ID][settings.region]
    sns = get_backend("sns")[MOTO_ACCOUNT_ID][settings.region]
    emails = [e for e in (_email_json(m) for m in list(ses.sent_messages)) if e is not None]
    texts = [
        _sms_json(message_id, phone, body) for message_id, (phone, body) in list(sns.sms_messages.items())
    ]
    hooks = [record.as_json() for record in WEBHOOKS.records()]
    chats = [record.as_json() for record in CHATS.records()]
    if to:
        wanted = to.strip().lower()
        emails = [e for e in emails if wanted in (a.lower() for a in e["to"])]
        texts = [t for t in texts if t["to"] == to.strip()]
        hooks = [h for h in hooks if h["url"] == to.strip()]
        chats = [c for c in chats if c["url"] == to.strip()]
    return {"emails": emails, "sms": texts, "webhooks": hooks, "chats": chats}


def _email_json(message: Any) -> dict[str, Any] | None:
    """One of moto's SES message records as the outbox shows it; None for kinds it cannot show."""
    note = EMAILS.get(str(getattr(message, "id", "")))
    sent_at = note.sent_at.isoformat() if note else None
    if hasattr(message, "raw_data"):  # SendRawEmail, or a v2 Raw message
        return _raw_email_json(message, sent_at)
    if not hasattr(message, "body"):  # templated messages: Vigil does not send them
        return None
    destinations: dict[str, list[str]] = message.destinations or {}
    body = str(message.body)
    looks_html = bool(re.search(r"<(html|body|p|table|a)\b", body, re.IGNORECASE))
    text = note.text if note and note.text is not None else (_html_to_text(body) if looks_html else body)
    return {
        "to": [address for addresses in destinations.values() for address in addresses],
        "subject": str(message.subject),
        "text": text,
        "html": body if looks_html else "",
        "sent_at": sent_at,
    }


def _raw_email_json(message: Any, sent_at: str | None) -> dict[str, Any]:
    parsed = email.message_from_string(str(message.raw_data), policy=email.policy.default)
    text_part = html_part = ""
    if isinstance(parsed, EmailMessage):
        for kind in ("plain", "html"):
            part = parsed.get_body(preferencelist=(kind,))
            content = part.get_content() if part is not None else ""
            if kind == "plain":
                text_part = str(content)
            else:
                html_part = str(content)
    return {
        "to": list(message.destinations),
        "subject": str(parsed.get("Subject", "")),
        "text": text_part or _html_to_text(html_part),
        "html": html_part,
        "sent_at": sent_at,
    }


def _sms_json(message_id: str, phone: str, body: str) -> dict[str, Any]:
    note = SMS.get(message_id)
    return {"to": phone, "body": body, "sent_at": note.sent_at.isoformat() if note else None}


def _html_to_text(markup: str) -> str:
    """Good enough to read a message and find its links when the text part was not kept."""
    with_links = re.sub(
        r"<a\s[^>]*href=['\"]([^'\"]+)['\"][^>]*>(.*?)</a>",
        r"\2: \1",
        markup,
        flags=re.IGNORECASE | re.DOTALL,
    )
    blocks = re.sub(r"</(p|h\d|tr|div)>|<br\s*/?>", "\n", with_links, flags=re.IGNORECASE)
    cells = re.sub(r"</t[hd]>", " ", blocks, flags=re.IGNORECASE)
    plain = html.unescape(re.sub(r"<[^>]+>", "", cells))
    return "\n".join(line.strip() for line in plain.splitlines() if line.strip())
