"""DynamoDB store of subscribers and the jurisdiction-keyed index that routing queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import (
    batch_get,
    batch_write,
    call,
    decode,
    decode_cursor,
    encode,
    encode_cursor,
    iso,
    parse_iso,
    query_all,
    written,
)
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Subscriber,
    Subscription,
    SubscriptionEntry,
    index_entries,
)
from chalicelib.ports import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef


def _channels_to_item(channels: Sequence[Channel], *, with_secrets: bool) -> list[dict[str, Any]]:
    out = []
    for channel in channels:
        value: dict[str, Any] = {
            "type": str(channel.type),
            "address": channel.address,
            "verified": channel.verified,
            "opted_out": channel.opted_out,
            "disabled": channel.disabled,
            "bounced": channel.bounced,
        }
        if with_secrets:
            value |= {
                "secret": channel.secret,
                "previous_secret": channel.previous_secret,
                "previous_secret_until": iso(channel.previous_secret_until),
                "failing_since": iso(channel.failing_since),
            }
        out.append({k: v for k, v in value.items() if v is not None})
    return out


def _channels_from_item(values: list[dict[str, Any]]) -> tuple[Channel, ...]:
    return tuple(
        Channel(
            ChannelType(v["type"]),
            v["address"],
            secret=v.get("secret"),
            verified=bool(v.get("verified", True)),
            opted_out=bool(v.get("opted_out", False)),
            disabled=bool(v.get("disabled", False)),
            bounced=bool(v.get("bounced", False)),
            previous_secret=v.get("previous_secret"),
            previous_secret_until=parse_iso(v.get("previous_secret_until")),
            failing_since=parse_iso(v.get("failing_since")),
        )
        for v in values
    )


def subscriber_to_item(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "subscriber_id": subscriber.id,
        "name": subscriber.name,
        "role": str(subscriber.role),
        "organization": subscriber.organization,
        "ack_required": subscriber.ack_required,
        "escalation_contact": subscriber.escalation_contact,
        "channels": _channels_to_item(subscriber.channels, with_secrets=True),
        "subscriptions": [
            {"jurisdiction_id": s.jurisdiction_id, "event_types": sorted(str(t) for t in s.event_types)}
            for s in subscriber.subscriptions
        ],
        "created_at": iso(subscriber.created_at),
        "tags": list(subscriber.tags),
    }


def item_to_subscriber(item: dict[str, Any]) -> Subscriber:
    created_at = parse_iso(item["created_at"])
    assert created_at is not None  # always written
    return Subscriber(
        id=item["subscriber_id"],
        name=item["name"],
        role=Role(item["role"]),
        organization=item.get("organization", ""),
        ack_required=bool(item["ack_required"]),
        escalation_contact=bool(item.get("escalation_contact", False)),
        channels=_channels_from_item(item.get("channels", [])),
        subscriptions=tuple(
            Subscription(s["jurisdiction_id"], frozenset(EventType(t) for t in s["event_types"]))
            for s in item.get("subscriptions", [])
        ),
        created_at=created_at,
        tags=tuple(item.get("tags", [])),
    )


def entry_key(event_type: EventType, subscriber_id: str) -> str:
    # The event type leads so that routing reads only the rows for the notice's type.
    return f"{event_type}#{subscriber_id}"


def entry_to_item(entry: SubscriptionEntry) -> dict[str, Any]:
    return {
        "jurisdiction_id": entry.jurisdiction_id,
        "entry_key": entry_key(entry.event_type, entry.subscriber_id),
        "subscriber_id": entry.subscriber_id,
        "name": entry.name,
        "role": str(entry.role),
        "organization": entry.organization,
        "ack_required": entry.ack_required,
        # No webhook secrets in the index: only the deliver step reads them, from the subscriber.
        "channels": _channels_to_item(entry.channels, with_secrets=False),
        "escalation_contact": entry.escalation_contact,
    }


def item_to_entry(item: dict[str, Any]) -> SubscriptionEntry:
    return SubscriptionEntry(
        jurisdiction_id=item["jurisdiction_id"],
        event_type=EventType(item["entry_key"].split("#", 1)[0]),
        subscriber_id=item["subscriber_id"],
        name=item["name"],
        role=Role(item["role"]),
        organization=item.get("organization", ""),
        ack_required=bool(item["ack_required"]),
        channels=_channels_from_item(item.get("channels", [])),
        escalation_contact=bool(item.get("escalation_contact", False)),
    )


class DynamoSubscriberStore:
    """Subscribers table plus the subscriptions index; implements SubscriberStore and SubscriptionIndex."""

    def __init__(self, subscribers_table: str, subscriptions_table: str, client: DynamoDBClient) -> None:
        self._subscribers = subscribers_table
        self._subscriptions = subscriptions_table
        self._client = client

    def add(self, subscriber: Subscriber) -> None:
        if not written(
            self._client.put_item,
            TableName=self._subscribers,
            Item=encode(subscriber_to_item(subscriber)),
            ConditionExpression="attribute_not_exists(subscriber_id)",
        ):
            raise Conflict(f"subscriber {subscriber.id!r} exists")
        puts: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": encode(entry_to_item(e))}} for e in index_entries(subscriber)
        ]
        batch_write(self._client, self._subscriptions, puts)

    def replace(self, subscriber: Subscriber) -> None:
        """Write the changed subscriber and bring its index rows in line (removed rows first)."""
        before = self.get(subscriber.id)
        if not written(
            self._client.put_item,
            TableName=self._subscribers,
            Item=encode(subscriber_to_item(subscriber)),
            ConditionExpression="attribute_exists(subscriber_id)",
        ):
            raise NotFound(f"no subscriber {subscriber.id!r}")
        keep = {
            (e.jurisdiction_id, entry_key(e.event_type, e.subscriber_id)) for e in index_entries(subscriber)
        }
        gone: list[WriteRequestTypeDef] = [
            {"DeleteRequest": {"Key": {"jurisdiction_id": {"S": j}, "entry_key": {"S": k}}}}
            for j, k in {
                (e.jurisdiction_id, entry_key(e.event_type, e.subscriber_id)) for e in index_entries(before)
            }
            - keep
        ]
        puts: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": encode(entry_to_item(e))}} for e in index_entries(subscriber)
        ]
        batch_write(self._client, self._subscriptions, gone + puts)

    def get(self, subscriber_id: str) -> Subscriber:
        response = call(
            self._client.get_item,
            TableName=self._subscribers,
            Key={"subscriber_id": {"S": subscriber_id}},
            ConsistentRead=True,
        )
        if "Item" not in response:
            raise NotFound(f"no subscriber {subscriber_id!r}")
        return item_to_subscriber(decode(response["Item"]))

    def get_many(self, subscriber_ids: Sequence[str]) -> dict[str, Subscriber]:
        keys = [{"subscriber_id": {"S": i}} for i in dict.fromkeys(subscriber_ids)]
        found = batch_get(self._client, self._subscribers, keys)  # type: ignore[arg-type]  # plain dict literals
        return {s.id: s for s in map(item_to_subscriber, found)}

    def list(self, *, limit: int, cursor: str | None) -> Page[Subscriber]:
        # An admin listing, paginated: the one place a Scan is right (it wants every subscriber).
        kwargs: dict[str, Any] = {"TableName": self._subscribers, "Limit": limit}
        start = decode_cursor(cursor)
        if start:
            kwargs["ExclusiveStartKey"] = encode(start)
        response = call(self._client.scan, **kwargs)
        items = [item_to_subscriber(decode(i)) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items=items, cursor=encode_cursor(decode(last)) if last else None)

    def delete(self, subscriber_id: str) -> None:
        subscriber = self.get(subscriber_id)
        deletes: list[WriteRequestTypeDef] = [
            {
                "DeleteRequest": {
                    "Key": {
                        "jurisdiction_id": {"S": e.jurisdiction_id},
                        "entry_key": {"S": entry_key(e.event_type, e.subscriber_id)},
                    }
                }
            }
            for e in index_entries(subscriber)
        ]
        # Index rows first: a subscriber half-deleted must stop receiving, not linger in routing.
        batch_write(self._client, self._subscriptions, deletes)
        call(
            self._client.delete_item, TableName=self._subscribers, Key={"subscriber_id": {"S": subscriber_id}}
        )

    def covering(self, jurisdiction_ids: Sequence[str], event_type: EventType) -> Iterator[SubscriptionEntry]:
        for jurisdiction_id in jurisdiction_ids:
            for item in query_all(
                self._client,
                TableName=self._subscriptions,
                KeyConditionExpression="jurisdiction_id = :j AND begins_with(entry_key, :t)",
                ExpressionAttributeValues={":j": {"S": jurisdiction_id}, ":t": {"S": f"{event_type}#"}},
            ):
                yield item_to_entry(item)
