"""What the dashboard shows beyond the notices themselves: coverage, and how fast people acknowledge."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.ack_times import (
    Acknowledged,
    by_role_and_place,
    last_weeks,
    week_begins,
    weekly_series,
)
from chalicelib.domain.coverage import coverage, rotation_gaps
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, state_of
from chalicelib.domain.subscribers import EventType, Subscriber
from chalicelib.ports import DeliveryStore, NoticeStore, PolicyStore, RotationStore, SubscriberStore

SUBSCRIBER_PAGE = 100
MAX_SUBSCRIBERS = 20_000
# The weekly series reads at most this many notices of a type, newest first, and one Query of
# acknowledgments for each (about 40 notices a week over 12 weeks); beyond it the oldest weeks are
# incomplete and the answer says so (``complete: false``).
MAX_WEEKLY_NOTICES = 500


def _all_subscribers(subscribers: SubscriberStore) -> list[Subscriber]:
    found: list[Subscriber] = []
    cursor: str | None = None
    while len(found) < MAX_SUBSCRIBERS:
        page = subscribers.list(limit=SUBSCRIBER_PAGE, cursor=cursor)
        found += page.items
        cursor = page.cursor
        if cursor is None:
            break
    return found


def coverage_report(
    *,
    state: Jurisdiction,
    registry: JurisdictionRegistry,
    subscribers: SubscriberStore,
    policies: PolicyStore,
    rotations: RotationStore,
) -> dict[str, Any]:
    """Coverage of one state's places and its duty rotations, and the states there are to ask about."""
    required = {t: policies.get(t).required_roles for t in EventType}
    everyone = _all_subscribers(subscribers)
    places = coverage(registry, everyone, required, state=state.id)
    in_state = [r for r in rotations.list() if state_of(r.jurisdiction_id) == state.id]
    gaps = rotation_gaps(in_state, {s.id: s for s in everyone})
    return {
        "state": {"id": state.id, "name": state.name},
        "states": [{"id": s.id, "name": s.name} for s in sorted(registry.states(), key=lambda s: s.name)],
        "required_roles": {str(t): [str(r) for r in roles] for t, roles in required.items()},
        "jurisdictions": [
            {
                "id": p.jurisdiction.id,
                "name": p.jurisdiction.name,
                "kind": str(p.jurisdiction.kind),
                "reachable": {
                    str(t): {str(r): n for r, n in roles.items()} for t, roles in p.reachable.items()
                },
                "gaps": [f"{t}:{r}" for t, r in p.gaps],
            }
            for p in places
        ],
        # Rotations none of whose members can be reached: whoever is on duty, nobody hears.
        "rotation_gaps": [
            {
                "rotation_id": r.id,
                "name": r.name,
                "jurisdiction_id": r.jurisdiction_id,
                "role": str(r.role),
                "members": len(r.members),
            }
            for r in gaps
        ],
    }


def acknowledgment_times(
    event_type: EventType,
    *,
    limit: int,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    policies: PolicyStore,
    registry: JurisdictionRegistry,
    now: datetime,
) -> dict[str, Any]:
    """Minutes from receipt to acknowledgment over the ``limit`` most recent notices of a type, and
    week by week over the last 12 weeks with the share of notices that reached their last step.

    Reads: the policy (one GetItem); the notices received since the first of the weeks, newest first
    (one Query of the type's index per 1 MB page), at most ``MAX_WEEKLY_NOTICES``; one Query of each
    notice's acknowledgments; and, when those weeks hold fewer than ``limit`` notices, the ones
    before them up to ``limit`` (one Query, on from the oldest read) with their acknowledgments.
    """
    weeks = last_weeks(now)
    read: list[Acknowledged] = []
    complete = True
    # Including a notice received at this very instant: the window ends just after now.
    window = notices.received_between(
        event_type, week_begins(weeks[0]), now + timedelta(microseconds=1), newest_first=True
    )
    for notice in window:
        if len(read) == MAX_WEEKLY_NOTICES:
            complete = False
            break
        read.append(Acknowledged(notice, tuple(deliveries.acknowledgments(notice.id))))
    recent = read[:limit]
    if complete and len(recent) < limit:
        # The most recent notices reach back before the weeks: read on from the oldest one read.
        cursor = notices.cursor_after(read[-1].notice) if read else None
        older = notices.recent(event_type, limit=limit - len(read), cursor=cursor).items
        recent += [Acknowledged(n, tuple(deliveries.acknowledgments(n.id))) for n in older]
    by_role, by_place = by_role_and_place(recent)
    places = {place: registry.get(place).name for place in {item.notice.jurisdiction_id for item in read}}
    series = weekly_series(read, policy=policies.get(event_type), weeks=weeks)
    return {
        "type": str(event_type),
        "notices_considered": len(recent),
        "by_role": [{"role": role, **times.as_json()} for role, times in by_role.items()],
        "by_jurisdiction": [
            {"jurisdiction_id": place, "name": registry.get(place).name, **times.as_json()}
            for place, times in by_place.items()
        ],
        "weekly": {**series.as_json(places), "notices_read": len(read), "complete": complete},
    }
