"""Every AWS adapter's failures in Vigil's terms.

A store that does not answer (connection refused, timed out, closed), throttles or fails inside
raises StoreUnavailable, which the API answers with a 503; a request the store refuses as malformed
raises StoreRefusedInput, a StoreUnavailable too. Each failure is logged once as
``store.call_failed``, naming the operation and table and never the request's contents. A
condition that did not hold is no failure: each call says what it means (a Conflict, a NotFound,
False), and nothing is logged.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import structlog
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError
from botocore.stub import Stubber
from chalice.app import Response

from chalicelib.adapters.ack_code_store import DynamoAckCodeStore
from chalicelib.adapters.ack_log import DynamoAckLog
from chalicelib.adapters.contact_store import DynamoContactStore
from chalicelib.adapters.delivery_store import DynamoDeliveryStore
from chalicelib.adapters.dynamodb import ConditionFailed, call, transact_conditional
from chalicelib.adapters.facility_store import DynamoFacilityStore
from chalicelib.adapters.key_store import DynamoKeyStore
from chalicelib.adapters.mail_store import S3MailStore
from chalicelib.adapters.notice_store import DynamoNoticeStore
from chalicelib.adapters.policy_store import DynamoPolicyStore
from chalicelib.adapters.rate_limits import DynamoRateLimiter
from chalicelib.adapters.rotation_store import DynamoRotationStore
from chalicelib.adapters.ses import SesEmailSender
from chalicelib.adapters.sns import SnsSmsSender
from chalicelib.adapters.sqs import QueueUnavailable, SqsWorkQueue
from chalicelib.adapters.subscriber_store import DynamoSubscriberStore
from chalicelib.adapters.trusted_sender_store import DynamoTrustedSenderStore
from chalicelib.data import load_registry
from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.acknowledgments import Acknowledgment, AckVia
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.facilities import Facility, FacilityKind
from chalicelib.domain.mail_trust import SenderKind, TrustedSender
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms
from chalicelib.domain.policies import DEFAULT_POLICIES
from chalicelib.domain.routing import plan_deliveries, reach, recipients_for
from chalicelib.domain.subscribers import ChannelRef, EventType, Role, index_entries
from chalicelib.domain.tokens import AckTarget
from chalicelib.entrypoints.http import api_errors
from chalicelib.ports import NoticeExists, SendFailed, StoreRefusedInput, StoreUnavailable
from tests.builders import NOW, subscriber
from tests.integration.conftest import REGION, STAGE, Aws
from tests.integration.faults import FaultInjector
from tests.integration.test_rotation_store import a_rotation
from tests.integration.test_store_contract import a_notice

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

# Personal data the calls carry: none of it may reach an exception's message or a log line.
PHONE = "+18605550100"
EMAIL = "mayor@example.gov"
BUCKET = f"vigil-{STAGE}-inbound-mail"
# Nothing listens on the discard port: every connection is refused at once.
NOWHERE = "http://127.0.0.1:9"
# structlog's event dictionaries, as ``capture_logs`` keeps them.
Logs = list[MutableMapping[str, Any]]


def table(name: str) -> str:
    return f"vigil-{STAGE}-{name}"


@dataclass
class Adapters:
    notices: DynamoNoticeStore
    subscribers: DynamoSubscriberStore
    deliveries: DynamoDeliveryStore
    keys: DynamoKeyStore
    ack_log: DynamoAckLog
    policies: DynamoPolicyStore
    codes: DynamoAckCodeStore
    contacts: DynamoContactStore
    limits: DynamoRateLimiter
    mail: S3MailStore
    queue: SqsWorkQueue
    trusted: DynamoTrustedSenderStore
    facilities: DynamoFacilityStore
    rotations: DynamoRotationStore


def adapters(client: Callable[[str], Any]) -> Adapters:
    dynamodb = client("dynamodb")
    return Adapters(
        notices=DynamoNoticeStore(table("notices"), dynamodb),
        subscribers=DynamoSubscriberStore(
            table("subscribers"), table("subscriptions"), dynamodb, load_registry
        ),
        deliveries=DynamoDeliveryStore(table("deliveries"), dynamodb),
        keys=DynamoKeyStore(table("api-keys"), dynamodb),
        ack_log=DynamoAckLog(
            table("ack-log"), dynamodb, notices_table=table("notices"), attempts=2, sleep=lambda _: None
        ),
        policies=DynamoPolicyStore(table("policies"), dynamodb),
        codes=DynamoAckCodeStore(table("ack-codes"), dynamodb),
        contacts=DynamoContactStore(table("contacts"), dynamodb),
        limits=DynamoRateLimiter(table("rate-limits"), dynamodb),
        mail=S3MailStore(BUCKET, client("s3")),
        queue=SqsWorkQueue(table("send"), client("sqs")),
        trusted=DynamoTrustedSenderStore(table("trusted-senders"), dynamodb),
        facilities=DynamoFacilityStore(table("facilities"), dynamodb),
        rotations=DynamoRotationStore(table("rotations"), dynamodb),
    )


def refusing_client(service: str) -> Any:
    """A client whose every call finds no one listening, and gives up after one attempt."""
    return boto3.session.Session().client(  # type: ignore[call-overload]  # services are named at run time
        service,
        region_name=REGION,
        endpoint_url=NOWHERE,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt and no retry (botocore's "max_attempts" counts only the retries).
        config=Config(connect_timeout=0.2, read_timeout=0.2, retries={"total_max_attempts": 1}),
    )


def planned() -> list[Any]:
    entries = index_entries(subscriber("s1", Role.LOCAL_OFFICIAL, "us-ct"), load_registry())
    return plan_deliveries(a_notice(), recipients_for(entries), step=0, now=NOW)


def a_jail() -> Facility:
    return Facility(
        "us-tx/facility/harris-county-jail", "Harris County Jail", "us-tx/county/harris", FacilityKind.JAIL
    )


def an_ack() -> Acknowledgment:
    return Acknowledgment("ntc_contract", "s1", Role.LOCAL_OFFICIAL, "000#s0#email-1", AckVia.LINK, NOW)


# Every call each store adapter makes to AWS, with the operation and resource it fails in.
STORE_CALLS: dict[str, tuple[Callable[[Adapters], object], str]] = {
    "notices.add": (lambda a: a.notices.add(a_notice()), "PutItem on vigil-test-notices"),
    "notices.get": (lambda a: a.notices.get("ntc_contract"), "GetItem on vigil-test-notices"),
    "notices.save_routing": (
        lambda a: a.notices.save_routing(a_notice(recipients=1)),
        "UpdateItem on vigil-test-notices",
    ),
    "notices.recent": (
        lambda a: a.notices.recent(EventType.ROLLOUT, limit=5, cursor=None),
        "Query on vigil-test-notices",
    ),
    "notices.received_between": (
        lambda a: list(a.notices.received_between(EventType.ROLLOUT, NOW, NOW + timedelta(days=1))),
        "Query on vigil-test-notices",
    ),
    "notices.due": (lambda a: a.notices.due(NOW, limit=5), "Query on vigil-test-notices"),
    "notices.advance_step": (
        lambda a: a.notices.advance_step("ntc_contract", from_step=0, to_step=1, next_step_at=None),
        "UpdateItem on vigil-test-notices",
    ),
    "notices.held": (lambda a: a.notices.held(limit=5, cursor=None), "Query on vigil-test-notices"),
    "notices.add_report": (
        lambda a: a.notices.add_report("ntc_contract", {"id": "c1", "reporter": EMAIL}),
        "UpdateItem on vigil-test-notices",
    ),
    "notices.dismiss_triage": (
        lambda a: a.notices.dismiss_triage("ntc_contract", reason="a newsletter", by="k", at=NOW),
        "GetItem on vigil-test-notices",
    ),
    "trusted.add": (
        lambda a: a.trusted.add(TrustedSender("ice.dhs.gov", SenderKind.DOMAIN, "", "k", NOW)),
        "PutItem on vigil-test-trusted-senders",
    ),
    "trusted.remove": (lambda a: a.trusted.remove("ice.dhs.gov"), "DeleteItem on vigil-test-trusted-senders"),
    "trusted.list": (lambda a: a.trusted.list(), "Scan on vigil-test-trusted-senders"),
    "trusted.find": (
        lambda a: a.trusted.find([EMAIL, "example.gov"]),
        "BatchGetItem on vigil-test-trusted-senders",
    ),
    "facilities.add": (lambda a: a.facilities.add(a_jail()), "PutItem on vigil-test-facilities"),
    "facilities.get": (lambda a: a.facilities.get(a_jail().id), "GetItem on vigil-test-facilities"),
    "facilities.replace": (lambda a: a.facilities.replace(a_jail()), "PutItem on vigil-test-facilities"),
    "facilities.list": (lambda a: a.facilities.list(), "Scan on vigil-test-facilities"),
    "rotations.add": (lambda a: a.rotations.add(a_rotation()), "PutItem on vigil-test-rotations"),
    "rotations.get": (lambda a: a.rotations.get("rot_1"), "GetItem on vigil-test-rotations"),
    "rotations.replace": (lambda a: a.rotations.replace(a_rotation()), "PutItem on vigil-test-rotations"),
    "rotations.remove": (lambda a: a.rotations.remove("rot_1"), "DeleteItem on vigil-test-rotations"),
    "rotations.list": (lambda a: a.rotations.list(), "Scan on vigil-test-rotations"),
    "rotations.at": (lambda a: a.rotations.at(["us-ct"]), "BatchGetItem on vigil-test-rotations"),
    "subscribers.add": (
        lambda a: a.subscribers.add(subscriber("s1", Role.ADVOCATE, "us-ct")),
        "PutItem on vigil-test-subscribers",
    ),
    "subscribers.get_many": (
        lambda a: a.subscribers.get_many(["s1", "s2"]),
        "BatchGetItem on vigil-test-subscribers",
    ),
    "subscribers.list": (
        lambda a: a.subscribers.list(limit=5, cursor=None),
        "Scan on vigil-test-subscribers",
    ),
    "subscribers.delete": (lambda a: a.subscribers.delete("s1"), "GetItem on vigil-test-subscribers"),
    "subscriptions.covering": (
        lambda a: list(a.subscribers.covering(reach(load_registry(), "us-ct", EventType.ROLLOUT))),
        "Query on vigil-test-subscriptions",
    ),
    "deliveries.claim": (
        lambda a: a.deliveries.claim(planned(), now=NOW, lease=timedelta(minutes=2)),
        "TransactWriteItems on vigil-test-deliveries",
    ),
    "deliveries.record": (
        lambda a: a.deliveries.record(planned()),
        "BatchWriteItem on vigil-test-deliveries",
    ),
    "deliveries.get_many": (
        lambda a: a.deliveries.get_many("ntc_contract", ["000#s0#email-1"]),
        "BatchGetItem on vigil-test-deliveries",
    ),
    "deliveries.for_notice": (
        lambda a: a.deliveries.for_notice("ntc_contract"),
        "Query on vigil-test-deliveries",
    ),
    "deliveries.record_ack": (
        lambda a: a.deliveries.record_ack(an_ack()),
        "PutItem on vigil-test-deliveries",
    ),
    "deliveries.acknowledgments": (
        lambda a: a.deliveries.acknowledgments("ntc_contract"),
        "Query on vigil-test-deliveries",
    ),
    "keys.add": (
        lambda a: a.keys.add(new_key(name="k", role=ApiRole.SOURCE, now=NOW)[0]),
        "PutItem on vigil-test-api-keys",
    ),
    "keys.get": (lambda a: a.keys.get("key_1"), "GetItem on vigil-test-api-keys"),
    "keys.list": (lambda a: a.keys.list(), "Scan on vigil-test-api-keys"),
    "keys.revoke": (lambda a: a.keys.revoke("key_1", now=NOW), "UpdateItem on vigil-test-api-keys"),
    "ack_log.append": (
        lambda a: a.ack_log.append("ntc_contract", EntryKind.CREATED, at=NOW, actor="system", data={}),
        "Query on vigil-test-ack-log",
    ),
    "ack_log.entries": (lambda a: a.ack_log.entries("ntc_contract"), "Query on vigil-test-ack-log"),
    "ack_log.head": (lambda a: a.ack_log.head("ntc_contract"), "GetItem on vigil-test-notices"),
    "ack_log.heads": (lambda a: list(a.ack_log.heads()), "Query on vigil-test-ack-log"),
    "policies.get": (lambda a: a.policies.get(EventType.ROLLOUT), "GetItem on vigil-test-policies"),
    "policies.put": (
        lambda a: a.policies.put(DEFAULT_POLICIES[EventType.ROLLOUT]),
        "PutItem on vigil-test-policies",
    ),
    "codes.issue": (
        lambda a: a.codes.issue(PHONE, AckTarget("ntc_contract", "000#s0#sms-1"), now=NOW),
        "TransactWriteItems on vigil-test-ack-codes",
    ),
    "codes.lookup": (lambda a: a.codes.lookup(PHONE, "123456"), "GetItem on vigil-test-ack-codes"),
    "contacts.claim": (
        lambda a: a.contacts.claim(EMAIL, ChannelRef("s1", "email-1")),
        "PutItem on vigil-test-contacts",
    ),
    "contacts.release": (lambda a: a.contacts.release(EMAIL, "s1"), "DeleteItem on vigil-test-contacts"),
    "contacts.owner": (lambda a: a.contacts.owner(EMAIL), "GetItem on vigil-test-contacts"),
    "limits.count": (
        lambda a: a.limits.count(PHONE, window=timedelta(hours=1), now=NOW),
        "GetItem on vigil-test-rate-limits",
    ),
    "limits.add": (
        lambda a: a.limits.add(PHONE, window=timedelta(hours=1), now=NOW),
        "UpdateItem on vigil-test-rate-limits",
    ),
    "mail.put": (lambda a: a.mail.put("inbound/m-1", EMAIL.encode()), f"PutObject on {BUCKET}"),
    "mail.get": (lambda a: a.mail.get("inbound/m-1"), f"GetObject on {BUCKET}"),
    "queue.send_many": (lambda a: a.queue.send_many([{"to": EMAIL}]), "GetQueueUrl on vigil-test-send"),
    "queue.retry_later": (lambda a: a.queue.retry_later("receipt", 30), "GetQueueUrl on vigil-test-send"),
}


@pytest.fixture
def logs() -> Iterator[Logs]:
    """What the test logs, as structlog's event dictionaries."""
    with structlog.testing.capture_logs() as captured:
        yield captured


