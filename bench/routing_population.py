"""The populations the routing benchmark loads (``python -m bench.routing``), and the ground truth each
is checked against: where subscriptions sit (``connecticut``: towns, counties, regions and the
state; ``national``: states by their 2020 Census population, counties by Zipf weights), the
notices routed (``Scenario``), and what a notice's routing query should find (``coverage``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from bench.counting import item_size
from chalicelib.adapters.dynamodb import encode
from chalicelib.adapters.subscriber_store import entry_to_item
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import STATE_ID, Jurisdiction, JurisdictionKind
from chalicelib.domain.routing import Reach, covers
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Subscriber,
    Subscription,
    default_ack_required,
    index_entries,
)

T = TypeVar("T")
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
PAGE_BYTES = 1_000_000  # a Query returns at most 1 MB of items per request

# Where subscriptions sit: mostly towns (mayors, chiefs, local advocates), a few at each wider level.
SHARES: tuple[tuple[JurisdictionKind, float], ...] = (
    (JurisdictionKind.TOWN, 0.85),
    (JurisdictionKind.COUNTY, 0.05),
    (JurisdictionKind.REGION, 0.05),
    (JurisdictionKind.STATE, 0.05),
)
# Which notices a subscription asks for.
EVENT_TYPE_SHARES: tuple[tuple[frozenset[EventType], float], ...] = (
    (frozenset({EventType.ROLLOUT, EventType.DETAINER}), 0.50),
    (frozenset({EventType.ROLLOUT}), 0.35),
    (frozenset({EventType.DETAINER}), 0.15),
)
ROLES: dict[JurisdictionKind, tuple[Role, ...]] = {
    JurisdictionKind.TOWN: (Role.LOCAL_OFFICIAL, Role.LAW_ENFORCEMENT, Role.ADVOCATE, Role.LEGAL, Role.MEDIA),
    JurisdictionKind.COUNTY: (Role.LAW_ENFORCEMENT, Role.LEGAL, Role.ADVOCATE),
    JurisdictionKind.REGION: (Role.LOCAL_OFFICIAL, Role.ADVOCATE, Role.MEDIA),
    JurisdictionKind.STATE: (Role.STATE_EXECUTIVE, Role.CORRECTIONS, Role.ADVOCATE, Role.MEDIA),
}
SMS_SHARE = 0.25  # every subscriber has an email channel; some also SMS, a few a webhook
WEBHOOK_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str  # its name for --scenarios
    label: str
    event_type: EventType
    place: str  # as a source system would name it; resolved through the registry


NATIONAL_SCENARIOS = (
    Scenario("county", "county rollout (Harris County, TX)", EventType.ROLLOUT, "Harris County, Texas"),
    Scenario("state", "statewide rollout (Texas)", EventType.ROLLOUT, "Texas"),
    Scenario(
        "facility", "facility detainer (Hartford CC)", EventType.DETAINER, "Hartford Correctional Center"
    ),
)
# 2020 Census resident population, in thousands: the national population's weights (a model, not
# data the service uses, so it lives here).
STATE_POPULATION: dict[str, int] = {
    "us-al": 5024, "us-ak": 733, "us-az": 7152, "us-ar": 3012, "us-ca": 39538, "us-co": 5774,
    "us-ct": 3606, "us-de": 990, "us-dc": 690, "us-fl": 21538, "us-ga": 10712, "us-hi": 1455,
    "us-id": 1839, "us-il": 12813, "us-in": 6786, "us-ia": 3190, "us-ks": 2938, "us-ky": 4506,
    "us-la": 4658, "us-me": 1362, "us-md": 6177, "us-ma": 7030, "us-mi": 10077, "us-mn": 5706,
    "us-ms": 2961, "us-mo": 6155, "us-mt": 1084, "us-ne": 1962, "us-nv": 3105, "us-nh": 1378,
    "us-nj": 9289, "us-nm": 2118, "us-ny": 20201, "us-nc": 10439, "us-nd": 779, "us-oh": 11799,
    "us-ok": 3959, "us-or": 4237, "us-pa": 13003, "us-ri": 1097, "us-sc": 5118, "us-sd": 887,
    "us-tn": 6911, "us-tx": 29146, "us-ut": 3272, "us-vt": 643, "us-va": 8631, "us-wa": 7705,
    "us-wv": 1794, "us-wi": 5894, "us-wy": 577, "us-pr": 3286, "us-gu": 154, "us-vi": 87,
    "us-as": 50, "us-mp": 47,
}  # fmt: skip
NATIONAL_STATEWIDE_SHARE = 0.05
LARGEST_FIRST = ("us-tx/county/harris",)  # the scenario's county leads its state's Zipf order

SCENARIOS = (
    Scenario("town", "town rollout (New Haven)", EventType.ROLLOUT, "New Haven"),
    Scenario("county", "county rollout (Fairfield County)", EventType.ROLLOUT, "Fairfield County"),
    Scenario("state", "statewide rollout", EventType.ROLLOUT, "statewide"),
    Scenario(
        "facility", "facility detainer (Hartford CC)", EventType.DETAINER, "Hartford Correctional Center"
    ),
)


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the population says a notice's routing query should find: the ground truth to check."""

    # Subscribers whose subscription covers the notice, by the rule (``routing.covers``).
    subscribers: int
    # The index rows each read of the reach should return (by the rows ``index_entries`` writes),
    # and their size by AWS's item-size rules, per place read.
    rows: int
    bytes_by_read: dict[str, int]

    @property
    def pages(self) -> int:
        """Query requests DynamoDB needs: one per read, plus one per further 1 MB of its rows."""
        return sum(max(1, math.ceil(size / PAGE_BYTES)) for size in self.bytes_by_read.values())

    @property
    def largest(self) -> tuple[str, int]:
        return max(self.bytes_by_read.items(), key=lambda kv: kv[1])


