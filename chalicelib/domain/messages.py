"""What each recipient is sent: rendering of a notice per channel and per audience."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.language import DEFAULT_LANGUAGE, ENGLISH, Language, Words, words_for
from chalicelib.domain.notices import Notice
from chalicelib.domain.sms import MAX_SEGMENTS, fit_text, fits
from chalicelib.domain.subscribers import EventType, Role

# Roles with a need to know the identity of a person subject to a detainer. Everyone else
# (advocates, press, systems) receives the facts of the request without the person's identity.
PERSONAL_DATA_ROLES = frozenset({Role.STATE_EXECUTIVE, Role.CORRECTIONS})

# A text is at most two segments, whatever its encoding (domain/sms.py): 306 characters of the GSM-7
# alphabet, 134 once one character outside it (á, í, ó, ú) makes the whole text UCS-2.
SMS_MAX_SEGMENTS = MAX_SEGMENTS
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


def _when(iso: Any, _: Words = ENGLISH) -> str | None:
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return _.moment(moment.astimezone(_NEW_YORK))


def _original(notice: Notice) -> dict[str, Any]:
    mail = notice.extra.get("mail") or {}
    original = dict(mail.get("original") or {})
    source = notice.event.get("source") or {}
    original.setdefault("recipients", source.get("original_recipients") or [])
    original.setdefault("sent_at", source.get("sent_at"))
    return original


def _listed(addresses: list[Any], limit: int = _SHOWN_RECIPIENTS, _: Words = ENGLISH) -> str:
    shown = ", ".join(str(a) for a in addresses[:limit])
    if len(addresses) <= limit:
        return shown
    return _("{listed} and {count} more", listed=shown, count=len(addresses) - limit)


def low_key_sentence(
    notice: Notice, *, limit: int = _SHOWN_RECIPIENTS, language: Language = DEFAULT_LANGUAGE
) -> str | None:
    """For a low-key notice: that the original went only to lower-level staff (to whom and when, when
    known) and that nobody above them was told. None for any other notice."""
    if not notice.low_key:
        return None
    _ = words_for(language)
    original = _original(notice)
    recipients = [str(a) for a in original.get("recipients") or []]
    to_whom = f" ({_listed(recipients, limit, _)})" if recipients else ""
    when = _when(original.get("sent_at"), _) if original.get("sent_at") else None
    on = _(" on {when}", when=when) if when else ""
    return _(
        "LOW-KEY: the original went only to lower-level staff{to_whom}{on}; nobody above them was told.",
        to_whom=to_whom,
        on=on,
    )


def mail_evidence(notice: Notice, _: Words = ENGLISH) -> list[tuple[str, str]]:
    """Where a notice made from mail came from: the sentences its program, date and place were read
    from, quoted as written; the original's sender (claimed unless verified), date and recipients; who
    forwarded it, and how many reported it. Empty for a notice that did not come by mail."""
    mail = notice.extra.get("mail")
    if not isinstance(mail, dict):
        return []
    read_from: dict[str, list[str]] = {}
    for entry in mail.get("read_from") or []:
        for sentence in entry.get("sentences") or []:
            read_from.setdefault(str(sentence), []).append(str(entry.get("field")))
    shown = []
    for sentence, fields in read_from.items():
        shown.append((_as_written(fields, _), f"“{sentence}”"))
    original = _original(notice)
    claimed = _("claimed, not verified")
    if original.get("sender"):
        how = _("verified") if original.get("sender_verified") else claimed
        shown.append((_("Original sender"), f"{original['sender']} ({how})"))
    if original.get("sent_at") and (when := _when(original["sent_at"], _)):
        shown.append((_("Original sent"), when))
    if original.get("recipients"):
        shown.append((_("Original recipients"), _listed(list(original["recipients"]), 20, _)))
    forwarders = [
        f"{f.get('address')} ({_('verified') if f.get('verified') else claimed})"
        for f in mail.get("forwarders") or []
    ]
    if forwarders:
        shown.append((_("Forwarded by"), ", ".join(forwarders)))
    if notice.report_count:
        reporters = ", ".join(
            f"{r.get('reporter')} ({_('verified') if r.get('verified') else _('not verified')})"
            for r in notice.reports[:5]
        )
        if notice.report_count > 5:
            reporters = _("{listed} and {count} more", listed=reporters, count=notice.report_count - 5)
        shown.append((_("Reported to Vigil by"), f"{notice.report_count}: {reporters}"))
    return shown


def _as_written(fields: list[str], _: Words) -> str:
    """The label of a quoted sentence: which of the notice's program, date and place it gave."""
    names = {
        "program": _.ctx("read from mail", "program"),
        "effective_at": _.ctx("read from mail", "date"),
        "jurisdiction": _.ctx("read from mail", "place"),
    }
    named = [names.get(f, f) for f in fields]
    if len(named) == 1:
        label = _("The {what}, as written", what=named[0])
    else:
        label = _("The {some} and {last}, as written", some=", ".join(named[:-1]), last=named[-1])
    return label[:1].upper() + label[1:]  # a language may start with the first field's name


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


