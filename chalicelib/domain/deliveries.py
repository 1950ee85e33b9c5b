"""Deliveries: one message to one subscriber over one channel for one notice and escalation step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.subscribers import ChannelType, Role


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


def send_messages(deliveries: Sequence[Delivery]) -> list[dict[str, Any]]:
    """Send-queue bodies: deliveries of one notice and channel type, up to 25 a message.

    Grouping by channel keeps a slow webhook from holding up the emails in the same message.
    """
    groups: dict[tuple[str, ChannelType], list[str]] = {}
    for d in deliveries:
        groups.setdefault((d.notice_id, d.channel_type), []).append(d.delivery_id)
    return [
        {
            "notice_id": notice_id,
            "channel": str(channel),
            "delivery_ids": ids[start : start + DELIVERIES_PER_MESSAGE],
        }
        for (notice_id, channel), ids in groups.items()
        for start in range(0, len(ids), DELIVERIES_PER_MESSAGE)
    ]


# Waits before each retry of a send message, by channel (the message's receive count picks the
# step). Webhooks follow the Standard Webhooks senders' growing schedule, seconds to hours; email
# and SMS providers recover faster. After the queue's maxReceiveCount the message goes to the
# dead-letter queue, so these lists only need to be as long as that count.
RETRY_SCHEDULES: dict[ChannelType, tuple[int, ...]] = {
    ChannelType.EMAIL: (30, 120, 600, 1800, 3600),
    ChannelType.SMS: (30, 120, 600, 1800, 3600),
    ChannelType.WEBHOOK: (5, 300, 1800, 7200, 18000, 36000),
}
MAX_RETRY_DELAY = 12 * 3600  # SQS's longest visibility timeout


def retry_delay(
    channel: ChannelType, attempt: int, *, retry_after: float | None, jitter: float, scale: float = 1.0
) -> int:
    """Seconds to wait before attempt ``attempt + 1``. ``jitter`` in [0, 1) spreads retries ±20 %
    so a provider's outage does not end in a thundering herd; a receiver's Retry-After is honoured."""
    schedule = RETRY_SCHEDULES[channel]
    base = schedule[min(max(attempt, 1), len(schedule)) - 1] * (0.8 + 0.4 * jitter)
    wanted = max(base, retry_after or 0.0) * scale
    return int(min(wanted, MAX_RETRY_DELAY))
