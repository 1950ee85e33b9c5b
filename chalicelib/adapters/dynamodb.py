"""What every DynamoDB adapter shares: the one way to call DynamoDB, attribute encoding, batching.

Every call goes through ``call`` (or ``written``, for a conditional write), which names the
operation and table in what it raises and logs, and tells a condition that did not hold (an answer
the adapter asks for) from a store that failed (StoreUnavailable, the API's 503).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.adapters.aws import Answers, store_errors, store_failure
from chalicelib.adapters.aws import error_code as error_code  # noqa: PLC0414  # re-exported: the ack log's contract tests read it here

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

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


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str | None, *, keys: frozenset[str] | None = None) -> dict[str, Any] | None:
    """The key a cursor of ours holds; a cursor we did not issue (not our encoding, or not the
    ``keys`` of the index it pages) is the caller's mistake, refused naming the field."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        value = None
    if (
        not isinstance(value, dict)
        or (keys is not None and set(value) != keys)
        or not all(isinstance(v, str) and v for v in value.values())
    ):
        from chalicelib.domain.errors import FieldError, InvalidInput  # noqa: PLC0415  # only on the error path

        raise InvalidInput("cursor is invalid", [FieldError("cursor", "is not a cursor this API returned")])
    return value


def chunks[T](items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ConditionFailed(Exception):
    """A conditional write's condition did not hold: DynamoDB answered, and left the item alone."""

    def __init__(self, item: Item | None) -> None:
        super().__init__("the condition did not hold")
        # The item as it stands, when the write asked for it (ReturnValuesOnConditionCheckFailure).
        self.item = item


class TransactionCancelled(Exception):
    """DynamoDB cancelled a TransactWriteItems whole; ``reasons`` holds one code per item, in order
    ("None" for the items it had no objection to), and each item as it stands where the write asked
    for it (ReturnValuesOnConditionCheckFailure) and its condition did not hold."""

    def __init__(self, reasons: Sequence[str], items: Sequence[Item | None] = ()) -> None:
        super().__init__(", ".join(reasons))
        self.reasons = tuple(reasons)
        self.items = tuple(items) or (None,) * len(self.reasons)

    @property
    def condition_failed(self) -> frozenset[int]:
        """The positions of the items whose condition did not hold."""
        return frozenset(i for i, code in enumerate(self.reasons) if code == "ConditionalCheckFailed")


def call[**P, R](method: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Make one DynamoDB call, ``call(client.get_item, TableName=..., Key=...)``, and return its answer.

    A condition that did not hold raises ConditionFailed; a cancelled transaction whose reasons
    name each item raises TransactionCancelled. Every other error, and no answer at all (connection
    refused, timed out, closed), raises StoreUnavailable (StoreRefusedInput for a
    ValidationException) naming the operation and table, logged once as ``store.call_failed``.
    """
    params: Mapping[str, Any] = kwargs
    transact_items = len(params.get("TransactItems", ()))
    operation, tables = _operation(method), _tables(params)
    answers: Answers = {
        "ConditionalCheckFailedException": _condition_failed,
        "TransactionCanceledException": lambda exc: _cancelled(exc, transact_items),
        # A write refused because a transaction held its item at that moment (every append to a
        # notice's log is a transaction on the notice item): it was not applied, so it is tried again.
        "TransactionConflictException": lambda _: _Conflicted(),
    }
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            with store_errors(operation, tables, answers=answers):
                return method(*args, **kwargs)
        except _Conflicted:
            if attempt + 1 < _CONFLICT_ATTEMPTS:
                time.sleep(_CONFLICT_BACKOFF * 2**attempt)
    raise store_failure(operation, tables, "TransactionConflictException")


class _Conflicted(Exception):
    """A transaction held the item; the write was not applied."""


_CONFLICT_ATTEMPTS = 4
_CONFLICT_BACKOFF = 0.02  # seconds, doubled each time: 0.14 in all at most


def written[**P](method: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs) -> bool:
    """Make one conditional write through ``call``: True if it took effect, False if its condition
    did not hold."""
    try:
        call(method, *args, **kwargs)
    except ConditionFailed:
        return False
    return True


def _condition_failed(exc: ClientError) -> ConditionFailed:
    item: Any = exc.response.get("Item")  # present when the write asked for ALL_OLD
    return ConditionFailed(item)


def _cancelled(exc: ClientError, items: int) -> TransactionCancelled | None:
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    if not reasons or len(reasons) != items:
        return None  # reasons that name no item say nothing to act on: a failure
    return TransactionCancelled(
        [str(r.get("Code", "None")) for r in reasons], [r.get("Item") for r in reasons]
    )


def _operation(method: Callable[..., object]) -> str:
    """The API's name of a client method: put_item is PutItem."""
    return "".join(part.capitalize() for part in str(getattr(method, "__name__", "call")).split("_"))


def _tables(params: Mapping[str, Any]) -> str:
    """The tables a call's parameters name: its TableName, or those of its batch or transaction."""
    names = {params.get("TableName"), *params.get("RequestItems", {})}
    names |= {op.get("TableName") for item in params.get("TransactItems", []) for op in item.values()}
    return ",".join(sorted(str(n) for n in names if n)) or "no table"


def backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 1.0))


