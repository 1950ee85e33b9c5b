"""Reading notices: the list (newest first, filtered), one notice with its state, and its log."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.acklog import DigestedHead, LogEntry, LogHead, Verification
from chalicelib.domain.acknowledgments import Acknowledgment
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.errors import FieldError, InvalidInput
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice
from chalicelib.domain.policies import EscalationPolicy, policy_for
from chalicelib.domain.subscribers import EventType
from chalicelib.ports import AckLog, DeliveryStore, DigestStore, NoticeStore, Page, PolicyStore
from chalicelib.schemas.notices import NoticeFilter
from chalicelib.services.digests import check

# Pages read from the index per request at most, so a rare filter cannot make one request read everything.
MAX_PAGES = 5


@dataclass(frozen=True, slots=True)
class NoticeState:
    """A notice with its deliveries, acknowledgments and the policy that escalates it."""

    notice: Notice
    deliveries: list[Delivery]
    acknowledgments: list[Acknowledgment]
    policy: EscalationPolicy


@dataclass(frozen=True, slots=True)
class NoticeChain:
    """A notice's hash-chained log and whether it verifies: as a chain, against the head kept on the
    notice (``anchor``) and against the newest daily digest's record of it (``digested``)."""

    notice_id: str
    entries: list[LogEntry]
    verification: Verification
    anchor: LogHead | None
    digested: DigestedHead | None


def recent(wanted: NoticeFilter, *, notices: NoticeStore, registry: JurisdictionRegistry) -> Page[Notice]:
    """Newest first. One kind: the store's own pages. Both kinds: each kind's page merged by time
    and cut at the limit, with a cursor that resumes each kind just after the last of it shown."""
    if len(wanted.types) == 1:
        return _recent_of(wanted.types[0], wanted.cursor, wanted, notices=notices, registry=registry)
    to_read = _positions(wanted.cursor, wanted.types)
    pages = {
        kind: _recent_of(kind, start, wanted, notices=notices, registry=registry)
        for kind, start in to_read.items()
    }
    merged = sorted(
        ((notice, kind) for kind, page in pages.items() for notice in page.items),
        key=lambda pair: (pair[0].received_at, pair[0].id),
        reverse=True,
    )
    shown = merged[: wanted.limit]
    following: dict[EventType, str | None] = {}
    for kind, page in pages.items():
        taken = [notice for notice, k in shown if k is kind]
        if len(taken) < len(page.items):  # the rest of this kind's page comes on the next one
            following[kind] = notices.cursor_after(taken[-1]) if taken else to_read[kind]
        elif page.cursor is not None:
            following[kind] = page.cursor
    return Page(items=[notice for notice, _ in shown], cursor=_merged_cursor(following))


def _positions(cursor: str | None, kinds: tuple[EventType, ...]) -> dict[EventType, str | None]:
    """Where to resume each kind that has notices left: its store cursor, or None for its newest. A
    merged cursor leaves out the kinds read to their end."""
    if cursor is None:
        return dict.fromkeys(kinds)
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        value = None
    names = {str(k): k for k in kinds}
    if (
        not isinstance(value, dict)
        or not set(value) <= set(names)
        or not all(v is None or isinstance(v, str) for v in value.values())
    ):
        raise InvalidInput("cursor is invalid", [FieldError("cursor", "is not a cursor this API returned")])
    return {names[name]: position for name, position in value.items()}


def _merged_cursor(following: dict[EventType, str | None]) -> str | None:
    if not following:
        return None
    text = json.dumps({str(kind): position for kind, position in following.items()}, sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode()


def _recent_of(
    kind: EventType,
    cursor: str | None,
    wanted: NoticeFilter,
    *,
    notices: NoticeStore,
    registry: JurisdictionRegistry,
) -> Page[Notice]:
    found: list[Notice] = []
    for _ in range(MAX_PAGES):
        page = notices.recent(kind, limit=wanted.limit, cursor=cursor)
        found += [n for n in page.items if _matches(n, wanted, registry)]
        cursor = page.cursor
        if cursor is None or len(found) >= wanted.limit:
            break
    # Whole pages are returned, so no notice is skipped: a page may hold a little more than the
    # limit, or fewer with a cursor when the filter is selective (follow the cursor).
    return Page(items=found, cursor=cursor)


def state(
    notice_id: str, *, notices: NoticeStore, deliveries: DeliveryStore, policies: PolicyStore
) -> NoticeState:
    notice = notices.get(notice_id)
    return NoticeState(
        notice,
        deliveries.for_notice(notice_id),
        deliveries.acknowledgments(notice_id),
        policy_for(policies.get(notice.type), low_key=notice.low_key),
    )


def chain(
    notice_id: str, *, notices: NoticeStore, ack_log: AckLog, digests: DigestStore, now: datetime
) -> NoticeChain:
    """NotFound for a notice that does not exist, rather than an empty chain that verifies."""
    notices.get(notice_id)
    checked = check(notice_id, ack_log=ack_log, digests=digests, now=now)
    return NoticeChain(notice_id, checked.entries, checked.verification, checked.anchor, checked.digested)


def _matches(notice: Notice, wanted: NoticeFilter, registry: JurisdictionRegistry) -> bool:
    if wanted.status is not None and notice.status is not wanted.status:
        return False
    if wanted.jurisdiction_id is None:
        return True
    return wanted.jurisdiction_id in {j.id for j in registry.ancestors(notice.jurisdiction_id)}
