"""Small builders of valid inputs, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.language import Language
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Scope,
    Subscriber,
    Subscription,
)

# The link-signing secret of the unit tests' stack (at least 32 bytes, as every secret must be).
UNIT_SECRET = "unit-tests-link-signing-secret-0123456789"
NOW = datetime(2012, 2, 17, 21, 5, tzinfo=UTC)


def rollout_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "rollout",
        "external_id": "ice-ct-2012-02-17-01",
        "program": "secure-communities",
        "jurisdiction": "statewide",
        "effective_at": "2012-02-22T00:00:00-05:00",
        "summary": "Secure Communities activates in all Connecticut jurisdictions",
        "source": {
            "agency": "ICE",
            "channel": "email",
            "sent_at": "2012-02-17T16:05:00-05:00",
            "original_recipients": ["desk.sergeant@example.gov"],
        },
    }
    body.update(overrides)
    return body


def detainer_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "detainer",
        "external_id": "I247A-2026-000123",
        "form": "I-247A",
        "issued_at": "2026-11-27T09:30:00-05:00",
        "facility": "New Haven Correctional Center",
        "subject": {"name": "Test Person", "date_of_birth": "1990-01-01", "a_number": "A012345678"},
        "release_due_at": "2026-11-27T17:00:00-05:00",
        "judicial_warrant": False,
        "convictions": [{"statute": "53a-134", "class": "B felony", "date": "2019-05-01", "final": True}],
        "tsdb_match": False,
    }
    body.update(overrides)
    return body


def subscriber(
    sid: str,
    role: Role,
    *jurisdictions: str,
    event_types: tuple[EventType, ...] = (EventType.ROLLOUT, EventType.DETAINER),
    channels: tuple[Channel, ...] | None = None,
    ack_required: bool = True,
    scope: Scope = Scope.CONTAINED,
    language: Language = Language.ENGLISH,
) -> Subscriber:
    return Subscriber(
        id=sid,
        name=f"Office {sid}",
        role=role,
        organization="Example",
        ack_required=ack_required,
        channels=channels or (Channel(ChannelType.EMAIL, f"{sid}@example.gov"),),
        subscriptions=tuple(Subscription(j, frozenset(event_types), scope) for j in jurisdictions),
        created_at=NOW,
        language=language,
    )
