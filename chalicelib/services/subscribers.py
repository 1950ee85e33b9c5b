"""Admin management of subscribers."""

from __future__ import annotations

import secrets
from datetime import datetime

import structlog

from chalicelib.domain.subscribers import Subscriber
from chalicelib.ports import SubscriberStore
from chalicelib.schemas.subscribers import SubscriberDraft

log = structlog.get_logger()


def create(draft: SubscriberDraft, *, subscribers: SubscriberStore, now: datetime) -> Subscriber:
    subscriber = Subscriber(
        id=f"sub_{secrets.token_hex(8)}",
        name=draft.name,
        role=draft.role,
        organization=draft.organization,
        ack_required=draft.ack_required,
        escalation_contact=draft.escalation_contact,
        channels=draft.channels,
        subscriptions=draft.subscriptions,
        created_at=now,
    )
    subscribers.add(subscriber)
    log.info(
        "subscriber.created",
        subscriber_id=subscriber.id,
        role=str(subscriber.role),
        channels=[str(c.type) for c in subscriber.channels],
        subscriptions=len(subscriber.subscriptions),
    )
    return subscriber
