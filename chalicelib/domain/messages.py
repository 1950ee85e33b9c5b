"""What each recipient is sent: rendering of a notice per channel and per audience."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

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
    # Carried by the provider into bounce and complaint notifications, so they find their delivery.
    tags: dict[str, str] = field(default_factory=dict)


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


# What everyone told of a detainer may know: where, when, under which law, what was suggested and
# decided. Criminal history, flags and free text stay with those who need to know.
_PUBLIC_DETAINER_FIELDS = frozenset(
    {
        "type",
        "external_id",
        "form",
        "issued_at",
        "issuing_office",
        "facility_id",
        "facility_name",
        "jurisdiction_id",
        "jurisdiction_name",
        "release_due_at",
        "judicial_warrant",
        "hold",
        "title",
    }
)
# Never sent to anyone (TRUST Act confidential categories), nor used to address anyone.
_NEVER_SENT = frozenset({"confidential", "counsel_subscriber_ids"})


def is_counsel(notice: Notice, role: Role, subscriber_id: str | None) -> bool:
    """The person's own counsel, named by the source: told the name, never the other particulars."""
    return (
        role is Role.LEGAL
        and subscriber_id is not None
        and subscriber_id in notice.event.get("counsel_subscriber_ids", [])
    )


def detainer_event_for(notice: Notice, role: Role, subscriber_id: str | None = None) -> dict[str, Any]:
    """The detainer's event as this recipient may see it."""
    event = notice.event
    if may_see_personal_data(role):
        return {k: v for k, v in event.items() if k not in _NEVER_SENT}
    shown = {k: v for k, v in event.items() if k in _PUBLIC_DETAINER_FIELDS}
    classification = event.get("classification")
    if classification:
        shown["classification"] = {
            k: classification.get(k) for k in ("regime_id", "regime_name", "citation", "suggestion")
        }
    if is_counsel(notice, role, subscriber_id):
        shown["subject"] = {"name": (event.get("subject") or {}).get("name")}
    return shown


def decision_for(notice: Notice, role: Role) -> dict[str, Any] | None:
    if notice.decision is None:
        return None
    if may_see_personal_data(role):
        return dict(notice.decision)
    return {
        k: notice.decision.get(k)
        for k in ("decision", "decided_at", "suggestion", "regime_id", "before_deadline")
    }


def notice_view(notice: Notice, role: Role, subscriber_id: str | None = None) -> dict[str, Any]:
    """The notice as a recipient of ``role`` may see it."""
    event = (
        detainer_event_for(notice, role, subscriber_id)
        if notice.type is EventType.DETAINER
        else dict(notice.event)
    )
    view: dict[str, Any] = {
        "notice_id": notice.id,
        "type": str(notice.type),
        "title": notice.title,
        "jurisdiction_id": notice.jurisdiction_id,
        "received_at": notice.received_at.isoformat(),
        "event": event,
    }
    decision = decision_for(notice, role)
    if decision is not None:
        view["decision"] = decision
    if notice.type is EventType.ROLLOUT:
        view["low_key"] = notice.low_key
        view["low_key_note"] = low_key_sentence(notice, limit=20)
        view["mail"] = mail_view(notice)
    return view


# --- notices made from mail: low-key, and the evidence -----------------------------------------------

_NEW_YORK = ZoneInfo("America/New_York")
_SHOWN_RECIPIENTS = 5


def _when(iso: Any) -> str | None:
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return moment.astimezone(_NEW_YORK).strftime("%a %-d %b %Y, %-I:%M %p %Z")


def _original(notice: Notice) -> dict[str, Any]:
    mail = notice.extra.get("mail") or {}
    original = dict(mail.get("original") or {})
    source = notice.event.get("source") or {}
    original.setdefault("recipients", source.get("original_recipients") or [])
    original.setdefault("sent_at", source.get("sent_at"))
    return original


def _listed(addresses: list[Any], limit: int = _SHOWN_RECIPIENTS) -> str:
    shown = ", ".join(str(a) for a in addresses[:limit])
    return shown + (f" and {len(addresses) - limit} more" if len(addresses) > limit else "")


