"""DynamoDB store of subscribers and the jurisdiction-keyed index that routing queries.

The index (table ``subscriptions``) is partitioned by place (``jurisdiction_id``). Within a place,
the sort key ``entry_key`` of a subscriber's row for event type T is

    T#<subscriber>           subscribed to this place, scope contained: also read for places below
    T$exact#<subscriber>     subscribed to this place, scope exact: read for this place only
    T$inside#<subscriber>    subscribed to places inside this one (``inside`` names them)

so every read routing makes is one key condition (``routing.Reach``): a notice's own place reads
``BETWEEN "T#" AND "T%"`` ('$' sorts right after '#', and no key starts with "T%"), each place above
it ``begins_with "T#"``. Items read are the covering subscriptions and nothing else. ``T#<subscriber>``
is the layout of every row written before scopes and inside rows existed, so those rows stay valid;
``reindex`` adds the inside rows they lack (infra/reindex.py, docs/operations.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
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
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, NotFound
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.language import DEFAULT_LANGUAGE, Language
from chalicelib.domain.routing import Reach
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Scope,
    Subscriber,
    Subscription,
    SubscriptionEntry,
    index_entries,
)
from chalicelib.ports import Page, Reindexed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

# What follows the event type in an index row's sort key (the module docstring has the layout).
_CONTAINED = "#"
_EXACT = "$exact#"
_INSIDE = "$inside#"
_PAST_ALL = "%"  # sorts right after "$": the upper bound of every key of one event type
# What a page of the subscriber listing (a Scan of the table) ends with: the table's key.
_TABLE_KEY = frozenset({"subscriber_id"})

IndexKey = tuple[str, str]  # (jurisdiction_id, entry_key)


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
                "consecutive_failures": channel.consecutive_failures or None,
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
            # Stored before the count was kept: none yet (the endpoint gets a whole schedule again).
            consecutive_failures=int(v.get("consecutive_failures", 0)),
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
            {
                "jurisdiction_id": s.jurisdiction_id,
                "event_types": sorted(str(t) for t in s.event_types),
                "scope": str(s.scope),
            }
            for s in subscriber.subscriptions
        ],
        "created_at": iso(subscriber.created_at),
        "tags": list(subscriber.tags),
        "language": str(subscriber.language),
        "revision": subscriber.revision,
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
            Subscription(
                s["jurisdiction_id"],
                frozenset(EventType(t) for t in s["event_types"]),
                Scope(s.get("scope", Scope.CONTAINED)),  # stored before scopes existed: contained
            )
            for s in item.get("subscriptions", [])
        ),
        created_at=created_at,
        tags=tuple(item.get("tags", [])),
        language=Language(item.get("language", DEFAULT_LANGUAGE)),  # stored before languages: English
        revision=int(item.get("revision", 0)),  # written before revisions were kept: the first
    )


def entry_key(entry: SubscriptionEntry) -> str:
    # The event type leads so that routing reads only the rows for the notice's type.
    if entry.inside:
        marker = _INSIDE
    elif entry.scope is Scope.EXACT:
        marker = _EXACT
    else:
        marker = _CONTAINED
    return f"{entry.event_type}{marker}{entry.subscriber_id}"


def index_key(entry: SubscriptionEntry) -> IndexKey:
    return entry.jurisdiction_id, entry_key(entry)


def entry_to_item(entry: SubscriptionEntry) -> dict[str, Any]:
    item = {
        "jurisdiction_id": entry.jurisdiction_id,
        "entry_key": entry_key(entry),
        "subscriber_id": entry.subscriber_id,
        "name": entry.name,
        "role": str(entry.role),
        "organization": entry.organization,
        "ack_required": entry.ack_required,
        # No webhook secrets in the index: only the deliver step reads them, from the subscriber.
        "channels": _channels_to_item(entry.channels, with_secrets=False),
        "escalation_contact": entry.escalation_contact,
    }
    if entry.inside:
        item["inside"] = list(entry.inside)
    return item


def item_to_entry(item: dict[str, Any]) -> SubscriptionEntry:
    key: str = item["entry_key"]
    split = min(i for i in (key.find(_CONTAINED), key.find("$")) if i >= 0)
    scope = Scope.EXACT if key.startswith(_EXACT, split) else Scope.CONTAINED
    return SubscriptionEntry(
        jurisdiction_id=item["jurisdiction_id"],
        event_type=EventType(key[:split]),
        subscriber_id=item["subscriber_id"],
        name=item["name"],
        role=Role(item["role"]),
        organization=item.get("organization", ""),
        ack_required=bool(item["ack_required"]),
        channels=_channels_from_item(item.get("channels", [])),
        escalation_contact=bool(item.get("escalation_contact", False)),
        scope=scope,
        inside=tuple(item.get("inside", ())),
    )


def _puts(entries: Sequence[SubscriptionEntry]) -> list[WriteRequestTypeDef]:
    return [{"PutRequest": {"Item": encode(entry_to_item(e))}} for e in entries]


def _deletes(keys: Sequence[IndexKey]) -> list[WriteRequestTypeDef]:
    return [
        {"DeleteRequest": {"Key": {"jurisdiction_id": {"S": place}, "entry_key": {"S": key}}}}
        for place, key in sorted(keys)
    ]


class DynamoSubscriberStore:
    """Subscribers table plus the subscriptions index; implements SubscriberStore and SubscriptionIndex.

    ``places`` gives the graph, which says which places lie above a subscribed place (where its
    inside rows go): the current one, since admins add facilities and move them.
    """

    def __init__(
        self,
        subscribers_table: str,
        subscriptions_table: str,
        client: DynamoDBClient,
        places: Callable[[], JurisdictionRegistry],
    ) -> None:
        self._subscribers = subscribers_table
        self._subscriptions = subscriptions_table
        self._client = client
        self._places = places

    def _entries(self, subscriber: Subscriber) -> list[SubscriptionEntry]:
        return index_entries(subscriber, self._places())

    def add(self, subscriber: Subscriber) -> None:
        if not written(
            self._client.put_item,
            TableName=self._subscribers,
            Item=encode(subscriber_to_item(subscriber)),
            ConditionExpression="attribute_not_exists(subscriber_id)",
        ):
            raise Conflict(f"subscriber {subscriber.id!r} exists")
        batch_write(self._client, self._subscriptions, _puts(self._entries(subscriber)))

    def replace(self, subscriber: Subscriber) -> None:
        """Write the changed subscriber and bring its index rows in line (removed rows first).

        Only if the stored record is still the revision the change was based on: otherwise
        ChangedMeanwhile, and nothing is written.
        """
        before = self.get(subscriber.id)
        if before.revision != subscriber.revision:
            raise ChangedMeanwhile(f"subscriber {subscriber.id!r} changed since it was read")
        written_as = dataclasses.replace(subscriber, revision=subscriber.revision + 1)
        # Records written before revisions were kept have none: revision 0 stands for that.
        unchanged = "revision = :based_on"
        if not subscriber.revision:
            unchanged = f"({unchanged} OR attribute_not_exists(revision))"
        if not written(
            self._client.put_item,
            TableName=self._subscribers,
            Item=encode(subscriber_to_item(written_as)),
            ConditionExpression=f"attribute_exists(subscriber_id) AND {unchanged}",
            ExpressionAttributeValues={":based_on": {"N": str(subscriber.revision)}},
        ):
            self.get(subscriber.id)  # NotFound if it was deleted meanwhile
            raise ChangedMeanwhile(f"subscriber {subscriber.id!r} changed since it was read")
        # The rows before are what the stored subscriber produces (no by-subscriber Query: the send,
        # text and feedback functions replace subscribers and may only write the index).
        entries = self._entries(subscriber)
        gone = {index_key(e) for e in self._entries(before)} - {index_key(e) for e in entries}
        batch_write(self._client, self._subscriptions, _deletes(list(gone)) + _puts(entries))

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
        start = decode_cursor(cursor, keys=_TABLE_KEY)
        if start:
            kwargs["ExclusiveStartKey"] = encode(start)
        response = call(self._client.scan, **kwargs)
        items = [item_to_subscriber(decode(i)) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(items=items, cursor=encode_cursor(decode(last)) if last else None)

    def delete(self, subscriber_id: str) -> None:
        subscriber = self.get(subscriber_id)
        # Every row the by-subscriber index knows too, so none survives to route to nobody.
        keys = {index_key(e) for e in self._entries(subscriber)} | set(self._stored_keys(subscriber_id))
        # Index rows first: a subscriber half-deleted must stop receiving, not linger in routing.
        batch_write(self._client, self._subscriptions, _deletes(list(keys)))
        call(
            self._client.delete_item, TableName=self._subscribers, Key={"subscriber_id": {"S": subscriber_id}}
        )

    def reindex(self, subscriber_id: str) -> Reindexed:
        entries = self._entries(self.get(subscriber_id))  # read consistently: a Scan's copy may be old
        stale = set(self._stored_keys(subscriber_id)) - {index_key(e) for e in entries}
        # New rows first, so a subscriber whose rows move is never missing from routing meanwhile.
        batch_write(self._client, self._subscriptions, _puts(entries) + _deletes(list(stale)))
        return Reindexed(written=len(entries), removed=len(stale))

    def _stored_keys(self, subscriber_id: str) -> Iterator[IndexKey]:
        """The subscriber's index rows as the by-subscriber index has them (eventually consistent)."""
        for item in query_all(
            self._client,
            TableName=self._subscriptions,
            IndexName="by-subscriber",
            KeyConditionExpression="subscriber_id = :s",
            ExpressionAttributeValues={":s": {"S": subscriber_id}},
        ):
            yield item["jurisdiction_id"], item["entry_key"]

    def covering(self, reach: Reach) -> Iterator[SubscriptionEntry]:
        t = str(reach.event_type)
        if reach.place is not None:
            yield from self._query(
                "jurisdiction_id = :j AND entry_key BETWEEN :from AND :to",
                {":j": reach.place, ":from": t + _CONTAINED, ":to": t + _PAST_ALL},
            )
        for above in reach.above:
            yield from self._query(
                "jurisdiction_id = :j AND begins_with(entry_key, :t)", {":j": above, ":t": t + _CONTAINED}
            )

    def _query(self, condition: str, values: dict[str, str]) -> Iterator[SubscriptionEntry]:
        for item in query_all(
            self._client,
            TableName=self._subscriptions,
            KeyConditionExpression=condition,
            ExpressionAttributeValues={k: {"S": v} for k, v in values.items()},
        ):
            yield item_to_entry(item)
