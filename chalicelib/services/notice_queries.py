"""Reading notices: the list (newest first, filtered), one notice with its state, and its log."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.acklog import LogEntry, Verification, verify_chain
from chalicelib.domain.acknowledgments import Acknowledgment
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice
from chalicelib.domain.policies import EscalationPolicy, policy_for
from chalicelib.ports import AckLog, DeliveryStore, NoticeStore, Page, PolicyStore
from chalicelib.schemas.notices import NoticeFilter

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
    """A notice's hash-chained log and whether it verifies."""

    notice_id: str
    entries: list[LogEntry]
    verification: Verification


def recent(wanted: NoticeFilter, *, notices: NoticeStore, registry: JurisdictionRegistry) -> Page[Notice]:
    found: list[Notice] = []
    cursor = wanted.cursor
    for _ in range(MAX_PAGES):
        page = notices.recent(wanted.type, limit=wanted.limit, cursor=cursor)
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


def chain(notice_id: str, *, notices: NoticeStore, ack_log: AckLog) -> NoticeChain:
    """NotFound for a notice that does not exist, rather than an empty chain that verifies."""
    notices.get(notice_id)
    entries = ack_log.entries(notice_id)
    return NoticeChain(notice_id, entries, verify_chain(notice_id, entries))


def _matches(notice: Notice, wanted: NoticeFilter, registry: JurisdictionRegistry) -> bool:
    if wanted.status is not None and notice.status is not wanted.status:
        return False
    if wanted.jurisdiction_id is None:
        return True
    return wanted.jurisdiction_id in {j.id for j in registry.ancestors(notice.jurisdiction_id)}
