"""The Lambda handlers against moto, resources from infra/: API, route and send queues, SES, SNS, HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from chalice.test import Client
from moto.backends import get_backend

import app
from chalicelib import bootstrap
from chalicelib.bootstrap import Deps, build
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.local.pump import QueueBinding, QueuePump, sqs_event
from chalicelib.local.receiver import WebhookReceiver
from chalicelib.local.stack import deploy_template
from tests.builders import NOW, rollout_body
from tests.integration.conftest import REGION, STAGE, Aws

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
        return response.status_code, json.loads(response.body)

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
    deploy_template(
        aws.client("cloudformation"),
        stage=STAGE,
        parameters={"SendVisibilityTimeout": "0", "RouteVisibilityTimeout": "0"},
    )
    settings = Settings.from_env({"VIGIL_STAGE": STAGE})
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


def sent_emails() -> list[Any]:
    return list(get_backend("ses")[ACCOUNT][REGION].sent_messages)


def sent_sms() -> list[Any]:
    return list(get_backend("sns")[ACCOUNT][REGION].sms_messages.values())


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


class FailingEndpoint(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(500)
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
    assert failed.attempts == 5
    assert failed.last_error == "webhook: HTTP 500"
