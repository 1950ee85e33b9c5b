"""DynamoDB counters of failed guesses: one atomic ADD per attempt, in fixed windows, removed by TTL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb import call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def window_key(key: str, window: timedelta, now: datetime) -> tuple[str, int]:
    """The bucket of ``key`` for the window holding ``now``, and when that window ends (epoch s)."""
    size = int(window.total_seconds())
    start = int(now.timestamp()) // size * size
    return f"{key}#{start}", start + size


class DynamoRateLimiter:
    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = table_name
        self._client = client

    def count(self, key: str, *, window: timedelta, now: datetime) -> int:
        """Failures counted so far in the current window."""
        bucket, _ = window_key(key, window, now)
        response = call(self._client.get_item, TableName=self._table, Key={"bucket": {"S": bucket}})
        return int(response.get("Item", {}).get("hits", {}).get("N", "0"))

    def add(self, key: str, *, window: timedelta, now: datetime) -> int:
        """Count one more failure; returns the window's total."""
        bucket, ends = window_key(key, window, now)
        response = call(
            self._client.update_item,
            TableName=self._table,
            Key={"bucket": {"S": bucket}},
            UpdateExpression="ADD hits :one SET expires_at = :ends",
            ExpressionAttributeValues={":one": {"N": "1"}, ":ends": {"N": str(ends + 3600)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["hits"]["N"])
