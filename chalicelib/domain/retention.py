"""How long a detainer's personal data is kept: until a set period after the decision.

The person a detainer concerns (``subject``: name, date of birth, A-number, citizenship, sex), the
confidential categories the TRUST Act protects (``confidential``) and who their counsel is
(``counsel_subscriber_ids``) are what the reviewers decide with; once the decision has been made
and told, they are removed ``retention`` after it. What reports count (facility, dates, regime,
criteria, suggestion, decision) stays, and no log entry ever held these fields, so every log
still verifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

DEFAULT_RETENTION_DAYS = 90
# The detainer event's fields that are personal data, in the order they are named.
PERSONAL_FIELDS = ("subject", "confidential", "counsel_subscriber_ids")
# Who the audit trail names for a removal: the rule, not a person.
RETENTION_ACTOR = "retention"


def personal_data_due(decided_at: datetime, retention: timedelta) -> datetime:
    """When a decided detainer's personal data falls due for removal."""
    if retention <= timedelta(0):
        raise ValueError("retention must be a positive period")
    return decided_at + retention


def without_personal_data(event: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The event without its personal data, and the names of the fields removed (those it held)."""
    removed = [name for name in PERSONAL_FIELDS if name in event]
    return {k: v for k, v in event.items() if k not in PERSONAL_FIELDS}, removed
