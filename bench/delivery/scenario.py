"""A scenario: how many subscribers, which channels they have, and the notice they are sent."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.data import load_registry
from chalicelib.domain.places import STATE_ID, JurisdictionKind
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Subscriber,
    Subscription,
    default_ack_required,
)

if TYPE_CHECKING:
    pass

STAGE = "bench"
# The mixed variant: every subscriber has email; these shares also have SMS, a webhook (seeded).
SMS_SHARE = 0.35
WEBHOOK_SHARE = 0.15
ROLES = (Role.STATE_EXECUTIVE, Role.CORRECTIONS, Role.LOCAL_OFFICIAL, Role.LAW_ENFORCEMENT, Role.ADVOCATE)


@dataclass(frozen=True, slots=True)
class Scenario:
    label: str
    subscribers: int
    mixed: bool
    send_workers: int = 1
    # Subscribed to the 169 towns in turn rather than statewide: the statewide rollout reaches them
    # through the index's inside rows, as it reaches Connecticut's mayors and chiefs.
    on_towns: bool = False


def population(scenario: Scenario, *, seed: int, receiver_url: str) -> list[Subscriber]:
    """Rollout subscribers with active channels, statewide or on towns; one seed, the same people."""
    rng = random.Random(f"{seed}:{scenario.subscribers}:{scenario.mixed}")
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    towns = [t.id for t in load_registry().of_kind(JurisdictionKind.TOWN)]
    out = []
    for n in range(scenario.subscribers):
        place = towns[n % len(towns)] if scenario.on_towns else STATE_ID
        role = ROLES[n % len(ROLES)]
        channels = [Channel(ChannelType.EMAIL, f"office{n}@bench{n % 97}.example.gov")]
        if scenario.mixed and rng.random() < SMS_SHARE:
            channels.append(Channel(ChannelType.SMS, f"+1860{5550000 + n:07d}"))
        if scenario.mixed and rng.random() < WEBHOOK_SHARE:
            secret = "whsec_" + base64.b64encode(rng.randbytes(24)).decode()
            channels.append(Channel(ChannelType.WEBHOOK, f"{receiver_url}/hooks/{n}", secret))
        out.append(
            Subscriber(
                id=f"sub_{rng.getrandbits(64):016x}",
                name=f"Office {n}",
                role=role,
                organization=f"Organization {n}",
                ack_required=default_ack_required(role),
                channels=tuple(channels),
                subscriptions=(Subscription(place, frozenset({EventType.ROLLOUT})),),
                created_at=now,
            )
        )
    return out


def rollout_event(label: str) -> dict[str, Any]:
    return {
        "type": "rollout",
        "external_id": f"bench-delivery-{label}",
        "program": "secure-communities",
        "jurisdiction": "statewide",
        "effective_at": "2026-12-02T00:00:00-05:00",
        "summary": "Secure Communities activates in all Connecticut jurisdictions (benchmark)",
        "source": {"agency": "ICE", "channel": "email"},
    }
