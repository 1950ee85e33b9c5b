"""Duty rotations: the admins keep them (every change audited), and routing and the sweep ask who is
on duty for a notice (``roster``). The rule of who is on duty is ``domain/rotations.py``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from chalicelib.domain.coverage import rotation_gaps
from chalicelib.domain.errors import FieldError, InvalidInput
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import UnknownJurisdiction
from chalicelib.domain.rotations import (
    MAX_OVERRIDES,
    Duty,
    Override,
    Roster,
    Rotation,
    Watch,
    overlapping,
    reachable,
    rotation_id_for,
    watch,
)
from chalicelib.domain.subscribers import Subscriber
from chalicelib.ports import AckLog, RotationStore, SubscriberStore
from chalicelib.services import audit

if TYPE_CHECKING:
    from chalicelib.schemas.rotations import RotationDraft, RotationPatch

logger = structlog.get_logger()


def roster(
    jurisdiction_id: str,
    *,
    rotations: RotationStore,
    subscribers: SubscriberStore,
    registry: JurisdictionRegistry,
    now: datetime,
) -> Roster:
    """The rotations of a notice's place and of the places above it, as they stand ``now``: one read
    of the rotations, and one of the people they name when there are any."""
    found = rotations.at([j.id for j in registry.ancestors(jurisdiction_id)])
    if not found:
        return Roster()
    people = subscribers.get_many(list(dict.fromkeys(s for r in found for s in r.involved())))
    return Roster.of(found, people, at=now)


@dataclass(frozen=True, slots=True)
class RotationState:
    """A rotation as an admin sees it: who is on duty and who is next, and whether anyone in it can be
    reached (none: a coverage gap)."""

    rotation: Rotation
    jurisdiction_name: str
    watch: Watch
    people: dict[str, Subscriber]

    @property
    def coverage_gap(self) -> bool:
        return bool(rotation_gaps([self.rotation], self.people))

    def as_json(self) -> dict[str, Any]:
        def person(subscriber_id: str) -> dict[str, Any]:
            found = self.people.get(subscriber_id)
            return {
                "subscriber_id": subscriber_id,
                "name": found.name if found else None,
                "reachable": reachable(found),
            }

        def duty(on: Duty | None) -> dict[str, Any] | None:
            return {**on.as_json(), "name": person(on.subscriber_id)["name"]} if on else None

        return {
            **self.rotation.as_json(),
            "jurisdiction_name": self.jurisdiction_name,
            "members": [person(m) for m in self.rotation.members],
            "on_duty": duty(self.watch.duty),
            "next_on_duty": duty(self.watch.following),
            "coverage_gap": self.coverage_gap,
        }


def _state(
    rotation: Rotation, people: dict[str, Subscriber], *, registry: JurisdictionRegistry, now: datetime
) -> RotationState:
    try:
        name = registry.get(rotation.jurisdiction_id).name
    except UnknownJurisdiction:  # a place the shipped data no longer has: its id names it
        name = rotation.jurisdiction_id
    return RotationState(rotation, name, watch(rotation, people, at=now), people)


def _people(rotations: list[Rotation], subscribers: SubscriberStore) -> dict[str, Subscriber]:
    wanted = list(dict.fromkeys(s for r in rotations for s in r.involved()))
    return subscribers.get_many(wanted) if wanted else {}


def listing(
    *, rotations: RotationStore, subscribers: SubscriberStore, registry: JurisdictionRegistry, now: datetime
) -> list[RotationState]:
    found = rotations.list()
    people = _people(found, subscribers)
    return [_state(r, people, registry=registry, now=now) for r in found]


def find(
    rotation_id: str,
    *,
    rotations: RotationStore,
    subscribers: SubscriberStore,
    registry: JurisdictionRegistry,
    now: datetime,
) -> RotationState:
    """Raises NotFound."""
    rotation = rotations.get(rotation_id)
    return _state(rotation, _people([rotation], subscribers), registry=registry, now=now)


def create(
    draft: RotationDraft,
    *,
    rotations: RotationStore,
    subscribers: SubscriberStore,
    registry: JurisdictionRegistry,
    ack_log: AckLog,
    actor: str,
    now: datetime,
) -> RotationState:
    """Raises InvalidInput naming each member or override that is not a subscriber of the role, and
    Conflict when the role has a rotation at the place already."""
    rotation = Rotation(
        id=rotation_id_for(draft.jurisdiction_id, draft.role),
        jurisdiction_id=draft.jurisdiction_id,
        role=draft.role,
        members=draft.members,
        shift=draft.shift,
        handoff=draft.handoff,
        start=draft.start,
        overrides=draft.overrides,
        name=draft.name,
        created_at=now,
        updated_at=now,
    )
    people = _people([rotation], subscribers)
    _check_people(rotation, people, members=True, overrides=True)
    rotations.add(rotation)
    audit.record(
        ack_log,
        actor=actor,
        action="rotation.created",
        target=rotation.id,
        before=None,
        after=rotation.as_json(),
        now=now,
    )
    logger.info("rotation.created", rotation_id=rotation.id, members=len(rotation.members))
    return _state(rotation, people, registry=registry, now=now)


def update(
    rotation_id: str,
    patch: RotationPatch,
    *,
    rotations: RotationStore,
    subscribers: SubscriberStore,
    registry: JurisdictionRegistry,
    ack_log: AckLog,
    actor: str,
    now: datetime,
) -> RotationState:
    """Raises NotFound, and InvalidInput as ``create`` (and for overrides that overlap once added)."""
    before = rotations.get(rotation_id)
    overrides = before.overrides if patch.overrides is None else patch.overrides
    added_from = len(overrides)
    overrides = (*overrides, *patch.add_overrides)
    after = replace(
        before,
        name=before.name if patch.name is None else patch.name,
        members=patch.members or before.members,
        shift=patch.shift or before.shift,
        handoff=before.handoff if patch.handoff is None else patch.handoff,
        start=patch.start or before.start,
        overrides=overrides,
        updated_at=now,
    )
    _check_overrides_added(after.overrides, added_from)
    people = _people([after], subscribers)
    _check_people(
        after,
        people,
        members=patch.members is not None,
        overrides=patch.overrides is not None,
        added_from=added_from,
    )
    rotations.replace(after)
    audit.record(
        ack_log,
        actor=actor,
        action="rotation.changed",
        target=rotation_id,
        before=before.as_json(),
        after=after.as_json(),
        now=now,
    )
    logger.info("rotation.changed", rotation_id=rotation_id, members=len(after.members))
    return _state(after, people, registry=registry, now=now)


def delete(rotation_id: str, *, rotations: RotationStore, ack_log: AckLog, actor: str, now: datetime) -> None:
    """Raises NotFound."""
    removed = rotations.remove(rotation_id)
    audit.record(
        ack_log,
        actor=actor,
        action="rotation.deleted",
        target=rotation_id,
        before=removed.as_json(),
        after=None,
        now=now,
    )
    logger.info("rotation.deleted", rotation_id=rotation_id)


def _check_overrides_added(overrides: tuple[Override, ...], added_from: int) -> None:
    """Overrides added by a change must leave at most ``MAX_OVERRIDES``, none overlapping."""
    problems: list[FieldError] = []
    if len(overrides) > MAX_OVERRIDES and added_from < len(overrides):
        problems.append(
            FieldError(
                "add_overrides",
                f"would make {len(overrides)} overrides, over {MAX_OVERRIDES}: "
                "replace the list (overrides) without the past ones",
            )
        )
    for earlier, later in overlapping(overrides):
        if later >= added_from:
            problems.append(
                FieldError(
                    f"add_overrides[{later - added_from}]",
                    f"overlaps the override from {_span(overrides[earlier])}",
                )
            )
    if problems:
        raise InvalidInput("rotation change is invalid: " + ", ".join(p.field for p in problems), problems)


def _span(override: Override) -> str:
    return f"{override.start.isoformat()} to {override.end.isoformat()} ({override.subscriber_id})"


def _check_people(
    rotation: Rotation,
    people: dict[str, Subscriber],
    *,
    members: bool,
    overrides: bool,
    added_from: int | None = None,
) -> None:
    """Everyone a rotation puts on duty is a subscriber of its role: a rotation of reviewers must
    never send a detainer's particulars to an advocate. Checks the members (``members``), the
    overrides before ``added_from`` (``overrides``: the body's ``overrides``) and those from
    ``added_from`` on (the body's ``add_overrides``), each refusal naming its field."""
    problems: list[FieldError] = []

    def check(subscriber_id: str, field: str) -> None:
        person = people.get(subscriber_id)
        if person is None:
            problems.append(FieldError(field, f"no subscriber {subscriber_id!r}"))
        elif person.role is not rotation.role:
            problems.append(FieldError(field, f"{subscriber_id!r} is a {person.role}, not a {rotation.role}"))

    if members:
        for i, member in enumerate(rotation.members):
            check(member, f"members[{i}]")
    cut = len(rotation.overrides) if added_from is None else added_from
    for i, override in enumerate(rotation.overrides):
        if i < cut and overrides:
            check(override.subscriber_id, f"overrides[{i}].subscriber_id")
        elif i >= cut:
            check(override.subscriber_id, f"add_overrides[{i - cut}].subscriber_id")
    if problems:
        raise InvalidInput("rotation is invalid: " + ", ".join(p.field for p in problems), problems)
