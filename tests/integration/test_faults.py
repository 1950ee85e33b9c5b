"""Fault injection against moto: AWS calls refused, webhooks failing or hanging, a Lambda dying mid-way.

Each scenario runs the real handlers over the stack from infra/ (the ``pipeline`` of
test_handlers.py, rebuilt with a ``FaultInjector`` on the session before its clients are made),
pumps the queues until they are quiet, and then checks one set of invariants
(``assert_nothing_lost_nothing_doubled``): every accepted event is a notice; every delivery is
sent exactly once, cancelled, or in the send dead-letter queue; nobody got the same notice and step
twice on one address; every notice's log verifies and says what was sent.

Time: the deploy sets the queues' visibility timeouts to 0 so retries run at once; the use cases'
clock (``bootstrap.use(..., clock=)``) moves on by the template's real send visibility timeout
(360 s) on every round of the pump, so a redelivered message sees what it would in AWS: the 120 s claims of a
crashed invocation have lapsed by the time its message comes back. The retry-schedule tests keep
the real waits instead (``on_schedule``): each one the send step asks of SQS is recorded and cut to
nothing, and the clock moves on by it.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from click.testing import CliRunner
from moto.backends import get_backend

from chalicelib import bootstrap
from chalicelib.adapters.ack_log import entry_to_item
from chalicelib.adapters.dynamodb import encode
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.domain.acklog import (
    AUDIT_STREAM,
    EntryKind,
    LogEntry,
    entry_hash,
    verify_anchored,
)
from chalicelib.domain.deliveries import RETRY_SCHEDULES, Delivery, DeliveryStatus, attempts_allowed
from chalicelib.domain.errors import NotFound
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import Channel, ChannelType
from chalicelib.domain.tokens import AckTarget, read_ack_token
from chalicelib.services import delivery as delivery_service
from tests.builders import rollout_body
from tests.integration.conftest import REGION, STAGE, Aws
from tests.integration.faults import CrashAfter, FaultInjector, Injection, SimulatedCrash, table_is
from tests.integration.test_handlers import (  # noqa: F401  # pipeline is the fixture this file builds on
    ACCOUNT,
    Pipeline,
    pipeline,
    sent_emails,
    sent_sms,
    subscriber_body,
)
from vigil_cli.main import cli
from vigil_local.api_server import StartupGate, create_api_server
from vigil_local.pump import LambdaContext, LambdaHandler, QueueBinding
from vigil_local.state_lock import StateLock
from vigil_local.ticker import scheduled_event

pytestmark = pytest.mark.integration

# The sender's timeout for webhooks, and how long a hanging receiver hangs (well past it).
WEBHOOK_TIMEOUT = 1.0
HANG = 2 * WEBHOOK_TIMEOUT
WEBHOOK_ATTEMPTS = attempts_allowed(ChannelType.WEBHOOK)
# infra/template.yaml's SendVisibilityTimeout default: what AWS runs with.
VISIBILITY = timedelta(seconds=360)
MAX_ROUNDS = 30

# Delivery ids are unique within a notice: (notice id, delivery id) names one.
DeliveryKey = tuple[str, str]

ACK_LINK = re.compile(r"/ack/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")
REPLY_CODE = re.compile(r"Reply (\d+) to acknowledge")


# ------------------------------------------------------------------ webhook receivers


class Answer(StrEnum):
    OK = "ok"  # 204 at once
    ERROR = "error"  # 500 at once
    LATE = "late"  # 204, but only after the sender has given up (the receiver did get the message)
    SILENT = "silent"  # reads the request and never answers
    STALL = "stall"  # status line and headers at once, then the body only after the sender's timeout


ANSWERED_IN_TIME = frozenset({Answer.OK, Answer.STALL})


@dataclass(frozen=True, slots=True)
class Post:
    webhook_id: str
    notice_id: str
    delivery_id: str
    answer: Answer

    @property
    def key(self) -> DeliveryKey:
        return self.notice_id, self.delivery_id


class Receiver:
    """A webhook endpoint answering by script: ``script[n]`` to the nth POST, ``then`` after it."""

    def __init__(self, script: Sequence[Answer] = (), then: Answer = Answer.OK) -> None:
        self._script = list(script)
        self._then = then
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.posts: list[Post] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True  # hung handlers must not hold up the test's end
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def _take(self, body: bytes, webhook_id: str) -> Answer:
        data = json.loads(body)["data"]
        with self._lock:
            answer = self._script.pop(0) if self._script else self._then
            self.posts.append(Post(webhook_id, data["notice_id"], data["delivery_id"], answer))
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                answer = receiver._take(body, self.headers.get("webhook-id", ""))
                with contextlib.suppress(OSError):  # the sender may have hung up already
                    if answer in {Answer.LATE, Answer.SILENT}:
                        receiver._stopping.wait(HANG)
                    if answer is Answer.SILENT:
                        return
                    if answer is Answer.STALL:
                        self.send_response(200)
                        self.send_header("content-length", "2")
                        self.end_headers()
                        self.wfile.flush()
                        receiver._stopping.wait(HANG)
                        self.wfile.write(b"{}")
                        return
                    self.send_response(500 if answer is Answer.ERROR else 204)
                    self.send_header("content-length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
                return

        return Handler


# ------------------------------------------------------------------ the pipeline under faults


class Clock:
    """The use cases' clock, moved on by the test."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class Batch:
    queue: str
    message_ids: tuple[str, ...]
    # The handler's partial batch response; None when the invocation crashed.
    failed: tuple[str, ...] | None


