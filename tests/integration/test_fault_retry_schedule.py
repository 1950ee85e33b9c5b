"""The retry schedule under faults, against moto: webhooks and emails refused, retried after the real
waits of their channel's schedule, then dead-lettered; a webhook that recovers is sent once.

The retry-schedule tests keep the real waits (``on_schedule``): each one the send step asks of SQS
is recorded and cut to nothing, and the use cases' clock moves on by it. The pipeline, its webhook
receivers and the invariants are those of under_faults.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.deliveries import RETRY_SCHEDULES, DeliveryStatus, attempts_allowed
from chalicelib.domain.subscribers import Channel, ChannelType
from tests.integration.conftest import Aws
from tests.integration.test_handlers import (  # noqa: F401  # pipeline: the fixture ``on_schedule`` builds on
    Pipeline,
    pipeline,
    sent_emails,
    sent_sms,
)
from tests.integration.under_faults import (
    MAX_ROUNDS,
    WEBHOOK_ATTEMPTS,
    Answer,
    Faulty,
    assert_nothing_lost_nothing_doubled,
    delivery_keys,
    faulty_pipeline,
    not_sent,
)

pytestmark = pytest.mark.integration

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
    holds = Holds().install(aws.session)  # before the pipeline's clients are built from the session
    for harness in faulty_pipeline(pipeline, aws, retry_scale=1.0):
        yield OnSchedule(harness, holds)


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
