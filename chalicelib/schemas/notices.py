"""GET /notices query parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import EventType
from chalicelib.schemas.fields import Problems, choice, jurisdiction, whole_number

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class NoticeFilter:
    # Without ?type=, both kinds, merged newest first.
    types: tuple[EventType, ...]
    status: NoticeStatus | None
    # A jurisdiction id: notices for it or anything under it.
    jurisdiction_id: str | None
    limit: int
    cursor: str | None


def parse_notice_filter(params: Mapping[str, str | None], *, registry: JurisdictionRegistry) -> NoticeFilter:
    problems = Problems()
    present = {k: v for k, v in params.items() if v is not None}
    kind = choice(present, "type", EventType, problems) if "type" in present else None
    status = choice(present, "status", NoticeStatus, problems) if "status" in present else None
    place = jurisdiction(registry, present.get("jurisdiction"), "jurisdiction", problems)
    limit = DEFAULT_LIMIT
    raw_limit = present.get("limit")
    if raw_limit is not None:
        parsed = whole_number(raw_limit, low=1, high=MAX_LIMIT)
        if parsed is None:
            problems.add("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
        else:
            limit = parsed
    problems.raise_if_any("notice filter")
    types = (kind,) if kind is not None else tuple(EventType)
    # An empty cursor is the first page, as on every other list (``cursor=`` left in a link).
    return NoticeFilter(types, status, place.id if place else None, limit, present.get("cursor") or None)
