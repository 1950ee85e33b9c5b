"""DynamoDB store of deliveries, with conditional claims so no message goes out twice."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.aws import store_failure
from chalicelib.adapters.dynamodb import (
    TransactionCancelled,
    backoff,
    batch_get,
    batch_write,
    call,
    decode,
    encode,
    iso,
    parse_iso,
    query_all,
    written,
)
from chalicelib.domain.acknowledgments import Acknowledgment, AckVia
from chalicelib.domain.deliveries import DELIVERIES_PER_CLAIM, Claim, Delivery, DeliveryStatus, subscriber_in
from chalicelib.domain.subscribers import ChannelType, Role

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, WriteRequestTypeDef


# A notice's deliveries are spread over this many partitions (by subscriber), so a fan-out to
# thousands writes at most 1/16 of its rows to any one partition: DynamoDB's 1,000 writes/s per
# partition then bounds a notice at 16,000 writes/s rather than 1,000.
SHARDS = 16


def shard_of(subscriber_id: str) -> int:
    return int(hashlib.sha256(subscriber_id.encode()).hexdigest()[:8], 16) % SHARDS


def partition(notice_id: str, subscriber_id: str) -> str:
    return f"{notice_id}#{shard_of(subscriber_id):02d}"


def acks_partition(notice_id: str) -> str:
    return f"{notice_id}#acks"


def delivery_to_item(d: Delivery, *, lease_until: datetime | None = None) -> dict[str, Any]:
    return {
        # The table's hash key holds the shard; the notice's own id is kept beside it.
        "notice_id": partition(d.notice_id, d.subscriber_id),
        "notice": d.notice_id,
        "delivery_id": d.delivery_id,
        "step": d.step,
        "subscriber_id": d.subscriber_id,
        "role": str(d.role),
        "ack_required": d.ack_required,
        "channel_type": str(d.channel_type),
        "channel_id": d.channel_id,
        "address": d.address,
        "status": str(d.status),
        "created_at": iso(d.created_at),
        "attempts": d.attempts,
        "sent_at": iso(d.sent_at),
        "last_error": d.last_error,
        "provider_message_id": d.provider_message_id,
        "lease_until": iso(lease_until),
    }


def item_to_delivery(item: dict[str, Any]) -> Delivery:
    created_at = parse_iso(item["created_at"])
    assert created_at is not None  # always written
    return Delivery(
        notice_id=item["notice"],
        delivery_id=item["delivery_id"],
        step=int(item["step"]),
        subscriber_id=item["subscriber_id"],
        role=Role(item["role"]),
        ack_required=bool(item["ack_required"]),
        channel_type=ChannelType(item["channel_type"]),
        channel_id=item["channel_id"],
        address=item["address"],
        status=DeliveryStatus(item["status"]),
        created_at=created_at,
        attempts=int(item.get("attempts", 0)),
        sent_at=parse_iso(item.get("sent_at")),
        last_error=item.get("last_error"),
        provider_message_id=item.get("provider_message_id"),
    )


# Acknowledgments of a notice live in a partition of their own (one Query reads them all); one row
# per subscriber, so the conditional put makes a repeat a no-op.
ACK_PREFIX = "ack#"


def ack_to_item(ack: Acknowledgment) -> dict[str, Any]:
    return {
        "notice_id": acks_partition(ack.notice_id),
        "notice": ack.notice_id,
        "delivery_id": f"{ACK_PREFIX}{ack.subscriber_id}",
        "subscriber_id": ack.subscriber_id,
        "role": str(ack.role),
        "acknowledged_delivery_id": ack.delivery_id,
        "via": str(ack.via),
        "at": iso(ack.at),
        "late": ack.late,
    }


def item_to_ack(item: dict[str, Any]) -> Acknowledgment:
    at = parse_iso(item["at"])
    assert at is not None  # always written
    return Acknowledgment(
        notice_id=item["notice"],
        subscriber_id=item["subscriber_id"],
        role=Role(item["role"]),
        delivery_id=item["acknowledged_delivery_id"],
        via=AckVia(item["via"]),
        at=at,
        late=bool(item.get("late", False)),
    )


# Rounds of a claim: a round resubmits the rows tried since they were planned, or the whole batch
# after a conflict or throttling.
_CLAIM_ROUNDS = 8


def _claimable(item: dict[str, Any], now: datetime) -> bool:
    status = DeliveryStatus(item["status"])
    lease_until = parse_iso(item.get("lease_until"))
    expired = status is DeliveryStatus.SENDING and lease_until is not None and lease_until < now
    return status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED) or expired


class DynamoDeliveryStore:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def get_many(self, notice_id: str, delivery_ids: Sequence[str]) -> list[Delivery]:
        keys = [
            {"notice_id": {"S": partition(notice_id, subscriber_in(i))}, "delivery_id": {"S": i}}
            for i in dict.fromkeys(delivery_ids)
        ]
        found = [item_to_delivery(i) for i in batch_get(self._client, self._table, keys)]  # type: ignore[arg-type]  # plain dict literals
        order = {d: n for n, d in enumerate(delivery_ids)}
        return sorted(found, key=lambda d: order[d.delivery_id])

    def claim(self, deliveries: Sequence[Delivery], *, now: datetime, lease: timedelta) -> Claim:
        """One TransactWriteItems of conditional puts, each writing the whole row as sending. The
        condition holds for a row that does not exist or is claimable with the attempts passed;
        each row it refuses comes back as it stands (ALL_OLD), so a claimable row whose attempts
        differ (the message carried the row as planned, and it has been tried since) is claimed
        again as stored, keeping its attempts, and any other is reported refused. Nothing is read
        first."""
        wanted = list({(d.notice_id, d.delivery_id): d for d in deliveries}.values())
        if len(wanted) > DELIVERIES_PER_CLAIM:
            raise ValueError(f"at most {DELIVERIES_PER_CLAIM} deliveries in one claim")
        values = {
            ":sending": str(DeliveryStatus.SENDING),
            ":pending": str(DeliveryStatus.PENDING),
            ":failed": str(DeliveryStatus.FAILED),
            ":now": iso(now),
        }

        def put(d: Delivery) -> TransactWriteItemTypeDef:
            return {
                "Put": {
                    "TableName": self._table,
                    "Item": encode(
                        delivery_to_item(replace(d, status=DeliveryStatus.SENDING), lease_until=now + lease)
                    ),
                    # A lease that ran out means its holder crashed: the at-least-once window.
                    "ConditionExpression": (
                        "attribute_not_exists(delivery_id) OR (attempts = :attempts AND "
                        "(#s IN (:pending, :failed) OR (#s = :sending AND lease_until < :now)))"
                    ),
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": encode({**values, ":attempts": d.attempts}),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }

        refused: list[Delivery] = []
        pending = wanted
        for attempt in range(_CLAIM_ROUNDS):
            if not pending:
                break
            try:
                call(self._client.transact_write_items, TransactItems=[put(d) for d in pending])
            except TransactionCancelled as cancelled:
                if not cancelled.condition_failed:
                    backoff(attempt)  # conflict or throttling on the whole batch: try it again
                    continue
                again: list[Delivery] = []
                for n, d in enumerate(pending):
                    stored = cancelled.items[n]
                    if n not in cancelled.condition_failed:
                        again.append(d)  # another item is refused, not this one
                    elif stored is None:  # refused, and not said how it stands: held, as far as is known
                        refused.append(replace(d, status=DeliveryStatus.SENDING))
                    elif _claimable(decode(stored), now):
                        again.append(item_to_delivery(decode(stored)))  # tried since: its attempts
                    else:
                        refused.append(item_to_delivery(decode(stored)))
                pending = again
                continue
            claimed = [replace(d, status=DeliveryStatus.SENDING) for d in pending]
            return Claim(claimed=tuple(claimed), refused=tuple(refused))
        if pending:
            raise store_failure(
                "TransactWriteItems",
                self._table,
                "TransactionCanceledException",
                detail=f"{len(pending)} left",
            )
        return Claim(claimed=(), refused=tuple(refused))

    def record(self, deliveries: Sequence[Delivery]) -> None:
        puts: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": encode(delivery_to_item(d))}} for d in deliveries
        ]
        batch_write(self._client, self._table, puts)

    def for_notice(self, notice_id: str) -> list[Delivery]:
        """Every delivery of a notice: one Query per shard (an admin view, not the send path)."""
        found = [
            item_to_delivery(item)
            for shard in range(SHARDS)
            for item in query_all(
                self._client,
                TableName=self._table,
                KeyConditionExpression="notice_id = :n",
                ExpressionAttributeValues={":n": {"S": f"{notice_id}#{shard:02d}"}},
                ConsistentRead=True,
            )
        ]
        return sorted(found, key=lambda d: d.delivery_id)

    def record_ack(self, ack: Acknowledgment) -> bool:
        return written(
            self._client.put_item,
            TableName=self._table,
            Item=encode(ack_to_item(ack)),
            ConditionExpression="attribute_not_exists(delivery_id)",
        )

    def acknowledgments(self, notice_id: str) -> list[Acknowledgment]:
        items = query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="notice_id = :n",
            ExpressionAttributeValues={":n": {"S": acks_partition(notice_id)}},
            ConsistentRead=True,
        )
        return [item_to_ack(i) for i in items]
