"""Coverage: for each place of a state, whether each role a policy requires has someone reachable there; and
which duty rotations have nobody reachable at all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import STATE_ID, Jurisdiction, state_of
from chalicelib.domain.rotations import Rotation, reachable
from chalicelib.domain.subscribers import REACHES_INSIDE, EventType, Role, Scope, Subscriber, Subscription


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
    *,
    state: str = STATE_ID,
) -> list[PlaceCoverage]:
    """Who a notice for each place of ``state`` would reach, by the rule routing follows
    (``routing.covers``): a subscription covers its own place, with the contained scope also every
    place under it and, for event types that reach inside, every place above it. Containment never
    crosses a state's border, so only the state's own subscriptions count."""
    places = registry.within(state)
    under: dict[str, list[str]] = defaultdict(list)  # place → itself and every place under it
    for place in places:
        for above in registry.ancestors(place.id):
            under[above.id].append(place.id)
    reached: dict[tuple[str, EventType], dict[str, Role]] = defaultdict(dict)
    for subscriber in subscribers:
        if not any(c.active for c in subscriber.channels):
            continue  # unconfirmed, opted out or disabled everywhere: tells nobody
        for subscription in subscriber.subscriptions:
            if state_of(subscription.jurisdiction_id) != state:
                continue
            for event_type in subscription.event_types & required.keys():
                for place_id in _covered(subscription, event_type, registry, under):
                    reached[(place_id, event_type)][subscriber.id] = subscriber.role
    out = []
    for place in places:
        reachable: dict[EventType, dict[Role, int]] = {}
        for event_type in required:
            counts: dict[Role, int] = defaultdict(int)
            for role in reached.get((place.id, event_type), {}).values():
                counts[role] += 1
            reachable[event_type] = dict(counts)
        gaps = tuple((t, r) for t, roles in required.items() for r in roles if not reachable[t].get(r))
        out.append(PlaceCoverage(place, reachable, gaps))
    return out


def _covered(
    subscription: Subscription,
    event_type: EventType,
    registry: JurisdictionRegistry,
    under: Mapping[str, list[str]],
) -> Iterable[str]:
    if subscription.scope is Scope.EXACT:
        return (subscription.jurisdiction_id,)
    places = list(under.get(subscription.jurisdiction_id, [subscription.jurisdiction_id]))
    if event_type in REACHES_INSIDE:
        places += [j.id for j in registry.ancestors(subscription.jurisdiction_id)[1:]]
    return places


def rotation_gaps(rotations: Iterable[Rotation], people: Mapping[str, Subscriber]) -> list[Rotation]:
    """Rotations none of whose members can be reached (no confirmed, active channel, or no longer a
    subscriber): whoever is on duty in one, nobody hears of a notice through it."""
    return [r for r in rotations if not any(reachable(people.get(m)) for m in r.members)]
