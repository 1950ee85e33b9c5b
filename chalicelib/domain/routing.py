"""Routing: who receives a notice, and which deliveries that makes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.deliveries import Delivery, DeliveryStatus, delivery_id_for
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import Channel, Role, SubscriptionEntry


@dataclass(frozen=True, slots=True)
class Recipient:
    subscriber_id: str
    name: str
    role: Role
    organization: str
    ack_required: bool
    channels: tuple[Channel, ...]
    # The subscribed jurisdictions that matched (a subscriber may cover a notice several ways).
    via: tuple[str, ...]


def recipients_for(entries: Iterable[SubscriptionEntry]) -> list[Recipient]:
    """Everyone whose subscription covers the notice, once each, in a stable order."""
    by_subscriber: dict[str, Recipient] = {}
    for entry in entries:
        known = by_subscriber.get(entry.subscriber_id)
        via = (*known.via, entry.jurisdiction_id) if known else (entry.jurisdiction_id,)
        by_subscriber[entry.subscriber_id] = Recipient(
            subscriber_id=entry.subscriber_id,
            name=entry.name,
            role=entry.role,
            organization=entry.organization,
            ack_required=entry.ack_required,
            channels=entry.channels,
            via=via,
        )
    return sorted(by_subscriber.values(), key=lambda r: r.subscriber_id)


def coverage_gaps(required_roles: Iterable[Role], recipients: Iterable[Recipient]) -> tuple[Role, ...]:
    """Required roles with nobody to tell: the failure this project exists to prevent. A recipient
    whose channels are all unverified, opted out or disabled tells nobody."""
    present = {r.role for r in recipients if any(c.active for c in r.channels)}
    return tuple(role for role in required_roles if role not in present)


def plan_deliveries(
    notice: Notice, recipients: Iterable[Recipient], *, step: int, now: datetime
) -> list[Delivery]:
    """One pending delivery per recipient and channel for this step."""
    return [
        Delivery(
            notice_id=notice.id,
            delivery_id=delivery_id_for(step, recipient.subscriber_id, channel.id),
            step=step,
            subscriber_id=recipient.subscriber_id,
            role=recipient.role,
            ack_required=recipient.ack_required,
            channel_type=channel.type,
            channel_id=channel.id,
            address=channel.address,
            status=DeliveryStatus.PENDING,
            created_at=now,
        )
        for recipient in recipients
        for channel in recipient.channels
        if channel.active
    ]
