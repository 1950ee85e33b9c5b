"""How long the links in messages work, and what a person is told once one no longer does.

- An acknowledgment link works while its notice is open or acknowledged, and for
  ``ACK_GRACE_AFTER_CLOSING`` after the notice is closed (a late acknowledgment is still recorded
  as late); a notice that never closes (a rollout) keeps its links for ``ACK_LINK_LIFETIME``.
- A confirmation link works for ``VERIFY_LINK_LIFETIME`` after it was sent.
- An unsubscribe link works while its channel exists.
- No link of a deleted subscriber or channel shows or changes anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.notices import Notice, NoticeStatus

ACK_GRACE_AFTER_CLOSING = timedelta(days=30)
ACK_LINK_LIFETIME = timedelta(days=180)
VERIFY_LINK_LIFETIME = timedelta(days=7)


class LinkExpired(Exception):
    """A link that was valid and is no longer: ``advice`` says what to do instead."""

    def __init__(self, advice: str) -> None:
        super().__init__(advice)
        self.advice = advice


def check_ack_link(notice: Notice, *, now: datetime) -> None:
    if notice.status is NoticeStatus.CLOSED:
        closed = _closed_at(notice)
        if now > closed + ACK_GRACE_AFTER_CLOSING:
            raise LinkExpired(
                f"This notice was closed on {closed:%d %B %Y}; its acknowledgment link has expired and "
                "nothing more is needed."
            )
    elif now > notice.received_at + ACK_LINK_LIFETIME:
        raise LinkExpired(
            f"This notice was sent on {notice.received_at:%d %B %Y}; its acknowledgment link has expired. "
            "If it still concerns you, ask Vigil's administrators."
        )


def check_verify_link(issued: datetime, *, now: datetime) -> None:
    if now > issued + VERIFY_LINK_LIFETIME:
        days = VERIFY_LINK_LIFETIME.days
        raise LinkExpired(
            f"This confirmation link has expired (they work for {days} days). Ask the administrator who "
            "added your address to send a new one."
        )


GONE = "This address no longer receives Vigil's alerts, so this link does nothing; nothing more is needed."


def _closed_at(notice: Notice) -> datetime:
    """When a closed notice closed: a detainer at its decision; otherwise its last known moment."""
    decided = (notice.decision or {}).get("decided_at")
    if isinstance(decided, str):
        return datetime.fromisoformat(decided)
    return notice.acknowledged_at or notice.received_at