def failures(logs: Logs) -> Logs:
    return [line for line in logs if line["event"] == "store.call_failed"]


def assert_one_failure_logged(logs: Logs, where: str, error: str) -> None:
    operation, resource = where.split(" on ")
    assert failures(logs) == [
        {
            "event": "store.call_failed",
            "log_level": "warning",
            "operation": operation,
            "resource": resource,
            "error": error,
        }
    ]


def assert_says_nothing_personal(exc: BaseException) -> None:
    for personal in (PHONE, EMAIL, "secure-communities"):
        assert personal not in str(exc)


# ------------------------------------------------------------------ no answer at all


@pytest.fixture(scope="module")
def refusing() -> Adapters:
    return adapters(refusing_client)


@pytest.mark.parametrize("name", STORE_CALLS)
def test_a_store_that_refuses_connections_is_unavailable(name: str, refusing: Adapters, logs: Logs) -> None:
    run, where = STORE_CALLS[name]
    assert_unavailable(lambda: run(refusing), where, "EndpointConnectionError", logs)


def test_a_queue_that_refuses_connections_is_unavailable_as_a_queue(refusing: Adapters) -> None:
    with pytest.raises(QueueUnavailable):
        refusing.queue.send_many([{"n": 1}])


def test_a_store_that_does_not_answer_is_a_503_not_a_500(refusing: Adapters) -> None:
    notices = refusing.notices

    @api_errors
    def view() -> Response:
        return Response(body=notices.get("ntc_contract").title)

    response = view()
    assert response.status_code == 503
    assert json.loads(response.body)["error"] == "unavailable"


