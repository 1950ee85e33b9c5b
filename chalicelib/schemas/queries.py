"""Query-string parameters shared by several routes: page sizes and place lookups."""

from __future__ import annotations

from chalicelib.domain.errors import FieldError, InvalidInput
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import STATE_ID, Jurisdiction, JurisdictionKind, UnknownJurisdiction
from chalicelib.schemas.fields import whole_number

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_PLACE_QUERY = 200


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    limit = whole_number(raw, low=1, high=MAX_LIMIT)
    if limit is None:
        raise InvalidInput(
            "limit is invalid", [FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")]
        )
    return limit


def parse_place_query(raw: str | None) -> str:
    query = raw or ""
    if len(query) > MAX_PLACE_QUERY:
        raise InvalidInput(
            "q is too long", [FieldError("q", f"must be at most {MAX_PLACE_QUERY} characters")]
        )
    if not query.strip():
        raise InvalidInput("q is required", [FieldError("q", "name a jurisdiction: a name, FIPS code or id")])
    return query


def parse_state(raw: str | None, *, registry: JurisdictionRegistry) -> Jurisdiction:
    """``?state=``: a state's id, name, postal code or FIPS code; Connecticut when absent."""
    if raw is None or not raw.strip():
        return registry.get(STATE_ID)
    if len(raw) > MAX_PLACE_QUERY:
        raise InvalidInput(
            "state is too long", [FieldError("state", f"must be at most {MAX_PLACE_QUERY} characters")]
        )
    try:
        found = registry.resolve(raw)
    except UnknownJurisdiction as exc:
        raise InvalidInput("state is invalid", [FieldError("state", exc.message)]) from None
    if found.kind is not JurisdictionKind.STATE:
        what = f"{raw!r} is {found.say()}, a {found.kind}"
        message = f"must name a state, the District of Columbia or a territory; {what}"
        raise InvalidInput("state is invalid", [FieldError("state", message)])
    return found
