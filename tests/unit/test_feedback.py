"""SES bounces and complaints, as SES publishes them to the feedback topic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.domain.policies import Audience, EscalationPolicy, Step
from chalicelib.domain.subscribers import Channel, ChannelType, EventType, Role
from chalicelib.services.feedback import handle_feedback
from tests.builders import NOW, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_escalation import ADMIN, deliver_queued, sweep
from tests.unit.test_pipeline import run, submit

CHANNELS = (Channel(ChannelType.EMAIL, "adviser@example.gov"), Channel(ChannelType.SMS, "+18605550100"))


def notification(
    world: FakeWorld, kind: str, *, step: int = 0, bounce_type: str = "Permanent"
) -> dict[str, Any]:
    email = next(
        d
        for d in world.deliveries.deliveries.values()
        if d.channel_type is ChannelType.EMAIL and d.step == step
    )
    tags = {
        "notice": [email.notice_id],
        "delivery": [email.delivery_id.replace("#", ".")],
        "subscriber": [email.subscriber_id],
        "channel": [email.channel_id],
    }
    body: dict[str, Any] = {"eventType": kind, "mail": {"tags": tags, "messageId": "ses-1"}}
    if kind == "Bounce":
        body["bounce"] = {
            "bounceType": bounce_type,
            "bouncedRecipients": [{"emailAddress": "adviser@example.gov"}],
        }
    return body


def feed(world: FakeWorld, body: dict[str, Any]) -> str:
    return handle_feedback(
        body,
        notices=world.notices,
        deliveries=world.deliveries,
        subscribers=world.subscribers,
        send_queue=world.send_queue,
        senders=world.deps().senders,
        admins=[ADMIN],
        ack_log=world.ack_log,
        now=NOW + timedelta(minutes=6),
    )


@pytest.fixture
def adviser(world: FakeWorld) -> FakeWorld:
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=CHANNELS))
    return world


def channel_state(world: FakeWorld, kind: ChannelType) -> str:
    return next(c.state for c in world.subscribers.get("adviser").channels if c.type is kind)


def test_hard_bounce_stops_the_address_and_tells_the_admins(adviser: FakeWorld) -> None:
    submit(adviser, rollout_body())
    run(adviser)
    assert feed(adviser, notification(adviser, "Bounce")) == "bounced"
    assert channel_state(adviser, ChannelType.EMAIL) == "bounced"
    bounced = next(d for d in adviser.deliveries.deliveries.values() if d.channel_type is ChannelType.EMAIL)
    assert bounced.status is DeliveryStatus.BOUNCED
    alert = adviser.email.sent[-1]
    assert alert.to == ADMIN.address
    assert "can no longer be reached by email" in alert.subject
    assert "Notices now reach them by: sms" in alert.text


def test_a_bounced_step_goes_out_on_the_required_recipients_other_channels(adviser: FakeWorld) -> None:
    adviser.policies.put(
        EscalationPolicy(
            EventType.ROLLOUT,
            (Role.STATE_EXECUTIVE,),
            (
                Step(Audience.RECIPIENTS, after=timedelta(0)),
                Step(Audience.UNACKNOWLEDGED, after=timedelta(minutes=5), channels=(ChannelType.EMAIL,)),
            ),
        )
    )
    submit(adviser, rollout_body())
    run(adviser)
    sweep(adviser, NOW + timedelta(minutes=5))
    deliver_queued(adviser, NOW + timedelta(minutes=5))
    texts_before = len(adviser.sms.sent)
    feed(adviser, notification(adviser, "Bounce", step=1))
    deliver_queued(adviser, NOW + timedelta(minutes=7))
    assert len(adviser.sms.sent) == texts_before + 1  # step 1, which went by email only, now by text


def test_complaint_is_an_opt_out(adviser: FakeWorld) -> None:
    submit(adviser, rollout_body())
    run(adviser)
    assert feed(adviser, notification(adviser, "Complaint")) == "complained"
    assert channel_state(adviser, ChannelType.EMAIL) == "opted-out"


def test_transient_bounce_is_left_to_ses(adviser: FakeWorld) -> None:
    submit(adviser, rollout_body())
    run(adviser)
    assert feed(adviser, notification(adviser, "Bounce", bounce_type="Transient")) == "ignored"
    assert channel_state(adviser, ChannelType.EMAIL) == "active"


def test_untagged_mail_is_ignored(adviser: FakeWorld) -> None:
    assert feed(adviser, {"eventType": "Bounce", "mail": {"tags": {}}}) == "ignored"
    assert feed(adviser, {}) == "ignored"