def low_key_sentence(notice: Notice, *, limit: int = _SHOWN_RECIPIENTS) -> str | None:
    """For a low-key notice: that the original went only to lower-level staff (to whom and when, when
    known) and that nobody above them was told. None for any other notice."""
    if not notice.low_key:
        return None
    original = _original(notice)
    recipients = [str(a) for a in original.get("recipients") or []]
    to_whom = f" ({_listed(recipients, limit)})" if recipients else ""
    when = _when(original.get("sent_at")) if original.get("sent_at") else None
    on = f" on {when}" if when else ""
    return f"LOW-KEY: the original went only to lower-level staff{to_whom}{on}; nobody above them was told."


def mail_evidence(notice: Notice) -> list[tuple[str, str]]:
    """Where a notice made from mail came from: the sentences its program, date and place were read
    from, quoted as written; the original's sender (claimed unless verified), date and recipients; who
    forwarded it, and how many reported it. Empty for a notice that did not come by mail."""
    mail = notice.extra.get("mail")
    if not isinstance(mail, dict):
        return []
    labels = {"program": "program", "effective_at": "date", "jurisdiction": "place"}
    read_from: dict[str, list[str]] = {}
    for entry in mail.get("read_from") or []:
        for sentence in entry.get("sentences") or []:
            read_from.setdefault(str(sentence), []).append(
                labels.get(entry.get("field"), str(entry.get("field")))
            )
    shown = []
    for sentence, fields in read_from.items():
        what = ", ".join(fields[:-1]) + (" and " if len(fields) > 1 else "") + fields[-1]
        shown.append((f"The {what}, as written", f"“{sentence}”"))
    original = _original(notice)
    if original.get("sender"):
        how = "verified" if original.get("sender_verified") else "claimed, not verified"
        shown.append(("Original sender", f"{original['sender']} ({how})"))
    if original.get("sent_at") and (when := _when(original["sent_at"])):
        shown.append(("Original sent", when))
    if original.get("recipients"):
        shown.append(("Original recipients", _listed(list(original["recipients"]), 20)))
    forwarders = [
        f"{f.get('address')} ({'verified' if f.get('verified') else 'claimed, not verified'})"
        for f in mail.get("forwarders") or []
    ]
    if forwarders:
        shown.append(("Forwarded by", ", ".join(forwarders)))
    if notice.report_count:
        reporters = ", ".join(
            f"{r.get('reporter')} ({'verified' if r.get('verified') else 'not verified'})"
            for r in notice.reports[:5]
        )
        more = f" and {notice.report_count - 5} more" if notice.report_count > 5 else ""
        shown.append(("Reported to Vigil by", f"{notice.report_count}: {reporters}{more}"))
    return shown


def mail_view(notice: Notice) -> dict[str, Any] | None:
    """A notice's mail evidence as data (webhooks, the API): None for a notice that did not come by mail."""
    mail = notice.extra.get("mail")
    if not isinstance(mail, dict):
        return None
    return {
        "original": _original(notice),
        "forwarders": list(mail.get("forwarders") or []),
        "read_from": list(mail.get("read_from") or []),
        "report_count": notice.report_count,
    }


def facts(notice: Notice, role: Role, subscriber_id: str | None = None) -> list[tuple[str, str]]:
    event = notice.event
    shown = [("Jurisdiction", str(event.get("jurisdiction_name", notice.jurisdiction_id)))]
    if notice.type is EventType.ROLLOUT:
        if low_key := low_key_sentence(notice):
            shown.insert(0, ("Low-key", low_key))
        shown += [
            ("Program", str(event.get("program", ""))),
            ("Effective", str(event.get("effective_at", ""))),
        ]
        source = event.get("source") or {}
        if source.get("agency"):
            shown.append(("Announced by", f"{source['agency']} ({source.get('channel', 'unknown channel')})"))
        shown += mail_evidence(notice)
    else:
        shown += _detainer_facts(notice, role, subscriber_id)
    shown.append(("Reference", notice.id))
    return shown


