"""The pipeline under faults, for the fault scenarios of test_faults.py, test_fault_retry_schedule.py
and test_log_tampering.py: scripted webhook receivers, the ``Faulty`` harness, and the invariants
every scenario ends by checking (``assert_nothing_lost_nothing_doubled``): every accepted event is a
notice; every delivery is sent exactly once, cancelled, or in the send dead-letter queue; nobody got
the same notice and step twice on one address; every notice's log verifies and says what was sent.

``faulty_pipeline`` is the ``pipeline`` of test_handlers.py, rebuilt with a ``FaultInjector`` on the
session before its clients are made; each scenario module declares it as its ``faulty`` fixture
(``faulty = pytest.fixture(name="faulty")(faulty_pipeline)``) beside the ``pipeline`` it builds on.

Time: the deploy sets the queues' visibility timeouts to 0 so retries run at once; the use cases'
clock (``bootstrap.use(..., clock=)``) moves on by the template's real send visibility timeout
(360 s) on every round of the pump, so a redelivered message sees what it would in AWS: the 120 s claims of a
crashed invocation have lapsed by the time its message comes back.
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
from moto.backends import get_backend

from chalicelib import bootstrap
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.domain.acklog import EntryKind, verify_anchored
from chalicelib.domain.deliveries import Delivery, DeliveryStatus, attempts_allowed
from chalicelib.domain.errors import NotFound
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import ChannelType
from chalicelib.domain.tokens import AckTarget, read_ack_token
from tests.builders import rollout_body
from tests.integration.conftest import REGION, STAGE, Aws
from tests.integration.faults import FaultInjector, Injection, SimulatedCrash
from tests.integration.test_handlers import ACCOUNT, Pipeline, sent_emails, sent_sms, subscriber_body
from vigil_local.pump import LambdaHandler, QueueBinding

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


def faulty_pipeline(pipeline: Pipeline, aws: Aws, *, retry_scale: float | None = None) -> Iterator[Faulty]:
    """The ``faulty`` fixture of each scenario module (``pipeline`` is test_handlers.py's fixture);
    ``retry_scale``, when given, replaces the settings' (1: the real retry waits)."""
    # botocore copies a session's handlers into each client it makes: the injector goes on first,
    # then every adapter is built again from the session, as bootstrap.build does in a Lambda.
    faults = FaultInjector(seed=20120217).install(aws.session)
    settings = pipeline.deps.settings
    deps = bootstrap.build(
        settings if retry_scale is None else replace(settings, retry_scale=retry_scale),
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