def facts(
    notice: Notice, role: Role, subscriber_id: str | None = None, *, language: Language = DEFAULT_LANGUAGE
) -> list[tuple[str, str]]:
    """The notice's particulars this recipient may see, as (label, value) in their language. Values the
    source or the law gave (names, places, the program, titles, criteria of the law) are shown as given."""
    _ = words_for(language)
    event = notice.event
    shown = [(_("Jurisdiction"), str(event.get("jurisdiction_name", notice.jurisdiction_id)))]
    if notice.type is EventType.ROLLOUT:
        if low_key := low_key_sentence(notice, language=language):
            shown.insert(0, (_("Low-key"), low_key))
        shown += [
            (_("Program"), str(event.get("program", ""))),
            (_("Effective"), str(event.get("effective_at", ""))),
        ]
        source = event.get("source") or {}
        if source.get("agency"):
            how = source.get("channel") or _("unknown channel")
            shown.append((_("Announced by"), f"{source['agency']} ({how})"))
        shown += mail_evidence(notice, _)
    else:
        shown += _detainer_facts(notice, role, subscriber_id, _)
    shown.append((_("Reference"), notice.id))
    return shown


def notice_title(notice: Notice, _: Words = ENGLISH) -> str:
    """The notice's title in the language: a title Vigil made (a detainer's; a rollout's whose source
    gave none, ``schemas/events.py``) is said again in it, one the source wrote is shown as written."""
    event = notice.event
    if _.language is Language.ENGLISH:
        return notice.title
    if notice.type is EventType.DETAINER:
        return _(
            "{form} detainer request at {facility}",
            form=event.get("form"),
            facility=event.get("facility_name"),
        )
    try:
        effective = datetime.fromisoformat(str(event.get("effective_at"))).date().isoformat()
    except ValueError:
        return notice.title
    place = event.get("jurisdiction_name")
    if notice.title != f"{event.get('program')} takes effect in {place} on {effective}":
        return notice.title
    return _(
        "{program} takes effect in {place} on {date}",
        program=event.get("program"),
        place=place,
        date=effective,
    )


def summary_for(notice: Notice, role: Role, _: Words = ENGLISH) -> str:
    """The source's summary as written, for those who may read it: a detainer's free text may name the
    person, so only roles entitled to know see it. A detainer sent without one shows its title."""
    if notice.type is EventType.DETAINER and not may_see_personal_data(role):
        return ""
    summary = str(notice.event.get("summary", ""))
    return notice_title(notice, _) if summary == notice.title else summary


