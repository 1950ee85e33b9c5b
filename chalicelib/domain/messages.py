"""What each recipient is sent: rendering of a notice per channel and per audience."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import EventType, Role

# Roles with a need to know the identity of a person subject to a detainer. Everyone else
# (advocates, press, systems) receives the facts of the request without the person's identity.
PERSONAL_DATA_ROLES = frozenset({Role.STATE_EXECUTIVE, Role.CORRECTIONS})

SMS_MAX_CHARS = 306  # two concatenated GSM-7 segments (153 characters each)


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    to: str
    body: str


@dataclass(frozen=True, slots=True)
class OutgoingWebhook:
    url: str
    message_id: str
    payload: dict[str, Any]


def unsubscribe_headers(url: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs without a visit."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def may_see_personal_data(role: Role) -> bool:
    return role in PERSONAL_DATA_ROLES


def notice_view(notice: Notice, role: Role) -> dict[str, Any]:
    """The notice as a recipient of ``role`` may see it."""
    event = dict(notice.event)
    if notice.type is EventType.DETAINER and not may_see_personal_data(role):
        event.pop("subject", None)
    return {
        "notice_id": notice.id,
        "type": str(notice.type),
        "title": notice.title,
        "jurisdiction_id": notice.jurisdiction_id,
        "received_at": notice.received_at.isoformat(),
        "event": event,
    }


def facts(notice: Notice, role: Role) -> list[tuple[str, str]]:
    event = notice.event
    shown = [("Jurisdiction", str(event.get("jurisdiction_name", notice.jurisdiction_id)))]
    if notice.type is EventType.ROLLOUT:
        shown += [
            ("Program", str(event.get("program", ""))),
            ("Effective", str(event.get("effective_at", ""))),
        ]
        source = event.get("source") or {}
        if source.get("agency"):
            shown.append(("Announced by", f"{source['agency']} ({source.get('channel', 'unknown channel')})"))
    else:
        shown += [
            ("Form", str(event.get("form", ""))),
            ("Facility", str(event.get("facility_name", ""))),
            ("Issued", str(event.get("issued_at", ""))),
            ("Release due", str(event.get("release_due_at", ""))),
            ("Judicial warrant", "yes" if event.get("judicial_warrant") else "no"),
        ]
        shown += [("Hold clock", line) for line in (event.get("hold") or {}).get("explained", [])]
        subject = event.get("subject") or {}
        if may_see_personal_data(role) and subject:
            shown += [
                ("Name", str(subject.get("name", ""))),
                ("Date of birth", str(subject.get("date_of_birth", ""))),
                ("A-number", str(subject.get("a_number", ""))),
            ]
    shown.append(("Reference", notice.id))
    return shown


def render_email(
    notice: Notice, *, to: str, role: Role, ack_url: str, summary_note: str = ""
) -> OutgoingEmail:
    shown = facts(notice, role)
    summary = str(notice.event.get("summary", ""))
    text_lines = [notice.title, "", summary, "", *(f"{k}: {v}" for k, v in shown), ""]
    if summary_note:
        text_lines += [summary_note, ""]
    text_lines += ["Acknowledge that you have seen this notice:", ack_url, ""]
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in shown
    )
    note = f"<p><strong>{html.escape(summary_note)}</strong></p>" if summary_note else ""
    body = (
        f"<html><body><h1>{html.escape(notice.title)}</h1><p>{html.escape(summary)}</p>"
        f"<table>{rows}</table>{note}"
        f"<p><a href='{html.escape(ack_url, quote=True)}'>Acknowledge this notice</a></p></body></html>"
    )
    prefix = "Rollout notice" if notice.type is EventType.ROLLOUT else "Detainer request"
    # Folded to one line: a line break in a subject is a header injection.
    subject = " ".join(f"[Vigil] {prefix}: {notice.title}".split())
    return OutgoingEmail(to=to, subject=subject, text="\n".join(text_lines), html=body)


def render_sms(notice: Notice, *, to: str, reply_code: str | None = None) -> OutgoingSms:
    """Never personal data by SMS: texts sit on lock screens."""
    event = notice.event
    where = str(event.get("jurisdiction_name", notice.jurisdiction_id))
    when = str(event.get("effective_at") or event.get("release_due_at") or "")[:16].replace("T", " ")
    tail = f" Reply {reply_code} to acknowledge." if reply_code else " Details and acknowledgment by email."
    head = f"VIGIL {notice.type.upper()}: {where}, {when}. Ref {notice.id[-8:]}."
    room = SMS_MAX_CHARS - len(head) - len(tail) - 1
    title = notice.title if len(notice.title) <= room else notice.title[: max(room - 3, 0)] + "..."
    return OutgoingSms(to=to, body=f"{head} {title}{tail}"[:SMS_MAX_CHARS])


def render_webhook(
    notice: Notice, *, url: str, role: Role, delivery_id: str, ack_url: str, now: datetime
) -> OutgoingWebhook:
    data = notice_view(notice, role)
    data["ack_url"] = ack_url
    data["delivery_id"] = delivery_id
    return OutgoingWebhook(
        url=url,
        message_id=f"msg_{notice.id}_{delivery_id.replace('#', '_')}",
        payload={"type": f"notice.{notice.type}", "timestamp": now.isoformat(), "data": data},
    )