# ------------------------------------------------------------------ refused after the SDK's retries

THROTTLED = {
    "dynamodb": "ProvisionedThroughputExceededException",
    "s3": "SlowDown",
    "sqs": "RequestThrottled",
}
# Failures other than throttling, by the error they are logged as: an error code AWS answers with
# (None), or the exception botocore raises when AWS does not answer.
OTHER_FAULTS: dict[str, Callable[[], Exception] | None] = {
    "InternalServerError": None,
    "ReadTimeoutError": lambda: ReadTimeoutError(endpoint_url=NOWHERE),
    "ConnectionClosedError": lambda: ConnectionClosedError(endpoint_url=NOWHERE),
}
# One call per service: the mapping is the same for every call of a service (see the throttling test).
ONE_CALL_EACH = ("notices.get", "mail.get", "queue.send_many")


@pytest.fixture
def faults(aws: Aws) -> FaultInjector:
    """Refuses chosen calls of the clients made from the test's session after it."""
    return FaultInjector().install(aws.session)


def assert_unavailable(run: Callable[[], object], where: str, error: str, logs: Logs) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        run()
    assert str(caught.value) == f"{where}: {error}"
    assert_says_nothing_personal(caught.value)
    assert_one_failure_logged(logs, where, error)


@pytest.mark.parametrize("name", STORE_CALLS)
def test_a_store_that_throttles_past_the_retries_is_unavailable(
    name: str, aws: Aws, faults: FaultInjector, logs: Logs
) -> None:
    for service, code in THROTTLED.items():
        faults.fail(service, "*", code, times=None)
    run, where = STORE_CALLS[name]
    stores = adapters(aws.client)
    service = {"mail": "s3", "queue": "sqs"}.get(name.partition(".")[0], "dynamodb")
    assert_unavailable(lambda: run(stores), where, THROTTLED[service], logs)