def _term(value: Any, _: Words) -> str:
    """A value of the detainer review's vocabulary (a suggestion, a decision, a criterion's status or
    outcome) in words of the language; English shows the value itself."""
    terms = {
        "may-cooperate": _.ctx("suggestion", "may-cooperate"),
        "may-not-cooperate": _.ctx("suggestion", "may-not-cooperate"),
        "needs-judgment": _.ctx("suggestion", "needs-judgment"),
        "honor": _.ctx("decision", "honor"),
        "decline": _.ctx("decision", "decline"),
        "notify-only": _.ctx("decision", "notify-only"),
        "confirmed": _.ctx("criterion status", "confirmed"),
        "reported": _.ctx("criterion status", "reported"),
        "met": _.ctx("criterion outcome", "met"),
        "not-met": _.ctx("criterion outcome", "not-met"),
        "unknown": _.ctx("criterion outcome", "unknown"),
    }
    return terms.get(str(value), str(value))


def _detainer_facts(notice: Notice, role: Role, subscriber_id: str | None, _: Words) -> list[tuple[str, str]]:
    event = notice.event
    shown = [
        (_("Form"), str(event.get("form", ""))),
        (_("Facility"), str(event.get("facility_name", ""))),
        (_("Issued"), str(event.get("issued_at", ""))),
        (_("Release due"), str(event.get("release_due_at", ""))),
        (_("Judicial warrant"), _("yes") if event.get("judicial_warrant") else _("no")),
    ]
    shown += [(_("Hold clock"), line) for line in hold_lines(event.get("hold") or {}, _)]
    classification = event.get("classification") or {}
    if classification:
        shown.append(
            (
                _("Suggestion"),
                _(
                    "{suggestion} under {regime} (a suggestion for the reviewer, never a decision)",
                    suggestion=_term(classification.get("suggestion"), _),
                    regime=classification.get("regime_name") or _("no state regime"),
                ),
            )
        )
    subject = event.get("subject") or {}
    if may_see_personal_data(role):
        shown += [
            (
                _("Criterion ({status})", status=_term(c.get("status"), _)),
                f"{_term(c.get('outcome'), _)}: {c.get('text')}",
            )
            for c in classification.get("criteria", [])
        ]
        if subject:
            shown += [
                (_("Name"), str(subject.get("name", ""))),
                (_("Date of birth"), str(subject.get("date_of_birth", ""))),
                (_("A-number"), str(subject.get("a_number", ""))),
            ]
    elif is_counsel(notice, role, subscriber_id) and subject.get("name"):
        shown.append((_("Name (to counsel)"), str(subject["name"])))
    decision = decision_for(notice, role)
    if decision:
        shown.append((_("Decision"), f"{_term(decision['decision'], _)} ({decision['decided_at']})"))
        if decision.get("reasons"):
            shown.append((_("Reasons"), str(decision["reasons"])))
    return shown


def hold_lines(hold: dict[str, Any], _: Words = ENGLISH) -> list[str]:
    """A detainer's hold clocks in words. English is the text written when the notice was made;
    another language is said again from the clocks kept beside it (``deadlines.describe``)."""
    if _.language is Language.ENGLISH or "form_rule" not in hold:
        return [str(line) for line in hold.get("explained", [])]
    from chalicelib.domain.deadlines import describe_kept  # noqa: PLC0415  # detainers only: cold start

    return describe_kept(hold, _)