# --- the population ----------------------------------------------------------------------------


def _pick[T](rng: random.Random, shares: Sequence[tuple[T, float]]) -> T:
    return rng.choices([value for value, _ in shares], weights=[weight for _, weight in shares])[0]


def national_weights(registry: JurisdictionRegistry, *, seed: int) -> tuple[list[Jurisdiction], list[float]]:
    """Every place a national subscriber may subscribe to, and its share (``--population national``)."""
    rng = random.Random(seed)
    places: list[Jurisdiction] = []
    weights: list[float] = []
    for state in sorted(registry.states(), key=lambda s: s.id):
        people = STATE_POPULATION[state.id]
        inside = registry.within(state.id)
        if state.id == STATE_ID:
            for kind, share in SHARES:
                of_kind = [p for p in inside if p.kind is kind]
                places += of_kind
                weights += [people * share / len(of_kind)] * len(of_kind)
            continue
        counties = [p for p in inside if p.kind is JurisdictionKind.COUNTY]
        rng.shuffle(counties)
        counties.sort(key=lambda c: c.id not in LARGEST_FIRST)
        zipf = [1 / rank for rank in range(1, len(counties) + 1)]
        places += [state, *counties]
        weights += [people * NATIONAL_STATEWIDE_SHARE]
        weights += [people * (1 - NATIONAL_STATEWIDE_SHARE) * z / sum(zipf) for z in zipf]
    return places, weights


def population(
    count: int, *, seed: int, registry: JurisdictionRegistry, national: bool = False
) -> list[Subscriber]:
    """``count`` subscribers, one subscription each; the first n are the same for every count >= n."""
    rng = random.Random(seed)
    places = {kind: [p for p in registry.within(STATE_ID) if p.kind is kind] for kind, _ in SHARES}
    everywhere, weights = national_weights(registry, seed=seed) if national else ([], [])
    cumulative = list(itertools.accumulate(weights))
    seen: set[str] = set()
    out: list[Subscriber] = []
    while len(out) < count:
        subscriber_id = f"sub_{rng.getrandbits(64):016x}"  # the service's id shape: random, so keys spread
        if subscriber_id in seen:
            continue
        seen.add(subscriber_id)
        if national:
            place = rng.choices(everywhere, cum_weights=cumulative)[0]
            kind = place.kind
        else:
            kind = _pick(rng, SHARES)
            place = rng.choice(places[kind])
        role = rng.choice(ROLES[kind])
        n = len(out)
        channels = [Channel(ChannelType.EMAIL, f"office{n}@example.gov")]
        if rng.random() < SMS_SHARE:
            channels.append(Channel(ChannelType.SMS, f"+1860555{n % 10_000:04d}"))
        if rng.random() < WEBHOOK_SHARE:
            channels.append(
                Channel(ChannelType.WEBHOOK, f"https://hooks{n}.example.org/vigil", f"whsec_bench{n:06d}")
            )
        out.append(
            Subscriber(
                id=subscriber_id,
                name=f"Office {n}",
                role=role,
                organization=f"Organization {n}",
                ack_required=default_ack_required(role),
                channels=tuple(channels),
                subscriptions=(Subscription(place.id, _pick(rng, EVENT_TYPE_SHARES)),),
                created_at=NOW,
            )
        )
    return out


def coverage(subscribers: Sequence[Subscriber], wanted: Reach, registry: JurisdictionRegistry) -> Coverage:
    place = wanted.place
    assert place is not None  # a notice's reach starts at its own place
    sizes = {p: 0 for p in (place, *wanted.above)}
    rows = 0
    covered: set[str] = set()
    for subscriber in subscribers:
        if any(covers(s, place, wanted.event_type, registry) for s in subscriber.subscriptions):
            covered.add(subscriber.id)
        for entry in index_entries(subscriber, registry):
            if entry.event_type is not wanted.event_type or entry.jurisdiction_id not in sizes:
                continue
            if entry.jurisdiction_id == place or entry.covers_below:
                sizes[entry.jurisdiction_id] += item_size(dict(encode(entry_to_item(entry))))
                rows += 1
    return Coverage(len(covered), rows, sizes)
