"""Fault injection against moto: AWS calls refused, webhooks failing or hanging, a Lambda dying mid-way.

Each scenario runs the real handlers over the stack from infra/ (the ``pipeline`` of
test_handlers.py, rebuilt with a ``FaultInjector`` on the session before its clients are made: the
``faulty`` fixture, from under_faults.py), pumps the queues until they are quiet, and then checks one
set of invariants (``assert_nothing_lost_nothing_doubled``): every accepted event is a notice; every
delivery is sent exactly once, cancelled, or in the send dead-letter queue; nobody got the same
notice and step twice on one address; every notice's log verifies and says what was sent. The
retry schedule under faults is in test_fault_retry_schedule.py; a tampered log's end, in
test_log_tampering.py.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.services import delivery as delivery_service
from tests.builders import rollout_body
from tests.integration.faults import CrashAfter, table_is
from tests.integration.test_handlers import (  # noqa: F401  # pipeline: the fixture ``faulty`` builds on
    pipeline,
    sent_emails,
    sent_sms,
)
from tests.integration.under_faults import (
    WEBHOOK_ATTEMPTS,
    Answer,
    Faulty,
    assert_nothing_lost_nothing_doubled,
    faulty_pipeline,
    key,
    not_sent,
    provider_messages,
    refused_deliveries,
)

pytestmark = pytest.mark.integration

# The pipeline of test_handlers.py, rebuilt on a session with a fault injector (see under_faults.py).
faulty = pytest.fixture(name="faulty")(faulty_pipeline)


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
