"""Routing: who receives a notice, and which deliveries that makes.

Who a notice for a place reaches (the rule of containment, docs/decisions.md): the subscribers of
that place (any scope); of every place above it (county, planning region, state) whose subscription
is contained; and, for an event type that reaches inside (a rollout), of every place inside it
whose subscription is contained. ``covers`` states the rule for one subscription; ``reach`` says
where the subscription index is read to find the same people without reading anyone else, given
the rows ``subscribers.index_entries`` writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.deliveries import Delivery, DeliveryStatus, delivery_id_for
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import (
    REACHES_INSIDE,
    Channel,
    EventType,
    Role,
    Scope,
    Subscription,
    SubscriptionEntry,
)


def covers(
    subscription: Subscription, jurisdiction_id: str, event_type: EventType, registry: JurisdictionRegistry
) -> bool:
    """Whether a notice of this type for this place reaches the subscription."""
    if event_type not in subscription.event_types:
        return False
    if subscription.jurisdiction_id == jurisdiction_id:
        return True
    if subscription.scope is Scope.EXACT:
        return False
    above_notice = {j.id for j in registry.ancestors(jurisdiction_id)}
    if subscription.jurisdiction_id in above_notice:
        return True
    return event_type in REACHES_INSIDE and jurisdiction_id in {
        j.id for j in registry.ancestors(subscription.jurisdiction_id)
    }


@dataclass(frozen=True, slots=True)
class Reach:
    """Where the subscription index is read for one event type: one read per place.

    ``place``: every row of the type there (subscriptions to it of any scope, and the inside rows of
    the subscribers under it). ``above``: at each, only the rows of contained subscriptions to it.
    """

    event_type: EventType
    place: str | None
    above: tuple[str, ...]

    @property
    def reads(self) -> int:
        return len(self.above) + (self.place is not None)


def reach(registry: JurisdictionRegistry, jurisdiction_id: str, event_type: EventType) -> Reach:
    """The reads that find every subscription covering a notice for this place (``covers``)."""
    chain = registry.ancestors(jurisdiction_id)
    return Reach(event_type, chain[0].id, tuple(j.id for j in chain[1:]))


def reach_above(registry: JurisdictionRegistry, jurisdiction_id: str, event_type: EventType) -> Reach:
    """The subscriptions to the places above this one that cover it: where escalation climbs."""
    return Reach(event_type, None, tuple(j.id for j in registry.ancestors(jurisdiction_id)[1:]))


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
        via = tuple(dict.fromkeys((*known.via, *entry.subscribed_to))) if known else entry.subscribed_to
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
