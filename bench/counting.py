"""Count AWS API calls made through a boto3 session, per service and operation, with a botocore event hook.

Attach the counter to the session *before* any client is made from it: botocore gives each new
client a copy of the session's event handlers, so a client made earlier never sees the hooks
(attach to such a client with :meth:`AwsCallCounter.attach_client`).

Hooks used (all standard botocore events, ``{service}`` being the hyphenated service id):

- ``before-parameter-build.{service}.{operation}``: the API parameters, for the number of items
  a DynamoDB write carries and of entries an SQS batch carries;
- ``before-call.{service}.{operation}``: one per API call, whatever its retries;
- ``after-call.{service}.{operation}``: the parsed response, for items read (DynamoDB ``Count``
  of a Query or Scan, the items of a BatchGetItem or GetItem), HTTP attempts (the retry context)
  and error responses.

The counts are of calls the code makes; with moto's ``mock_aws`` no HTTP leaves the process, but
every call still goes through botocore's full request path, so the hooks fire as they would on AWS.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

# An operation is named the way botocore's events name it: ("dynamodb", "Query"), ("sqs", "SendMessageBatch").
Operation = tuple[str, str]

_ONE_ITEM: frozenset[Operation] = frozenset(
    {("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"), ("dynamodb", "DeleteItem"), ("sqs", "SendMessage")}
)
_SQS_BATCHES = frozenset({"SendMessageBatch", "DeleteMessageBatch", "ChangeMessageVisibilityBatch"})


@dataclass(frozen=True)
class CallCounts:
    """A snapshot of what was counted; subtract two snapshots for what happened in between."""

    calls: Counter[Operation] = field(default_factory=Counter)
    # HTTP attempts: more than calls when botocore retried (throttling, 5xx).
    attempts: Counter[Operation] = field(default_factory=Counter)
    # Responses with an HTTP status of 300 or more (ConditionalCheckFailed, TransactionCanceled, ...).
    errors: Counter[Operation] = field(default_factory=Counter)
    # DynamoDB items returned (Query and Scan: Count; GetItem: 0 or 1; BatchGetItem: all tables' items).
    items_read: Counter[Operation] = field(default_factory=Counter)
    # DynamoDB Query and Scan items evaluated before any filter (ScannedCount): what capacity is paid for.
    items_scanned: Counter[Operation] = field(default_factory=Counter)
    # Approximate DynamoDB size of the items read (AWS's item-size rules): what 1 MB pages and read units
    # are measured in.
    bytes_read: Counter[Operation] = field(default_factory=Counter)
    # DynamoDB items a write call carries, SQS entries a batch call carries (single sends count 1).
    items_written: Counter[Operation] = field(default_factory=Counter)

    def __sub__(self, other: CallCounts) -> CallCounts:
        return CallCounts(
            calls=self.calls - other.calls,
            attempts=self.attempts - other.attempts,
            errors=self.errors - other.errors,
            items_read=self.items_read - other.items_read,
            items_scanned=self.items_scanned - other.items_scanned,
            bytes_read=self.bytes_read - other.bytes_read,
            items_written=self.items_written - other.items_written,
        )

    def requests(self, service: str | None = None, operation: str | None = None) -> int:
        """API calls, all of them or those of one service and, optionally, one operation."""
        return _total(self.calls, service, operation)

    def read(self, service: str | None = None, operation: str | None = None) -> int:
        return _total(self.items_read, service, operation)

    def scanned(self, service: str | None = None, operation: str | None = None) -> int:
        return _total(self.items_scanned, service, operation)

    def read_bytes(self, service: str | None = None, operation: str | None = None) -> int:
        return _total(self.bytes_read, service, operation)

    def written(self, service: str | None = None, operation: str | None = None) -> int:
        return _total(self.items_written, service, operation)

    def by_operation(self, service: str) -> dict[str, int]:
        """Calls of one service per operation, most frequent first."""
        counted = Counter({op: n for (svc, op), n in self.calls.items() if svc == service})
        return dict(counted.most_common())

    def services(self) -> list[str]:
        return sorted({svc for svc, _ in self.calls})


def _total(counter: Counter[Operation], service: str | None, operation: str | None) -> int:
    return sum(
        n
        for (svc, op), n in counter.items()
        if (service is None or svc == service) and (operation is None or op == operation)
    )


class AwsCallCounter:
    """Counts the AWS calls made by clients of the sessions (or clients) it is attached to.

    ``counter.snapshot()`` copies the totals; ``counter.reset()`` starts again from zero.
    Thread-safe, so it can watch a thread pool of senders as well as one Lambda handler.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = CallCounts()

    def attach(self, session: boto3.session.Session) -> AwsCallCounter:
        """Watch every client made from ``session`` from now on; returns self."""
        self._register(session.events)
        return self

    def attach_client(self, client: Any) -> AwsCallCounter:
        """Watch one existing client (one made before :meth:`attach`, for example); returns self."""
        self._register(client.meta.events)
        return self

    def snapshot(self) -> CallCounts:
        with self._lock:
            c = self._counts
            return CallCounts(
                calls=Counter(c.calls),
                attempts=Counter(c.attempts),
                errors=Counter(c.errors),
                items_read=Counter(c.items_read),
                items_scanned=Counter(c.items_scanned),
                bytes_read=Counter(c.bytes_read),
                items_written=Counter(c.items_written),
            )

    def reset(self) -> None:
        with self._lock:
            self._counts = CallCounts()

    def _register(self, events: Any) -> None:
        # The bare prefix matches every service and operation (botocore's handler trie is by prefix).
        # unique_id keeps a second attach to the same emitter from counting everything twice.
        me = id(self)
        events.register("before-parameter-build", self._on_parameters, unique_id=f"bench-count-params-{me}")
        events.register("before-call", self._on_before_call, unique_id=f"bench-count-call-{me}")
        events.register("after-call", self._on_after_call, unique_id=f"bench-count-after-{me}")

    def _on_parameters(self, params: Any, model: Any, **_: Any) -> None:
        op = _operation(model)
        written = _items_written(op, params)
        if written:
            with self._lock:
                self._counts.items_written[op] += written

    def _on_before_call(self, model: Any, **_: Any) -> None:
        op = _operation(model)
        with self._lock:
            self._counts.calls[op] += 1

    def _on_after_call(self, http_response: Any, parsed: Any, model: Any, context: Any, **_: Any) -> None:
        op = _operation(model)
        attempts = int(((context or {}).get("retries") or {}).get("attempt", 1))
        failed = getattr(http_response, "status_code", 200) >= 300
        read, scanned = _items_read(op, parsed) if not failed else (0, 0)
        size = _bytes_read(op, parsed) if read else 0
        with self._lock:
            self._counts.attempts[op] += attempts
            if failed:
                self._counts.errors[op] += 1
            if read:
                self._counts.items_read[op] += read
            if scanned:
                self._counts.items_scanned[op] += scanned
            if size:
                self._counts.bytes_read[op] += size


