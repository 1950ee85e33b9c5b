"""Admins keep the correctional facilities of every state: add, change, retire, list, show.

Each write re-reads the facilities first (``PlaceGraph.forget``), so its checks of ids and names see
every stored facility, and is audited. A change that moves a facility to another town or county
rewrites the subscription index rows of the facility's subscribers, whose inside rows lie under the
places above it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from chalicelib.domain.errors import ChangedMeanwhile, NotFound
from chalicelib.domain.facilities import (
    Facility,
    FacilityChange,
    FacilityDraft,
    changed,
    new_facility,
    seed_facilities,
)
from chalicelib.domain.places import JurisdictionKind, UnknownJurisdiction
from chalicelib.domain.routing import Reach
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import AckLog, FacilityStore, SubscriberStore, SubscriptionIndex
from chalicelib.services import audit
from chalicelib.services.place_graph import PlaceGraph

log = structlog.get_logger(__name__)

CHANGE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Keepers:
    """What a facility write touches: the facilities, the graph that serves them, the subscribers
    whose index rows follow a facility's place, and the audit trail."""

    facilities: FacilityStore
    graph: PlaceGraph
    subscribers: SubscriberStore
    index: SubscriptionIndex
    ack_log: AckLog


def add(draft: FacilityDraft, *, keepers: Keepers, actor: str, now: datetime) -> Facility:
    keepers.graph.forget()
    facility = new_facility(draft, places=keepers.graph.current(), by=actor, now=now)
    keepers.facilities.add(facility)
    keepers.graph.forget()
    audit.record(
        keepers.ack_log,
        actor=actor,
        action="facility.added",
        target=facility.id,
        before=None,
        after=facility.as_record(),
        now=now,
    )
    log.info("facility.added", facility_id=facility.id, place_id=facility.place_id)
    return facility


def change(
    facility_id: str, wanted: FacilityChange, *, keepers: Keepers, actor: str, now: datetime
) -> Facility:
    """Apply the admin's change to the stored facility, conditional on the revision read: a change
    that met another admin's is applied again to what is stored, up to CHANGE_ATTEMPTS times."""
    keepers.graph.forget()
    seed = _seed(facility_id, keepers.graph)
    if seed is not None:
        changed(seed, wanted, places=keepers.graph.current(), now=now)  # refuses a shipped facility
    for _ in range(CHANGE_ATTEMPTS):
        before = keepers.facilities.get(facility_id)
        after = changed(before, wanted, places=keepers.graph.current(), now=now)
        if after == before:
            return before
        try:
            keepers.facilities.replace(after)
        except ChangedMeanwhile:
            keepers.graph.forget()
            continue
        break
    else:
        raise ChangedMeanwhile(f"facility {facility_id!r} kept changing: try again")
    keepers.graph.forget()
    stored = replace(after, revision=after.revision + 1)
    if stored.place_id != before.place_id:
        _reindex_subscribers(stored, keepers)
    audit.record(
        keepers.ack_log,
        actor=actor,
        action="facility.changed",
        target=facility_id,
        before=before.as_record(),
        after=stored.as_record(),
        now=now,
    )
    log.info("facility.changed", facility_id=facility_id, revision=stored.revision)
    return stored


def listing(state_id: str, *, graph: PlaceGraph) -> list[Facility]:
    """The state's facilities, shipped and stored, by name."""
    stored = [f for f in graph.facilities() if f.state_id == state_id]
    seeds = [f for f in seed_facilities(graph.shipped) if f.state_id == state_id]
    return sorted([*seeds, *stored], key=lambda f: (f.name.casefold(), f.id))


def show(facility_id: str, *, keepers: Keepers) -> Facility:
    seed = _seed(facility_id, keepers.graph)
    return seed if seed is not None else keepers.facilities.get(facility_id)


def _seed(facility_id: str, graph: PlaceGraph) -> Facility | None:
    try:
        node = graph.shipped.get(facility_id)
    except UnknownJurisdiction:
        return None
    if node.kind is not JurisdictionKind.FACILITY:
        raise NotFound(f"no facility {facility_id!r}: it is a {node.kind}")
    return next(f for f in seed_facilities(graph.shipped) if f.id == facility_id)


def _reindex_subscribers(facility: Facility, keepers: Keepers) -> None:
    """The facility's subscribers wrote inside rows under the places that were above it: write them
    under the new ones. Their ids are in the facility's own partition of the index."""
    subscriber_ids = {
        entry.subscriber_id
        for event_type in EventType
        for entry in keepers.index.covering(Reach(event_type, facility.id, ()))
        if facility.id in entry.subscribed_to
    }
    for subscriber_id in sorted(subscriber_ids):
        try:
            keepers.subscribers.reindex(subscriber_id)
        except NotFound:
            continue  # removed meanwhile: its rows went with it
