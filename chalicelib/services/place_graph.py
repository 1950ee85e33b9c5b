"""The places a request may name: the shipped graph and the admins' facilities, read again after a
set lifetime so that no request pays a read of the facilities table but the first of each lifetime."""

from __future__ import annotations

import threading
from collections.abc import Callable

from chalicelib.domain.facilities import Facility
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.ports import FacilityStore

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
        graph = self.shipped.with_facilities(f.as_jurisdiction() for f in stored) if stored else self.shipped
        with self._lock:
            self._cached = (now, graph, stored)
        return graph, stored
