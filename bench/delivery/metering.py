"""Request units and billed requests, by table and queue: a second botocore hook beside
``bench.counting.AwsCallCounter`` on the benchmark's session."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.counting import item_size

if TYPE_CHECKING:
    import boto3

Key = tuple[str, str, str]  # (service, operation, table or queue)


@dataclass
class Usage:
    """What the UnitMeter saw, by (service, operation, resource)."""

    calls: Counter[Key] = field(default_factory=Counter)
    errors: Counter[Key] = field(default_factory=Counter)
    # DynamoDB write and read request units (on-demand billing), estimated from item sizes.
    wru: defaultdict[Key, float] = field(default_factory=lambda: defaultdict(float))
    rru: defaultdict[Key, float] = field(default_factory=lambda: defaultdict(float))
    # SQS requests as billed: each 64 KiB of a request's payload is one request.
    sqs_billed: Counter[Key] = field(default_factory=Counter)
    # Seconds spent inside the call (botocore and moto in this process).
    seconds: defaultdict[Key, float] = field(default_factory=lambda: defaultdict(float))

    def copy(self) -> Usage:
        return Usage(
            Counter(self.calls),
            Counter(self.errors),
            defaultdict(float, self.wru),
            defaultdict(float, self.rru),
            Counter(self.sqs_billed),
            defaultdict(float, self.seconds),
        )

    def __sub__(self, other: Usage) -> Usage:
        def minus(a: Mapping[Key, float], b: Mapping[Key, float]) -> defaultdict[Key, float]:
            out: defaultdict[Key, float] = defaultdict(float)
            for k in set(a) | set(b):
                value = a.get(k, 0.0) - b.get(k, 0.0)
                if value:
                    out[k] = value
            return out

        return Usage(
            self.calls - other.calls,
            self.errors - other.errors,
            minus(self.wru, other.wru),
            minus(self.rru, other.rru),
            self.sqs_billed - other.sqs_billed,
            minus(self.seconds, other.seconds),
        )

    def total(self, mapping: Mapping[Key, float], service: str | None = None) -> float:
        return sum(v for (svc, _, _), v in mapping.items() if service is None or svc == service)

    def __add__(self, other: Usage) -> Usage:
        out = self.copy()
        out.calls.update(other.calls)
        out.errors.update(other.errors)
        out.sqs_billed.update(other.sqs_billed)
        for k, v in other.wru.items():
            out.wru[k] += v
        for k, v in other.rru.items():
            out.rru[k] += v
        for k, v in other.seconds.items():
            out.seconds[k] += v
        return out


def _wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _rru(size: int) -> int:
    return max(1, math.ceil(size / 4096))


class UnitMeter:
    """A second botocore hook on the benchmark's session: the table or queue of every call, the
    DynamoDB request units it consumes by AWS's published rules (1 WRU per 1 KB written, doubled in
    a transaction; 1 RRU per 4 KB read strongly consistent, half that eventually consistent, a
    Query's items summed before rounding), the SQS requests it is billed as, and its duration.

    Item sizes of updates are not in the request: the size last seen for that key (written or read)
    is used, or 1 KB. A write whose condition fails is charged as if it succeeded, as AWS does.
    """

    def __init__(self, key_schemas: Mapping[str, Sequence[str]]) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()
        self._keys = {t: tuple(names) for t, names in key_schemas.items()}
        self._sizes: dict[tuple[str, tuple[Any, ...]], int] = {}

    def attach(self, session: boto3.session.Session) -> UnitMeter:
        me = id(self)
        session.events.register("before-parameter-build", self._on_params, unique_id=f"bench-units-p-{me}")
        session.events.register("before-call", self._on_before_call, unique_id=f"bench-units-b-{me}")
        session.events.register("after-call", self._on_after_call, unique_id=f"bench-units-a-{me}")
        return self

    def snapshot(self) -> Usage:
        with self._lock:
            return self._usage.copy()

    def reset(self) -> None:
        with self._lock:
            self._usage = Usage()

    # hooks

    def _on_params(self, params: Any, model: Any, context: Any, **_: Any) -> None:
        service = str(model.service_model.service_id.hyphenize())
        operation = str(model.name)
        if not isinstance(params, dict) or not isinstance(context, dict):
            return
        resource, wru, billed = "-", 0.0, 0
        if service == "dynamodb":
            resource, wru = self._writes(operation, params)
            context["bench_consistent"] = self._consistency(operation, params)
        elif service == "sqs":
            resource = str(params.get("QueueUrl", "-")).rsplit("/", 1)[-1]
            billed = _sqs_billed(operation, params)
        context["bench_key"] = (service, operation, resource)
        with self._lock:
            if wru:
                self._usage.wru[(service, operation, resource)] += wru
            if billed:
                self._usage.sqs_billed[(service, operation, resource)] += billed

    def _on_before_call(self, context: Any, **_: Any) -> None:
        if isinstance(context, dict):
            context["bench_started"] = time.perf_counter()

    def _on_after_call(self, http_response: Any, parsed: Any, model: Any, context: Any, **_: Any) -> None:
        if not isinstance(context, dict) or "bench_key" not in context:
            return
        key: Key = context["bench_key"]
        elapsed = time.perf_counter() - context.get("bench_started", time.perf_counter())
        failed = getattr(http_response, "status_code", 200) >= 300
        rru = 0.0
        billed = 0
        if key[0] == "dynamodb" and not failed and isinstance(parsed, dict):
            rru = self._reads(key[1], parsed, context.get("bench_consistent", {}))
        if key[0] == "sqs" and key[1] == "ReceiveMessage" and isinstance(parsed, dict):
            size = sum(len(m.get("Body", "").encode()) for m in parsed.get("Messages", []))
            billed = max(0, math.ceil(size / 65536) - 1)  # the first 64 KiB was counted before the call
        with self._lock:
            self._usage.calls[key] += 1
            self._usage.seconds[key] += elapsed
            if failed:
                self._usage.errors[key] += 1
            if rru:
                self._usage.rru[key] += rru
            if billed:
                self._usage.sqs_billed[key] += billed

    # DynamoDB units

    def _item_key(self, table_name: str, item: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(json.dumps(item.get(name), sort_keys=True) for name in self._keys.get(table_name, ()))

    def _remember(self, table_name: str, item: Mapping[str, Any]) -> int:
        size = item_size(dict(item))
        with self._lock:
            self._sizes[(table_name, self._item_key(table_name, item))] = size
        return size

    def _known(self, table_name: str, key: Mapping[str, Any]) -> int:
        with self._lock:
            return self._sizes.get((table_name, self._item_key(table_name, key)), 1024)

    def _writes(self, operation: str, params: dict[str, Any]) -> tuple[str, float]:
        """The table(s) a call names, and the write units it consumes."""
        # (table, item written or None, key of an item changed in place or None, transactional)
        writes: list[tuple[str, Any, Any, bool]] = []
        if operation == "PutItem":
            writes.append((params["TableName"], params["Item"], None, False))
        elif operation in {"UpdateItem", "DeleteItem"}:
            writes.append((params["TableName"], None, params["Key"], False))
        elif operation == "BatchWriteItem":
            for table_name, requests in params.get("RequestItems", {}).items():
                for request in requests:
                    put = request.get("PutRequest")
                    writes.append(
                        (
                            table_name,
                            put["Item"] if put else None,
                            None if put else request["DeleteRequest"]["Key"],
                            False,
                        )
                    )
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                (kind, body), *_ = entry.items()
                put = kind == "Put"
                writes.append(
                    (body["TableName"], body["Item"] if put else None, None if put else body["Key"], True)
                )
        units = 0.0
        for table_name, item, key, transactional in writes:
            size = self._remember(table_name, item) if item is not None else self._known(table_name, key)
            units += _wru(size) * (2 if transactional else 1)
        if writes:
            return ",".join(sorted({w[0] for w in writes})), units
        if operation == "BatchGetItem":
            return ",".join(sorted(params.get("RequestItems", {}))) or "-", 0.0
        return str(params.get("TableName", "-")), 0.0

    @staticmethod
    def _consistency(operation: str, params: dict[str, Any]) -> dict[str, bool]:
        if operation == "BatchGetItem":
            return {t: bool(r.get("ConsistentRead")) for t, r in params.get("RequestItems", {}).items()}
        return {str(params.get("TableName", "-")): bool(params.get("ConsistentRead"))}

    def _reads(self, operation: str, parsed: dict[str, Any], consistent: Mapping[str, bool]) -> float:
        def factor(table_name: str) -> float:
            return 1.0 if consistent.get(table_name, False) else 0.5

        if operation == "GetItem":
            if "Item" not in parsed:
                return 0.5 * (2 if any(consistent.values()) else 1)  # a miss still costs the minimum
            (table_name,) = list(consistent) or ["-"]
            return _rru(self._remember(table_name, parsed["Item"])) * factor(table_name)
        if operation == "BatchGetItem":
            units = 0.0
            for table_name, items in parsed.get("Responses", {}).items():
                for item in items:
                    units += _rru(self._remember(table_name, item)) * factor(table_name)
            return units
        if operation in {"Query", "Scan"}:
            (table_name,) = list(consistent) or ["-"]
            size = sum(self._remember(table_name, item) for item in parsed.get("Items", []))
            return _rru(size) * factor(table_name)
        return 0.0


def _sqs_billed(operation: str, params: dict[str, Any]) -> int:
    if operation == "SendMessageBatch":
        size = sum(len(str(e.get("MessageBody", "")).encode()) for e in params.get("Entries", []))
        return max(1, math.ceil(size / 65536))
    if operation == "SendMessage":
        return max(1, math.ceil(len(str(params.get("MessageBody", "")).encode()) / 65536))
    return 1