@dataclass
class Faulty:
    """test_handlers' Pipeline, its adapters rebuilt on a session with a fault injector."""

    base: Pipeline
    faults: FaultInjector
    clock: Clock
    # DynamoDB as whoever can write the tables sees it, past the adapters (faults are armed per test).
    dynamodb: Any
    batches: list[Batch] = field(default_factory=list)
    receivers: list[Receiver] = field(default_factory=list)
    crashes: int = 0

    @property
    def deps(self) -> bootstrap.Deps:
        return self.base.deps

    def receiver(self, script: Sequence[Answer] = (), then: Answer = Answer.OK) -> Receiver:
        server = Receiver(script, then)
        self.receivers.append(server)
        return server

    def subscribe(self, name: str, role: str, channels: list[dict[str, str]]) -> None:
        status, answer = self.base.post(
            "/subscribers", subscriber_body(name, role, "statewide", channels), self.base.admin
        )
        assert status == 201, answer

    def cast(self, *webhooks: Receiver) -> None:
        """Two officials with email and SMS, and a newsroom's webhook per receiver given."""
        self.subscribe(
            "Adviser",
            "state-executive",
            [{"type": "email", "address": "adviser@example.gov"}, {"type": "sms", "phone": "+18605550100"}],
        )
        self.subscribe(
            "Commissioner",
            "corrections",
            [
                {"type": "email", "address": "commissioner@example.gov"},
                {"type": "sms", "phone": "+18605550101"},
            ],
        )
        for n, webhook in enumerate(webhooks):
            self.subscribe(f"Newsroom {n}", "media", [{"type": "webhook", "url": webhook.url}])

    def post_events(self, count: int = 2) -> list[str]:
        """Accepted notices (202), one per distinct idempotency key."""
        accepted = []
        for n in range(count):
            status, answer = self.base.post(
                "/events", rollout_body(external_id=f"ice-ct-2012-02-17-{n:02d}"), self.base.source
            )
            assert status == 202, answer
            accepted.append(answer["notice_id"])
        return accepted

    def poll(self, binding: QueueBinding) -> int:
        """One receive of the queue and one invocation, as Lambda's event source mapping would."""
        try:
            return self.base.pump.poll_once(binding)
        except SimulatedCrash:
            self.crashes += 1  # the invocation died: nothing was deleted, the batch comes back
            return 1

    def route_all(self) -> None:
        """Route what is on the route queue (so faults armed next meet the deliver step)."""
        for _ in range(MAX_ROUNDS):
            if not self.poll(self.route):
                return
        pytest.fail(f"the route queue was not empty after {MAX_ROUNDS} receives")

    def pump_until_quiet(self) -> int:
        """Rounds of one receive per queue, each one visibility timeout later, until both are empty."""
        for rounds in range(1, MAX_ROUNDS + 1):
            self.clock.now += VISIBILITY
            if not self.poll(self.route) + self.poll(self.send):
                return rounds
        pytest.fail(f"the queues were not quiet after {MAX_ROUNDS} rounds")

    @property
    def route(self) -> QueueBinding:
        return replace(self.base.route, handler=self._recording("route", self.base.route.handler))

    @property
    def send(self) -> QueueBinding:
        return replace(self.base.send, handler=self._recording("send", self.base.send.handler))

    def _recording(self, queue: str, handler: LambdaHandler) -> LambdaHandler:
        def recorded(event: dict[str, Any], context: Any) -> Any:
            ids = tuple(r["messageId"] for r in event["Records"])
            self.batches.append(Batch(queue, ids, None))
            answer = handler(event, context)
            failed = tuple(f["itemIdentifier"] for f in answer.get("batchItemFailures", []))
            self.batches[-1] = Batch(queue, ids, failed)
            return answer

        return recorded

    def dead_letters(self, queue: str) -> list[str]:
        """Bodies of the messages in ``queue`` (read, then made visible again)."""
        url = self.base.sqs.get_queue_url(QueueName=f"vigil-{STAGE}-{queue}")["QueueUrl"]
        found: dict[str, Any] = {}
        while True:
            got = self.base.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                break
            found.update({m.get("MessageId", ""): m for m in got})
        if found:
            self.base.sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m.get("ReceiptHandle", ""), "VisibilityTimeout": 0}
                    for i, m in enumerate(found.values())
                ],
            )
        return [str(m.get("Body", "")) for m in found.values()]


@pytest.fixture
def faulty(pipeline: Pipeline, aws: Aws) -> Iterator[Faulty]:  # noqa: F811
    # botocore copies a session's handlers into each client it makes: the injector goes on first,
    # then every adapter is built again from the session, as bootstrap.build does in a Lambda.
    faults = FaultInjector(seed=20120217).install(aws.session)
    deps = bootstrap.build(
        pipeline.deps.settings,
        session=aws.session,
        webhook_sender=HttpWebhookSender(
            timeout_seconds=WEBHOOK_TIMEOUT, allow_private=pipeline.deps.settings.allows_local_webhooks
        ),
    )
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    bootstrap.use(deps, clock=clock)
    harness = Faulty(
        base=replace(pipeline, deps=deps), faults=faults, clock=clock, dynamodb=aws.client("dynamodb")
    )
    yield harness
    for server in harness.receivers:
        server.stop()


# ------------------------------------------------------------------ the invariants


@dataclass(frozen=True, slots=True)
class Sent:
    """One message a provider accepted (SES, SNS), tied to its delivery by the ack link or code."""

    key: DeliveryKey
    address: str
    provider_id: str


def key(d: Delivery) -> DeliveryKey:
    return d.notice_id, d.delivery_id


def provider_messages(f: Faulty) -> tuple[list[Sent], list[str]]:
    """What SES and SNS accepted for notices (confirmations and alerts to the admins left out), and
    what could not be tied to a delivery."""
    sent: list[Sent] = []
    unknown: list[str] = []
    for email in sent_emails():
        [to] = email.destinations["ToAddresses"]
        link = ACK_LINK.search(email.body)
        if link is None and to in f.deps.settings.admin_emails:
            continue  # an alert (a webhook disabled), not a notice
        if link is None:
            unknown.append(f"email {email.id} to {to}")
            continue
        target = read_ack_token(f.deps.signing_keys().accepted, link.group(1))
        sent.append(Sent((target.notice_id, target.delivery_id), to, email.id))
    texts = sent_sms()
    for provider_id, text in get_backend("sns")[ACCOUNT][REGION].sms_messages.items():
        if not any(text is t for t in texts):
            continue
        phone, body = text[0], text[1]
        code = REPLY_CODE.search(body)
        found = f.deps.codes.lookup(phone, code.group(1)) if code else None
        if not isinstance(found, AckTarget):
            unknown.append(f"text {provider_id} to {phone}")
            continue
        sent.append(Sent((found.notice_id, found.delivery_id), phone, provider_id))
    return sent, unknown


@dataclass(frozen=True, slots=True)
class Evidence:
    """What AWS and the receivers hold, read once, for the invariants."""

    send_dlq: set[DeliveryKey]  # deliveries in the send dead-letter queue
    route_dlq: set[str]  # notice ids in the route dead-letter queue
    sent: dict[DeliveryKey, list[Sent]]
    posts: dict[DeliveryKey, list[Post]]
    unknown: list[str]  # provider messages tied to no delivery

    @classmethod
    def gather(cls, f: Faulty) -> Evidence:
        send_dlq: set[DeliveryKey] = set()
        for body in f.dead_letters("send-dlq"):
            with contextlib.suppress(ValueError, TypeError, KeyError):
                message = json.loads(body)
                send_dlq.update((message["notice_id"], i) for i in message["delivery_ids"])
        route_dlq: set[str] = set()
        for body in f.dead_letters("route-dlq"):
            with contextlib.suppress(ValueError, TypeError, KeyError):
                route_dlq.add(json.loads(body)["notice_id"])
        messages, unknown = provider_messages(f)
        sent: dict[DeliveryKey, list[Sent]] = {}
        for s in messages:
            sent.setdefault(s.key, []).append(s)
        posts: dict[DeliveryKey, list[Post]] = {}
        for receiver in f.receivers:
            for post in receiver.posts:
                posts.setdefault(post.key, []).append(post)
        return cls(send_dlq, route_dlq, sent, posts, unknown)


