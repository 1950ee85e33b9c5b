"""Correctional facilities: the places a detainer names, kept by admins in every state.

Connecticut's Department of Correction facilities ship with the code (the seed list in
``data/jurisdictions.json``); every other facility is an admin's row in the ``facilities`` table. Both
are facility nodes of the jurisdiction graph, each under the town or county it sits in, so a detainer
there reaches the facility, its town or county, region and state, and a rollout of any of those
reaches the facility's subscribers.

Standard library only; the time comes in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.errors import Conflict, FieldError, InvalidInput
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import (
    STATE_ID,
    Jurisdiction,
    JurisdictionKind,
    UnknownJurisdiction,
    canonical_id,
    normalize_name,
)

MAX_NAME_CHARS = 200
MAX_ALIASES = 10


class FacilityKind(StrEnum):
    """What the seed list holds (a Connecticut correctional center is the state's jail, a correctional
    or youth institution its prison), and the immigration detention centres ICE holds people in."""

    JAIL = "jail"
    PRISON = "prison"
    DETENTION_CENTER = "detention-center"


def seed_kind(name: str) -> FacilityKind:
    """The kind of a shipped Connecticut facility, read from its name: the list carries no other."""
    return FacilityKind.JAIL if name.endswith("Correctional Center") else FacilityKind.PRISON


@dataclass(frozen=True, slots=True)
class Facility:
    """One correctional facility. ``place_id``: the town or county it sits in (a town in Connecticut,
    where every place is in one). ``seed``: on the shipped list, changed only by a release.
    ``retired_at``: no new detainer may name it; its old detainers, subscriptions and reports keep it.
    ``revision`` counts stored writes: each write is conditional on the one it read."""

    id: str
    name: str
    place_id: str
    kind: FacilityKind
    aliases: tuple[str, ...] = ()
    seed: bool = False
    retired_at: datetime | None = None
    revision: int = 0
    added_by: str = ""
    added_at: datetime | None = None
    changed_at: datetime | None = None

    @property
    def state_id(self) -> str:
        return self.id.split("/", 1)[0]

    def as_jurisdiction(self) -> Jurisdiction:
        return Jurisdiction(
            self.id,
            JurisdictionKind.FACILITY,
            self.name,
            None,
            (self.place_id,),
            self.aliases,
            retired=self.retired_at is not None,
        )

    def as_record(self) -> dict[str, object]:
        """What is kept of it, as the API and the audit trail show it."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": str(self.kind),
            "state": self.state_id,
            "place_id": self.place_id,
            "aliases": list(self.aliases),
            "seed": self.seed,
            "retired": self.retired_at is not None,
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
            "revision": self.revision,
            "added_by": self.added_by or None,
            "added_at": self.added_at.isoformat() if self.added_at else None,
            "changed_at": self.changed_at.isoformat() if self.changed_at else None,
        }


@dataclass(frozen=True, slots=True)
class FacilityDraft:
    """What an admin's POST asks for."""

    name: str
    place: Jurisdiction
    kind: FacilityKind
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FacilityChange:
    """What an admin's PATCH asks for; None leaves a field as it is."""

    name: str | None = None
    place: Jurisdiction | None = None
    kind: FacilityKind | None = None
    aliases: tuple[str, ...] | None = None
    retired: bool | None = None


def seed_facilities(places: JurisdictionRegistry) -> list[Facility]:
    """Connecticut's shipped facilities, as the graph holds them."""
    return [
        Facility(node.id, node.name, node.parents[0], seed_kind(node.name), seed=True)
        for node in places.within(STATE_ID)
        if node.kind is JurisdictionKind.FACILITY and not node.retired
    ]


def new_facility(draft: FacilityDraft, *, places: JurisdictionRegistry, by: str, now: datetime) -> Facility:
    """A facility an admin adds; refused (400) for a place it cannot sit in, 409 for an id or words
    another place of the state already has."""
    place = draft.place
    _check_place(place, state_id=place.state_id)
    facility = Facility(
        id=canonical_id(JurisdictionKind.FACILITY, draft.name, place.state_id),
        name=draft.name,
        place_id=place.id,
        kind=draft.kind,
        aliases=_distinct(draft.aliases),
        added_by=by,
        added_at=now,
        changed_at=now,
    )
    if _known(places, facility.id):
        raise Conflict(
            f"a facility with the id {facility.id} exists",
            [FieldError("name", f"gives the id {facility.id}, which another facility has")],
        )
    _check_words(facility, places)
    return facility


def changed(
    facility: Facility, change: FacilityChange, *, places: JurisdictionRegistry, now: datetime
) -> Facility:
    """``facility`` with the admin's change applied: the id stays (detainers and subscriptions name
    it), so does the state. Refused like ``new_facility``; a seed facility is refused whole."""
    if facility.seed:
        raise Conflict(
            f"{facility.name} is on Connecticut's shipped list of facilities, which the API leaves alone",
            [FieldError("facility_id", "is a shipped facility: it changes with the data file, in a release")],
        )
    after = facility
    if change.name is not None:
        after = replace(after, name=change.name)
    if change.place is not None:
        _check_place(change.place, state_id=facility.state_id)
        after = replace(after, place_id=change.place.id)
    if change.kind is not None:
        after = replace(after, kind=change.kind)
    if change.aliases is not None:
        after = replace(after, aliases=_distinct(change.aliases))
    if change.retired is not None and change.retired != (facility.retired_at is not None):
        after = replace(after, retired_at=now if change.retired else None)
    if after == facility:
        return facility
    _check_words(after, places)
    return replace(after, changed_at=now)


def _known(places: JurisdictionRegistry, facility_id: str) -> bool:
    try:
        places.get(facility_id)
    except UnknownJurisdiction:
        return False
    return True


def _check_place(place: Jurisdiction, *, state_id: str) -> None:
    """A facility hangs under a town, or where the graph has no towns (outside Connecticut) a county:
    then a detainer there reaches every place above it."""
    wanted = JurisdictionKind.TOWN if state_id == STATE_ID else JurisdictionKind.COUNTY
    if place.state_id != state_id:
        raise InvalidInput(
            "place is invalid",
            [FieldError("place", f"{place.full_name} is not in {state_id}: a facility stays in its state")],
        )
    if place.kind is not wanted:
        raise InvalidInput(
            "place is invalid",
            [FieldError("place", f"{place.full_name} is a {place.kind}; a facility here sits in a {wanted}")],
        )


def _check_words(facility: Facility, places: JurisdictionRegistry) -> None:
    """The name and each alias must be words nothing else in the state answers to: a new facility
    never changes what a name meant, and two facilities never share one."""
    named = [("name", facility.name), *((f"aliases[{i}]", a) for i, a in enumerate(facility.aliases))]
    problems = [
        FieldError(field, f"{words!r} already names {', '.join(f'{n.full_name} ({n.id})' for n in others)}")
        for field, words in named
        if (others := [n for n in places.answering(facility.state_id, words) if n.id != facility.id])
    ]
    if problems:
        raise Conflict("another place has that name", problems)


def _distinct(aliases: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for alias in aliases:
        seen.setdefault(normalize_name(alias), alias)
    return tuple(seen.values())
