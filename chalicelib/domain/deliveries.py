"""Deliveries: one message to one subscriber over one channel for one notice and escalation step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.subscribers import CHAT_CHANNELS, ChannelType, FailureLimit, Role


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    # The channel stopped being active (opted out, disabled, removed) before the message went out.
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({DeliveryStatus.SENT, DeliveryStatus.BOUNCED, DeliveryStatus.CANCELLED})


def delivery_id_for(step: int, subscriber_id: str, channel_id: str) -> str:
    """Identity of a delivery: the same notice, step, subscriber and channel is the same message."""
    return f"{step:03d}#{subscriber_id}#{channel_id}"


def subscriber_in(delivery_id: str) -> str:
    """The subscriber a delivery id names (ids never contain '#' themselves)."""
    parts = delivery_id.split("#")
    return parts[1] if len(parts) == 3 else delivery_id


@dataclass(frozen=True, slots=True)
class Delivery:
    notice_id: str
    delivery_id: str
    step: int
    subscriber_id: str
    role: Role
    ack_required: bool
    channel_type: ChannelType
    channel_id: str
    address: str
    status: DeliveryStatus
    created_at: datetime
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None
    provider_message_id: str | None = None

    def sent(self, *, provider_message_id: str, now: datetime) -> Delivery:
        return replace(
            self,
            status=DeliveryStatus.SENT,
            attempts=self.attempts + 1,
            sent_at=now,
            provider_message_id=provider_message_id,
            last_error=None,
        )

    def cancelled(self, *, reason: str) -> Delivery:
        return replace(self, status=DeliveryStatus.CANCELLED, last_error=reason)

    def failed(self, *, error: str) -> Delivery:
        return replace(self, status=DeliveryStatus.FAILED, attempts=self.attempts + 1, last_error=error)


DELIVERIES_PER_MESSAGE = 25  # one BatchWriteItem records the outcomes of a whole message
# One conditional write (a TransactWriteItems of 100) claims the deliveries of up to four messages.
DELIVERIES_PER_CLAIM = 100


def send_messages(deliveries: Sequence[Delivery]) -> list[dict[str, Any]]:
    """Send-queue bodies: deliveries of one notice and channel type, up to 25 a message, each
    carried whole (``carried``), so the send step claims them without reading them first and
    routing writes no row of its own (the claim creates it).

    Grouping by channel keeps a slow webhook from holding up the emails in the same message.
    """
    groups: dict[tuple[str, ChannelType], list[Delivery]] = {}
    for d in deliveries:
        groups.setdefault((d.notice_id, d.channel_type), []).append(d)
    return [
        {
            "notice_id": notice_id,
            "channel": str(channel),
            "delivery_ids": [d.delivery_id for d in chunk],
            "deliveries": [carried(d) for d in chunk],
        }
        for (notice_id, channel), planned in groups.items()
        for chunk in (
            planned[start : start + DELIVERIES_PER_MESSAGE]
            for start in range(0, len(planned), DELIVERIES_PER_MESSAGE)
        )
    ]


def carried(d: Delivery) -> dict[str, Any]:
    """A planned delivery as a send message carries it (its notice and channel type are the
    message's own)."""
    return {
        "delivery_id": d.delivery_id,
        "step": d.step,
        "subscriber_id": d.subscriber_id,
        "role": str(d.role),
        "ack_required": d.ack_required,
        "channel_id": d.channel_id,
        "address": d.address,
        "created_at": d.created_at.isoformat(),
    }


def carried_deliveries(body: Mapping[str, Any]) -> list[Delivery] | None:
    """The planned deliveries a send message carries, or None for a message that names its
    deliveries only (a redrive from the dead-letter queue), whose rows are read. Raises ValueError
    (or KeyError, TypeError) for a body that is neither."""
    rows = body.get("deliveries")
    if rows is None:
        return None
    channel = ChannelType(body["channel"])
    return [
        Delivery(
            notice_id=str(body["notice_id"]),
            delivery_id=str(row["delivery_id"]),
            step=int(row["step"]),
            subscriber_id=str(row["subscriber_id"]),
            role=Role(row["role"]),
            ack_required=bool(row["ack_required"]),
            channel_type=channel,
            channel_id=str(row["channel_id"]),
            address=str(row["address"]),
            status=DeliveryStatus.PENDING,
            created_at=datetime.fromisoformat(row["created_at"]),
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim took: ``claimed``, marked sending, each as stored (its attempts so far); and
    ``refused``, as they stand: sent, bounced or cancelled before, or sending under another
    invocation's lease."""

    claimed: tuple[Delivery, ...]
    refused: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class SendMessage:
    """One send-queue message as its invocation received it: ``receives`` is SQS's count of its
    receipts, ``receipt_handle`` what changes its visibility."""

    message_id: str
    body: Mapping[str, Any]
    receives: int = 1
    receipt_handle: str = ""


# The schedule of each channel: seconds to wait before each attempt of a delivery, the first made at
# once. Webhooks follow Svix's published schedule (docs.svix.com/retries: 8 attempts, the last
# 27 h 35 min 5 s after the first), so a receiver down for a day still gets the notice; email and
# SMS providers throttle for seconds and recover within the hour, so theirs is shorter. A delivery
# that has failed every attempt of its channel's schedule is handed to the dead-letter queue by the
# send step (``attempts_left``, ``delivery.settle``), not by the queue's receive count.
RETRY_SCHEDULES: dict[ChannelType, tuple[int, ...]] = {
    ChannelType.EMAIL: (0, 30, 120, 600, 1800, 3600),
    ChannelType.SMS: (0, 30, 120, 600, 1800, 3600),
    ChannelType.WEBHOOK: (0, 5, 300, 1800, 7200, 18000, 36000, 36000),
}
# A chat endpoint is a webhook of Slack's or Microsoft's: a channel whose endpoint is down for a day
# still gets the notice, and it is switched off after the same failures (``WEBHOOK_FAILURE_LIMIT``).
RETRY_SCHEDULES |= {kind: RETRY_SCHEDULES[ChannelType.WEBHOOK] for kind in CHAT_CHANNELS}
MAX_RETRY_DELAY = 12 * 3600  # SQS's longest visibility timeout
# Jitter lengthens each wait by up to this fraction, never shortens it: the schedule is the least a
# delivery waits, so its attempts always span the whole ``retry_window``, and the longest webhook
# wait (10 h) stays within SQS's 12 h.
JITTER = 0.2


def attempts_allowed(channel: ChannelType) -> int:
    """How many times a delivery over ``channel`` is attempted before it is dead-lettered."""
    return len(RETRY_SCHEDULES[channel])


def retry_window(channel: ChannelType) -> timedelta:
    """The least time from a delivery's first attempt to its last, when every attempt fails."""
    return timedelta(seconds=sum(RETRY_SCHEDULES[channel]))


def attempts_left(channel: ChannelType, *, attempts: int, receives: int) -> int:
    """Attempts a delivery that has had ``attempts`` may still have, in a send message received
    ``receives`` times.

    The delivery's own count decides, per channel: a message of emails is done after email's six
    attempts although the send queue would receive it nine times (enough for webhooks). Only the
    attempts the message itself can have made count, at most one per receive, so a message
    redriven from the dead-letter queue (a new message to SQS) gives its deliveries the schedule
    again."""
    return max(0, attempts_allowed(channel) - min(attempts, receives))


# A webhook or chat endpoint is disabled once it has failed every attempt of a delivery's schedule,
# over the whole of it: 8 failures in a row, the first 27 h 35 min ago or more.
WEBHOOK_FAILURE_LIMIT = FailureLimit(
    attempts=attempts_allowed(ChannelType.WEBHOOK), window=retry_window(ChannelType.WEBHOOK)
)


def retry_delay(
    channel: ChannelType, attempts: int, *, retry_after: float | None, jitter: float, scale: float = 1.0
) -> int:
    """Seconds to wait after a delivery's ``attempts``-th attempt before the next one (past the
    schedule, its last wait). ``jitter`` in [0, 1) lengthens the wait by up to a fifth, so the
    retries of a provider's outage do not all come back at once; a receiver's Retry-After is
    honoured. At most SQS's 12 hours."""
    schedule = RETRY_SCHEDULES[channel]
    base = schedule[min(max(attempts, 1), len(schedule) - 1)] * (1 + JITTER * jitter)
    wanted = max(base, retry_after or 0.0) * scale
    return int(min(wanted, MAX_RETRY_DELAY))