def render_email(
    notice: Notice,
    *,
    to: str,
    role: Role,
    ack_url: str,
    subscriber_id: str | None = None,
    summary_note: str = "",
    language: Language = DEFAULT_LANGUAGE,
) -> OutgoingEmail:
    """The notice by email, in the recipient's language: Vigil's words translated, the source's (the
    title, the summary) as the source wrote them."""
    _ = words_for(language)
    shown = facts(notice, role, subscriber_id, language=language)
    title = notice_title(notice, _)
    summary = summary_for(notice, role, _)
    low_key = (
        low_key_sentence(notice, limit=20, language=language) if notice.type is EventType.ROLLOUT else None
    )
    # A low-key notice says so first: the subject, and the text's first line.
    text_lines = [*([low_key, ""] if low_key else []), title, "", summary, ""]
    text_lines += [*(f"{k}: {v}" for k, v in shown), ""]
    if summary_note:
        text_lines += [summary_note, ""]
    text_lines += [_("Acknowledge that you have seen this notice:"), ack_url, ""]
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in shown
    )
    note = f"<p><strong>{html.escape(summary_note)}</strong></p>" if summary_note else ""
    warning = f"<p><strong>{html.escape(low_key)}</strong></p>" if low_key else ""
    # English mail says nothing of its language, as it always has; another names it for screen readers.
    opening = "<html>" if language is Language.ENGLISH else f"<html lang='{language}'>"
    body = (
        f"{opening}<body>{warning}<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>"
        f"<table>{rows}</table>{note}"
        f"<p><a href='{html.escape(ack_url, quote=True)}'>{html.escape(_('Acknowledge this notice'))}</a></p>"
        "</body></html>"
    )
    # Folded to one line: a line break in a subject is a header injection.
    subject = " ".join(_("[Vigil] {prefix}: {title}", prefix=kind_label(notice, _), title=title).split())
    return OutgoingEmail(to=to, subject=subject, text="\n".join(text_lines), html=body)


def kind_label(notice: Notice, _: Words = ENGLISH) -> str:
    """What the message is, in words: a rollout notice (low-key or not), a detainer request, or its
    decision. The email's subject and the chat message's first line begin with it."""
    if notice.decision:
        return _("Detainer decision ({decision})", decision=_term(notice.decision.get("decision"), _))
    if notice.type is EventType.ROLLOUT:
        if notice.low_key:
            return _("Rollout notice, low-key (only lower-level staff were told; nobody above them)")
        return _("Rollout notice")
    return _("Detainer request")


def render_sms(
    notice: Notice, *, to: str, reply_code: str | None = None, language: Language = DEFAULT_LANGUAGE
) -> OutgoingSms:
    """Never personal data by SMS: texts sit on lock screens. At most ``SMS_MAX_SEGMENTS`` segments in
    whichever encoding the text needs: the title gives way first."""
    _ = words_for(language)
    event = notice.event
    where = str(event.get("jurisdiction_name", notice.jurisdiction_id))
    when = str(event.get("effective_at") or event.get("release_due_at") or "")[:16].replace("T", " ")
    ref = notice.id[-8:]
    if reply_code:
        # Translators: a text is at most two segments: á, í, ó and ú (not é, ñ, ¿, ¡) make the whole
        # text UCS-2, where two segments hold 134 characters instead of 306 (domain/sms.py).
        tail = " " + _("Reply {code} to acknowledge.", code=reply_code)
    else:
        tail = " " + _("Details and acknowledgment by email.")
    if notice.type is EventType.ROLLOUT:
        head = _("VIGIL ROLLOUT: {where}, {when}. Ref {ref}.", where=where, when=when, ref=ref)
    else:
        head = _("VIGIL DETAINER: {where}, {when}. Ref {ref}.", where=where, when=when, ref=ref)
    if notice.type is EventType.ROLLOUT and (low_key := low_key_sentence(notice, limit=1, language=language)):
        # Said as fully as leaves room for some of the title: with its addresses, without them, or the
        # word alone (a long place name in a UCS-2 text leaves little room).
        said = [
            _(
                "VIGIL ROLLOUT, {low_key} {where}, {when}. Ref {ref}.",
                low_key=sentence,
                where=where,
                when=when,
                ref=ref,
            )
            for sentence in (
                low_key,
                _("LOW-KEY: only lower-level staff were told; nobody above them."),
                _("LOW-KEY."),
            )
        ]
        head = next((h for h in said if fits(f"{h} {'x' * 39}{tail}")), said[-1])
    return OutgoingSms(to=to, body=fit_text(f"{head} ", notice_title(notice, _), tail))


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
