"""The places a request may name: the shipped graph and the admins' facilities, read again after a
set lifetime so that no request pays a read of the facilities table but the first of each lifetime."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

import structlog

from chalicelib.domain.facilities import Facility
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import STATE_ID, Jurisdiction, UnknownJurisdiction, normalize_name
from chalicelib.ports import FacilityStore

log = structlog.get_logger(__name__)

# How long a process answers with the facilities it read: an admin's change made through another
# Lambda container reaches this one within it (docs/decisions.md, "Facilities").
FACILITY_LIFETIME_SECONDS = 60.0


class PlaceGraph:
    """``current()``: the shipped registry with the stored facilities, one Scan of the facilities
    table per lifetime, made by the first request that names a place after it ran out. ``forget()``
    after a write of this process, so its own next request sees the write."""

    def __init__(
        self,
        shipped: JurisdictionRegistry,
        facilities: FacilityStore,
        *,
        clock: Callable[[], float],
        lifetime: float = FACILITY_LIFETIME_SECONDS,
    ) -> None:
        self.shipped = shipped
        self._store = facilities
        self._clock = clock
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._cached: tuple[float, JurisdictionRegistry, tuple[Facility, ...]] | None = None

    def current(self) -> JurisdictionRegistry:
        return self._read()[0]

    def facilities(self) -> tuple[Facility, ...]:
        """The stored facilities ``current()`` holds, as read."""
        return self._read()[1]

    def forget(self) -> None:
        with self._lock:
            self._cached = None

    def _read(self) -> tuple[JurisdictionRegistry, tuple[Facility, ...]]:
        now = self._clock()
        cached = self._cached
        if cached is not None and now - cached[0] < self._lifetime:
            return cached[1], cached[2]
        stored = tuple(self._store.list())
        graph = self.shipped.with_facilities(_nodes(stored, self.shipped)) if stored else self.shipped
        with self._lock:
            self._cached = (now, graph, stored)
        return graph, stored


def _nodes(stored: Sequence[Facility], shipped: JurisdictionRegistry) -> list[Jurisdiction]:
    """The stored facilities as places of the graph, which refuses two places of a state with one
    name or one id. The writes' checks keep them apart, but two renames to one name in the same
    instant can pass them both (docs/decisions.md), and a release can ship a facility an admin
    added: rather than no place of that state loading, the later of two namesakes (by id) is named
    with its id beside its name until an admin renames one, and a shipped id wins; both are logged."""
    named: set[tuple[str, str]] = set()
    nodes: list[Jurisdiction] = []
    for facility in sorted(stored, key=lambda f: f.id):
        if facility.state_id == STATE_ID and _shipped(shipped, facility.id):
            log.error("facility.shipped_meanwhile", facility_id=facility.id)
            continue
        node = facility.as_jurisdiction()
        key = (facility.state_id, normalize_name(facility.name))
        if key in named:
            log.error("facility.name_taken", facility_id=facility.id)
            node = replace(node, name=f"{node.name} ({node.id})")
        named.add(key)
        nodes.append(node)
    return nodes


def _shipped(shipped: JurisdictionRegistry, facility_id: str) -> bool:
    """Whether a release ships this id (only Connecticut's facilities are shipped)."""
    try:
        shipped.get(facility_id)
    except UnknownJurisdiction:
        return False
    return True
