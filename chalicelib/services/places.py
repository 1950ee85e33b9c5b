"""Finding a place by what people call it: a name, a FIPS code or an id."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.errors import FieldError, InvalidInput, NotFound
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, UnknownJurisdiction


@dataclass(frozen=True, slots=True)
class Place:
    jurisdiction: Jurisdiction
    # From the place itself up to the state: whose subscribers a notice there reaches.
    ancestors: tuple[Jurisdiction, ...]
    # What else the words could have meant: "Tolland" chose the town; Tolland County is named so.
    also_named: tuple[Jurisdiction, ...] = ()


def find(query: str, *, registry: JurisdictionRegistry) -> Place:
    try:
        found = registry.resolve(query)
    except UnknownJurisdiction as exc:
        # Several places answer to the words: the request must say which (400), naming each.
        refusal = InvalidInput if exc.ambiguous else NotFound
        raise refusal(str(exc), [FieldError("q", str(exc))]) from None
    return Place(found, registry.ancestors(found.id), registry.also_named(query, found))
