"""What the dashboard shows beyond the notices themselves: coverage, and how fast people acknowledge."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from chalicelib.domain.coverage import coverage, rotation_gaps
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.subscribers import EventType, Subscriber
from chalicelib.ports import DeliveryStore, NoticeStore, PolicyStore, RotationStore, SubscriberStore

SUBSCRIBER_PAGE = 100
MAX_SUBSCRIBERS = 20_000


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
    registry: JurisdictionRegistry,
    subscribers: SubscriberStore,
    policies: PolicyStore,
    rotations: RotationStore,
) -> dict[str, Any]:
    required = {t: policies.get(t).required_roles for t in EventType}
    everyone = _all_subscribers(subscribers)
    places = coverage(registry, everyone, required)
    gaps = rotation_gaps(rotations.list(), {s.id: s for s in everyone})
    return {
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


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 1)


def _summary(minutes: list[float]) -> dict[str, Any]:
    return {
        "count": len(minutes),
        "median_minutes": round(statistics.median(minutes), 1),
        "p90_minutes": _percentile(minutes, 0.9),
    }


def acknowledgment_times(
    event_type: EventType,
    *,
    limit: int,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    registry: JurisdictionRegistry,
) -> dict[str, Any]:
    """Minutes from receipt to acknowledgment over the most recent notices of a type."""
    by_role: dict[str, list[float]] = defaultdict(list)
    by_place: dict[str, list[float]] = defaultdict(list)
    considered = 0
    for notice in notices.recent(event_type, limit=limit, cursor=None).items:
        considered += 1
        for ack in deliveries.acknowledgments(notice.id):
            if ack.late:
                continue
            minutes = (ack.at - notice.received_at).total_seconds() / 60
            by_role[str(ack.role)].append(minutes)
            by_place[notice.jurisdiction_id].append(minutes)
    return {
        "type": str(event_type),
        "notices_considered": considered,
        "by_role": [{"role": role, **_summary(m)} for role, m in sorted(by_role.items())],
        "by_jurisdiction": [
            {"jurisdiction_id": j, "name": registry.get(j).name, **_summary(m)}
            for j, m in sorted(by_place.items())
        ],
    }