def _detainer_facts(notice: Notice, role: Role, subscriber_id: str | None) -> list[tuple[str, str]]:
    event = notice.event
    shown = [
        ("Form", str(event.get("form", ""))),
        ("Facility", str(event.get("facility_name", ""))),
        ("Issued", str(event.get("issued_at", ""))),
        ("Release due", str(event.get("release_due_at", ""))),
        ("Judicial warrant", "yes" if event.get("judicial_warrant") else "no"),
    ]
    shown += [("Hold clock", line) for line in (event.get("hold") or {}).get("explained", [])]
    classification = event.get("classification") or {}
    if classification:
        shown.append(
            (
                "Suggestion",
                f"{classification.get('suggestion')} under "
                f"{classification.get('regime_name') or 'no state regime'} "
                "(a suggestion for the reviewer, never a decision)",
            )
        )
    subject = event.get("subject") or {}
    if may_see_personal_data(role):
        shown += [
            (f"Criterion ({c.get('status')})", f"{c.get('outcome')}: {c.get('text')}")
            for c in classification.get("criteria", [])
        ]
        if subject:
            shown += [
                ("Name", str(subject.get("name", ""))),
                ("Date of birth", str(subject.get("date_of_birth", ""))),
                ("A-number", str(subject.get("a_number", ""))),
            ]
    elif is_counsel(notice, role, subscriber_id) and subject.get("name"):
        shown.append(("Name (to counsel)", str(subject["name"])))
    decision = decision_for(notice, role)
    if decision:
        shown.append(("Decision", f"{decision['decision']} ({decision['decided_at']})"))
        if decision.get("reasons"):
            shown.append(("Reasons", str(decision["reasons"])))
    return shown


def render_email(
    notice: Notice,
    *,
    to: str,
    role: Role,
    ack_url: str,
    subscriber_id: str | None = None,
    summary_note: str = "",
) -> OutgoingEmail:
    shown = facts(notice, role, subscriber_id)
    # A detainer's free-text summary may name the person: only for those entitled to know.
    public = notice.type is EventType.ROLLOUT or may_see_personal_data(role)
    summary = str(notice.event.get("summary", "")) if public else ""
    low_key = low_key_sentence(notice, limit=20) if notice.type is EventType.ROLLOUT else None
    # A low-key notice says so first: the subject, and the text's first line.
    text_lines = [*([low_key, ""] if low_key else []), notice.title, "", summary, ""]
    text_lines += [*(f"{k}: {v}" for k, v in shown), ""]
    if summary_note:
        text_lines += [summary_note, ""]
    text_lines += ["Acknowledge that you have seen this notice:", ack_url, ""]
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in shown
    )
    note = f"<p><strong>{html.escape(summary_note)}</strong></p>" if summary_note else ""
    warning = f"<p><strong>{html.escape(low_key)}</strong></p>" if low_key else ""
    body = (
        f"<html><body>{warning}<h1>{html.escape(notice.title)}</h1><p>{html.escape(summary)}</p>"
        f"<table>{rows}</table>{note}"
        f"<p><a href='{html.escape(ack_url, quote=True)}'>Acknowledge this notice</a></p></body></html>"
    )
    prefix = "Rollout notice" if notice.type is EventType.ROLLOUT else "Detainer request"
    if low_key:
        prefix = "Rollout notice, low-key (only lower-level staff were told; nobody above them)"
    if notice.decision:
        prefix = f"Detainer decision ({notice.decision.get('decision')})"
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
    if notice.type is EventType.ROLLOUT and (low_key := low_key_sentence(notice, limit=1)):
        head = f"VIGIL ROLLOUT, {low_key} {where}, {when}. Ref {notice.id[-8:]}."
        if len(head) + len(tail) > SMS_MAX_CHARS - 40:  # long addresses: say it without them
            short = "LOW-KEY: only lower-level staff were told; nobody above them."
            head = f"VIGIL ROLLOUT, {short} {where}, {when}. Ref {notice.id[-8:]}."
    room = SMS_MAX_CHARS - len(head) - len(tail) - 1
    title = notice.title if len(notice.title) <= room else notice.title[: max(room - 3, 0)] + "..."
    return OutgoingSms(to=to, body=f"{head} {title}{tail}"[:SMS_MAX_CHARS])


def render_webhook(
    notice: Notice,
    *,
    url: str,
    role: Role,
    delivery_id: str,
    ack_url: str,
    now: datetime,
    subscriber_id: str | None = None,
) -> OutgoingWebhook:
    data = notice_view(notice, role, subscriber_id)
    data["ack_url"] = ack_url
    data["delivery_id"] = delivery_id
    return OutgoingWebhook(
        url=url,
        message_id=f"msg_{notice.id}_{delivery_id.replace('#', '_')}",
        payload={
            "type": f"notice.{notice.type}.decided" if notice.decision else f"notice.{notice.type}",
            "timestamp": now.isoformat(),
            "data": data,
        },
    )
