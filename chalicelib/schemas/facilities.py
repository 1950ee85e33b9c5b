"""Bodies of ``POST /facilities`` and ``PATCH /facilities/{id}``: every bad field named."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.facilities import (
    MAX_ALIASES,
    MAX_NAME_CHARS,
    FacilityChange,
    FacilityDraft,
    FacilityKind,
)
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import slugify
from chalicelib.schemas.fields import (
    MISSING,
    Problems,
    boolean,
    choice,
    jurisdiction,
    reject_unknown,
    require_object,
    text,
)

_FIELDS = {"name", "place", "kind", "aliases"}
_PATCH_FIELDS = _FIELDS | {"retired"}
MAX_FACILITY_ID_CHARS = 300
# The parts of a facility id that its address carries as path segments (domain/places.py makes them).
_STATE_ID = re.compile(r"us-[a-z]{2}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def parse_facility(body: Any, *, registry: JurisdictionRegistry) -> FacilityDraft:
    """``{"name", "place", "kind", "aliases"}``: the place a town or county's id or name, read as
    every place field reads it (an ambiguous name is refused with its candidates)."""
    body = require_object(body, "facility")
    problems = Problems()
    reject_unknown(body, _FIELDS, problems)
    name = _name(body, problems)
    place = jurisdiction(registry, _place(body, problems), "place", problems)
    kind = choice(body, "kind", FacilityKind, problems)
    aliases = _aliases(body.get("aliases", MISSING), problems)
    problems.raise_if_any("facility")
    assert name is not None
    assert place is not None
    assert kind is not None
    return FacilityDraft(name, place, kind, aliases or ())


def parse_facility_change(body: Any, *, registry: JurisdictionRegistry) -> FacilityChange:
    """Any of ``name``, ``place``, ``kind``, ``aliases`` (replacing the list) and ``retired``."""
    body = require_object(body, "facility change")
    problems = Problems()
    reject_unknown(body, _PATCH_FIELDS, problems)
    if not _PATCH_FIELDS & set(body):
        problems.add("body", f"name at least one of {', '.join(sorted(_PATCH_FIELDS))}")
    name = _name(body, problems) if "name" in body else None
    place = jurisdiction(registry, _place(body, problems), "place", problems) if "place" in body else None
    kind = choice(body, "kind", FacilityKind, problems) if "kind" in body else None
    aliases = _aliases(body["aliases"], problems) if "aliases" in body else None
    retired = boolean(body, "retired", problems, default=False) if "retired" in body else None
    problems.raise_if_any("facility change")
    return FacilityChange(name=name, place=place, kind=kind, aliases=aliases, retired=retired)


def parse_facility_id(state_id: str, slug: str) -> str:
    """A facility id from its address, ``/facilities/<state_id>/facility/<slug>``
    (``us-tx/facility/harris-county-jail``): the parts the id scheme (``canonical_id``) makes."""
    state_id, slug = state_id.lower(), slug.lower()
    problems = Problems()
    if not _STATE_ID.fullmatch(state_id):
        problems.add("state_id", "must be a state's id, e.g. us-tx")
    if len(slug) > MAX_FACILITY_ID_CHARS or not _SLUG.fullmatch(slug):
        problems.add("slug", "must be the last part of a facility id, e.g. harris-county-jail")
    problems.raise_if_any("facility id")
    return f"{state_id}/facility/{slug}"


def _place(body: Any, problems: Problems) -> str | None:
    return text(body, "place", problems, max_len=200, single_line=True)


def _name(body: Any, problems: Problems) -> str | None:
    name = text(body, "name", problems, max_len=MAX_NAME_CHARS, single_line=True)
    if name is not None and not slugify(name):
        problems.add("name", "must have letters or digits")
        return None
    return " ".join(name.split()) if name is not None else None


def _aliases(value: Any, problems: Problems) -> tuple[str, ...] | None:
    if value is MISSING:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ALIASES:
        problems.add("aliases", f"must be a list of at most {MAX_ALIASES} names")
        return None
    found: list[str] = []
    for i, alias in enumerate(value):
        field = f"aliases[{i}]"
        cleaned = text({field: alias}, field, problems, max_len=MAX_NAME_CHARS, single_line=True)
        if cleaned is not None and not slugify(cleaned):
            problems.add(field, "must have letters or digits")
        elif cleaned is not None:
            found.append(" ".join(cleaned.split()))
    return tuple(found)
