"""JSON shapes of domain objects in API responses."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.jurisdictions import Jurisdiction
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import Channel, Subscriber


def channel_json(channel: Channel, *, reveal_secret: bool) -> dict[str, Any]:
    key = {"email": "address", "sms": "phone", "webhook": "url"}[str(channel.type)]
    out: dict[str, Any] = {"id": channel.id, "type": str(channel.type), key: channel.address}
    if reveal_secret and channel.secret:
        out["secret"] = channel.secret
    return out


def subscriber_json(subscriber: Subscriber, *, reveal_secrets: bool = False) -> dict[str, Any]:
    """Webhook secrets are shown once, in the response that created them."""
    return {
        "id": subscriber.id,
        "name": subscriber.name,
        "role": str(subscriber.role),
        "organization": subscriber.organization,
        "ack_required": subscriber.ack_required,
        "escalation_contact": subscriber.escalation_contact,
        "channels": [channel_json(c, reveal_secret=reveal_secrets) for c in subscriber.channels],
        "subscriptions": [
            {"jurisdiction": s.jurisdiction_id, "event_types": sorted(str(t) for t in s.event_types)}
            for s in subscriber.subscriptions
        ],
        "created_at": subscriber.created_at.isoformat(),
    }


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


def notice_json(notice: Notice, deliveries: list[Delivery] | None = None) -> dict[str, Any]:
    """For API callers (admins, viewers, reviewers); the detainer subject is never in list views."""
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
        "deadline": notice.deadline.isoformat() if notice.deadline else None,
        "event": {k: v for k, v in notice.event.items() if k != "subject"},
    }
    if deliveries is not None:
        out["deliveries"] = [delivery_json(d) for d in deliveries]
    return out


def jurisdiction_json(jurisdiction: Jurisdiction) -> dict[str, Any]:
    return jurisdiction.as_json()
