"""DynamoDB store of the ack log. Item ↔ LogEntry mapping lives here and nowhere else.

One partition per notice, sorted by ``seq``. Every write is a conditional put on a new ``seq``, so
no entry is ever overwritten: two writers that read the same last entry both try the same ``seq``,
one wins, the other re-reads and chains onto the winner.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamodb import call, decode, encode, iso, parse_iso, query_all, written
from chalicelib.domain.acklog import EntryKind, LogConflict, LogEntry, next_entry
from chalicelib.domain.notices import canonical_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

APPEND_ATTEMPTS = 10
_BACKOFF_BASE = 0.01  # seconds; doubled per lost race, capped, then fully jittered
_BACKOFF_CAP = 0.25


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
        attempts: int = APPEND_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table = table_name
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
        """Chain a new entry onto the newest one and store it; returns it as stored.

        Raises LogConflict when other writers took the next seq on every attempt, StoreUnavailable
        when DynamoDB refuses, ValueError for a naive time or data that is not JSON-safe.
        """
        for attempt in range(self._attempts):
            entry = next_entry(
                self._newest(notice_id), notice_id=notice_id, kind=kind, at=at, actor=actor, data=data
            )
            if written(
                self._client.put_item,
                TableName=self._table,
                Item=encode(entry_to_item(entry)),
                ConditionExpression="attribute_not_exists(seq)",
            ):
                return entry
            # Another writer stored this seq first: read its entry and chain onto it.
            if attempt + 1 < self._attempts:
                self._sleep(_jittered(attempt))
        raise LogConflict(notice_id, self._attempts)

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
