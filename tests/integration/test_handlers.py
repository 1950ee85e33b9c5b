"""The Lambda handlers against moto, resources from infra/: API, route and send queues, SES, SNS, HTTP."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client
from moto.backends import get_backend

import app
from chalicelib import bootstrap
from chalicelib.bootstrap import Deps, build
from chalicelib.config import Settings
from chalicelib.domain import deliveries as deliveries_module
from chalicelib.domain.acklog import EntryKind, verify_chain
from chalicelib.domain.acknowledgments import AckVia
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import ChannelType, EventType
from chalicelib.domain.tokens import AckTarget, read_ack_token
from chalicelib.services.acknowledgment import acknowledge
from tests.builders import NOW, detainer_body, rollout_body
from tests.integration.conftest import REGION, STAGE, Aws
from vigil_local.pump import QueueBinding, QueuePump, sqs_event
from vigil_local.receiver import WebhookReceiver
from vigil_local.ses import received_notification
from vigil_local.ses import sns_event as ses_sns_event
from vigil_local.stack import deploy_template

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

pytestmark = pytest.mark.integration
ACCOUNT = "123456789012"


@dataclass
class Pipeline:
    deps: Deps
    sqs: SQSClient
    pump: QueuePump
    route: QueueBinding
    send: QueueBinding
    client: Client
    admin: str
    source: str

    def post(self, path: str, body: Any, key: str) -> tuple[int, Any]:
        response = self.client.http.post(
            path,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            body=json.dumps(body),
        )
        answer = json.loads(response.body)
        if path == "/subscribers" and response.status_code == 201:
            self.confirm(answer)
        return response.status_code, answer

    def confirm(self, subscriber: dict[str, Any]) -> None:
        """Confirm each new email and phone as their owners would: the emailed link, the texted code."""
        for channel in subscriber["channels"]:
            if channel["type"] == "email":
                [link] = [
                    m.body.split("/verify/")[1].split("'")[0]
                    for m in get_backend("ses")[ACCOUNT][REGION].sent_messages
                    if m.destinations["ToAddresses"] == [channel["address"]] and "/verify/" in m.body
                ]
                page = self.client.http.post(
                    f"/verify/{link}", headers={"Content-Type": "application/x-www-form-urlencoded"}, body=""
                )
                assert page.status_code == 200
            elif channel["type"] == "sms":
                [code] = [
                    body.split("reply ")[1].split()[0]
                    for phone, body, *_ in get_backend("sns")[ACCOUNT][REGION].sms_messages.values()
                    if phone == channel["phone"] and "to confirm this number" in body
                ]
                app.on_sms_inbound(
                    sns_event({"originationNumber": channel["phone"], "messageBody": code}), None
                )

    def drain(self, rounds: int = 20) -> None:
        """Pump both queues as Lambda's event source mappings would, until nothing is left."""
        for _ in range(rounds):
            if not (self.pump.poll_once(self.route) + self.pump.poll_once(self.send)):
                return

    def depth(self, queue: str) -> int:
        url = self.sqs.get_queue_url(QueueName=f"vigil-{STAGE}-{queue}")["QueueUrl"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )


def binding(sqs: SQSClient, name: str, handler: Any) -> QueueBinding:
    queue = f"vigil-{STAGE}-{name}"
    return QueueBinding(
        name=queue,
        url=sqs.get_queue_url(QueueName=queue)["QueueUrl"],
        arn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
        handler=handler,
        function_name=name,
    )


