"""AWS requests per delivery: one notice to N subscribers, through the real path, on moto.

    .venv/bin/python -m bench.delivery [--sizes 10,100,1000,10000] [--mixed 1000] [--seed N]
                                       [--send-workers 4]

Runs in process against moto (``mock_aws``), with the resources of ``infra/template.yaml`` and the
real adapters from ``chalicelib.bootstrap.build``. Each scenario starts from an empty moto account:

1. N subscribers subscribed statewide to rollouts, written straight into the subscribers table and
   the subscriptions index (``batch_write``; every channel active);
2. ``services.ingest.accept`` of one statewide rollout (what ``POST /events`` calls);
3. the route queue pumped through ``app.on_route_message``, then the send queue through
   ``app.on_send_message``, with ``chalicelib.local.pump.QueuePump.poll_once`` standing in for
   Lambda's SQS event source mapping (batches of 10, deleting what succeeded).

Every AWS call of Vigil's clients is counted with ``bench.counting.AwsCallCounter`` (registered on
the session before ``build``); a second hook on the same session (``UnitMeter``, below) names the
table or queue of each call and estimates the DynamoDB request units and SQS billed requests it
costs. The pump's own ReceiveMessage/DeleteMessageBatch go through another session with its own
counter: in AWS the event source mapping makes them, so they are reported apart and are not
Vigil's overhead (they are still on the SQS bill, and the cost model counts them).

"Provider sends" are SES SendEmail, SNS Publish and webhook POSTs (to a stdlib receiver on
127.0.0.1); "overhead" is every DynamoDB and SQS request Vigil makes, from ingest to the last send.
DESIGN §9's target is at most 0.25 overhead requests per delivery at 1,000 recipients and more.

Times are moto's, in this process: informational only. The request counts are what the code asks
of AWS, emulator or not.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import logging
import math
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws
from moto.backends import get_backend

from bench.common import REGION, fake_credentials, machine, table
from bench.counting import AwsCallCounter, CallCounts, item_size
from bench.emulator_patches import faster_moto
from chalicelib import bootstrap, logs
from chalicelib.adapters.dynamodb import batch_write, encode
from chalicelib.adapters.sqs import SqsWorkQueue
from chalicelib.adapters.subscriber_store import entry_to_item, subscriber_to_item
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.deliveries import DELIVERIES_PER_MESSAGE, DeliveryStatus
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms, OutgoingWebhook
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Subscriber,
    Subscription,
    default_ack_required,
    index_entries,
)
from chalicelib.local.outbox import MOTO_ACCOUNT_ID
from chalicelib.local.pump import BATCH_SIZE, LambdaHandler, QueueBinding, QueuePump
from chalicelib.local.stack import deploy_template
from chalicelib.schemas.events import parse_event
from chalicelib.services import ingest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef
    from mypy_boto3_sqs import SQSClient

STAGE = "bench"
DEFAULT_SIZES = (10, 100, 1_000, 10_000)
DEFAULT_MIXED = 1_000
DEFAULT_SEED = 20120222
TARGET = 0.25  # DESIGN §9: overhead requests per delivery at 1,000 recipients and more
TARGET_FROM = 1_000
# The mixed variant: every subscriber has email; these shares also have SMS, a webhook (seeded).
SMS_SHARE = 0.35
WEBHOOK_SHARE = 0.15
ROLES = (Role.STATE_EXECUTIVE, Role.CORRECTIONS, Role.LOCAL_OFFICIAL, Role.LAW_ENFORCEMENT, Role.ADVOCATE)
LAMBDA_BATCH = BATCH_SIZE  # messages per invocation, as the event source mapping is configured
TRANSACT_LIMIT = 100
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
PROVIDERS = (("sesv2", "SendEmail"), ("sns", "Publish"))

Key = tuple[str, str, str]  # (service, operation, table or queue)


# --- request units and billed requests, by table and queue ---------------------------------------


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


# --- a webhook receiver and a timed sender ------------------------------------------------------


class Receiver:
    """A stdlib HTTP server on 127.0.0.1 that answers 204 to every POST and counts them by path."""

    def __init__(self) -> None:
        self.posts: Counter[str] = Counter()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with owner._lock:
                    owner.posts[self.path] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="bench-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        with self._lock:
            self.posts.clear()

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.posts)


class TimedWebhookSender:
    """The real signed HTTP sender, timed: webhook POSTs are a provider send, not AWS."""

    def __init__(self, inner: HttpWebhookSender) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.posts = 0
        self.seconds = 0.0

    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        started = time.perf_counter()
        try:
            return self._inner.send(message, secrets=secrets, now=now)
        finally:
            with self._lock:
                self.posts += 1
                self.seconds += time.perf_counter() - started


# --- the population -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    label: str
    subscribers: int
    mixed: bool
    send_workers: int = 1


def population(scenario: Scenario, *, seed: int, receiver_url: str) -> list[Subscriber]:
    """Statewide rollout subscribers with active channels; the same seed gives the same people."""
    rng = random.Random(f"{seed}:{scenario.subscribers}:{scenario.mixed}")
    now = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    out = []
    for n in range(scenario.subscribers):
        role = ROLES[n % len(ROLES)]
        channels = [Channel(ChannelType.EMAIL, f"office{n}@bench{n % 97}.example.gov")]
        if scenario.mixed and rng.random() < SMS_SHARE:
            channels.append(Channel(ChannelType.SMS, f"+1860{5550000 + n:07d}"))
        if scenario.mixed and rng.random() < WEBHOOK_SHARE:
            secret = "whsec_" + base64.b64encode(rng.randbytes(24)).decode()
            channels.append(Channel(ChannelType.WEBHOOK, f"{receiver_url}/hooks/{n}", secret))
        out.append(
            Subscriber(
                id=f"sub_{rng.getrandbits(64):016x}",
                name=f"Office {n}",
                role=role,
                organization=f"Organization {n}",
                ack_required=default_ack_required(role),
                channels=tuple(channels),
                subscriptions=(Subscription("us-ct", frozenset({EventType.ROLLOUT})),),
                created_at=now,
            )
        )
    return out


def load(client: DynamoDBClient, settings: Settings, subscribers: Sequence[Subscriber]) -> None:
    """Write the subscriber rows and their index rows as ``DynamoSubscriberStore.add`` would."""
    rows: list[WriteRequestTypeDef] = [
        {"PutRequest": {"Item": encode(subscriber_to_item(s))}} for s in subscribers
    ]
    batch_write(client, settings.resource("subscribers"), rows)
    entries: list[WriteRequestTypeDef] = [
        {"PutRequest": {"Item": encode(entry_to_item(e))}} for s in subscribers for e in index_entries(s)
    ]
    batch_write(client, settings.resource("subscriptions"), entries)


def rollout_event(label: str) -> dict[str, Any]:
    return {
        "type": "rollout",
        "external_id": f"bench-delivery-{label}",
        "program": "secure-communities",
        "jurisdiction": "statewide",
        "effective_at": "2026-12-02T00:00:00-05:00",
        "summary": "Secure Communities activates in all Connecticut jurisdictions (benchmark)",
        "source": {"agency": "ICE", "channel": "email"},
    }


# --- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invocation:
    """One handler invocation: its messages as (channel, deliveries), and its wall time."""

    messages: tuple[tuple[str, int], ...]
    seconds: float


class InvocationLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[Invocation] = []

    def wrap(self, handler: LambdaHandler) -> LambdaHandler:
        def timed(event: dict[str, Any], context: Any) -> Any:
            messages = []
            for record in event.get("Records", []):
                try:
                    body = json.loads(record.get("body", ""))
                except ValueError:
                    body = {}
                messages.append((str(body.get("channel", "-")), len(body.get("delivery_ids", []))))
            started = time.perf_counter()
            try:
                return handler(event, context)
            finally:
                with self._lock:
                    self.items.append(Invocation(tuple(messages), time.perf_counter() - started))

        return timed


@dataclass(frozen=True)
class Phase:
    counts: CallCounts
    usage: Usage
    seconds: float


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    deliveries: Counter[str]  # by channel, deliveries created
    sent: Counter[str]  # by channel, deliveries ending sent
    provider: dict[str, int]  # SendEmail, Publish, webhook POSTs
    phases: dict[str, Phase]  # ingest, route, deliver
    esm: CallCounts  # the pump's SQS calls (the event source mapping's, in AWS)
    esm_usage: Usage
    route_invocations: list[Invocation]
    send_invocations: list[Invocation]
    webhook_seconds: float
    load_seconds: float
    wall_seconds: float
    problems: list[str]

    @property
    def total(self) -> CallCounts:
        total = CallCounts()
        for phase in self.phases.values():
            total = _add(total, phase.counts)
        return total

    @property
    def usage(self) -> Usage:
        total = Usage()
        for phase in self.phases.values():
            total = _add_usage(total, phase.usage)
        return total

    @property
    def delivered(self) -> int:
        return sum(self.sent.values())

    @property
    def overhead(self) -> int:
        total = self.total
        return total.requests("dynamodb") + total.requests("sqs")

    def per_delivery(self, n: float) -> float:
        return n / self.delivered if self.delivered else math.nan


def _add(a: CallCounts, b: CallCounts) -> CallCounts:
    return CallCounts(
        calls=a.calls + b.calls,
        attempts=a.attempts + b.attempts,
        errors=a.errors + b.errors,
        items_read=a.items_read + b.items_read,
        items_scanned=a.items_scanned + b.items_scanned,
        bytes_read=a.bytes_read + b.bytes_read,
        items_written=a.items_written + b.items_written,
    )


def _add_usage(a: Usage, b: Usage) -> Usage:
    out = a.copy()
    out.calls.update(b.calls)
    out.errors.update(b.errors)
    out.sqs_billed.update(b.sqs_billed)
    for k, v in b.wru.items():
        out.wru[k] += v
    for k, v in b.rru.items():
        out.rru[k] += v
    for k, v in b.seconds.items():
        out.seconds[k] += v
    return out


def _key_schemas(client: DynamoDBClient, stage: str) -> dict[str, list[str]]:
    schemas = {}
    for name in client.list_tables()["TableNames"]:
        if name.startswith(f"vigil-{stage}-"):
            described = client.describe_table(TableName=name)["Table"]
            schemas[name] = [k["AttributeName"] for k in described.get("KeySchema", [])]
    return schemas


def drain(pump: QueuePump, binding: QueueBinding, *, workers: int = 1, limit_seconds: float = 3600) -> None:
    """Poll until a poll comes back empty; with several workers, until every worker's does."""
    deadline = time.monotonic() + limit_seconds

    def work() -> None:
        while time.monotonic() < deadline and pump.poll_once(binding):
            pass

    if workers == 1:
        work()
        return
    threads = [threading.Thread(target=work, name=f"bench-send-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def warm_up(deps: bootstrap.Deps, *, mixed: bool) -> None:
    """What a warm container has done before: resolve the queue URLs, load botocore's models."""
    for queue in (deps.route_queue, deps.send_queue, deps.send_dead_letters):
        if isinstance(queue, SqsWorkQueue):
            _ = queue.url
    deps.senders.email.send(OutgoingEmail(to="warm-up@example.gov", subject="warm-up", text="-", html="-"))
    if mixed:
        deps.senders.sms.send(OutgoingSms(to="+18605559999", body="warm-up"))
    deps.policies.get(EventType.ROLLOUT)
    deps.deliveries.get_many("ntc_warm_up", ["000#none"])


@dataclass
class Rig:
    """One scenario's moto account: the app's dependencies on a counted session, and the pump's."""

    settings: Settings
    loader: DynamoDBClient
    deps: bootstrap.Deps
    counter: AwsCallCounter
    meter: UnitMeter
    esm_counter: AwsCallCounter
    esm_meter: UnitMeter
    webhook: TimedWebhookSender
    pump_sqs: SQSClient
    pump: QueuePump
    route: QueueBinding
    send: QueueBinding
    route_log: InvocationLog
    send_log: InvocationLog

    def reset(self) -> None:
        for meter in (self.counter, self.meter, self.esm_counter, self.esm_meter):
            meter.reset()
        self.webhook.posts, self.webhook.seconds = 0, 0.0


def rig() -> Rig:
    """Inside ``mock_aws``: the template deployed, the sender verified, the app built and installed."""
    import app  # noqa: PLC0415  # the Chalice app; imported here so the other benches can use the helpers

    setup = boto3.Session(region_name=REGION)  # not counted: the template, the data, the checks
    # Outside the local and test stages Settings insists on an ack secret; this one signs nothing real.
    settings = Settings.from_env(
        {"VIGIL_STAGE": STAGE, "VIGIL_RETRY_SCALE": "0", "VIGIL_ACK_SECRET": "bench-only-ack-secret"}
    )
    quiet = logging.getLogger("moto")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns of each type it skips (alarms, policies): expected
    try:
        deploy_template(setup.client("cloudformation", region_name=REGION), stage=STAGE)
    finally:
        quiet.setLevel(level)
    setup.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=settings.sender_email)
    loader: DynamoDBClient = setup.client("dynamodb", region_name=REGION)

    session = boto3.Session(region_name=REGION)
    counter = AwsCallCounter().attach(session)  # before build(): clients copy the session's hooks
    meter = UnitMeter(_key_schemas(loader, STAGE)).attach(session)
    # Stage "bench" refuses loopback receivers; the bench's receiver is on 127.0.0.1.
    webhook = TimedWebhookSender(HttpWebhookSender(timeout_seconds=5.0, allow_private=True))
    deps = bootstrap.build(settings, session=session, webhook_sender=webhook)
    bootstrap.use(deps)

    pump_session = boto3.Session(region_name=REGION)  # the event source mapping's calls, apart
    esm_counter = AwsCallCounter().attach(pump_session)
    esm_meter = UnitMeter({}).attach(pump_session)
    pump_sqs: SQSClient = pump_session.client("sqs", region_name=REGION)
    route_log, send_log = InvocationLog(), InvocationLog()
    return Rig(
        settings=settings,
        loader=loader,
        deps=deps,
        counter=counter,
        meter=meter,
        esm_counter=esm_counter,
        esm_meter=esm_meter,
        webhook=webhook,
        pump_sqs=pump_sqs,
        pump=QueuePump(pump_sqs, [], region=REGION),
        route=_binding(pump_sqs, settings, "route", route_log.wrap(app.on_route_message)),
        send=_binding(pump_sqs, settings, "send", send_log.wrap(app.on_send_message)),
        route_log=route_log,
        send_log=send_log,
    )


def measure(r: Rig, scenario: Scenario) -> tuple[str, dict[str, Phase]]:
    """Ingest one statewide rollout, pump the route queue, pump the send queue; counts per phase."""
    deps = r.deps
    phases: dict[str, Phase] = {}
    mark = (r.counter.snapshot(), r.meter.snapshot(), time.perf_counter())

    def end(name: str) -> None:
        nonlocal mark
        now = (r.counter.snapshot(), r.meter.snapshot(), time.perf_counter())
        phases[name] = Phase(now[0] - mark[0], now[1] - mark[1], now[2] - mark[2])
        mark = now

    submitted = parse_event(rollout_event(scenario.label), idempotency_header=None, registry=deps.registry)
    accepted = ingest.accept(
        submitted,
        caller=Caller(key_id="bench-source", role=ApiRole.SOURCE),
        notices=deps.notices,
        index=deps.index,
        registry=deps.registry,
        policies=deps.policies,
        route_queue=deps.route_queue,
        ack_log=deps.ack_log,
        now=datetime.now(UTC),
    )
    end("ingest")
    drain(r.pump, r.route)
    end("route")
    drain(r.pump, r.send, workers=scenario.send_workers)
    end("deliver")
    return accepted.notice.id, phases


def verify(
    r: Rig, notice_id: str, expected: Counter[str], receiver: Receiver
) -> tuple[Counter[str], Counter[str], dict[str, int], list[str]]:
    """Deliveries created and sent by channel, provider sends, and anything wrong."""
    problems = []
    final = r.deps.deliveries.for_notice(notice_id)
    created = Counter(str(d.channel_type) for d in final)
    sent = Counter(str(d.channel_type) for d in final if d.status is DeliveryStatus.SENT)
    if created != expected:
        problems.append(f"deliveries created {dict(created)}, expected {dict(expected)}")
    if sent != created:
        problems.append(f"deliveries sent {dict(sent)} of {dict(created)}")
    ses = get_backend("ses")[MOTO_ACCOUNT_ID][REGION]
    to = Counter(
        a
        for m in ses.sent_messages
        for a in (getattr(m, "destinations", None) or {}).get("ToAddresses", [])
        if a != "warm-up@example.gov"
    )
    duplicated = sum(1 for n in to.values() if n > 1)
    if duplicated:
        problems.append(f"{duplicated} addresses received the notice more than once")
    posts = receiver.counts()
    if any(n > 1 for n in posts.values()):
        problems.append("a webhook receiver got the notice more than once")
    total = r.counter.snapshot()
    provider = {
        "SendEmail": total.requests("sesv2", "SendEmail"),
        "Publish": total.requests("sns", "Publish"),
        "POST": sum(posts.values()),
    }
    if provider["SendEmail"] != expected["email"] or provider["Publish"] != expected.get("sms", 0):
        problems.append(f"provider sends {provider} for {dict(expected)}")
    for queue in ("route", "send", "send-dlq"):
        left = _depth(r.pump_sqs, r.settings.resource(queue))
        if left:
            problems.append(f"{left} messages left on {queue}")
    return created, sent, provider, problems


def run_scenario(scenario: Scenario, *, seed: int, receiver: Receiver) -> Result:
    started = time.perf_counter()
    with mock_aws():
        r = rig()
        people = population(scenario, seed=seed, receiver_url=receiver.url)
        loading = time.perf_counter()
        load(r.loader, r.settings, people)
        load_seconds = time.perf_counter() - loading
        expected: Counter[str] = Counter(str(c.type) for p in people for c in p.channels)
        warm_up(r.deps, mixed=scenario.mixed)
        r.reset()
        receiver.reset()
        notice_id, phases = measure(r, scenario)
        esm, esm_usage = r.esm_counter.snapshot(), r.esm_meter.snapshot()
        created, sent, provider, problems = verify(r, notice_id, expected, receiver)
        bootstrap.use(None)
    return Result(
        scenario=scenario,
        deliveries=created,
        sent=sent,
        provider=provider,
        phases=phases,
        esm=esm,
        esm_usage=esm_usage,
        route_invocations=r.route_log.items,
        send_invocations=r.send_log.items,
        webhook_seconds=r.webhook.seconds,
        load_seconds=load_seconds,
        wall_seconds=time.perf_counter() - started,
        problems=problems,
    )


def _binding(sqs: SQSClient, settings: Settings, name: str, handler: LambdaHandler) -> QueueBinding:
    queue = settings.resource(name)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueBinding(name=queue, url=url, arn=arn, handler=handler, function_name=f"bench-{name}")


def _depth(sqs: SQSClient, queue: str) -> int:
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


# --- what batching would save: the measured counts, re-derived for each change -------------------


@dataclass(frozen=True, slots=True)
class Projection:
    label: str
    overhead: float

    def per(self, deliveries: int) -> float:
        return self.overhead / deliveries if deliveries else math.nan


def _per_invocation(invocations: Sequence[Invocation], size: Callable[[Invocation], int], limit: int) -> int:
    return sum(math.ceil(size(i) / limit) for i in invocations if size(i))


def projections(result: Result) -> list[Projection]:
    """Overhead if the deliver step did more of its work once per invocation (up to 10 messages,
    one notice) instead of once per message, from this run's own counts and invocation shapes.

    Already once per invocation in the code measured: the ack-log append and the notice's GetItem;
    already once per message: the reply codes of its texts."""
    deliver = result.phases["deliver"].usage.calls
    invocations = result.send_invocations
    messages = sum(len(i.messages) for i in invocations)

    def calls(op: str, table_part: str) -> int:
        return sum(
            n for (svc, o, t), n in deliver.items() if svc == "dynamodb" and o == op and table_part in t
        )

    def deliveries_of(i: Invocation, channel: str | None = None) -> int:
        return sum(n for c, n in i.messages if channel is None or c == channel)

    base = float(result.overhead)
    gets = calls("BatchGetItem", "deliveries") + calls("BatchGetItem", "subscribers")
    gets_batched = 2 * _per_invocation(invocations, deliveries_of, BATCH_GET_LIMIT)
    claims = calls("TransactWriteItems", "deliveries")
    claims_batched = _per_invocation(invocations, deliveries_of, TRANSACT_LIMIT)
    codes = calls("TransactWriteItems", "ack-codes")
    codes_batched = _per_invocation(invocations, lambda i: deliveries_of(i, "sms"), TRANSACT_LIMIT)
    # The message already names its deliveries; carrying channel, address, subscriber and role too
    # (and reading the item back only when a claim's condition fails) drops the first BatchGetItem.
    read_before_claim = calls("BatchGetItem", "deliveries")
    out = [
        Projection("as measured", base),
        Projection(
            "deliveries+subscribers BatchGetItem per invocation (100 keys)",
            base - gets + gets_batched,
        ),
        Projection(
            "claim: one TransactWriteItems per invocation (100 items)", base - claims + claims_batched
        ),
    ]
    if codes:
        out.append(
            Projection("SMS codes: one TransactWriteItems per invocation", base - codes + codes_batched)
        )
    out.append(
        Projection(
            "message carries the delivery rows (no BatchGetItem before the claim)",
            base - read_before_claim,
        )
    )
    everything = base - (gets - gets_batched) - (claims - claims_batched) - (codes - codes_batched)
    out.append(Projection("all of the above per invocation (keeps the read before the claim)", everything))
    # The other lever: bigger messages (100 deliveries) and the same per-message code.
    if messages:
        # BatchWriteItem's 25 items stay as many requests; the reads, claims and codes take 100.
        per_message = gets + claims + codes
        out.append(
            Projection(
                "100 deliveries per send message instead of 25 (code unchanged)",
                base - per_message + per_message * DELIVERIES_PER_MESSAGE / 100,
            )
        )
    return out


# --- the cost model ------------------------------------------------------------------------------

# us-east-1 list prices (see docs/benchmarks.md for sources and date).
PRICE_WRU = 0.625 / 1e6  # DynamoDB on-demand, per write request unit
PRICE_RRU = 0.125 / 1e6  # per read request unit
PRICE_SQS = 0.40 / 1e6  # SQS standard, per request (64 KiB chunk), after the free tier
PRICE_SES = 0.10 / 1000  # SES outbound email, per message
PRICE_SMS = 0.00581 + 0.0035  # per US SMS segment: AWS base + a typical carrier fee (varies by carrier)
PRICE_LAMBDA_GBS = 0.0000133334  # arm64, per GB-second
PRICE_LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB = 0.5  # .chalice/config.json: lambda_memory_size 512
# Assumed latency of each call in AWS from a Lambda in the same region (not measured here).
LATENCY_SECONDS = {"dynamodb": 0.006, "sqs": 0.012, "sesv2": 0.040, "sns": 0.040}
LATENCY_WEBHOOK = 0.150


@dataclass(frozen=True, slots=True)
class Cost:
    dynamodb: float
    sqs_vigil: float
    sqs_esm: float
    lambda_: float
    messages: float  # SES + SMS: the unavoidable part
    lambda_seconds: float  # estimated Lambda duration in AWS for this fan-out

    @property
    def overhead(self) -> float:
        return self.dynamodb + self.sqs_vigil + self.sqs_esm + self.lambda_


def cost(result: Result) -> Cost:
    usage = result.usage
    wru = usage.total(usage.wru)
    rru = usage.total(usage.rru)
    sqs_vigil = sum(n for (svc, _, _), n in usage.sqs_billed.items() if svc == "sqs")
    sqs_esm = sum(result.esm_usage.sqs_billed.values())
    # Lambda: this process's time in the handlers, minus the time inside AWS calls and webhook
    # POSTs (moto and the receiver, here), plus each call at the assumed AWS latency.
    handler_seconds = sum(i.seconds for i in result.route_invocations + result.send_invocations)
    route_deliver = _add_usage(result.phases["route"].usage, result.phases["deliver"].usage)
    inside_calls = sum(route_deliver.seconds.values())
    own = max(0.0, handler_seconds - inside_calls - result.webhook_seconds)
    calls_in_aws = sum(n * LATENCY_SECONDS.get(svc, 0.02) for (svc, _, _), n in route_deliver.calls.items())
    duration = own + calls_in_aws + result.provider["POST"] * LATENCY_WEBHOOK
    invocations = len(result.route_invocations) + len(result.send_invocations) + 1  # + the API call
    lambda_cost = duration * LAMBDA_GB * PRICE_LAMBDA_GBS + invocations * PRICE_LAMBDA_REQUEST
    messages = result.provider["SendEmail"] * PRICE_SES + result.provider["Publish"] * PRICE_SMS
    return Cost(
        dynamodb=wru * PRICE_WRU + rru * PRICE_RRU,
        sqs_vigil=sqs_vigil * PRICE_SQS,
        sqs_esm=sqs_esm * PRICE_SQS,
        lambda_=lambda_cost,
        messages=messages,
        lambda_seconds=duration,
    )


# --- reporting ----------------------------------------------------------------------------------


def _short(resource: str) -> str:
    return resource.replace(f"vigil-{STAGE}-", "")


def summary_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        t = r.total
        per = r.per_delivery(r.overhead)
        target = "-" if r.scenario.subscribers < TARGET_FROM else ("met" if per <= TARGET else "NOT met")
        rows.append(
            [
                r.scenario.label,
                f"{r.delivered:,}",
                f"{r.provider['SendEmail']:,} / {r.provider['Publish']:,} / {r.provider['POST']:,}",
                f"{t.requests('dynamodb'):,}",
                f"{t.requests('sqs'):,}",
                f"{r.overhead:,}",
                f"{per:.3f}",
                target,
                f"{r.esm.requests('sqs', 'ReceiveMessage')} / {r.esm.requests('sqs', 'DeleteMessageBatch')}",
                f"{len(r.send_invocations)}",
                f"{r.wall_seconds:,.1f}",
            ]
        )
    return table(
        [
            "scenario",
            "deliveries sent",
            "SES / SNS / webhook sends",
            "DynamoDB req",
            "SQS req",
            "overhead req",
            "per delivery",
            "≤ 0.25?",
            "ESM Receive / DeleteBatch (excluded)",
            "send invocations",
            "wall s",
        ],
        rows,
        right=[False, True, True, True, True, True, True, False, True, True, True],
    )


def phase_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        for name, phase in r.phases.items():
            c = phase.counts
            rows.append(
                [
                    r.scenario.label,
                    name,
                    _ops(c, "dynamodb"),
                    _ops(c, "sqs"),
                    f"{c.requests('dynamodb') + c.requests('sqs'):,}",
                    f"{r.per_delivery(c.requests('dynamodb') + c.requests('sqs')):.4f}",
                    f"{phase.seconds:,.2f}",
                ]
            )
    return table(
        ["scenario", "phase", "DynamoDB", "SQS", "overhead", "per delivery", "s (moto)"],
        rows,
        right=[False, False, False, False, True, True, True],
    )


def _ops(counts: CallCounts, service: str) -> str:
    return ", ".join(f"{op} {n:,}" for op, n in counts.by_operation(service).items()) or "-"


def operation_table(result: Result) -> str:
    usage = result.usage
    total = result.overhead
    rows = []
    keys = [k for k in usage.calls if k[0] in {"dynamodb", "sqs"}]
    for key in sorted(keys, key=lambda k: -usage.calls[k]):
        svc, op, resource = key
        n = usage.calls[key]
        per_phase = "/".join(str(p.usage.calls.get(key, 0)) for p in result.phases.values())
        rows.append(
            [
                f"{svc} {op}",
                _short(resource),
                f"{n:,}",
                per_phase,
                f"{result.per_delivery(n):.4f}",
                f"{n / total:.0%}",
                f"{usage.wru.get(key, 0):,.0f}",
                f"{usage.rru.get(key, 0):,.1f}",
                str(usage.errors.get(key, 0)),
            ]
        )
    return table(
        [
            "operation",
            "table / queue",
            "requests",
            "ingest/route/deliver",
            "per delivery",
            "share",
            "WRU",
            "RRU",
            "errors",
        ],
        rows,
        right=[False, False, True, True, True, True, True, True, True],
    )


def projection_table(results: Sequence[Result]) -> str:
    chosen = [r for r in results if r.scenario.subscribers >= TARGET_FROM]
    if not chosen:
        return "(no scenario of 1,000 or more)"
    values: dict[str, dict[str, str]] = {}
    for r in chosen:
        for p in projections(r):
            values.setdefault(p.label, {})[r.scenario.label] = f"{p.per(r.delivered):.3f}"
    rows = [[label, *(by.get(r.scenario.label, "-") for r in chosen)] for label, by in values.items()]
    return table(
        ["change (overhead requests per delivery)", *[r.scenario.label for r in chosen]],
        rows,
        right=[False, *[True] * len(chosen)],
    )


def cost_table(results: Sequence[Result]) -> str:
    rows = []
    for r in results:
        c = cost(r)
        k = 1000 / r.delivered if r.delivered else math.nan
        usage = r.usage
        rows.append(
            [
                r.scenario.label,
                f"{r.per_delivery(usage.total(usage.wru)):.2f}",
                f"{r.per_delivery(usage.total(usage.rru)):.2f}",
                f"${c.dynamodb * k:.6f}",
                f"${c.sqs_vigil * k:.6f} + ${c.sqs_esm * k:.6f}",
                f"${c.lambda_ * k:.6f}",
                f"${c.overhead * k:.6f}",
                f"${c.messages * k:.4f}",
                f"{c.overhead / c.messages:.1%}" if c.messages else "-",
                f"{c.lambda_seconds / max(1, len(r.send_invocations)):.1f}",
            ]
        )
    return table(
        [
            "scenario",
            "WRU/delivery",
            "RRU/delivery",
            "DynamoDB /1k",
            "SQS Vigil + ESM /1k",
            "Lambda /1k",
            "overhead /1k",
            "messages /1k (SES+SMS)",
            "overhead ÷ messages",
            "est. s per send invocation",
        ],
        rows,
        right=[False, *[True] * 9],
    )


def timing_lines(results: Sequence[Result]) -> list[str]:
    lines = []
    for r in results:
        send = [i.seconds for i in r.send_invocations]
        median = statistics.median(send) if send else 0.0
        lines.append(
            f"- {r.scenario.label}: {len(r.route_invocations)} route + {len(r.send_invocations)} send "
            f"invocations ({sum(len(i.messages) for i in r.send_invocations)} send messages); "
            f"send invocation median {median * 1000:,.0f} ms in moto; subscribers loaded in "
            f"{r.load_seconds:.1f} s; scenario wall time {r.wall_seconds:.1f} s"
        )
    return lines


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must be comma-separated integers, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive")
    return tuple(sorted(set(sizes)))


def report(results: Sequence[Result], *, total: float) -> None:
    print()
    print("Requests per delivery: provider sends vs Vigil's overhead (DynamoDB + SQS), one notice")
    print()
    print(summary_table(results))
    print()
    print("Overhead by phase")
    print()
    print(phase_table(results))
    for r in results:
        if r.scenario.subscribers >= TARGET_FROM:
            print()
            print(f"Overhead by operation and table: {r.scenario.label}")
            print()
            print(operation_table(r))
    print()
    print("What batching would do (the measured counts, re-derived)")
    print()
    print(projection_table(results))
    print()
    print("Cost per 1,000 deliveries (us-east-1 list prices; model in docs/benchmarks.md)")
    print()
    print(cost_table(results))
    print()
    print("\n".join(timing_lines(results)))
    print(f"total runtime {total:.0f} s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.delivery", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=DEFAULT_SIZES,
        help="comma-separated subscriber counts, email only (default: 10,100,1000,10000)",
    )
    parser.add_argument(
        "--mixed",
        type=int,
        default=DEFAULT_MIXED,
        help=f"subscribers of the email+SMS+webhook variant; 0 skips it (default {DEFAULT_MIXED})",
    )
    parser.add_argument(
        "--send-workers",
        type=int,
        default=0,
        help="also run the email scenario of 1,000 with this many concurrent send pollers "
        "(Lambda's concurrency: shows ack-log contention); 0 skips it (default)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
    parser.add_argument(
        "--faithful-moto",
        action="store_true",
        help="leave moto's TransactWriteItems copying the table once per item and its read responses "
        "serialized shape by shape (much slower; the same counts)",
    )
    args = parser.parse_args(argv)
    fake_credentials()
    importlib.import_module("app")  # it configures logging when imported: import it first, then quiet it
    logs.configure(level="WARNING", json=False)  # every delivery logs at INFO
    scenarios = [Scenario(f"{n:,} email", n, mixed=False) for n in args.sizes]
    if args.mixed:
        scenarios.append(Scenario(f"{args.mixed:,} mixed", args.mixed, mixed=True))
    if args.send_workers > 1:
        scenarios.append(
            Scenario(f"1,000 email, {args.send_workers} senders", 1_000, False, args.send_workers)
        )
    print(f"Delivery benchmark: {machine()}")
    print(
        f"scenarios: {', '.join(s.label for s in scenarios)}; seed {args.seed}; mixed: every subscriber "
        f"email, {SMS_SHARE:.0%} also SMS, {WEBHOOK_SHARE:.0%} also a webhook",
        flush=True,
    )
    started = time.perf_counter()
    results = []
    with Receiver() as receiver:
        for scenario in scenarios:
            fast = not args.faithful_moto
            with faster_moto(transactions=fast, reads=fast):
                result = run_scenario(scenario, seed=args.seed, receiver=receiver)
            results.append(result)
            status = "ok" if not result.problems else "PROBLEMS: " + "; ".join(result.problems)
            print(f"  {scenario.label}: {result.wall_seconds:.1f} s, {status}", flush=True)
    report(results, total=time.perf_counter() - started)
    failed = [r for r in results if r.problems]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
