"""Coverage: for each place, whether each role a policy requires has someone reachable there."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib.domain.jurisdictions import Jurisdiction, JurisdictionRegistry
from chalicelib.domain.subscribers import EventType, Role, Subscriber


@dataclass(frozen=True, slots=True)
class PlaceCoverage:
    jurisdiction: Jurisdiction
    # event type → role → how many subscribers with an active channel cover this place.
    reachable: dict[EventType, dict[Role, int]]
    gaps: tuple[tuple[EventType, Role], ...]


def coverage(
    registry: JurisdictionRegistry,
    subscribers: Iterable[Subscriber],
    required: Mapping[EventType, tuple[Role, ...]],
) -> list[PlaceCoverage]:
    """A notice for a place reaches subscribers of that place and of every place above it, so a
    subscription covers its own node and everything under it."""
    counts: dict[str, dict[EventType, dict[Role, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    covered_by: dict[tuple[str, EventType], set[str]] = defaultdict(set)
    for subscriber in subscribers:
        if not any(c.active for c in subscriber.channels):
            continue  # unconfirmed, opted out or disabled everywhere: tells nobody
        for subscription in subscriber.subscriptions:
            for event_type in subscription.event_types:
                covered_by[(subscription.jurisdiction_id, event_type)].add(
                    f"{subscriber.id}\x00{subscriber.role}"
                )
    places = registry.all()
    for place in places:
        for event_type in required:
            seen: set[str] = set()
            for ancestor in registry.ancestors(place.id):
                seen |= covered_by.get((ancestor.id, event_type), set())
            for entry in seen:
                role = Role(entry.split("\x00", 1)[1])
                counts[place.id][event_type][role] += 1
    out = []
    for place in places:
        reachable = {t: dict(counts[place.id][t]) for t in required}
        gaps = tuple((t, r) for t, roles in required.items() for r in roles if not reachable[t].get(r))
        out.append(PlaceCoverage(place, reachable, gaps))
    return out
