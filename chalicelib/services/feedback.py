"""SES bounces and complaints: a hard bounce stops the address and sends the notice on the
recipient's other channels; a complaint is an opt-out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.domain.errors import NotFound
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.routing import Recipient, plan_deliveries
from chalicelib.domain.subscribers import Channel, ChannelRef
from chalicelib.ports import AckLog, DeliveryStore, NoticeStore, Senders, SubscriberStore, WorkQueue
from chalicelib.services import subscribers as subscriber_service
from chalicelib.services.routing import dispatch

logger = structlog.get_logger()


def _tag(mail: Mapping[str, Any], name: str) -> str | None:
    values = (mail.get("tags") or {}).get(name) or []
    return str(values[0]) if values else None


def _delivery_id(tagged: str) -> str:
    # SES tags cannot hold '#'; the sender wrote '.' in its place (ids never contain '.').
    return tagged.replace(".", "#")


def handle_feedback(
    notification: Mapping[str, Any],
    *,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    send_queue: WorkQueue,
    senders: Senders,
    admins: Sequence[Channel],
    ack_log: AckLog,
    now: datetime,
) -> str:
    """Returns what was done, for the log line: 'bounced', 'complained' or 'ignored'."""
    kind = notification.get("eventType") or notification.get("notificationType")
    mail = notification.get("mail") or {}
    notice_id, tagged, subscriber_id, channel_id = (
        _tag(mail, t) for t in ("notice", "delivery", "subscriber", "channel")
    )
    if not (notice_id and tagged and subscriber_id and channel_id):
        return "ignored"  # not a message Vigil tagged (a test message, a confirmation)
    ref = ChannelRef(subscriber_id, channel_id)
    if kind == "Complaint":
        try:
            subscriber_service.set_opted_out(
                ref, True, subscribers=subscribers, senders=senders, admins=admins, ack_log=ack_log, now=now
            )
        except NotFound:
            return "ignored"
        return "complained"
    if kind != "Bounce" or (notification.get("bounce") or {}).get("bounceType") != "Permanent":
        return "ignored"  # transient bounces are SES's to retry
    _bounced(
        notice_id,
        _delivery_id(tagged),
        ref,
        notices=notices,
        deliveries=deliveries,
        subscribers=subscribers,
        send_queue=send_queue,
        senders=senders,
        admins=admins,
        ack_log=ack_log,
        now=now,
    )
    return "bounced"


def _bounced(
    notice_id: str,
    delivery_id: str,
    ref: ChannelRef,
    *,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    send_queue: WorkQueue,
    senders: Senders,
    admins: Sequence[Channel],
    ack_log: AckLog,
    now: datetime,
) -> None:
    found = deliveries.get_many(notice_id, [delivery_id])
    if found:
        deliveries.record(
            [replace(found[0], status=DeliveryStatus.BOUNCED, last_error="email bounced for good")]
        )
        ack_log.append(
            notice_id,
            EntryKind.FAILED,
            at=now,
            actor="system",
            data={"delivery_id": delivery_id, "bounced": True},
        )
    try:  # NotFound: the subscriber or the channel is gone, and with it whom to reach again
        bounced = subscriber_service.change_channel(
            ref, lambda c: replace(c, bounced=True), subscribers=subscribers
        )
        subscriber = bounced.subscriber if bounced else subscribers.get(ref.subscriber_id)
    except NotFound:
        return
    if bounced:
        logger.warning("channel.bounced", subscriber_id=subscriber.id, channel_id=ref.channel_id)
        if subscriber.ack_required:
            subscriber_service.tell_admins_unreachable(
                subscriber, bounced.after, senders=senders, admins=admins
            )
    if not subscriber.ack_required or not found:
        return
    # A required recipient must not vanish: the same step goes out on their other channels.
    notice = notices.get(notice_id)
    acknowledged = {a.subscriber_id for a in deliveries.acknowledgments(notice_id)}
    if notice.status is not NoticeStatus.OPEN or subscriber.id in acknowledged:
        return
    recipient = Recipient(
        subscriber.id,
        subscriber.name,
        subscriber.role,
        subscriber.organization,
        True,
        subscriber.channels,
        ("bounce",),
    )
    dispatch(
        plan_deliveries(notice, [recipient], step=found[0].step, now=now),
        send_queue=send_queue,
    )
