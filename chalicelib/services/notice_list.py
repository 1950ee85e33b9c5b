"""The notice list: newest first, filtered by status and by jurisdiction (including what lies under it)."""

from __future__ import annotations

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice
from chalicelib.ports import NoticeStore, Page
from chalicelib.schemas.notices import NoticeFilter

# Pages read from the index per request at most, so a rare filter cannot make one request read everything.
MAX_PAGES = 5


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


def _matches(notice: Notice, wanted: NoticeFilter, registry: JurisdictionRegistry) -> bool:
    if wanted.status is not None and notice.status is not wanted.status:
        return False
    if wanted.jurisdiction_id is None:
        return True
    return wanted.jurisdiction_id in {j.id for j in registry.ancestors(notice.jurisdiction_id)}