@pytest.fixture
def pipeline(aws: Aws) -> Iterator[Pipeline]:
    # Visibility 0: a message reported as failed is visible again at once, so retries run in the test.
    outputs = deploy_template(
        aws.client("cloudformation"),
        stage=STAGE,
        parameters={"SendVisibilityTimeout": "0", "RouteVisibilityTimeout": "0"},
        s3=aws.client("s3"),
    )
    # Retry delays scaled to nothing, so a retried message is visible again at once.
    settings = Settings.from_env(
        {
            "VIGIL_STAGE": STAGE,
            "VIGIL_RETRY_SCALE": "0",
            "VIGIL_INBOUND_MAIL_BUCKET": outputs["InboundMailBucketName"],
            "VIGIL_DIGEST_BUCKET": outputs["LogDigestBucketName"],
            "VIGIL_ADMIN_EMAILS": "ops@vigil.example.gov",
        }
    )
    aws.client("sesv2").create_email_identity(EmailIdentity=settings.sender_email)
    deps = build(settings, session=aws.session)
    bootstrap.use(deps)
    admin, admin_plain = new_key(name="admin", role=ApiRole.ADMIN, now=NOW)
    source, source_plain = new_key(name="source", role=ApiRole.SOURCE, now=NOW)
    deps.keys.add(admin)
    deps.keys.add(source)
    sqs: SQSClient = aws.client("sqs")
    with Client(app.app) as client:
        yield Pipeline(
            deps=deps,
            sqs=sqs,
            pump=QueuePump(sqs, [], region=REGION),
            route=binding(sqs, "route", app.on_route_message),
            send=binding(sqs, "send", app.on_send_message),
            client=client,
            admin=admin_plain,
            source=source_plain,
        )
    bootstrap.use(None)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def sns_event(message: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda builds for an SNS notification."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventSubscriptionArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:vigil-{STAGE}-sms-inbound:1",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "m-1",
                    "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:vigil-{STAGE}-sms-inbound",
                    "Subject": None,
                    "Message": json.dumps(message),
                    "Timestamp": "2026-11-27T12:00:00.000Z",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def sent_emails() -> list[Any]:
    """Notices sent by email (confirmations of new addresses left out)."""
    return [m for m in get_backend("ses")[ACCOUNT][REGION].sent_messages if "/verify/" not in m.body]


def sent_sms() -> list[Any]:
    """Notices sent by text (confirmation codes and replies left out)."""
    return [
        m
        for m in get_backend("sns")[ACCOUNT][REGION].sms_messages.values()
        if "to confirm this number" not in m[1] and not m[1].startswith("Vigil: this number is confirmed")
    ]


def subscriber_body(
    name: str, role: str, jurisdiction: str, channels: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "channels": channels,
        "subscriptions": [{"jurisdiction": jurisdiction, "event_types": ["rollout", "detainer"]}],
    }


def test_event_flows_to_email_sms_and_a_signed_webhook(pipeline: Pipeline, receiver: WebhookReceiver) -> None:
    status, adviser = pipeline.post(
        "/subscribers",
        subscriber_body(
            "Adviser",
            "state-executive",
            "statewide",
            [
                {"type": "email", "address": "adviser@example.gov"},
                {"type": "sms", "phone": "+18605550100"},
                {"type": "webhook", "url": f"{receiver.url}/hooks/adviser"},
            ],
        ),
        pipeline.admin,
    )
    assert status == 201
    hook = next(c for c in adviser["channels"] if c["type"] == "webhook")
    receiver.register("/hooks/adviser", hook["secret"])

    status, accepted = pipeline.post("/events", rollout_body(jurisdiction="New Haven"), pipeline.source)
    assert status == 202
    assert accepted["recipients"] == 1
    pipeline.drain()

    emails = sent_emails()
    assert [m.destinations["ToAddresses"] for m in emails] == [["adviser@example.gov"]]
    assert "/ack/" in emails[0].body
    assert [m[0] for m in sent_sms()] == ["+18605550100"]
    received = receiver.received()
    assert [(r.path, r.verified, r.status) for r in received] == [("/hooks/adviser", True, 204)]
    assert json.loads(received[0].body)["data"]["notice_id"] == accepted["notice_id"]
    deliveries = pipeline.deps.deliveries.for_notice(accepted["notice_id"])
    assert sorted((str(d.channel_type), str(d.status)) for d in deliveries) == [
        ("email", "sent"),
        ("sms", "sent"),
        ("webhook", "sent"),
    ]
    assert pipeline.depth("route") == 0
    assert pipeline.depth("send") == 0


def test_redelivered_send_message_sends_nothing_twice(pipeline: Pipeline) -> None:
    pipeline.post(
        "/subscribers",
        subscriber_body(
            "Mayor", "local-official", "New Haven", [{"type": "email", "address": "mayor@example.gov"}]
        ),
        pipeline.admin,
    )
    pipeline.post("/events", rollout_body(jurisdiction="New Haven"), pipeline.source)
    pipeline.pump.poll_once(pipeline.route)
    received = pipeline.sqs.receive_message(QueueUrl=pipeline.send.url, MaxNumberOfMessages=10)["Messages"]
    event = sqs_event(received, arn=pipeline.send.arn, region=REGION)
    assert app.on_send_message(event, None) == {"batchItemFailures": []}
    assert app.on_send_message(event, None) == {"batchItemFailures": []}  # SQS delivered it again
    assert len(sent_emails()) == 1


def test_poison_message_fails_alone_and_the_rest_of_the_batch_is_sent(pipeline: Pipeline) -> None:
    pipeline.post(
        "/subscribers",
        subscriber_body(
            "Mayor", "local-official", "New Haven", [{"type": "email", "address": "mayor@example.gov"}]
        ),
        pipeline.admin,
    )
    pipeline.post("/events", rollout_body(jurisdiction="New Haven"), pipeline.source)
    pipeline.pump.poll_once(pipeline.route)
    pipeline.sqs.send_message(QueueUrl=pipeline.send.url, MessageBody="{not json")
    received = pipeline.sqs.receive_message(QueueUrl=pipeline.send.url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 2
    poison = next(m["MessageId"] for m in received if m["Body"] == "{not json")
    answer = app.on_send_message(sqs_event(received, arn=pipeline.send.arn, region=REGION), None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert len(sent_emails()) == 1


def test_one_send_invocation_reads_its_notice_once_and_stores_its_reply_codes_at_once(
    pipeline: Pipeline, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three texts in messages of two (so two messages of one notice in one invocation): one GetItem
    of the notice, one TransactWriteItems of reply codes for the invocation's texts, no PutItem per
    text; and each text's code acknowledges its own delivery."""
    phones = ["+18605550101", "+18605550102", "+18605550103"]
    for n, phone in enumerate(phones):
        status, _ = pipeline.post(
            "/subscribers",
            subscriber_body(
                f"Official {n}", "state-executive", "statewide", [{"type": "sms", "phone": phone}]
            ),
            pipeline.admin,
        )
        assert status == 201
    monkeypatch.setattr(deliveries_module, "DELIVERIES_PER_MESSAGE", 2)
    calls: Counter[tuple[str, str]] = Counter()

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        tables = [str(params.get("TableName", ""))] + [
            str(op.get("TableName", "")) for item in params.get("TransactItems", []) for op in item.values()
        ]
        calls[(model.name, next((t for t in tables if t), "-").removeprefix(f"vigil-{STAGE}-"))] += 1

    aws.session.events.register("before-parameter-build.dynamodb", count, unique_id="count-dynamodb")
    bootstrap.use(build(pipeline.deps.settings, session=aws.session))
    status, accepted = pipeline.post("/events", rollout_body(), pipeline.source)
    assert status == 202
    pipeline.pump.poll_once(pipeline.route)
    received = pipeline.sqs.receive_message(QueueUrl=pipeline.send.url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 2
    calls.clear()

    assert app.on_send_message(sqs_event(received, arn=pipeline.send.arn, region=REGION), None) == {
        "batchItemFailures": []
    }

    assert calls[("GetItem", "notices")] == 1
    assert calls[("TransactWriteItems", "ack-codes")] == 1
    assert calls[("PutItem", "ack-codes")] == 0
    texts = {phone: body for phone, body, *_ in sent_sms()}
    assert sorted(texts) == phones
    deliveries = {d.address: d for d in pipeline.deps.deliveries.for_notice(accepted["notice_id"])}
    for phone, body in texts.items():
        [code] = [word for word in body.replace(".", " ").split() if word.isdigit() and len(word) == 6]
        assert pipeline.deps.codes.lookup(phone, code) == AckTarget(
            accepted["notice_id"], deliveries[phone].delivery_id
        )


class FailingEndpoint(BaseHTTPRequestHandler):
    status = 500
    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
        return


def test_delivery_that_keeps_failing_ends_in_the_dead_letter_queue(pipeline: Pipeline) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FailingEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        pipeline.post(
            "/subscribers",
            subscriber_body("Newsroom", "media", "statewide", [{"type": "webhook", "url": url}]),
            pipeline.admin,
        )
        _, accepted = pipeline.post("/events", rollout_body(), pipeline.source)
        pipeline.drain(rounds=10)
    finally:
        server.shutdown()
        server.server_close()
    assert pipeline.depth("send") == 0
    assert pipeline.depth("send-dlq") == 1
    [failed] = pipeline.deps.deliveries.for_notice(accepted["notice_id"])
    assert str(failed.status) == "failed"
    assert failed.attempts == deliveries_module.attempts_allowed(ChannelType.WEBHOOK)
    assert failed.last_error == "webhook: HTTP 500"


def ack_links() -> dict[str, str]:
    """The acknowledgment path in the latest email to each address."""
    links = {}
    for message in sent_emails():
        body = message.body
        links[message.destinations["ToAddresses"][0]] = "/ack/" + body.split("/ack/")[1].split("'")[0]
    return links


def test_link_acknowledges_in_dynamodb_and_the_log_verifies(pipeline: Pipeline) -> None:
    pipeline.post(
        "/subscribers",
        subscriber_body(
            "Adviser", "state-executive", "statewide", [{"type": "email", "address": "adviser@example.gov"}]
        ),
        pipeline.admin,
    )
    _, accepted = pipeline.post("/events", rollout_body(), pipeline.source)
    pipeline.drain()
    path = ack_links()["adviser@example.gov"]
    page = pipeline.client.http.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert pipeline.deps.deliveries.acknowledgments(accepted["notice_id"]) == []
    response = pipeline.client.http.post(
        path, headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}, body=""
    )
    assert response.status_code == 200
    notice = pipeline.deps.notices.get(accepted["notice_id"])
    assert str(notice.status) == "acknowledged"
    log = pipeline.client.http.get(
        f"/notices/{accepted['notice_id']}/log", headers={"Authorization": f"Bearer {pipeline.admin}"}
    )
    body = json.loads(log.body)
    assert body["verified"] is True
    assert [e["kind"] for e in body["entries"]] == ["created", "routed", "delivered", "acknowledged"]


def test_sweep_sends_the_next_step_once_and_records_it(pipeline: Pipeline) -> None:
    pipeline.client.http.put(
        "/policies/rollout",
        headers={"Authorization": f"Bearer {pipeline.admin}", "Content-Type": "application/json"},
        body=json.dumps(
            {
                "required_roles": ["state-executive"],
                "steps": [
                    {"after": "PT0S", "notify": "recipients"},
                    {"after": "PT0S", "notify": "unacknowledged"},
                ],
            }
        ),
    )
    pipeline.post(
        "/subscribers",
        subscriber_body(
            "Adviser", "state-executive", "statewide", [{"type": "email", "address": "adviser@example.gov"}]
        ),
        pipeline.admin,
    )
    _, accepted = pipeline.post("/events", rollout_body(), pipeline.source)
    pipeline.drain()
    first = pipeline.post("/admin/sweep", {}, pipeline.admin)
    second = pipeline.post("/admin/sweep", {}, pipeline.admin)
    pipeline.drain()
    assert first[1]["escalated"] == [
        {"notice_id": accepted["notice_id"], "step": 1, "notify": "unacknowledged", "recipients": 1}
    ]
    assert second[1]["escalated"] == []
    assert len(sent_emails()) == 2  # the first fan-out and the one re-send
    entries = pipeline.deps.ack_log.entries(accepted["notice_id"])
    assert [str(e.kind) for e in entries].count("escalated") == 1


def test_concurrent_acknowledgments_are_each_recorded_once_and_the_notice_closes_once(
    pipeline: Pipeline,
) -> None:
    # moto checks a write's condition (a transaction's too) and then writes, unlocked, so two
    # threads can both pass; DynamoDB's conditional writes are atomic. Make moto's so too, leaving
    # the races between reads and writes (the ones this test is about) open.
    client: Any = pipeline.deps.ack_log._client  # type: ignore[attr-defined]  # the shared DynamoDB client
    atomic = threading.Lock()
    for operation in ("put_item", "update_item", "transact_write_items"):
        original = getattr(client, operation)

        def locked(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with atomic:
                return _original(*args, **kwargs)

        setattr(client, operation, locked)
    pipeline.client.http.put(
        "/policies/rollout",
        headers={"Authorization": f"Bearer {pipeline.admin}", "Content-Type": "application/json"},
        body=json.dumps(
            {
                "required_roles": ["state-executive", "local-official"],
                "steps": [{"after": "PT0S", "notify": "recipients"}],
            }
        ),
    )
    for name, role in [
        ("adviser", "state-executive"),
        ("mayor", "local-official"),
        ("chief", "law-enforcement"),
    ]:
        pipeline.post(
            "/subscribers",
            subscriber_body(name, role, "statewide", [{"type": "email", "address": f"{name}@example.gov"}]),
            pipeline.admin,
        )
    _, accepted = pipeline.post("/events", rollout_body(), pipeline.source)
    pipeline.drain()
    targets = [
        read_ack_token(pipeline.deps.signing_keys().accepted, p.removeprefix("/ack/"))
        for p in ack_links().values()
    ]
    outcomes: list[str] = []

    def click(target: AckTarget) -> None:
        # Each thread stands for its own Lambda container: the race is in DynamoDB, as in production.
        result = acknowledge(
            target,
            via=AckVia.LINK,
            notices=pipeline.deps.notices,
            deliveries=pipeline.deps.deliveries,
            policies=pipeline.deps.policies,
            ack_log=pipeline.deps.ack_log,
            now=datetime.now(UTC),
        )
        outcomes.append(str(result.outcome))

    threads = [threading.Thread(target=click, args=(t,)) for t in targets * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["acknowledged"] * 3 + ["already-acknowledged"] * 6
    notice_id = accepted["notice_id"]
    assert sorted(a.subscriber_id for a in pipeline.deps.deliveries.acknowledgments(notice_id)) == sorted(
        d.subscriber_id for d in pipeline.deps.deliveries.for_notice(notice_id)
    )
    entries = pipeline.deps.ack_log.entries(notice_id)
    acks = [e for e in entries if str(e.kind) == "acknowledged"]
    assert len(acks) == 3
    assert [e.data["notice_acknowledged"] for e in acks].count(True) == 1
    assert str(pipeline.deps.notices.get(notice_id).status) == "acknowledged"
    assert verify_chain(notice_id, entries).verified


class GoneEndpoint(FailingEndpoint):
    status = 410
    posts = 0


def test_delivery_refused_for_good_goes_to_the_dead_letter_queue_without_retries(pipeline: Pipeline) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), GoneEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        pipeline.post(
            "/subscribers",
            subscriber_body("Newsroom", "media", "statewide", [{"type": "webhook", "url": url}]),
            pipeline.admin,
        )
        _, accepted = pipeline.post("/events", rollout_body(), pipeline.source)
        pipeline.drain(rounds=10)
    finally:
        server.shutdown()
        server.server_close()
    assert GoneEndpoint.posts == 1
    assert pipeline.depth("send") == 0
    assert pipeline.depth("send-dlq") == 1
    [failed] = pipeline.deps.deliveries.for_notice(accepted["notice_id"])
    assert (str(failed.status), failed.attempts, failed.last_error) == ("failed", 1, "webhook: HTTP 410")


CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
ALL_PASS = {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS", "spam": "PASS", "virus": "PASS"}


def ses_receives(pipeline: Pipeline, aws: Aws, name: str, verdicts: dict[str, str]) -> None:
    """As SES does: the message into the inbound-mail bucket, then its notification to on_inbound_email."""
    raw = (CORPUS / f"{name}.eml").read_bytes()
    bucket = pipeline.deps.settings.inbound_mail_bucket
    assert bucket is not None
    key = f"inbound/{name}"
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=raw)
    notification = received_notification(raw, bucket=bucket, key=key, verdicts=verdicts, stage=STAGE)
    app.on_inbound_email(ses_sns_event(json.dumps(notification), stage=STAGE), None)


def test_ses_mail_is_routed_once_per_original_and_a_forged_copy_is_held(pipeline: Pipeline, aws: Aws) -> None:
    status, _ = pipeline.post(
        "/subscribers",
        subscriber_body(
            "Adviser", "state-executive", "statewide", [{"type": "email", "address": "adviser@example.gov"}]
        ),
        pipeline.admin,
    )
    assert status == 201
    status, _ = pipeline.post("/inbound/senders", {"sender": "example.gov"}, pipeline.admin)
    assert status == 201

    ses_receives(pipeline, aws, "story-inline-forward", ALL_PASS)
    ses_receives(pipeline, aws, "story-outlook-forward-second-officer", ALL_PASS)
    ses_receives(
        pipeline, aws, "story-forged-ice", {**ALL_PASS, "spf": "FAIL", "dkim": "GRAY", "dmarc": "FAIL"}
    )
    pipeline.drain()

    rollouts = pipeline.deps.notices.recent(EventType.ROLLOUT, limit=10, cursor=None).items
    [routed] = [n for n in rollouts if n.status is NoticeStatus.OPEN]
    assert (routed.jurisdiction_id, routed.low_key, routed.report_count) == ("us-ct", True, 2)
    assert [r["reporter"] for r in routed.reports] == [
        "desk.sergeant@example.gov",
        "patrol.supervisors@example.gov",
    ]
    [alert] = [m for m in sent_emails() if m.destinations["ToAddresses"] == ["adviser@example.gov"]]
    assert alert.subject.startswith("[Vigil] Rollout notice, low-key (only lower-level staff were told")
    held = pipeline.deps.notices.held(limit=10, cursor=None).items
    assert [[r["code"] for r in n.extra["held"]] for n in held] == [["dmarc-failed"]]
    admin_alert = next(m for m in sent_emails() if m.destinations["ToAddresses"] == ["ops@vigil.example.gov"])
    assert "dmarc-failed" in admin_alert.subject
    log = pipeline.deps.ack_log.entries(routed.id)
    assert [e.kind for e in log].count(EntryKind.REPORTED) == 2
    assert verify_chain(routed.id, log).verified


def test_a_detainers_personal_data_is_gone_after_its_period_and_the_rest_stays(pipeline: Pipeline) -> None:
    """On moto, through the handlers: decided, then VIGIL_RETENTION_DAYS (90) later the sweep's
    function removes the subject; the full record shows none, the report counts the same, and the
    log verifies against its head and the day's digest."""
    clock = {"now": datetime(2026, 11, 27, 15, 0, tzinfo=UTC)}
    bootstrap.use(pipeline.deps, clock=lambda: clock["now"])
    headers = {"Authorization": f"Bearer {pipeline.admin}", "Content-Type": "application/json"}

    def get(path: str) -> Any:
        response = pipeline.client.http.get(path, headers=headers)
        assert response.status_code == 200, response.body
        return json.loads(response.body)

    status, accepted = pipeline.post(
        "/events", detainer_body(confidential={"crime_witness": True}), pipeline.source
    )
    assert status == 202, accepted
    notice_id = accepted["notice_id"]
    pipeline.drain()
    status, decided = pipeline.post(
        f"/detainers/{notice_id}/decision",
        {"decision": "honor", "reasons": "A B felony conviction.", "criteria_relied_on": []},
        pipeline.admin,
    )
    assert status == 201, decided
    window = "/reports/detainers?from=2026-11-01&to=2026-12-31"
    report_before = get(window)
    assert get(f"/notices/{notice_id}")["event"]["subject"]["name"] == "Test Person"

    tick = {
        "version": "0",
        "id": "t",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2027-02-25T15:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {},
    }
    clock["now"] += timedelta(days=90)
    answer = app.on_sweep_tick(tick, None)
    assert answer["personal_data_removed"] == 1
    assert app.on_digest_tick(tick, None)["written"] is True

    full = get(f"/notices/{notice_id}")
    shown = json.dumps(full)
    for particular in ("Test Person", "1990-01-01", "A012345678", "crime_witness"):
        assert particular not in shown
    assert full["personal_data"]["removed"] == ["subject", "confidential", "counsel_subscriber_ids"]
    assert full["decision"]["decision"] == "honor"
    assert get(window) == report_before
    log = get(f"/notices/{notice_id}/log")
    assert (log["verified"], log["anchor"]["seq"], log["digest"]["seq"]) == (
        True,
        log["entries"][-1]["seq"],
        log["entries"][-1]["seq"],
    )
    audited = [e for e in get("/audit?limit=100")["items"] if e["actor"] == "retention"]
    assert [(e["data"]["action"], e["data"]["target"]) for e in audited] == [
        ("personal_data.removed", notice_id)
    ]
