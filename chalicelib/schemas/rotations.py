"""POST /rotations and PATCH /rotations/{id} bodies: every bad field named.

Whether the members exist and hold the rotation's role is the service's to check (it reads the
subscribers); everything a body can get wrong by itself is refused here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.policies import parse_duration
from chalicelib.domain.rotations import (
    LONGEST_SHIFT,
    MAX_MEMBERS,
    MAX_OVERRIDES,
    SHORTEST_SHIFT,
    Override,
    overlapping,
)
from chalicelib.domain.subscribers import Role
from chalicelib.schemas.fields import (
    MISSING,
    Problems,
    calendar_date,
    choice,
    jurisdiction,
    reject_unknown,
    require_object,
    text,
    timestamp,
)

_SETTINGS = {"name", "members", "shift", "handoff", "start", "overrides"}
_FIELDS = {"jurisdiction", "role", *_SETTINGS}
_PATCH_FIELDS = {*_SETTINGS, "add_overrides"}
_HANDOFF = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_ID_CHARS = 100
MAX_NOTE_CHARS = 500


@dataclass(frozen=True, slots=True)
class RotationDraft:
    jurisdiction_id: str
    role: Role
    name: str
    members: tuple[str, ...]
    shift: timedelta
    handoff: time
    start: date
    overrides: tuple[Override, ...]


@dataclass(frozen=True, slots=True)
class RotationPatch:
    """What to change; None leaves a setting as it is. ``overrides`` replaces the list,
    ``add_overrides`` adds to it."""

    name: str | None = None
    members: tuple[str, ...] | None = None
    shift: timedelta | None = None
    handoff: time | None = None
    start: date | None = None
    overrides: tuple[Override, ...] | None = None
    add_overrides: tuple[Override, ...] = ()


def parse_rotation(body: Any, *, registry: JurisdictionRegistry) -> RotationDraft:
    body = require_object(body, "rotation")
    problems = Problems()
    reject_unknown(body, _FIELDS, problems)
    raw_place = text(body, "jurisdiction", problems, max_len=200, single_line=True)
    place = jurisdiction(registry, raw_place, "jurisdiction", problems)
    role = choice(body, "role", Role, problems)
    name = text(body, "name", problems, required=False, max_len=200, single_line=True) or ""
    members = _members(body.get("members", MISSING), problems)
    shift = _shift(body.get("shift", MISSING), problems)
    handoff = _handoff(body.get("handoff", MISSING), problems)
    start = calendar_date(body, "start", problems)
    overrides = _overrides(body.get("overrides", []), "overrides", problems)
    problems.raise_if_any("rotation")
    assert place and role and shift and handoff and start  # noqa: PT018  # narrowed by raise_if_any
    return RotationDraft(place.id, role, name, members, shift, handoff, start, overrides)


def parse_rotation_patch(body: Any) -> RotationPatch:
    body = require_object(body, "rotation change")
    problems = Problems()
    for fixed in ("jurisdiction", "role"):
        if fixed in body:
            problems.add(fixed, "cannot be changed: delete the rotation and create another")
    reject_unknown(body, _PATCH_FIELDS | {"jurisdiction", "role"}, problems)
    if not body:
        problems.add("body", "names no field to change")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text(body, "name", problems, required=False, max_len=200, single_line=True) or ""
    if "members" in body:
        values["members"] = _members(body["members"], problems)
    if "shift" in body:
        values["shift"] = _shift(body["shift"], problems)
    if "handoff" in body:
        values["handoff"] = _handoff(body["handoff"], problems)
    if "start" in body:
        values["start"] = calendar_date(body, "start", problems)
    if "overrides" in body:
        values["overrides"] = _overrides(body["overrides"], "overrides", problems)
    if "add_overrides" in body:
        values["add_overrides"] = _overrides(body["add_overrides"], "add_overrides", problems)
    problems.raise_if_any("rotation change")
    return RotationPatch(**values)


def _members(value: Any, problems: Problems) -> tuple[str, ...]:
    if value is MISSING:
        problems.add("members", "is required: the subscriber ids who take turns, in order")
        return ()
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_MEMBERS
        or not all(isinstance(v, str) and 0 < len(v.strip()) <= MAX_ID_CHARS for v in value)
    ):
        problems.add("members", f"must be a list of 1 to {MAX_MEMBERS} subscriber ids")
        return ()
    members = tuple(v.strip() for v in value)
    for i, member in enumerate(members):
        if member in members[:i]:
            problems.add(f"members[{i}]", f"names {member!r} a second time")
    return members


def _shift(value: Any, problems: Problems) -> timedelta | None:
    advice = "must be an ISO 8601 duration from PT1H to P28D, e.g. P1D, P7D or PT12H"
    if value is MISSING:
        problems.add("shift", "is required: " + advice.removeprefix("must be "))
        return None
    try:
        shift = parse_duration(value) if isinstance(value, str) else None
    except ValueError:
        shift = None
    if shift is None or not SHORTEST_SHIFT <= shift <= LONGEST_SHIFT:
        problems.add("shift", advice)
        return None
    return shift


def _handoff(value: Any, problems: Problems) -> time | None:
    advice = "a time of day on New York's clock as HH:MM, e.g. 08:00"
    if value is MISSING:
        problems.add("handoff", f"is required: {advice}")
        return None
    matched = _HANDOFF.match(value) if isinstance(value, str) else None
    if matched is None:
        problems.add("handoff", f"must be {advice}")
        return None
    return time(int(matched.group(1)), int(matched.group(2)))


def _overrides(value: Any, field: str, problems: Problems) -> tuple[Override, ...]:
    if not isinstance(value, list) or len(value) > MAX_OVERRIDES:
        problems.add(field, f"must be a list of at most {MAX_OVERRIDES} overrides")
        return ()
    found: list[Override] = []
    positions: list[int] = []  # where in the body each override was read
    for i, item in enumerate(value):
        prefix = f"{field}[{i}]."
        if not isinstance(item, Mapping):
            problems.add(f"{field}[{i}]", "must be an object with start, end and subscriber_id")
            continue
        reject_unknown(item, {"start", "end", "subscriber_id", "note"}, problems, prefix=prefix)
        start = timestamp(item, "start", problems, prefix=prefix)
        end = timestamp(item, "end", problems, prefix=prefix)
        who = text(item, "subscriber_id", problems, max_len=MAX_ID_CHARS, prefix=prefix, single_line=True)
        note = text(item, "note", problems, required=False, max_len=MAX_NOTE_CHARS, prefix=prefix) or ""
        if start and end and end <= start:
            problems.add(prefix + "end", "must be after start")
        elif start and end and who:
            found.append(Override(start, end, who, note))
            positions.append(i)
    for earlier, later in overlapping(found):
        problems.add(f"{field}[{positions[later]}]", f"overlaps {field}[{positions[earlier]}]")
    return tuple(found)
