"""The signed links in messages: acknowledge a notice, confirm an address, unsubscribe.

Every link use goes the same way: read the token (signed with the stack's secret for one purpose),
then show or act on what it names. A valid link is always honoured, whoever else shares its
sender's address. A token this stack did not sign, or one whose delivery or subscriber is gone, is
counted against its source and refused with ``LinkRefused`` (or, past the guessing limit, 429:
``services/guessing``); opening a link (GET) never changes anything, because mail security scanners
follow every link in a message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from chalicelib.domain.acknowledgments import AckVia
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.errors import NotFound
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import Channel, Subscriber
from chalicelib.domain.tokens import (
    InvalidToken,
    LinkRefused,
    Purpose,
    SigningKeys,
    read_ack_token,
    read_channel_token,
)
from chalicelib.ports import (
    AckLog,
    DeliveryStore,
    NoticeStore,
    PolicyStore,
    RateLimiter,
    Senders,
    SubscriberStore,
)
from chalicelib.services import acknowledgment, guessing
from chalicelib.services import subscribers as subscriber_service
from chalicelib.services.acknowledgment import AckResult


def _checked[T](source: str, use: Callable[[], T], *, limits: RateLimiter, now: datetime) -> T:
    """``use()``. A valid link is always honoured; an invalid one counts against its source, which
    past the limit is told to slow down (429) instead of "not valid"."""
    try:
        return use()
    except (InvalidToken, NotFound):
        guessing.token_failed(source, limits=limits, now=now)
        raise LinkRefused from None


def open_ack(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    limits: RateLimiter,
    now: datetime,
) -> tuple[Notice, Delivery]:
    """The notice and delivery an acknowledgment link stands for."""
    return _checked(
        source,
        lambda: acknowledgment.find_delivery(
            read_ack_token(keys.accepted, token), notices=notices, deliveries=deliveries
        ),
        limits=limits,
        now=now,
    )


def acknowledge(
    token: str,
    *,
    via: AckVia,
    source: str,
    keys: SigningKeys,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    policies: PolicyStore,
    ack_log: AckLog,
    limits: RateLimiter,
    now: datetime,
) -> AckResult:
    return _checked(
        source,
        lambda: acknowledgment.acknowledge(
            read_ack_token(keys.accepted, token),
            via=via,
            notices=notices,
            deliveries=deliveries,
            policies=policies,
            ack_log=ack_log,
            now=now,
        ),
        limits=limits,
        now=now,
    )


def open_verify(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    subscribers: SubscriberStore,
    limits: RateLimiter,
    now: datetime,
) -> Subscriber:
    """The subscriber whose address a confirmation link confirms."""
    return _checked(
        source,
        lambda: subscribers.get(read_channel_token(keys.accepted, Purpose.VERIFY, token).subscriber_id),
        limits=limits,
        now=now,
    )


def confirm(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    subscribers: SubscriberStore,
    ack_log: AckLog,
    limits: RateLimiter,
    now: datetime,
) -> bool:
    return _checked(
        source,
        lambda: subscriber_service.confirm_channel(
            read_channel_token(keys.accepted, Purpose.VERIFY, token),
            subscribers=subscribers,
            ack_log=ack_log,
            now=now,
        ),
        limits=limits,
        now=now,
    )


def open_unsubscribe(
    token: str, *, source: str, keys: SigningKeys, limits: RateLimiter, now: datetime
) -> None:
    """Checks the link only: the page names no subscriber, so it needs no lookup."""
    _checked(
        source, lambda: read_channel_token(keys.accepted, Purpose.UNSUBSCRIBE, token), limits=limits, now=now
    )


def unsubscribe(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    subscribers: SubscriberStore,
    senders: Senders,
    admins: Sequence[Channel],
    ack_log: AckLog,
    limits: RateLimiter,
    now: datetime,
) -> bool:
    return _checked(
        source,
        lambda: subscriber_service.set_opted_out(
            read_channel_token(keys.accepted, Purpose.UNSUBSCRIBE, token),
            True,
            subscribers=subscribers,
            senders=senders,
            admins=admins,
            ack_log=ack_log,
            now=now,
        ),
        limits=limits,
        now=now,
    )
