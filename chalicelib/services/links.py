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
from dataclasses import replace
from datetime import datetime

from chalicelib.domain.acknowledgments import AckVia
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.errors import NotFound
from chalicelib.domain.language import DEFAULT_LANGUAGE, Language
from chalicelib.domain.link_lifetimes import GONE, LinkExpired, check_ack_link, check_verify_link
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import Channel, ChannelRef, Subscriber
from chalicelib.domain.tokens import (
    AckTarget,
    InvalidToken,
    LinkRefused,
    Purpose,
    SigningKeys,
    read_ack_token,
    read_channel_token,
    read_verify_token,
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
from chalicelib.services.delivery import ADMIN_PREFIX


def _checked[T](source: str, use: Callable[[], T], *, limits: RateLimiter, now: datetime) -> T:
    """``use()``. A valid link is always honoured; an invalid one counts against its source, which
    past the limit is told to slow down (429) instead of "not valid". An expired link (LinkExpired)
    was valid: it is not counted."""
    try:
        return use()
    except (InvalidToken, NotFound):
        guessing.token_failed(source, limits=limits, now=now)
        raise LinkRefused from None


def _live_delivery(
    token: str,
    keys: SigningKeys,
    *,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    now: datetime,
) -> tuple[AckTarget, Notice, Delivery, Language]:
    """What an acknowledgment link names, while it is alive: its notice not long closed, its
    recipient still subscribed (the admins' own deliveries have no subscriber behind them); and the
    recipient's language, which the page speaks."""
    target = read_ack_token(keys.accepted, token)
    notice, delivery = acknowledgment.find_delivery(target, notices=notices, deliveries=deliveries)
    language = DEFAULT_LANGUAGE
    if not delivery.subscriber_id.startswith(ADMIN_PREFIX):
        ref = ChannelRef(delivery.subscriber_id, delivery.channel_id)
        language = _still_subscribed(ref, subscribers).language
    check_ack_link(notice, now=now, language=language)
    return target, notice, delivery, language


def _still_subscribed(ref: ChannelRef, subscribers: SubscriberStore) -> Subscriber:
    try:
        subscriber = subscribers.get(ref.subscriber_id)
    except NotFound:
        raise LinkExpired(GONE) from None
    if subscriber.channel(ref.channel_id) is None:
        raise LinkExpired(GONE)
    return subscriber


def open_ack(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    limits: RateLimiter,
    now: datetime,
) -> tuple[Notice, Delivery, Language]:
    """The notice and delivery an acknowledgment link stands for, and the language of its recipient."""
    _, notice, delivery, language = _checked(
        source,
        lambda: _live_delivery(
            token, keys, notices=notices, deliveries=deliveries, subscribers=subscribers, now=now
        ),
        limits=limits,
        now=now,
    )
    return notice, delivery, language


def acknowledge(
    token: str,
    *,
    via: AckVia,
    source: str,
    keys: SigningKeys,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    policies: PolicyStore,
    ack_log: AckLog,
    limits: RateLimiter,
    now: datetime,
) -> AckResult:
    target, _, _, language = _checked(
        source,
        lambda: _live_delivery(
            token, keys, notices=notices, deliveries=deliveries, subscribers=subscribers, now=now
        ),
        limits=limits,
        now=now,
    )
    result = acknowledgment.acknowledge(
        target,
        via=via,
        notices=notices,
        deliveries=deliveries,
        policies=policies,
        ack_log=ack_log,
        now=now,
    )
    return replace(result, language=language)


def _live_confirmation(
    token: str, keys: SigningKeys, *, subscribers: SubscriberStore, now: datetime
) -> tuple[ChannelRef, Subscriber]:
    ref, issued = read_verify_token(keys.accepted, token)
    subscriber = _still_subscribed(ref, subscribers)
    check_verify_link(issued, now=now, language=subscriber.language)
    return ref, subscriber


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
    _, subscriber = _checked(
        source,
        lambda: _live_confirmation(token, keys, subscribers=subscribers, now=now),
        limits=limits,
        now=now,
    )
    return subscriber


def confirm(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    subscribers: SubscriberStore,
    ack_log: AckLog,
    limits: RateLimiter,
    now: datetime,
) -> Language:
    """Confirms the address; returns its owner's language, which the page speaks."""
    ref, subscriber = _checked(
        source,
        lambda: _live_confirmation(token, keys, subscribers=subscribers, now=now),
        limits=limits,
        now=now,
    )
    subscriber_service.confirm_channel(ref, subscribers=subscribers, ack_log=ack_log, now=now)
    return subscriber.language


def _live_channel(
    token: str, keys: SigningKeys, *, subscribers: SubscriberStore
) -> tuple[ChannelRef, Language]:
    ref = read_channel_token(keys.accepted, Purpose.UNSUBSCRIBE, token)
    return ref, _still_subscribed(ref, subscribers).language


def open_unsubscribe(
    token: str,
    *,
    source: str,
    keys: SigningKeys,
    subscribers: SubscriberStore,
    limits: RateLimiter,
    now: datetime,
) -> Language:
    """Checks that the link names a channel that still exists; the page names nothing of it, and
    speaks the language of the channel's owner (returned)."""
    _, language = _checked(
        source, lambda: _live_channel(token, keys, subscribers=subscribers), limits=limits, now=now
    )
    return language


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
) -> Language:
    """Opts the channel out; returns its owner's language, which the page speaks."""
    ref, language = _checked(
        source, lambda: _live_channel(token, keys, subscribers=subscribers), limits=limits, now=now
    )
    subscriber_service.set_opted_out(
        ref, True, subscribers=subscribers, senders=senders, admins=admins, ack_log=ack_log, now=now
    )
    return language