def log_problems(f: Faulty, notice: Notice) -> tuple[list[str], Counter[str]]:
    """The log verifies, up to the head kept on the notice, and says the notice was created and
    routed, once; and how many 'delivered' entries name each delivery."""
    entries = f.deps.ack_log.entries(notice.id)
    verification = verify_anchored(notice.id, entries, anchor=f.deps.ack_log.head(notice.id), digested=None)
    problems = (
        [] if verification.verified else [f"{notice.id}: the log does not verify: {verification.reason}"]
    )
    kinds = Counter(e.kind for e in entries)
    if kinds[EntryKind.CREATED] != 1:
        problems.append(f"{notice.id}: {kinds[EntryKind.CREATED]} 'created' entries in the log, not 1")
    if notice.routed_at is not None and kinds[EntryKind.ROUTED] != 1:
        problems.append(f"{notice.id}: routed, but {kinds[EntryKind.ROUTED]} 'routed' entries in the log")
    logged = Counter(
        item["delivery_id"] for e in entries if e.kind is EntryKind.DELIVERED for item in e.data["deliveries"]
    )
    return problems, logged


def planned_problems(
    f: Faulty, notice: Notice, *, stored: Collection[DeliveryKey], dead_lettered: Collection[DeliveryKey]
) -> list[str]:
    """Routing writes no delivery row (the send step's claim creates it): every delivery the
    'routed' entry counts must have a row by now, or be in the send dead-letter queue."""
    routed = [e for e in f.deps.ack_log.entries(notice.id) if e.kind is EntryKind.ROUTED]
    if not routed:
        return []
    planned = int(routed[0].data["deliveries"])
    rows = sum(1 for n, i in stored if n == notice.id and i.startswith("000#"))
    waiting = sum(1 for n, i in dead_lettered if n == notice.id and (n, i) not in stored)
    if rows + waiting < planned:
        return [f"{notice.id}: {planned} deliveries planned, {rows} stored and {waiting} dead-lettered"]
    return []


def delivery_problems(d: Delivery, evidence: Evidence, *, logged: int, allowed: int) -> tuple[list[str], int]:
    """Sent exactly once (``allowed`` times at most), cancelled, or dead-lettered; and how many
    times its provider (or receiver, answering in time) accepted it."""
    what = f"{d.notice_id} {d.delivery_id} ({d.channel_type} to {d.address}, {d.status})"
    problems: list[str] = []
    provider_ids: set[str] = set()
    if d.channel_type is ChannelType.WEBHOOK:
        posts = evidence.posts.get(key(d), [])
        accepted = sum(p.answer in ANSWERED_IN_TIME for p in posts)
        if len({p.webhook_id for p in posts}) > 1:
            problems.append(f"{what}: retried under different webhook-ids {posts}")
    else:
        mine = evidence.sent.get(key(d), [])
        accepted = len(mine)
        provider_ids = {s.provider_id for s in mine}
        problems += [f"{what}: went to {s.address}" for s in mine if s.address != d.address]
    if d.status is DeliveryStatus.SENT:
        if not 1 <= accepted <= allowed:
            problems.append(f"{what}: the provider accepted it {accepted} times (allowed {allowed})")
        if provider_ids and d.provider_message_id not in provider_ids:
            problems.append(f"{what}: recorded {d.provider_message_id}, not one the provider has")
        if not 1 <= logged <= accepted:
            problems.append(f"{what}: named in {logged} 'delivered' log entries")
    elif d.status is DeliveryStatus.CANCELLED:
        if accepted:
            problems.append(f"{what}: cancelled, yet the provider accepted it {accepted} times")
    elif key(d) in evidence.send_dlq:
        if accepted > allowed - 1:
            problems.append(f"{what}: in the dead-letter queue, yet accepted {accepted} times")
    else:
        problems.append(f"{what}: neither sent, cancelled nor in the send dead-letter queue")
    return problems, accepted


def assert_nothing_lost_nothing_doubled(
    f: Faulty, accepted_ids: Sequence[str], *, at_least_once: Collection[DeliveryKey] = ()
) -> None:
    """The reliability promise (docs/decisions.md), checked with AWS healthy again.

    Every accepted notice exists and is routed (or its route message is dead-lettered); every
    delivery is sent with exactly one provider message (one POST answered in time, for webhooks)
    and the one recorded is the provider's, or is cancelled, or is in the send dead-letter queue; no
    address got the same notice and step twice; every log verifies, has one 'created' and one
    'routed' entry, and names each sent delivery in a 'delivered' entry (never more often than it
    was sent). ``at_least_once`` names deliveries inside the documented at-least-once window (their
    provider accepted them but the invocation never recorded it): each may have gone out twice,
    never more. Every problem is listed, not only the first.
    """
    f.faults.clear()
    evidence = Evidence.gather(f)
    problems = [f"{what}: sent for no delivery Vigil knows" for what in evidence.unknown]
    known: set[DeliveryKey] = set()
    for notice_id in accepted_ids:
        try:
            notice = f.deps.notices.get(notice_id)
        except NotFound:
            problems.append(f"{notice_id}: accepted but there is no notice")
            continue
        if notice.routed_at is None and notice_id not in evidence.route_dlq:
            problems.append(f"{notice_id}: never routed, and not in the route dead-letter queue")
        found, logged = log_problems(f, notice)
        problems += found
        per_address: Counter[tuple[str, int]] = Counter()
        allowed_per_address: Counter[tuple[str, int]] = Counter()
        for d in f.deps.deliveries.for_notice(notice_id):
            known.add(key(d))
            allowed = 2 if key(d) in at_least_once else 1
            found, accepted = delivery_problems(d, evidence, logged=logged[d.delivery_id], allowed=allowed)
            problems += found
            if d.channel_type is not ChannelType.WEBHOOK:
                per_address[d.address, d.step] += accepted
                allowed_per_address[d.address, d.step] = max(allowed, allowed_per_address[d.address, d.step])
        problems += [
            f"{notice_id}: {address} got step {step} {count} times"
            for (address, step), count in per_address.items()
            if count > allowed_per_address[address, step]
        ]
        problems += planned_problems(f, notice, stored=known, dead_lettered=evidence.send_dlq)
    problems += [f"{d}: sent, but belongs to no accepted notice" for d in evidence.sent.keys() - known]
    assert not problems, "\n".join(["invariants broken:", *problems])


