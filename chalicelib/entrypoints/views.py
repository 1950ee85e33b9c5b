"""JSON shapes of domain objects in API responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.acklog import LogEntry
from chalicelib.domain.acknowledgments import Acknowledgment
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.facilities import Facility
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.messages import decision_for, detainer_event_for, low_key_sentence, mail_view
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.places import Jurisdiction
from chalicelib.domain.policies import EscalationPolicy
from chalicelib.domain.subscribers import ChannelType, EventType, Role, Subscriber, subscriber_record


def subscriber_json(subscriber: Subscriber, *, reveal_for: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Webhook secrets are shown once, in the response that created them (``reveal_for``: the ids of
    the channels this request created)."""
    out = subscriber_record(subscriber)
    # A chat channel's secret is its URL, which the admin gave and no answer repeats.
    secrets = {
        c.id: c.secret
        for c in subscriber.channels
        if c.id in reveal_for and c.secret and c.type is ChannelType.WEBHOOK
    }
    out["channels"] = [
        {**c, "secret": secrets[c["id"]]} if c["id"] in secrets else c for c in out["channels"]
    ]
    return out


def facility_json(facility: Facility, places: JurisdictionRegistry) -> dict[str, Any]:
    """The facility as kept, with the place it sits in named."""
    place = places.get(facility.place_id)
    record = {k: v for k, v in facility.as_record().items() if k != "place_id"}
    return {**record, "place": {"id": place.id, "name": place.full_name, "kind": str(place.kind)}}


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "subscriber_id": delivery.subscriber_id,
        "role": str(delivery.role),
        "channel": str(delivery.channel_type),
        "step": delivery.step,
        "status": str(delivery.status),
        "attempts": delivery.attempts,
        "sent_at": delivery.sent_at.isoformat() if delivery.sent_at else None,
        "last_error": delivery.last_error,
    }


def notice_json(
    notice: Notice, deliveries: list[Delivery] | None = None, *, full: bool = False
) -> dict[str, Any]:
    """A notice for API callers. ``full`` (reviewer and admin keys) shows a detainer's whole record;
    every other key sees what any recipient may: facility, dates, regime, suggestion, decision."""
    if notice.type is EventType.DETAINER:
        audience = Role.CORRECTIONS if full else Role.OTHER
        event = detainer_event_for(notice, audience)
        decision = decision_for(notice, audience)
    else:
        event, decision = dict(notice.event), notice.decision
    out: dict[str, Any] = {
        "id": notice.id,
        "type": str(notice.type),
        "status": str(notice.status),
        "title": notice.title,
        "jurisdiction_id": notice.jurisdiction_id,
        "jurisdiction_name": notice.event.get("jurisdiction_name"),
        "received_at": notice.received_at.isoformat(),
        "routed_at": notice.routed_at.isoformat() if notice.routed_at else None,
        "recipients": notice.recipients,
        "coverage_gaps": list(notice.coverage_gaps),
        "step": notice.step,
        "low_key": notice.low_key,
        "low_key_note": low_key_sentence(notice, limit=20) if notice.type is EventType.ROLLOUT else None,
        "mail": mail_view(notice),
        "report_count": notice.report_count,
        "reports": [dict(r) for r in notice.reports],
        "next_step_at": notice.next_step_at.isoformat() if notice.next_step_at else None,
        "deadline": notice.deadline.isoformat() if notice.deadline else None,
        "event": event,
        "decision": decision,
        "duties": list(notice.duties),
        "personal_data": _personal_data(notice),
    }
    if deliveries is not None:
        out["deliveries"] = [delivery_json(d) for d in deliveries]
    return out


def _personal_data(notice: Notice) -> dict[str, Any] | None:
    """When a decided detainer's personal data goes, or went, and which fields; None before a decision."""
    if notice.personal_data_due_at is None and notice.personal_data_removed_at is None:
        return None
    return {
        "due_at": notice.personal_data_due_at.isoformat() if notice.personal_data_due_at else None,
        "removed_at": notice.personal_data_removed_at.isoformat()
        if notice.personal_data_removed_at
        else None,
        "removed": list(notice.personal_data_removed),
    }


def notice_detail_json(
    notice: Notice,
    deliveries: list[Delivery],
    acks: list[Acknowledgment],
    policy: EscalationPolicy,
    *,
    now: datetime,
    full: bool = False,
) -> dict[str, Any]:
    """Each recipient's delivery and acknowledgment state, the current step, and what happens next."""
    out = notice_json(notice, full=full)
    by_ack = {a.subscriber_id: a for a in acks}
    recipients: dict[str, dict[str, Any]] = {}
    for d in deliveries:
        entry = recipients.setdefault(
            d.subscriber_id,
            {
                "subscriber_id": d.subscriber_id,
                "role": str(d.role),
                "ack_required": d.ack_required,
                "deliveries": [],
            },
        )
        entry["deliveries"].append(delivery_json(d))
    for subscriber_id, entry in recipients.items():
        ack = by_ack.get(subscriber_id)
        entry["acknowledged_at"] = ack.at.isoformat() if ack else None
        entry["acknowledged_via"] = str(ack.via) if ack else None
    acked_roles = {a.role for a in acks if not a.late}
    following = (
        policy.next_step(after_step=notice.step, received_at=notice.received_at, deadline=notice.deadline)
        if notice.status is NoticeStatus.OPEN
        else None
    )
    out |= {
        "recipients_detail": sorted(recipients.values(), key=lambda r: (r["role"], r["subscriber_id"])),
        "required_roles": [{"role": str(r), "acknowledged": r in acked_roles} for r in policy.required_roles],
        "acknowledged_at": notice.acknowledged_at.isoformat() if notice.acknowledged_at else None,
        "current_step": {
            "index": notice.step,
            **policy.steps[min(notice.step, len(policy.steps) - 1)].as_json(),
        },
        "next_step": (
            {
                "index": following[0],
                **policy.steps[following[0]].as_json(),
                "at": following[1].isoformat(),
                "overdue": following[1] <= now,
            }
            if following
            else None
        ),
    }
    return out


def log_entry_json(entry: LogEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "kind": str(entry.kind),
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def jurisdiction_json(jurisdiction: Jurisdiction) -> dict[str, Any]:
    return jurisdiction.as_json()


def held_json(notice: Notice) -> dict[str, Any]:
    """A held message as the admins' triage queue shows it: why, SES's verdicts, who sent it, its
    subject and an excerpt, and what the reader made of it (to start the completion from)."""
    extra = notice.extra
    read = notice.event.get("extraction") or {}
    return {
        "notice_id": notice.id,
        "held_at": notice.received_at.isoformat(),
        "reasons": list(extra.get("held") or [{"code": "incomplete", "text": "held for triage"}]),
        "missing": list(extra.get("missing", [])),
        "verdicts": extra.get("receipt"),
        "sender": extra.get("sender"),
        "original_sender": (read.get("original_sender") or {}).get("value"),
        "subject": extra.get("subject", notice.event.get("summary", "")),
        "excerpt": extra.get("excerpt", ""),
        "read_as": {
            "program": (read.get("program") or {}).get("value"),
            "effective_at": (read.get("effective_at") or {}).get("value"),
            "jurisdictions": list((read.get("jurisdictions") or {}).get("value") or []),
        },
        "report_count": notice.report_count,
        "quiet": bool(extra.get("quiet")),
        "raw": extra.get("raw"),
    }
