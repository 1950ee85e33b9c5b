"""Measuring one scenario: its moto account (the rig), its three phases, and its checks."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws
from moto.backends import get_backend

from bench.common import REGION
from bench.counting import AwsCallCounter
from bench.delivery.metering import UnitMeter
from bench.delivery.results import Invocation, Phase, Result
from bench.delivery.scenario import STAGE, Scenario, population, rollout_event
from bench.delivery.webhooks import Receiver, TimedWebhookSender
from bench.moto_account import deploy, load_subscribers
from chalicelib import bootstrap
from chalicelib.adapters.sqs import SqsWorkQueue
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms
from chalicelib.domain.subscribers import EventType
from chalicelib.schemas.events import parse_event
from chalicelib.services import ingest
from vigil_local.outbox import MOTO_ACCOUNT_ID
from vigil_local.pump import LambdaHandler, QueueBinding, QueuePump

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


class InvocationLog:
    """The invocations of one handler, as the pump makes them: what each carried, how long it took."""

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
        {
            "VIGIL_STAGE": STAGE,
            "VIGIL_RETRY_SCALE": "0",
            "VIGIL_ACK_SECRET": "bench-only-link-signing-secret-0123456789",
        }
    )
    deploy(setup, stage=STAGE)
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
        load_subscribers(r.loader, r.settings, people)
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