@pytest.mark.parametrize("error", OTHER_FAULTS)
@pytest.mark.parametrize("name", ONE_CALL_EACH)
def test_a_store_that_fails_inside_or_stops_answering_is_unavailable(
    name: str, error: str, aws: Aws, faults: FaultInjector, logs: Logs
) -> None:
    for service in THROTTLED:
        faults.fail(service, "*", error, times=None, exception=OTHER_FAULTS[error])
    run, where = STORE_CALLS[name]
    stores = adapters(aws.client)
    assert_unavailable(lambda: run(stores), where, error, logs)


# ------------------------------------------------------------------ answers, not failures


@pytest.fixture
def stored(aws: Aws, stack: dict[str, str]) -> Adapters:
    """The adapters over moto, with one notice, subscriber, key, contact and acknowledgment stored."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    stores = adapters(aws.client)
    stores.notices.add(a_notice())
    stores.subscribers.add(subscriber("s1", Role.ADVOCATE, "us-ct"))
    key, _ = new_key(name="k", role=ApiRole.SOURCE, now=NOW)
    stores.keys.add(key)
    stores.contacts.claim(EMAIL, ChannelRef("s1", "email-1"))
    stores.deliveries.record_ack(an_ack())
    stores.deliveries.record([d.sent(provider_message_id="m-1", now=NOW) for d in planned()])
    return stores


def released_by_another(stores: Adapters) -> ChannelRef | None:
    stores.contacts.release(EMAIL, "s2")
    return stores.contacts.owner(EMAIL)


def claimed_by(subscriber_id: str) -> Callable[[Adapters], object]:
    def claim(stores: Adapters) -> object:
        stores.contacts.claim(EMAIL, ChannelRef(subscriber_id, "email-1"))
        return stores.contacts.owner(EMAIL)

    return claim


# What each conditional call says when its condition does not hold: the exception it raises, or
# what it returns.
CONDITIONS: dict[str, tuple[Callable[[Adapters], object], type[Exception] | object]] = {
    "a notice's id is taken": (lambda s: s.notices.add(a_notice(title="other")), NoticeExists),
    "routing an unknown notice": (lambda s: s.notices.save_routing(a_notice(id="ntc_none")), NotFound),
    "advancing from a step the notice is not at": (
        lambda s: s.notices.advance_step("ntc_contract", from_step=3, to_step=4, next_step_at=None),
        False,
    ),
    "closing a notice not in triage": (
        lambda s: s.notices.close_triage("ntc_contract", routed_as="x", at=NOW),
        False,
    ),
    "a subscriber's id is taken": (
        lambda s: s.subscribers.add(subscriber("s1", Role.ADVOCATE, "us-ct")),
        Conflict,
    ),
    "replacing an unknown subscriber": (
        lambda s: s.subscribers.replace(subscriber("s9", Role.ADVOCATE, "us-ct")),
        NotFound,
    ),
    "a key's id is taken": (lambda s: s.keys.add(s.keys.list()[0]), Conflict),
    "revoking an unknown key": (lambda s: s.keys.revoke("key_none", now=NOW), NotFound),
    "an address another subscriber has": (claimed_by("s2"), Conflict),
    "an address the same subscriber claims again": (claimed_by("s1"), ChannelRef("s1", "email-1")),
    "releasing another subscriber's address": (released_by_another, ChannelRef("s1", "email-1")),
    "a second acknowledgment": (lambda s: s.deliveries.record_ack(an_ack()), False),
    "deliveries already sent": (
        lambda s: len(s.deliveries.claim(planned(), now=NOW, lease=timedelta(minutes=2)).claimed),
        0,
    ),
    "a raw message never stored": (lambda s: s.mail.get("inbound/none"), NotFound),
}


@pytest.mark.parametrize("case", CONDITIONS)
def test_a_condition_that_does_not_hold_means_what_the_call_says(
    case: str, stored: Adapters, logs: Logs
) -> None:
    run, meaning = CONDITIONS[case]
    if isinstance(meaning, type) and issubclass(meaning, Exception):
        with pytest.raises(meaning):
            run(stored)
    else:
        assert run(stored) == meaning
    assert failures(logs) == []


def test_a_condition_that_does_not_hold_hands_back_the_stored_item_when_asked() -> None:
    client = refusing_client("dynamodb")
    stubber = Stubber(client)
    stored = {"notice_id": {"S": "ntc_contract"}}
    stubber.add_client_error(
        "put_item",
        service_error_code="ConditionalCheckFailedException",
        modeled_fields={"Item": stored},
    )
    with stubber, pytest.raises(ConditionFailed) as caught:
        call(client.put_item, TableName="t", Item=stored, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert caught.value.item == stored


def test_a_request_the_store_refuses_as_malformed_is_refused_input_answered_as_unavailable(
    stored: Adapters, logs: Logs
) -> None:
    with pytest.raises(StoreRefusedInput) as caught:
        stored.notices.get("")  # an empty key is not a key DynamoDB accepts
    assert isinstance(caught.value, StoreUnavailable)
    assert_one_failure_logged(logs, "GetItem on vigil-test-notices", "ValidationException")


def test_a_transaction_cancelled_without_reasons_per_item_is_unavailable(
    aws: Aws, faults: FaultInjector, logs: Logs
) -> None:
    faults.fail("dynamodb", "TransactWriteItems", "TransactionCanceledException")
    deliveries = DynamoDeliveryStore(table("deliveries"), aws.client("dynamodb"))
    with pytest.raises(StoreUnavailable):
        deliveries.claim(planned(), now=NOW, lease=timedelta(minutes=2))
    where = "TransactWriteItems on vigil-test-deliveries"
    assert_one_failure_logged(logs, where, "TransactionCanceledException")


@pytest.fixture
def scratch(aws: Aws, faults: FaultInjector) -> DynamoDBClient:
    """A client of a table of its own (keyed by ``k``), made after the fault injector."""
    client: DynamoDBClient = aws.client("dynamodb")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def put(n: int) -> dict[str, Any]:
    return {"Put": {"TableName": "t", "Item": {"k": {"S": str(n)}}}}


def test_a_transaction_cancelled_by_conflicts_is_tried_again(
    scratch: DynamoDBClient, faults: FaultInjector
) -> None:
    faults.cancel_transaction(reason="TransactionConflict", items=1, times=2)
    done = transact_conditional(scratch, [1, 2], put)
    assert done == [1, 2]
    assert len(faults.refused("dynamodb", "TransactWriteItems")) == 2


def test_a_transaction_whose_conditions_fail_leaves_those_items_out(
    scratch: DynamoDBClient, faults: FaultInjector, logs: Logs
) -> None:
    faults.cancel_transaction(reason="ConditionalCheckFailed", items=1)
    done = transact_conditional(scratch, [1, 2], put)
    assert done == [2]
    assert failures(logs) == []


# ------------------------------------------------------------------ senders


SENDS: dict[str, Callable[[], str]] = {
    "ses": lambda: SesEmailSender("alerts@example.gov", refusing_client("sesv2")).send(
        OutgoingEmail(to=EMAIL, subject="s", text="t", html="h")
    ),
    "sns": lambda: SnsSmsSender(refusing_client("sns")).send(OutgoingSms(to=PHONE, body="b")),
}


@pytest.mark.parametrize("provider", SENDS)
def test_a_provider_that_refuses_connections_fails_the_send_retryably(provider: str) -> None:
    with pytest.raises(SendFailed) as caught:
        SENDS[provider]()
    assert (str(caught.value), caught.value.retryable) == (f"{provider}: EndpointConnectionError", True)


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("TooManyRequestsException", 429, True),
        ("InternalFailure", 500, True),
        ("MessageRejected", 400, False),
    ],
)
def test_a_provider_refusal_fails_the_send_retryably_when_trying_again_may_help(
    code: str, status: int, retryable: bool
) -> None:
    client = refusing_client("sesv2")
    stubber = Stubber(client)
    stubber.add_client_error("send_email", service_error_code=code, http_status_code=status)
    with stubber, pytest.raises(SendFailed) as caught:
        SesEmailSender("alerts@example.gov", client).send(
            OutgoingEmail(to=EMAIL, subject="s", text="t", html="h")
        )
    assert (str(caught.value), caught.value.retryable) == (f"ses: {code}", retryable)
