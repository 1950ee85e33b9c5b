"""DynamoDB store of the ack log. Item ↔ LogEntry mapping lives here and nowhere else.

One partition per notice, sorted by ``seq``. Every write is a conditional put on a new ``seq``, so
no entry is ever overwritten: two writers that read the same last entry both try the same ``seq``,
one wins, the other re-reads and chains onto the winner.

The chain's head (the newest entry's seq and hash) is kept outside the chain, in the same
TransactWriteItems as the entry's put, so the two are written together or not at all: on the notice
item (attribute ``log_head``, a map of ``seq`` and ``hash``, written by nothing else), and for the
audit trail, which is no notice, in an item of its own in this table (partition ``audit#head``, seq
0), where every writer of the trail may already put items and no chain is read. A transaction costs
the same one request as the put it replaces (and twice the write units of both items).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.aws import store_failure
from chalicelib.adapters.dynamodb import (
    TransactionCancelled,
    call,
    decode,
    encode,
    iso,
    parse_iso,
    query_all,
    scan_all,
)
from chalicelib.domain.acklog import AUDIT_STREAM, EntryKind, LogConflict, LogEntry, LogHead, next_entry
from chalicelib.domain.errors import NotFound
from chalicelib.domain.notices import canonical_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

APPEND_ATTEMPTS = 10
_BACKOFF_BASE = 0.01  # seconds; doubled per lost race, capped, then fully jittered
_BACKOFF_CAP = 0.25
# The notice item's attribute that holds its log's head; the audit trail's head has an item of its own.
HEAD_ATTRIBUTE = "log_head"
AUDIT_HEAD_KEY = encode({"notice_id": f"{AUDIT_STREAM}#head", "seq": 0})
# Why DynamoDB may cancel an append's transaction and another try can succeed: the seq was taken
# (ConditionalCheckFailed on the entry), or another transaction held the notice item at that moment.
_RACES = frozenset({"ConditionalCheckFailed", "TransactionConflict", "None"})


def entry_to_item(entry: LogEntry) -> dict[str, Any]:
    return {
        "notice_id": entry.notice_id,
        "seq": entry.seq,
        "kind": str(entry.kind),
        "at": iso(entry.at),
        "actor": entry.actor,
        # JSON text, not a map: DynamoDB's number type would hand every number back as a Decimal,
        # and the hash must be recomputed from exactly what was sealed.
        "data_json": canonical_json(entry.data),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def item_to_entry(item: Mapping[str, Any]) -> LogEntry:
    at = parse_iso(item["at"])
    assert at is not None  # always written
    return LogEntry(
        notice_id=item["notice_id"],
        seq=int(item["seq"]),
        kind=EntryKind(item["kind"]),
        at=at,
        actor=item["actor"],
        data=json.loads(item["data_json"]),
        prev_hash=item["prev_hash"],
        hash=item["hash"],
    )


def _jittered(attempt: int) -> float:
    return random.uniform(0, min(_BACKOFF_BASE * 2**attempt, _BACKOFF_CAP))  # noqa: S311  # jitter, not a secret


class DynamoAckLog:
    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient,
        *,
        notices_table: str,
        attempts: int = APPEND_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
        self._notices = notices_table
        self._client = client
        self._attempts = attempts
        self._sleep = sleep

    def append(
        self,
        notice_id: str,
        kind: EntryKind,
        *,
        at: datetime,
        actor: str,
        data: Mapping[str, Any],
    ) -> LogEntry:
        """Chain a new entry onto the newest one and store it with the chain's head; returns it as stored.

        Raises LogConflict when other writers took the next seq on every attempt, NotFound when the
        notice does not exist, StoreUnavailable when DynamoDB refuses, ValueError for a naive time or
        data that is not JSON-safe.
        """
        for attempt in range(self._attempts):
            entry = next_entry(
                self._newest(notice_id), notice_id=notice_id, kind=kind, at=at, actor=actor, data=data
            )
            try:
                call(
                    self._client.transact_write_items,
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self._table,
                                "Item": encode(entry_to_item(entry)),
                                "ConditionExpression": "attribute_not_exists(seq)",
                            }
                        },
                        self._head_write(entry),
                    ],
                )
            except TransactionCancelled as cancelled:
                self._raise_unless_race(notice_id, cancelled)
                # Another writer stored this seq first (or held the notice): re-read and chain on.
                if attempt + 1 < self._attempts:
                    self._sleep(_jittered(attempt))
                continue
            return entry
        raise LogConflict(notice_id, self._attempts)

    def _head_write(self, entry: LogEntry) -> TransactWriteItemTypeDef:
        head = {HEAD_ATTRIBUTE: {"seq": entry.seq, "hash": entry.hash}}
        if entry.notice_id == AUDIT_STREAM:
            return {"Put": {"TableName": self._table, "Item": {**AUDIT_HEAD_KEY, **encode(head)}}}
        return {
            "Update": {
                "TableName": self._notices,
                "Key": {"notice_id": {"S": entry.notice_id}},
                "UpdateExpression": f"SET {HEAD_ATTRIBUTE} = :head",
                # Never a half-made notice holding only a head.
                "ConditionExpression": "attribute_exists(notice_id)",
                "ExpressionAttributeValues": {":head": encode(head)[HEAD_ATTRIBUTE]},
            }
        }

    def _raise_unless_race(self, notice_id: str, cancelled: TransactionCancelled) -> None:
        entry_reason, head_reason = cancelled.reasons
        if head_reason == "ConditionalCheckFailed" and entry_reason != "ConditionalCheckFailed":
            raise NotFound(f"no notice {notice_id!r}")
        if not set(cancelled.reasons) <= _RACES:
            raise store_failure(
                "TransactWriteItems",
                f"{self._table},{self._notices}",
                "TransactionCanceledException",
                detail=", ".join(cancelled.reasons),
            )

    def entries(self, notice_id: str) -> list[LogEntry]:
        """The whole log of the notice, oldest first; empty for a notice with no entries."""
        items = query_all(
            self._client,
            TableName=self._table,
            KeyConditionExpression="notice_id = :n",
            ExpressionAttributeValues={":n": {"S": notice_id}},
            ConsistentRead=True,
        )
        return [item_to_entry(item) for item in items]

    def head(self, notice_id: str) -> LogHead | None:
        if notice_id == AUDIT_STREAM:
            # A Query of the head's own partition, not a GetItem: the ack log stays read by Query alone.
            items = call(
                self._client.query,
                TableName=self._table,
                KeyConditionExpression="notice_id = :n",
                ExpressionAttributeValues={":n": AUDIT_HEAD_KEY["notice_id"]},
                ConsistentRead=True,
                Limit=1,
            ).get("Items", [])
            return _head(decode(items[0])) if items else None
        item = call(
            self._client.get_item,
            TableName=self._notices,
            Key={"notice_id": {"S": notice_id}},
            ProjectionExpression=HEAD_ATTRIBUTE,
            ConsistentRead=True,
        ).get("Item")
        return _head(decode(item)) if item else None

    def heads(self) -> Iterator[tuple[str, LogHead]]:
        """The audit trail's head, then every notice's: one Scan of the notices table, reading only
        the id and the head (every row is what the digest wants; it runs once a day)."""
        audit = self.head(AUDIT_STREAM)
        if audit is not None:
            yield AUDIT_STREAM, audit
        for item in scan_all(
            self._client,
            TableName=self._notices,
            ProjectionExpression=f"notice_id, {HEAD_ATTRIBUTE}",
            FilterExpression=f"attribute_exists({HEAD_ATTRIBUTE})",
            ConsistentRead=True,
        ):
            head = _head(item)
            if head is not None:
                yield str(item["notice_id"]), head

    def _newest(self, notice_id: str) -> LogEntry | None:
        response = call(
            self._client.query,
            TableName=self._table,
            KeyConditionExpression="notice_id = :n",
            ExpressionAttributeValues={":n": {"S": notice_id}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        return item_to_entry(decode(items[0])) if items else None


def _head(item: Mapping[str, Any]) -> LogHead | None:
    head = item.get(HEAD_ATTRIBUTE)
    if not isinstance(head, Mapping):
        return None
    return LogHead(seq=int(head["seq"]), hash=str(head["hash"]))