def _operation(model: Any) -> Operation:
    return (str(model.service_model.service_id.hyphenize()), str(model.name))


def _items_read(op: Operation, parsed: Any) -> tuple[int, int]:
    service, name = op
    if service != "dynamodb" or not isinstance(parsed, dict):
        return 0, 0
    if name in {"Query", "Scan"}:
        count = int(parsed.get("Count", 0))
        return count, int(parsed.get("ScannedCount", count))
    if name == "GetItem":
        return (1, 1) if "Item" in parsed else (0, 0)
    if name in {"BatchGetItem", "TransactGetItems"}:
        responses = parsed.get("Responses", {})
        got = (
            sum(len(items) for items in responses.values())
            if isinstance(responses, dict)
            else sum(1 for r in responses if "Item" in r)
        )
        return got, got
    return 0, 0


def _bytes_read(op: Operation, parsed: Any) -> int:
    name = op[1]
    if name in {"Query", "Scan"}:
        items = parsed.get("Items", [])
    elif name == "GetItem":
        items = [parsed["Item"]]
    elif name == "BatchGetItem":
        items = [item for table_items in parsed.get("Responses", {}).values() for item in table_items]
    else:
        return 0
    return sum(item_size(item) for item in items)


def item_size(item: dict[str, Any]) -> int:
    """A DynamoDB item's size by AWS's published rules (names and values in UTF-8, numbers about
    one byte per two digits plus one, 3 bytes per list or map plus 1 per element)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    size = 0
    if kind in {"S", "B"}:
        size = _raw_size(inner)
    elif kind == "N":
        size = (len(str(inner).lstrip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    elif kind in {"BOOL", "NULL"}:
        size = 1
    elif kind == "L":
        size = 3 + sum(1 + _value_size(v) for v in inner)
    elif kind == "M":
        size = 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    elif kind in {"SS", "BS"}:
        size = sum(_raw_size(v) for v in inner)
    elif kind == "NS":
        size = sum(_value_size({"N": v}) for v in inner)
    return size


def _raw_size(value: str | bytes) -> int:
    return len(value.encode()) if isinstance(value, str) else len(value)


def _items_written(op: Operation, params: Any) -> int:
    service, name = op
    if not isinstance(params, dict):
        return 0
    written = 0
    if op in _ONE_ITEM:
        written = 1
    elif service == "dynamodb" and name == "BatchWriteItem":
        written = sum(len(requests) for requests in params.get("RequestItems", {}).values())
    elif service == "dynamodb" and name == "TransactWriteItems":
        written = len(params.get("TransactItems", []))
    elif service == "sqs" and name in _SQS_BATCHES:
        written = len(params.get("Entries", []))
    return written
