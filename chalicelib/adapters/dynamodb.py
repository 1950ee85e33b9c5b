"""What every DynamoDB adapter shares: attribute encoding, batching and error translation."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code as error_code  # noqa: PLC0414  # re-exported: the adapters and the ack log's contract tests read it here
from chalicelib.ports import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

T = TypeVar("T")

WRITE_BATCH = 25  # BatchWriteItem's limit
GET_BATCH = 100  # BatchGetItem's limit
TRANSACT_BATCH = 100  # TransactWriteItems' limit
_UNPROCESSED_RETRIES = 8

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

Item = dict[str, "AttributeValueTypeDef"]
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


def encode(values: Mapping[str, Any]) -> Item:
    """Python values to attribute values; None is left out (DynamoDB stores absence, not null)."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def decode(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def unavailable(exc: ClientError, what: str) -> StoreUnavailable:
    return StoreUnavailable(f"{what}: {error_code(exc)}")


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        from chalicelib.domain.errors import FieldError, InvalidInput  # noqa: PLC0415  # only on the error path

        raise InvalidInput("cursor is invalid", [FieldError("cursor", "is not a cursor this API returned")])
    return value


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))


def batch_write(client: DynamoDBClient, table: str, requests: Sequence[WriteRequestTypeDef]) -> int:
    """BatchWriteItem in 25s, resubmitting unprocessed items with backoff. Returns the number of calls."""
    calls = 0
    for chunk in chunks(requests, WRITE_BATCH):
        pending: list[Any] = list(chunk)
        for attempt in range(_UNPROCESSED_RETRIES):
            try:
                response = client.batch_write_item(RequestItems={table: pending})
            except ClientError as exc:
                raise unavailable(exc, f"batch write to {table}") from exc
            calls += 1
            pending = list(response.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                break
            _backoff(attempt)
        else:
            raise StoreUnavailable(f"batch write to {table}: {len(pending)} items left unprocessed")
    return calls


def batch_get(client: DynamoDBClient, table: str, keys: Sequence[Item]) -> list[dict[str, Any]]:
    """BatchGetItem in 100s, following unprocessed keys with backoff."""
    found: list[dict[str, Any]] = []
    for chunk in chunks(keys, GET_BATCH):
        pending: list[Item] = list(chunk)
        for attempt in range(_UNPROCESSED_RETRIES):
            try:
                response = client.batch_get_item(
                    RequestItems={table: {"Keys": pending, "ConsistentRead": True}}
                )
            except ClientError as exc:
                raise unavailable(exc, f"batch get from {table}") from exc
            found.extend(decode(item) for item in response.get("Responses", {}).get(table, []))
            unprocessed: Any = response.get("UnprocessedKeys", {})
            pending = list(unprocessed.get(table, {}).get("Keys", []))
            if not pending:
                break
            _backoff(attempt)
        else:
            raise StoreUnavailable(f"batch get from {table}: {len(pending)} keys left unprocessed")
    return found


def query_all(client: DynamoDBClient, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page by page."""
    paginator = client.get_paginator("query")
    try:
        for page in paginator.paginate(**kwargs):
            for item in page.get("Items", []):
                yield decode(item)
    except ClientError as exc:
        raise unavailable(exc, f"query on {kwargs.get('TableName')}") from exc


def transact_conditional(
    client: DynamoDBClient,
    items: Sequence[T],
    build: Callable[[T], Any],
) -> list[T]:
    """TransactWriteItems in 100s where each item has its own condition.

    A transaction fails whole if one condition fails; the cancellation reasons say which, so the
    rest are resubmitted. Returns the items whose write took effect.
    """
    done: list[T] = []
    for chunk in chunks(items, TRANSACT_BATCH):
        pending = list(chunk)
        for attempt in range(_UNPROCESSED_RETRIES):
            if not pending:
                break
            try:
                client.transact_write_items(TransactItems=[build(item) for item in pending])
            except ClientError as exc:
                if error_code(exc) != "TransactionCanceledException":
                    raise unavailable(exc, "transactional write") from exc
                reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
                if len(reasons) != len(pending):
                    raise unavailable(exc, "transactional write") from exc
                failed_condition = {
                    i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"
                }
                retryable = [p for i, p in enumerate(pending) if i not in failed_condition]
                if len(retryable) == len(pending):
                    _backoff(attempt)  # conflict or throttling on the whole batch: try it again
                pending = retryable
                continue
            done.extend(pending)
            pending = []
        if pending:
            raise StoreUnavailable(f"transactional write: {len(pending)} items not written")
    return done
