"""How long the links in messages work, and what a person is told once one no longer does.

- An acknowledgment link works while its notice is open or acknowledged, and for
  ``ACK_GRACE_AFTER_CLOSING`` after the notice is closed (a late acknowledgment is still recorded
  as late); a notice that never closes (a rollout) keeps its links for ``ACK_LINK_LIFETIME``.
- A confirmation link works for ``VERIFY_LINK_LIFETIME`` after it was sent.
- An unsubscribe link works while its channel exists.
- No link of a deleted subscriber or channel shows or changes anything.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from chalicelib.domain.language import DEFAULT_LANGUAGE, N_, Language, words_for
from chalicelib.domain.notices import Notice, NoticeStatus

ACK_GRACE_AFTER_CLOSING = timedelta(days=30)
ACK_LINK_LIFETIME = timedelta(days=180)
VERIFY_LINK_LIFETIME = timedelta(days=7)


class LinkExpired(Exception):
    """A link that was valid and is no longer: ``advice()`` says what to do instead, in the language
    of the link's owner (None when the owner is gone: the page then speaks the browser's)."""

    def __init__(self, advice: str, language: Language | None = None, **values: date | int) -> None:
        self.template = advice
        self.values = values
        self.language = language
        super().__init__(self.advice(DEFAULT_LANGUAGE))

    def advice(self, language: Language | None = None) -> str:
        _ = words_for(language or self.language)
        return _(self.template, **{k: _.day(v) if isinstance(v, date) else v for k, v in self.values.items()})


def check_ack_link(notice: Notice, *, now: datetime, language: Language = DEFAULT_LANGUAGE) -> None:
    if notice.status is NoticeStatus.CLOSED:
        closed = _closed_at(notice)
        if now > closed + ACK_GRACE_AFTER_CLOSING:
            raise LinkExpired(
                N_(
                    "This notice was closed on {closed}; its acknowledgment link has expired and "
                    "nothing more is needed."
                ),
                language,
                closed=closed.date(),
            )
    elif now > notice.received_at + ACK_LINK_LIFETIME:
        raise LinkExpired(
            N_(
                "This notice was sent on {sent}; its acknowledgment link has expired. "
                "If it still concerns you, ask Vigil's administrators."
            ),
            language,
            sent=notice.received_at.date(),
        )


def check_verify_link(issued: datetime, *, now: datetime, language: Language = DEFAULT_LANGUAGE) -> None:
    if now > issued + VERIFY_LINK_LIFETIME:
        raise LinkExpired(
            N_(
                "This confirmation link has expired (they work for {days} days). Ask the administrator who "
                "added your address to send a new one."
            ),
            language,
            days=VERIFY_LINK_LIFETIME.days,
        )


GONE = N_(
    "This address no longer receives Vigil's alerts, so this link does nothing; nothing more is needed."
)


def _closed_at(notice: Notice) -> datetime:
    """When a closed notice closed: a detainer at its decision; otherwise its last known moment."""
    decided = (notice.decision or {}).get("decided_at")
    if isinstance(decided, str):
        return datetime.fromisoformat(decided)
    return notice.acknowledged_at or notice.received_at