def refused_deliveries(injections: Sequence[Injection]) -> set[DeliveryKey]:
    """The deliveries named in refused BatchWriteItem calls (outcomes that were never recorded)."""
    return {
        # The table's hash key holds the notice's shard; "notice" holds the notice's id.
        (put["PutRequest"]["Item"]["notice"]["S"], put["PutRequest"]["Item"]["delivery_id"]["S"])
        for i in injections
        for table, requests in i.params.get("RequestItems", {}).items()
        if table.endswith("-deliveries")
        for put in requests
        if "PutRequest" in put
    }


def not_sent(f: Faulty, notices: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """(channel, status, last error) of each delivery that did not go out."""
    return sorted(
        (str(d.channel_type), str(d.status), d.last_error)
        for n in notices
        for d in f.deps.deliveries.for_notice(n)
        if d.status is not DeliveryStatus.SENT
    )


def delivery_keys(f: Faulty, notices: Sequence[str], channel: ChannelType) -> list[DeliveryKey]:
    return [key(d) for n in notices for d in f.deps.deliveries.for_notice(n) if d.channel_type is channel]


# ------------------------------------------------------------------ DynamoDB (and SQS) while routing


def test_each_kind_of_routing_call_refused_once_is_recovered_by_redelivery(faulty: Faulty) -> None:
    """The route step reads the subscription index (Query), creates deliveries (TransactWriteItems),
    enqueues them (SendMessageBatch) and marks the notice routed (UpdateItem): each refused once,
    the route message comes back and the step runs again, creating and sending nothing twice. A
    transaction cancelled for throttling (not for a condition) is retried by the adapter itself."""
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faults = faulty.faults
    faults.fail("dynamodb", "Query", "ThrottlingException", when=table_is("subscriptions"))
    faults.fail("dynamodb", "TransactWriteItems", "ProvisionedThroughputExceededException", times=2)
    faults.cancel_transaction(reason="ThrottlingError")
    faults.fail("sqs", "SendMessageBatch", "RequestThrottled")
    faults.fail("dynamodb", "UpdateItem", "InternalServerError", when=table_is("notices"))
    faulty.pump_until_quiet()
    assert Counter((i.operation, i.code) for i in faults.injected) == {
        ("Query", "ThrottlingException"): 1,
        ("TransactWriteItems", "ProvisionedThroughputExceededException"): 2,
        ("TransactWriteItems", "TransactionCanceledException"): 1,
        ("SendMessageBatch", "RequestThrottled"): 1,
        ("UpdateItem", "InternalServerError"): 1,
    }
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert (len(sent_emails()), len(sent_sms())) == (4, 4)


def test_ack_log_throttled_while_routing_is_recovered_by_redelivery(faulty: Faulty) -> None:
    """The 'routed' entry is appended after the notice is marked routed; the append reads the
    newest entry first (Query). Refused there, the route message comes back."""
    faulty.cast()
    accepted = faulty.post_events(1)
    faulty.faults.fail(
        "dynamodb", "Query", "ProvisionedThroughputExceededException", when=table_is("ack-log")
    )
    faulty.pump_until_quiet()
    assert len(faulty.faults.injected) == 1
    assert_nothing_lost_nothing_doubled(faulty, accepted)


# ------------------------------------------------------------------ DynamoDB while delivering


def test_conditional_check_failed_on_a_claim_waits_and_sends_once(faulty: Faulty) -> None:
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faulty.route_all()
    # Another invocation "holds" the first delivery of the first message: DynamoDB cancels the
    # claim's transaction naming that item; the others are claimed when it is resubmitted.
    faulty.faults.cancel_transaction(items=1, when=table_is("deliveries"))
    faulty.pump_until_quiet()
    [cancelled] = faulty.faults.refused("dynamodb", "TransactWriteItems")
    assert cancelled.code == "TransactionCanceledException"
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert (len(sent_emails()), len(sent_sms())) == (4, 4)
    retried = [b for b in faulty.batches if b.queue == "send" and b.failed]
    assert len(retried) == 1, "the message with the refused claim is retried, and only it"


def test_reads_throttled_and_lost_log_races_are_absorbed(faulty: Faulty) -> None:
    """BatchGetItem of the batch's subscribers refused twice (its messages come back), and two
    appends to the log losing their race: the transaction of the entry and its head cancelled on the
    entry's condition (the log re-reads and chains on)."""
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faulty.route_all()
    faulty.faults.fail("dynamodb", "BatchGetItem", "ProvisionedThroughputExceededException", times=2)
    faulty.faults.cancel_transaction(times=2, when=table_is("ack-log"))
    faulty.pump_until_quiet()
    assert Counter(i.operation for i in faulty.faults.injected) == {
        "BatchGetItem": 2,
        "TransactWriteItems": 2,
    }
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert (len(sent_emails()), len(sent_sms())) == (4, 4)


def test_a_throttled_batch_read_costs_only_the_messages_of_its_batch(
    faulty: Faulty, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An invocation's messages are taken in batches of whole messages, each with one read of its
    subscribers before its claim. Batches of two deliveries here, so the six messages of one
    invocation make several: the first batch's read is refused, and only its messages come back,
    nothing of theirs claimed; the others are sent at once."""
    monkeypatch.setattr(delivery_service, "DELIVERIES_PER_CLAIM", 2)
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faulty.route_all()
    faulty.faults.fail(
        "dynamodb", "BatchGetItem", "ProvisionedThroughputExceededException", when=table_is("subscribers")
    )
    faulty.pump_until_quiet()
    assert len(faulty.faults.refused("dynamodb", "BatchGetItem")) == 1
    first = next(b for b in faulty.batches if b.queue == "send")
    assert first.failed is not None
    assert 1 <= len(first.failed) <= 2 < len(first.message_ids)
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert (len(sent_emails()), len(sent_sms())) == (4, 4)


def test_a_claim_partly_refused_sends_the_rest_once_and_keeps_each_attempt_count(faulty: Faulty) -> None:
    """A message carries its rows as planned. Its first email fails once (SES throttled) and the
    notice is routed a second time, so the retried message and the new ones carry deliveries
    already sent beside the one that failed: the claim's transaction is refused on the sent ones
    (handed back as stored, and left alone) and on the failed one, whose stored attempts differ; that
    one is claimed again as stored and sent, its second attempt. Nobody gets anything twice."""
    faulty.cast()
    accepted = faulty.post_events(1)
    faulty.route_all()
    faulty.faults.fail("sesv2", "SendEmail", "TooManyRequestsException", times=1)
    faulty.poll(faulty.send)
    [failed] = [
        d for d in faulty.deps.deliveries.for_notice(accepted[0]) if d.status is DeliveryStatus.FAILED
    ]
    assert failed.attempts == 1
    faulty.base.sqs.send_message(
        QueueUrl=faulty.base.route.url, MessageBody=json.dumps({"notice_id": accepted[0]})
    )
    faulty.pump_until_quiet()
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert (len(sent_emails()), len(sent_sms())) == (2, 2)
    [again] = faulty.deps.deliveries.get_many(accepted[0], [failed.delivery_id])
    assert (again.status, again.attempts) == (DeliveryStatus.SENT, 2)


def test_refused_record_of_sent_deliveries_resends_them_once_after_the_lease(faulty: Faulty) -> None:
    """BatchWriteItem is the deliver step's record of outcomes, made after the provider accepted
    them. Refused, it leaves them claimed: they are claimable again once the lease lapses, and the
    redelivered message sends them a second time; the same window as a crash, never more."""
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faulty.route_all()
    faulty.faults.fail(
        "dynamodb", "BatchWriteItem", "ProvisionedThroughputExceededException", when=table_is("deliveries")
    )
    faulty.pump_until_quiet()
    unrecorded = refused_deliveries(faulty.faults.refused("dynamodb", "BatchWriteItem"))
    assert unrecorded
    assert_nothing_lost_nothing_doubled(faulty, accepted, at_least_once=unrecorded)


def test_reply_codes_of_a_message_throttled_once_are_issued_on_the_retry(faulty: Faulty) -> None:
    """The texts of a message carry reply codes stored together (one TransactWriteItems) before any
    is sent. The first message's codes are refused: its texts wait for the retry, and go out once."""
    faulty.cast()
    accepted = faulty.post_events(1)
    faulty.route_all()
    faulty.faults.fail(
        "dynamodb", "TransactWriteItems", "ThrottlingException", times=1, when=table_is("ack-codes")
    )
    faulty.pump_until_quiet()
    assert len(faulty.faults.injected) == 1
    assert_nothing_lost_nothing_doubled(faulty, accepted)


def test_ack_log_throttled_after_the_outcomes_are_recorded(faulty: Faulty) -> None:
    """The 'delivered' entry is appended after the outcomes are recorded; its Query is refused."""
    faulty.cast()
    accepted = faulty.post_events(1)
    faulty.route_all()
    faulty.faults.fail("dynamodb", "Query", "ThrottlingException", when=table_is("ack-log"))
    faulty.pump_until_quiet()
    assert len(faulty.faults.injected) == 1
    assert_nothing_lost_nothing_doubled(faulty, accepted)


def test_store_outage_during_ingest_is_a_503_and_the_retry_is_accepted_once(faulty: Faulty) -> None:
    faulty.cast()
    faulty.faults.fail("dynamodb", "TransactWriteItems", "InternalServerError", when=table_is("ack-log"))
    body = rollout_body()
    status, answer = faulty.base.post("/events", body, faulty.base.source)
    assert status == 503, answer
    status, answer = faulty.base.post("/events", body, faulty.base.source)
    assert status == 202, answer
    faulty.pump_until_quiet()
    assert_nothing_lost_nothing_doubled(faulty, [answer["notice_id"]])
    assert (len(sent_emails()), len(sent_sms())) == (2, 2)


# ------------------------------------------------------------------ SES and SNS


def test_ses_throttling_of_the_first_three_sends(faulty: Faulty) -> None:
    faulty.cast()
    accepted = faulty.post_events()
    faulty.faults.fail("sesv2", "SendEmail", "TooManyRequestsException", times=3)
    faulty.pump_until_quiet()
    assert len(faulty.faults.refused("sesv2", "SendEmail")) == 3
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert not_sent(faulty, accepted) == []
    assert len(sent_emails()) == 4


def test_sns_internal_error_on_publish(faulty: Faulty) -> None:
    faulty.cast()
    accepted = faulty.post_events()
    faulty.faults.fail("sns", "Publish", "InternalError", times=3)
    faulty.pump_until_quiet()
    assert len(faulty.faults.refused("sns", "Publish")) == 3
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert not_sent(faulty, accepted) == []
    assert len(sent_sms()) == 4


def test_provider_throttling_and_unavailability_are_retried_not_dead_lettered(faulty: Faulty) -> None:
    """SNS's throttling code is ``Throttled`` (429, botocore's model of Publish), and AWS's common
    503 is ``ServiceUnavailable``: neither is the message's fault, so both are retried like SES's
    TooManyRequestsException, not handed to the dead-letter queue as permanent."""
    faulty.cast()
    accepted = faulty.post_events(1)
    faulty.faults.fail("sns", "Publish", "Throttled")
    faulty.faults.fail("sns", "Publish", "ServiceUnavailable")
    faulty.faults.fail("sesv2", "SendEmail", "ServiceUnavailable")
    faulty.pump_until_quiet()
    assert len(faulty.faults.injected) == 3
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert not_sent(faulty, accepted) == []
    assert (len(sent_emails()), len(sent_sms())) == (2, 2)


def test_connection_lost_to_ses_on_the_second_email_of_a_message(faulty: Faulty) -> None:
    """Not every failure is a ClientError: botocore raises its own when it cannot reach AWS."""
    faulty.cast()
    accepted = faulty.post_events(1)
    faulty.route_all()
    faulty.faults.fail(
        "sesv2",
        "SendEmail",
        "EndpointConnectionError",
        skip=1,
        exception=lambda: EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"),
    )
    faulty.pump_until_quiet()
    assert len(faulty.faults.refused("sesv2", "SendEmail")) == 1
    assert_nothing_lost_nothing_doubled(faulty, accepted)


# ------------------------------------------------------------------ webhooks


def test_webhooks_failing_timing_out_and_hanging(faulty: Faulty) -> None:
    """Four receivers of one notice, so one send message with four webhook deliveries: one answers
    500 for ever, one answers only after the sender's timeout (once), one sends its status line
    and then stalls, one hangs without answering (twice). Only the failing ones are retried, each
    attempt with the same webhook-id; after the webhook schedule's last attempt the delivery that
    never succeeded is dead-lettered."""
    error = faulty.receiver(then=Answer.ERROR)
    late = faulty.receiver([Answer.LATE])
    stall = faulty.receiver([Answer.STALL])
    silent = faulty.receiver([Answer.SILENT, Answer.SILENT])
    faulty.cast(error, late, stall, silent)
    accepted = faulty.post_events(1)
    faulty.pump_until_quiet()
    assert_nothing_lost_nothing_doubled(faulty, accepted)

    by_url = {d.address: d for d in faulty.deps.deliveries.for_notice(accepted[0])}
    outcomes = {
        name: (by_url[r.url].status, by_url[r.url].attempts, len(r.posts))
        for name, r in [("error", error), ("late", late), ("stall", stall), ("silent", silent)]
    }
    assert outcomes == {
        "error": (DeliveryStatus.FAILED, WEBHOOK_ATTEMPTS, WEBHOOK_ATTEMPTS),
        "late": (DeliveryStatus.SENT, 2, 2),
        "stall": (DeliveryStatus.SENT, 1, 1),
        "silent": (DeliveryStatus.SENT, 3, 3),
    }
    assert by_url[error.url].last_error == "webhook: HTTP 500"
    # The late receiver did get the first POST: at-least-once for webhooks, told apart by the id.
    assert [p.answer for p in late.posts] == [Answer.LATE, Answer.OK]
    assert len({p.webhook_id for p in late.posts}) == 1
    [dead] = [json.loads(b) for b in faulty.dead_letters("send-dlq")]
    assert (dead["channel"], dead["delivery_ids"]) == ("webhook", [by_url[error.url].delivery_id])
    assert (len(sent_emails()), len(sent_sms())) == (2, 2)  # not held up by the webhooks


# ------------------------------------------------------------------ the retry schedule


class Holds:
    """The waits the send step asks SQS for (``ChangeMessageVisibility``), recorded and cut to
    nothing: the message is visible again at once, and the test moves the use cases' clock on by
    the wait instead of sleeping through it."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def install(self, session: Any) -> Holds:
        session.events.register(
            "before-parameter-build.sqs.ChangeMessageVisibility", self._hold, unique_id=f"holds-{id(self)}"
        )
        return self

    def _hold(self, params: dict[str, Any], **_: Any) -> None:
        self.asked.append(int(params["VisibilityTimeout"]))
        params["VisibilityTimeout"] = 0


@dataclass
class OnSchedule:
    f: Faulty
    holds: Holds

    def send_until_quiet(self) -> list[int]:
        """Receive the send queue until it is empty; after a receive that held a message back, move
        the clock on by the wait it asked for. Returns those waits, in order."""
        waited: list[int] = []
        for _ in range(MAX_ROUNDS):
            asked_before = len(self.holds.asked)
            if not self.f.poll(self.f.send):
                return waited
            asked = self.holds.asked[asked_before:]
            if asked:
                [wait] = asked  # one message of the batch held back
                waited.append(wait)
                self.f.clock.now += timedelta(seconds=wait)
        pytest.fail(f"the send queue was not empty after {MAX_ROUNDS} receives")


@pytest.fixture
def on_schedule(pipeline: Pipeline, aws: Aws) -> Iterator[OnSchedule]:  # noqa: F811
    """The faulty pipeline with the real retry waits (retry scale 1), asked of SQS and recorded."""
    holds = Holds().install(aws.session)
    faults = FaultInjector(seed=20120217).install(aws.session)
    deps = bootstrap.build(
        replace(pipeline.deps.settings, retry_scale=1.0),
        session=aws.session,
        webhook_sender=HttpWebhookSender(
            timeout_seconds=WEBHOOK_TIMEOUT, allow_private=pipeline.deps.settings.allows_local_webhooks
        ),
    )
    clock = Clock(datetime.now(UTC).replace(microsecond=0))
    bootstrap.use(deps, clock=clock)
    harness = Faulty(
        base=replace(pipeline, deps=deps), faults=faults, clock=clock, dynamodb=aws.client("dynamodb")
    )
    yield OnSchedule(harness, holds)
    for server in harness.receivers:
        server.stop()


def assert_on_schedule(waited: Sequence[int], channel: ChannelType) -> None:
    """Each wait the schedule's step after the attempt it follows, lengthened by at most a fifth."""
    steps = RETRY_SCHEDULES[channel][1 : len(waited) + 1]
    assert len(steps) == len(waited)
    assert all(step <= wait <= 1.2 * step for step, wait in zip(steps, waited, strict=True)), (
        f"waited {waited}, the schedule says {steps}"
    )


def newsroom_hook(f: Faulty) -> Channel:
    [newsroom] = [s for s in f.deps.subscribers.list(limit=50, cursor=None).items if s.name == "Newsroom 0"]
    [hook] = newsroom.channels
    return hook


def test_a_webhook_answering_500_is_retried_on_its_schedule_for_a_day_then_dead_lettered(
    on_schedule: OnSchedule,
) -> None:
    """The receiver answers 500 to everything. The message comes back after each wait of the webhook
    schedule (the clock moved on by each), eight attempts over more than 27 hours, all with the
    same webhook-id; then the delivery is in the dead-letter queue, the endpoint has failed a whole
    schedule and is disabled, and the admins are told. The emails and texts went out at once."""
    f = on_schedule.f
    down = f.receiver(then=Answer.ERROR)
    f.cast(down)
    accepted = f.post_events(1)
    f.route_all()
    started = f.clock.now
    waited = on_schedule.send_until_quiet()

    assert_on_schedule(waited, ChannelType.WEBHOOK)
    assert len(waited) == WEBHOOK_ATTEMPTS - 1
    assert f.clock.now - started >= timedelta(hours=27, minutes=35)
    assert [p.answer for p in down.posts] == [Answer.ERROR] * WEBHOOK_ATTEMPTS
    assert len({p.webhook_id for p in down.posts}) == 1
    [failed] = delivery_keys(f, accepted, ChannelType.WEBHOOK)
    [dead] = [json.loads(b) for b in f.dead_letters("send-dlq")]
    assert (dead["notice_id"], dead["delivery_ids"]) == (failed[0], [failed[1]])
    assert dead["reason"].startswith(f"failed all {WEBHOOK_ATTEMPTS} attempts of the webhook retry schedule")
    hook = newsroom_hook(f)
    assert (hook.state, hook.consecutive_failures, hook.failing_since) == ("disabled", 8, started)
    [alert] = [m for m in sent_emails() if m.destinations["ToAddresses"] == ["ops@vigil.example.gov"]]
    assert "disabled after 8 failed attempts in a row" in alert.subject
    assert (len(sent_emails()) - 1, len(sent_sms())) == (2, 2)
    assert_nothing_lost_nothing_doubled(f, accepted)


def test_a_webhook_that_answers_on_its_fourth_attempt_is_sent_once_and_never_again(
    on_schedule: OnSchedule,
) -> None:
    f = on_schedule.f
    mended = f.receiver([Answer.ERROR, Answer.ERROR, Answer.ERROR], then=Answer.OK)
    f.cast(mended)
    accepted = f.post_events(1)
    f.route_all()
    waited = on_schedule.send_until_quiet()

    assert_on_schedule(waited, ChannelType.WEBHOOK)
    assert len(waited) == 3
    f.clock.now += timedelta(days=2)
    assert on_schedule.send_until_quiet() == []  # nothing comes back after the success
    assert [p.answer for p in mended.posts] == [Answer.ERROR] * 3 + [Answer.OK]
    [sent] = [d for n in accepted for d in f.deps.deliveries.for_notice(n) if d.address == mended.url]
    assert (sent.status, sent.attempts) == (DeliveryStatus.SENT, 4)
    hook = newsroom_hook(f)
    assert (hook.state, hook.consecutive_failures, hook.failing_since) == ("active", 0, None)
    assert f.dead_letters("send-dlq") == []
    assert_nothing_lost_nothing_doubled(f, accepted)


def test_emails_refused_every_time_end_in_the_dead_letter_queue_after_their_shorter_schedule(
    on_schedule: OnSchedule,
) -> None:
    """The send queue would receive the message nine times (enough for webhooks); the emails' own
    schedule ends it after their sixth attempt, within two hours."""
    f = on_schedule.f
    f.cast()
    accepted = f.post_events(1)
    f.route_all()
    f.faults.fail("sesv2", "SendEmail", "TooManyRequestsException", times=None)
    started = f.clock.now
    waited = on_schedule.send_until_quiet()

    assert_on_schedule(waited, ChannelType.EMAIL)
    assert len(waited) == attempts_allowed(ChannelType.EMAIL) - 1
    assert f.clock.now - started < timedelta(hours=2)
    assert len(f.faults.refused("sesv2", "SendEmail")) == 2 * attempts_allowed(ChannelType.EMAIL)
    [dead] = [json.loads(b) for b in f.dead_letters("send-dlq")]
    assert (dead["channel"], sorted(dead["delivery_ids"])) == (
        "email",
        sorted(k[1] for k in delivery_keys(f, accepted, ChannelType.EMAIL)),
    )
    assert dead["reason"].startswith("failed all 6 attempts of the email retry schedule")
    assert not_sent(f, accepted) == [("email", "failed", "ses: TooManyRequestsException")] * 2
    assert len(sent_sms()) == 2
    assert_nothing_lost_nothing_doubled(f, accepted)


# ------------------------------------------------------------------ crashes


def test_lambda_crash_between_the_provider_send_and_the_record(
    faulty: Faulty, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented at-least-once window (docs/decisions.md, "Exactly-once sending, and its
    window"): the provider accepted the message's deliveries, the invocation died before recording
    them. Its batch comes back after the visibility timeout, when their 120 s claims have lapsed, so
    they are claimed and sent a second time; exactly once more, and recorded then."""
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faulty.route_all()
    crash = CrashAfter(calls=0).install(monkeypatch, faulty.deps.deliveries, "record")
    faulty.pump_until_quiet()
    assert faulty.crashes == crash.crashed == 1
    [(outcomes,)] = crash.crashed_args
    window = {key(d) for d in outcomes if d.status is DeliveryStatus.SENT}
    assert window
    assert_nothing_lost_nothing_doubled(faulty, accepted, at_least_once=window)
    sent, _ = provider_messages(faulty)
    times = Counter([s.key for s in sent] + [p.key for r in faulty.receivers for p in r.posts])
    assert {k: times[k] for k in window} == dict.fromkeys(window, 2)


def test_lambda_crash_between_the_claim_and_the_send(faulty: Faulty, monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim took effect (the rows are created, sending, under a lease) and the invocation died
    before sending anything. Its batch comes back; its deliveries are held until the lease lapses,
    then claimed and sent: each exactly once, none lost."""
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    faulty.route_all()
    crash = CrashAfter(calls=0, run_first=True).install(monkeypatch, faulty.deps.deliveries, "claim")
    faulty.pump_until_quiet()
    assert faulty.crashes == crash.crashed == 1
    [(held,)] = crash.crashed_args
    assert held
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    assert (len(sent_emails()), len(sent_sms())) == (4, 4)


# ------------------------------------------------------------------ poison


def test_a_poison_message_fails_alone_and_ends_in_the_dead_letter_queue(faulty: Faulty) -> None:
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events()
    sqs = faulty.base.sqs
    sqs.send_message(QueueUrl=faulty.base.route.url, MessageBody=json.dumps({"notice_id": "ntc_no_such"}))
    faulty.route_all()
    poison = sqs.send_message(QueueUrl=faulty.base.send.url, MessageBody="{not json")["MessageId"]
    faulty.pump_until_quiet()
    assert_nothing_lost_nothing_doubled(faulty, accepted)
    first = next(b for b in faulty.batches if b.queue == "send")
    assert len(first.message_ids) == 7  # three messages per notice, and the poison
    assert first.failed == (poison,)
    assert faulty.dead_letters("send-dlq") == ["{not json"]
    assert faulty.dead_letters("route-dlq") == [json.dumps({"notice_id": "ntc_no_such"})]
    assert (len(sent_emails()), len(sent_sms())) == (4, 4)


# ------------------------------------------------------------------ everything at once


def test_seeded_random_faults_everywhere(faulty: Faulty) -> None:
    """One call in eight refused at random (seeded) on DynamoDB, SES and SNS alike."""
    faulty.cast(faulty.receiver())
    accepted = faulty.post_events(3)
    for service, code in [
        ("dynamodb", "ProvisionedThroughputExceededException"),
        ("sesv2", "TooManyRequestsException"),
        ("sns", "InternalError"),
    ]:
        faulty.faults.fail(service, "*", code, times=None, probability=1 / 8)
    faulty.pump_until_quiet()
    assert len(faulty.faults.injected) >= 5
    unrecorded = refused_deliveries(faulty.faults.refused("dynamodb", "BatchWriteItem"))
    assert_nothing_lost_nothing_doubled(faulty, accepted, at_least_once=unrecorded)


# ------------------------------------------------------------------ the log's end


@dataclass
class Served:
    """The app over HTTP on this machine (the local stack's server), for the ``vigil`` command."""

    url: str
    admin: str

    def verify(self, notice_id: str) -> tuple[int, str]:
        result = CliRunner().invoke(
            cli, ["--url", self.url, "notices", "verify", notice_id], env={"VIGIL_KEY": self.admin}
        )
        return result.exit_code, result.output


@pytest.fixture
def served(faulty: Faulty) -> Iterator[Served]:
    import app  # noqa: PLC0415  # the Chalice app, as the local stack serves it

    gate = StartupGate()
    gate.open()
    server = create_api_server(
        app, host="127.0.0.1", port=0, prefix="", project_dir=".", stage=STAGE, lock=StateLock(), gate=gate
    )
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server.server_address[:2]
    yield Served(f"http://{host}:{port}", faulty.base.admin)
    server.server.shutdown()
    thread.join(timeout=5)
    server.server.server_close()


def log_answer(f: Faulty, notice_id: str) -> dict[str, Any]:
    response = f.base.client.http.get(
        f"/notices/{notice_id}/log", headers={"Authorization": f"Bearer {f.base.admin}"}
    )
    assert response.status_code == 200
    answer: dict[str, Any] = json.loads(response.body)
    return answer


def audit_answer(f: Faulty) -> dict[str, Any]:
    response = f.base.client.http.get("/audit", headers={"Authorization": f"Bearer {f.base.admin}"})
    assert response.status_code == 200
    answer: dict[str, Any] = json.loads(response.body)
    return answer


def write_digest(f: Faulty) -> dict[str, Any]:
    """The digest schedule's function, as EventBridge invokes it."""
    import app  # noqa: PLC0415  # the Lambda function itself

    event = scheduled_event("on_digest_tick", region=REGION, now=f.clock.now)
    answer: dict[str, Any] = app.on_digest_tick(event, LambdaContext("on_digest_tick"))
    return answer


def a_routed_notice(f: Faulty) -> str:
    f.cast(f.receiver())
    [notice_id] = f.post_events(1)
    f.pump_until_quiet()
    return notice_id


def rewrite_from(f: Faulty, stream: str, seq: int, **change: Any) -> list[LogEntry]:
    """Change entry ``seq`` and seal it and every later entry again, each chained to the one before,
    written straight into the table: a tail forged by whoever can write it."""
    entries = f.deps.ack_log.entries(stream)
    forged = entries[:seq]
    for entry in entries[seq:]:
        changed = replace(entry, **(change if entry.seq == seq else {}))
        changed = replace(changed, prev_hash=forged[-1].hash if forged else changed.prev_hash)
        sealed = entry_hash(
            notice_id=changed.notice_id,
            seq=changed.seq,
            kind=changed.kind,
            at=changed.at,
            actor=changed.actor,
            data=changed.data,
            prev_hash=changed.prev_hash,
        )
        forged.append(replace(changed, hash=sealed))
    for entry in forged[seq:]:
        f.dynamodb.put_item(TableName=f"vigil-{STAGE}-ack-log", Item=encode(entry_to_item(entry)))
    return forged


def delete_newest(f: Faulty, stream: str) -> LogEntry:
    newest = f.deps.ack_log.entries(stream)[-1]
    f.dynamodb.delete_item(
        TableName=f"vigil-{STAGE}-ack-log",
        Key={"notice_id": {"S": stream}, "seq": {"N": str(newest.seq)}},
    )
    return newest


def test_the_ordinary_paths_verify_up_to_their_heads_and_the_days_digest(
    faulty: Faulty, served: Served
) -> None:
    notice_id = a_routed_notice(faulty)
    assert write_digest(faulty)["written"] is True
    log = log_answer(faulty, notice_id)
    newest = log["entries"][-1]
    assert (log["verified"], log["reason"]) == (True, None)
    assert log["anchor"] == {"seq": newest["seq"], "hash": newest["hash"]}
    assert log["digest"] == {"date": faulty.clock.now.date().isoformat(), **log["anchor"]}
    trail = audit_answer(faulty)
    newest_audited = trail["total"] - 1
    assert (trail["verified"], trail["anchor"]["seq"], trail["digest"]["seq"]) == (
        True,
        newest_audited,
        newest_audited,
    )
    code, output = served.verify(notice_id)
    assert code == 0, output
    assert output.startswith(f"verified: {len(log['entries'])} entries; head kept on the notice: seq ")
    # A day later the log has grown past its digest, and still verifies.
    faulty.faults.clear()
    faulty.deps.ack_log.append(notice_id, EntryKind.CLOSED, at=faulty.clock.now, actor="system", data={})
    assert log_answer(faulty, notice_id)["verified"] is True


def test_a_deleted_newest_entry_is_caught_through_the_api_and_the_cli(faulty: Faulty, served: Served) -> None:
    notice_id = a_routed_notice(faulty)
    newest = delete_newest(faulty, notice_id)
    log = log_answer(faulty, notice_id)
    assert (log["verified"], log["broken_at"]) == (False, newest.seq)
    assert log["reason"] == (
        f"the head kept outside the log names entry {newest.seq}, but the log ends at entry "
        f"{newest.seq - 1}: its newest entries were removed"
    )
    code, output = served.verify(notice_id)
    assert (code, output) == (1, f"NOT VERIFIED at seq {newest.seq}: {log['reason']}\n")


def test_a_forged_tail_with_recomputed_hashes_is_caught_through_the_api_and_the_cli(
    faulty: Faulty, served: Served
) -> None:
    notice_id = a_routed_notice(faulty)
    forged = rewrite_from(faulty, notice_id, 1, data={"recipients": 0, "coverage_gaps": ["state-executive"]})
    assert verify_anchored(notice_id, forged, anchor=None, digested=None).verified  # the chain alone holds
    log = log_answer(faulty, notice_id)
    assert (log["verified"], log["broken_at"]) == (False, forged[-1].seq)
    assert "rewritten with its hashes recomputed" in log["reason"]
    code, output = served.verify(notice_id)
    assert code == 1
    assert output.startswith(f"NOT VERIFIED at seq {forged[-1].seq}: ")


def test_a_log_rewritten_with_its_head_is_caught_by_the_days_digest(faulty: Faulty, served: Served) -> None:
    """Whoever can write both tables rewrites the log and the head on the notice to match; the
    digest written before, in a bucket nobody can change, still holds the true head."""
    notice_id = a_routed_notice(faulty)
    write_digest(faulty)
    true_head = faulty.deps.ack_log.head(notice_id)
    assert true_head is not None
    forged = rewrite_from(faulty, notice_id, 0, actor="forger")
    faulty.dynamodb.update_item(
        TableName=f"vigil-{STAGE}-notices",
        Key={"notice_id": {"S": notice_id}},
        UpdateExpression="SET log_head = :h",
        ExpressionAttributeValues={
            ":h": {"M": {"seq": {"N": str(true_head.seq)}, "hash": {"S": forged[-1].hash}}}
        },
    )
    log = log_answer(faulty, notice_id)
    assert (log["verified"], log["broken_at"]) == (False, true_head.seq)
    assert log["digest"]["hash"] == true_head.hash != log["anchor"]["hash"]
    assert "the digest of" in log["reason"]
    code, output = served.verify(notice_id)
    assert code == 1
    assert output.startswith(f"NOT VERIFIED at seq {true_head.seq}: entry {true_head.seq} is not the entry")


def test_the_audit_trails_deleted_newest_entry_and_forged_tail_are_caught(faulty: Faulty) -> None:
    faulty.cast()  # two subscribers created: two audited entries
    newest = delete_newest(faulty, AUDIT_STREAM)
    trail = audit_answer(faulty)
    assert (trail["verified"], trail["broken_at"]) == (False, newest.seq)
    assert "its newest entries were removed" in trail["reason"]
    faulty.dynamodb.put_item(TableName=f"vigil-{STAGE}-ack-log", Item=encode(entry_to_item(newest)))
    assert audit_answer(faulty)["verified"] is True
    rewrite_from(faulty, AUDIT_STREAM, 0, actor="someone-else")
    trail = audit_answer(faulty)
    assert (trail["verified"], trail["broken_at"]) == (False, newest.seq)
    assert "rewritten with its hashes recomputed" in trail["reason"]
