"""Subscribers: who hears of notices for which jurisdictions, and how."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib.domain.language import DEFAULT_LANGUAGE, Language

if TYPE_CHECKING:
    from chalicelib.domain.jurisdictions import JurisdictionRegistry


class Role(StrEnum):
    STATE_EXECUTIVE = "state-executive"
    CORRECTIONS = "corrections"
    LAW_ENFORCEMENT = "law-enforcement"
    LOCAL_OFFICIAL = "local-official"
    ADVOCATE = "advocate"
    LEGAL = "legal"
    MEDIA = "media"
    OTHER = "other"


OFFICIAL_ROLES = frozenset(
    {Role.STATE_EXECUTIVE, Role.CORRECTIONS, Role.LAW_ENFORCEMENT, Role.LOCAL_OFFICIAL}
)


@dataclass(frozen=True, slots=True)
class FailureLimit:
    """When an endpoint that keeps failing is switched off: once it has failed ``attempts`` times in
    a row AND its first failure is ``window`` old. Both: a burst of failures within minutes is an
    outage the retries ride out, and two failures days apart are not an endpoint that is down.
    Webhooks' limit is their retry schedule (``deliveries.WEBHOOK_FAILURE_LIMIT``): failing every
    attempt of one delivery is enough, and nothing less is."""

    attempts: int
    window: timedelta


class EventType(StrEnum):
    ROLLOUT = "rollout"
    DETAINER = "detainer"


# A rollout for a place concerns every place inside it (its towns, their facilities), so it reaches
# their subscribers too; a detainer concerns one facility and goes only up from it.
REACHES_INSIDE = frozenset({EventType.ROLLOUT})


class Scope(StrEnum):
    """How far a subscription reaches from its place.

    CONTAINED (the default): notices for the place, for every place inside it, and (for event types
    that reach inside) for every place that contains it. EXACT: notices for exactly that place.
    """

    CONTAINED = "contained"
    EXACT = "exact"


class ChannelType(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"
    # Chat: a Slack incoming webhook, or a Microsoft Teams workflow (or Office 365 connector) URL.
    SLACK = "slack"
    TEAMS = "teams"


CHAT_CHANNELS = frozenset({ChannelType.SLACK, ChannelType.TEAMS})
# Channels that POST to a URL of the subscriber's: checked against private networks, retried on the
# webhooks' schedule, and switched off once they keep failing (``Channel.after_send``).
ENDPOINT_CHANNELS = frozenset({ChannelType.WEBHOOK, *CHAT_CHANNELS})


@dataclass(frozen=True, slots=True)
class Channel:
    """One way to reach a subscriber. ``address`` is an email, an E.164 number, an https URL, or for a
    chat channel the name of its endpoint (``chat.chat_endpoint``: host and fingerprint)."""

    type: ChannelType
    address: str
    # A webhook's signing secret (whsec_…); a chat channel's URL, which is itself the credential that
    # lets anyone post to the channel, so it is kept where a secret is (never in the subscription
    # index, the API's answers or the audit trail); None for email and SMS.
    secret: str | None = None
    # Email, SMS and chat channels are confirmed by their owner before anything is sent to them: a
    # typo must not send a detainer's particulars to a stranger.
    verified: bool = True
    # The owner said stop (STOP by text, one-click unsubscribe by email).
    opted_out: bool = False
    # A webhook or chat endpoint that kept failing, switched off until an admin re-enables it.
    disabled: bool = False
    # The address bounced for good (SES): nothing more goes to it until an admin replaces it.
    bounced: bool = False
    # The secret before the last rotation, still signed with until then, so receivers can switch over.
    previous_secret: str | None = None
    previous_secret_until: datetime | None = None
    # When a webhook endpoint started failing (None while it answers), and how many attempts in a
    # row have failed since: both past the FailureLimit, and it is disabled.
    failing_since: datetime | None = None
    consecutive_failures: int = 0

    @property
    def id(self) -> str:
        """Stable across reordering, so a delivery's identity does not depend on list position."""
        digest = hashlib.sha256(f"{self.type}:{self.address}".encode()).hexdigest()
        return f"{self.type}-{digest[:10]}"

    @property
    def url(self) -> str | None:
        """Where an endpoint channel posts: a webhook's address, a chat channel's URL (kept as its
        secret); None for email and SMS."""
        if self.type is ChannelType.WEBHOOK:
            return self.address
        return self.secret if self.type in CHAT_CHANNELS else None

    @property
    def active(self) -> bool:
        """Whether messages go to this channel."""
        return self.verified and not self.opted_out and not self.disabled and not self.bounced

    @property
    def state(self) -> str:
        if self.disabled:
            return "disabled"
        if self.bounced:
            return "bounced"
        if self.opted_out:
            return "opted-out"
        return "active" if self.verified else "unverified"

    def after_send(self, *, ok: bool, now: datetime, limit: FailureLimit) -> Channel:
        """An endpoint's health after an attempt: a success clears the record of failures; a failure
        adds to it, and one past ``limit`` (in count and in time) switches the channel off."""
        if ok:
            return self.healthy()
        since = self.failing_since or now
        failures = self.consecutive_failures + 1
        spent = failures >= limit.attempts and now - since >= limit.window
        return replace(
            self, failing_since=since, consecutive_failures=failures, disabled=self.disabled or spent
        )

    def healthy(self) -> Channel:
        """The channel with no record of failures (after a success, or re-enabled by an admin)."""
        if self.failing_since is None and not self.consecutive_failures:
            return self
        return replace(self, failing_since=None, consecutive_failures=0)

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """Current secret first; the previous one too while its overlap lasts."""
        current = (self.secret,) if self.secret else ()
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            return (*current, self.previous_secret)
        return current


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel of a subscriber, as named in verification and unsubscribe links and codes."""

    subscriber_id: str
    channel_id: str


@dataclass(frozen=True, slots=True)
class Subscription:
    jurisdiction_id: str
    event_types: frozenset[EventType]
    scope: Scope = Scope.CONTAINED


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: str
    name: str
    role: Role
    organization: str
    ack_required: bool
    channels: tuple[Channel, ...]
    subscriptions: tuple[Subscription, ...]
    created_at: datetime
    escalation_contact: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    # The language of every message and page the subscriber receives (domain/language.py).
    language: Language = DEFAULT_LANGUAGE
    # How many times the stored record has been written. A write carries the revision it was based on
    # and the store refuses it if the record moved on (ChangedMeanwhile): the send, reply and feedback
    # functions and an admin may change one subscriber at the same moment. Storage bookkeeping, not
    # part of what a subscriber is, so equality ignores it.
    revision: int = field(default=0, compare=False)

    def channel(self, channel_id: str) -> Channel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def with_channel(self, channel: Channel) -> Subscriber:
        """The subscriber with this channel (matched by id) replaced."""
        return replace(self, channels=tuple(channel if c.id == channel.id else c for c in self.channels))


# The field that holds each channel type's address in records and API answers. A chat channel's URL
# is a credential: answers name its endpoint instead (host and fingerprint), requests give ``url``.
ADDRESS_FIELD = {
    ChannelType.EMAIL: "address",
    ChannelType.SMS: "phone",
    ChannelType.WEBHOOK: "url",
    ChannelType.SLACK: "endpoint",
    ChannelType.TEAMS: "endpoint",
}


def channel_record(channel: Channel) -> dict[str, Any]:
    """A channel as the API and the audit trail show it: never its secret."""
    return {
        "id": channel.id,
        "type": str(channel.type),
        ADDRESS_FIELD[channel.type]: channel.address,
        "state": channel.state,
    }


def subscriber_record(subscriber: Subscriber) -> dict[str, Any]:
    """A subscriber as the API and the audit trail show it (before and after each change)."""
    return {
        "id": subscriber.id,
        "name": subscriber.name,
        "role": str(subscriber.role),
        "organization": subscriber.organization,
        "ack_required": subscriber.ack_required,
        "escalation_contact": subscriber.escalation_contact,
        "language": str(subscriber.language),
        "channels": [channel_record(c) for c in subscriber.channels],
        "subscriptions": [
            {
                "jurisdiction": s.jurisdiction_id,
                "event_types": sorted(str(t) for t in s.event_types),
                "scope": str(s.scope),
            }
            for s in subscriber.subscriptions
        ],
        "created_at": subscriber.created_at.isoformat(),
    }


def default_ack_required(role: Role) -> bool:
    """Officials must acknowledge by default; advocates, press and systems need not."""
    return role in OFFICIAL_ROLES


@dataclass(frozen=True, slots=True)
class SubscriptionEntry:
    """One row of the jurisdiction-keyed index: a subscriber, as routing needs to see it.

    Routing reads these and nothing else, so each entry carries a snapshot of the subscriber's
    role and channels (rewritten whenever the subscriber changes).

    A row is either *direct* (the subscriber subscribed to ``jurisdiction_id``, with ``scope``) or
    *inside* (``inside`` names the places within ``jurisdiction_id`` the subscriber subscribed to,
    with the contained scope): inside rows let one read of a wide place find everyone under it.
    """

    jurisdiction_id: str
    event_type: EventType
    subscriber_id: str
    name: str
    role: Role
    organization: str
    ack_required: bool
    channels: tuple[Channel, ...]
    escalation_contact: bool = False
    scope: Scope = Scope.CONTAINED
    inside: tuple[str, ...] = ()

    @property
    def covers_below(self) -> bool:
        """Whether notices for places under ``jurisdiction_id`` reach it (read from below)."""
        return not self.inside and self.scope is Scope.CONTAINED

    @property
    def subscribed_to(self) -> tuple[str, ...]:
        """The places the subscriber subscribed to that this row stands for."""
        return self.inside or (self.jurisdiction_id,)


def index_entries(subscriber: Subscriber, registry: JurisdictionRegistry) -> list[SubscriptionEntry]:
    """The index rows a subscriber's subscriptions produce.

    One direct row per subscribed place and event type; and, for a contained subscription to an
    event type that reaches inside, one inside row per place above it, per event type and
    subscriber (naming every subscribed place under it), unless the subscriber also subscribed to
    that place directly: its direct row is read whenever the inside row would be.
    """
    direct: dict[tuple[str, EventType], Scope] = {}
    for subscription in subscriber.subscriptions:
        for event_type in subscription.event_types:
            direct[(subscription.jurisdiction_id, event_type)] = subscription.scope
    inside: dict[tuple[str, EventType], list[str]] = {}
    for subscription in subscriber.subscriptions:
        if subscription.scope is not Scope.CONTAINED:
            continue
        for event_type in sorted(subscription.event_types & REACHES_INSIDE):
            for above in registry.ancestors(subscription.jurisdiction_id)[1:]:
                if (above.id, event_type) not in direct:
                    inside.setdefault((above.id, event_type), []).append(subscription.jurisdiction_id)

    def entry(place: str, event_type: EventType, scope: Scope, places: tuple[str, ...]) -> SubscriptionEntry:
        return SubscriptionEntry(
            jurisdiction_id=place,
            event_type=event_type,
            subscriber_id=subscriber.id,
            name=subscriber.name,
            role=subscriber.role,
            organization=subscriber.organization,
            ack_required=subscriber.ack_required,
            channels=subscriber.channels,
            escalation_contact=subscriber.escalation_contact,
            scope=scope,
            inside=places,
        )

    return [
        *(entry(place, t, scope, ()) for (place, t), scope in sorted(direct.items())),
        *(
            entry(place, t, Scope.CONTAINED, tuple(sorted(places)))
            for (place, t), places in sorted(inside.items())
        ),
    ]