def batch_write(client: DynamoDBClient, table: str, requests: Sequence[WriteRequestTypeDef]) -> int:
    """BatchWriteItem in 25s, resubmitting unprocessed items with backoff. Returns the number of calls."""
    calls = 0
    for chunk in chunks(requests, WRITE_BATCH):
        pending: list[Any] = list(chunk)
        for attempt in range(_UNPROCESSED_RETRIES):
            response = call(client.batch_write_item, RequestItems={table: pending})
            calls += 1
            pending = list(response.get("UnprocessedItems", {}).get(table, []))
            if not pending:
                break
            backoff(attempt)
        else:
            raise store_failure("BatchWriteItem", table, "UnprocessedItems", detail=f"{len(pending)} left")
    return calls


def batch_get(client: DynamoDBClient, table: str, keys: Sequence[Item]) -> list[dict[str, Any]]:
    """BatchGetItem in 100s, following unprocessed keys with backoff."""
    found: list[dict[str, Any]] = []
    for chunk in chunks(keys, GET_BATCH):
        pending: list[Item] = list(chunk)
        for attempt in range(_UNPROCESSED_RETRIES):
            response = call(
                client.batch_get_item, RequestItems={table: {"Keys": pending, "ConsistentRead": True}}
            )
            found.extend(decode(item) for item in response.get("Responses", {}).get(table, []))
            unprocessed: Any = response.get("UnprocessedKeys", {})
            pending = list(unprocessed.get(table, {}).get("Keys", []))
            if not pending:
                break
            backoff(attempt)
        else:
            raise store_failure("BatchGetItem", table, "UnprocessedKeys", detail=f"{len(pending)} left")
    return found


def query_all(client: DynamoDBClient, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query, page by page."""
    return _every_item(client.query, params)


def scan_all(client: DynamoDBClient, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Scan, page by page."""
    return _every_item(client.scan, params)


def _every_item(read: Callable[..., Any], params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        page = call(read, **params)
        yield from (decode(item) for item in page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        params = {**params, "ExclusiveStartKey": last}


def transact_conditional[T](
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
                call(client.transact_write_items, TransactItems=[build(item) for item in pending])
            except TransactionCancelled as cancelled:
                retryable = [p for i, p in enumerate(pending) if i not in cancelled.condition_failed]
                if len(retryable) == len(pending):
                    backoff(attempt)  # conflict or throttling on the whole batch: try it again
                pending = retryable
                continue
            done.extend(pending)
            pending = []
        if pending:
            tables = _tables({"TransactItems": [build(item) for item in pending]})
            raise store_failure(
                "TransactWriteItems", tables, "TransactionCanceledException", detail=f"{len(pending)} left"
            )
    return done
