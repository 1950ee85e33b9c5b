"""Ingest → route → deliver through the services, with fakes: nothing lost, nothing doubled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.deliveries import DeliveryStatus, SendMessage, carried_deliveries
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.messages import SMS_MAX_CHARS
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import Channel, ChannelType, EventType, Role, Scope
from chalicelib.domain.tokens import AckTarget, read_ack_token
from chalicelib.logs import configure
from chalicelib.ports import StoreUnavailable
from chalicelib.schemas.events import parse_event
from chalicelib.services import delivery, ingest, routing
from chalicelib.services.ingest import Accepted
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld

SOURCE = Caller(key_id="source-key", role=ApiRole.SOURCE)
LEASE = timedelta(minutes=6)
ALL_CHANNELS = (
    Channel(ChannelType.EMAIL, "adviser@example.gov"),
    Channel(ChannelType.SMS, "+18605550100"),
    Channel(
        ChannelType.WEBHOOK, "https://cases.example.org/hooks", secret="whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="
    ),
)


def submit(world: FakeWorld, body: dict[str, Any]) -> Accepted:
    deps = world.deps()
    return ingest.accept(
        parse_event(body, idempotency_header=None, registry=deps.registry),
        caller=SOURCE,
        notices=world.notices,
        index=world.subscribers,
        registry=deps.registry,
        policies=world.policies,
        route_queue=world.route_queue,
        ack_log=world.ack_log,
        now=NOW,
    )


def route_all(world: FakeWorld) -> None:
    for body in world.route_queue.take():
        routing.route(
            body["notice_id"],
            notices=world.notices,
            index=world.subscribers,
            send_queue=world.send_queue,
            registry=world.places.current(),
            policies=world.policies,
            ack_log=world.ack_log,
            rotations=world.rotations,
            subscribers=world.subscribers,
            now=NOW,
        )


def deliver(
    world: FakeWorld, body: dict[str, Any], *, after: timedelta = timedelta(0)
) -> delivery.DeliveryReport:
    """One message as an invocation of its own, its log entries written as the invocation's are."""
    deps = world.deps()
    delivered = delivery.deliver(
        [SendMessage("m-1", body)],
        notices=world.notices,
        deliveries=world.deliveries,
        subscribers=world.subscribers,
        senders=deps.senders,
        codes=world.codes,
        links=deps,
        admins=deps.admins,
        lease=LEASE,
        now=NOW + after,
    )
    assert delivered.unhandled == ()
    report = delivered.reports["m-1"]
    delivery.write_log(report.unlogged, ack_log=world.ack_log, later=world.send_queue)
    return report


def run(world: FakeWorld) -> list[dict[str, Any]]:
    """Route and deliver everything queued; returns the send messages, for redelivery tests."""
    route_all(world)
    messages = world.send_queue.take()
    for body in messages:
        deliver(world, body)
    return messages


@pytest.fixture
def story(world: FakeWorld) -> FakeWorld:
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=ALL_CHANNELS))
    world.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven"))
    world.subscribers.add(
        subscriber(
            "advocates",
            Role.ADVOCATE,
            "us-ct",
            channels=(Channel(ChannelType.EMAIL, "advocates@example.org"), ALL_CHANNELS[2]),
            ack_required=False,
        )
    )
    world.subscribers.add(
        subscriber("reviewers", Role.CORRECTIONS, "us-ct/facility/new-haven-correctional-center")
    )
    return world


def test_accepted_event_reaches_every_recipient_on_every_channel(story: FakeWorld) -> None:
    accepted = submit(story, rollout_body(jurisdiction="New Haven"))
    assert accepted.notice.recipients == 4  # the facility's reviewers too: it lies inside the town
    assert accepted.notice.coverage_gaps == ()
    run(story)
    assert sorted(m.to for m in story.email.sent) == [
        "adviser@example.gov",
        "advocates@example.org",
        "mayor@example.gov",
        "reviewers@example.gov",
    ]
    assert [m.to for m in story.sms.sent] == ["+18605550100"]
    assert len(story.webhooks.sent) == 2
    assert all(d.status is DeliveryStatus.SENT for d in story.deliveries.deliveries.values())
    assert story.notices.get(accepted.notice.id).routed_at == NOW


def test_statewide_rollout_reaches_town_county_and_region_subscribers_once_each(world: FakeWorld) -> None:
    world.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven"))
    world.subscribers.add(subscriber("coordinator", Role.LAW_ENFORCEMENT, "us-ct/county/fairfield"))
    world.subscribers.add(
        subscriber("council", Role.LOCAL_OFFICIAL, "us-ct/region/south-central-connecticut")
    )
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", "us-ct/town/hartford"))
    accepted = submit(world, rollout_body(jurisdiction="statewide"))
    run(world)
    assert accepted.notice.recipients == 4
    assert sorted(m.to for m in world.email.sent) == [
        "adviser@example.gov",
        "coordinator@example.gov",
        "council@example.gov",
        "mayor@example.gov",
    ]


def test_exact_scope_hears_only_its_own_place(world: FakeWorld) -> None:
    world.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven", scope=Scope.EXACT))
    for place in ("statewide", "New Haven County", "New Haven"):
        submit(world, rollout_body(jurisdiction=place, external_id=f"exact-{place}"))
    run(world)
    notices = {n.id: n.jurisdiction_id for n in world.notices.notices.values()}
    reached = [notices[d.notice_id] for d in world.deliveries.deliveries.values()]
    assert reached == ["us-ct/town/new-haven"]


def test_county_rollout_reaches_its_towns_not_the_neighbouring_county(world: FakeWorld) -> None:
    world.subscribers.add(subscriber("new-haven", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven"))
    world.subscribers.add(subscriber("stamford", Role.LOCAL_OFFICIAL, "us-ct/town/stamford"))
    world.subscribers.add(subscriber("fairfield", Role.LAW_ENFORCEMENT, "us-ct/county/fairfield"))
    submit(world, rollout_body(jurisdiction="Fairfield County"))
    run(world)
    assert sorted(m.to for m in world.email.sent) == ["fairfield@example.gov", "stamford@example.gov"]


def test_detainer_does_not_go_down_to_towns(world: FakeWorld) -> None:
    world.subscribers.add(subscriber("commissioner", Role.CORRECTIONS, "us-ct"))
    world.subscribers.add(subscriber("hartford", Role.LEGAL, "us-ct/town/hartford"))
    world.subscribers.add(subscriber("new-haven", Role.LEGAL, "us-ct/town/new-haven"))
    world.subscribers.add(
        subscriber("other-jail", Role.CORRECTIONS, "us-ct/facility/hartford-correctional-center")
    )
    submit(world, detainer_body())  # at the New Haven Correctional Center
    run(world)
    assert sorted(m.to for m in world.email.sent) == ["commissioner@example.gov", "new-haven@example.gov"]


def test_same_key_twice_yields_the_same_notice_and_no_second_round(story: FakeWorld) -> None:
    first = submit(story, rollout_body())
    run(story)
    sent_before = len(story.email.sent)
    second = submit(story, rollout_body())
    run(story)
    assert second.notice.id == first.notice.id
    assert second.duplicate is True
    assert len(story.email.sent) == sent_before


def test_same_key_with_a_different_event_is_a_conflict(story: FakeWorld) -> None:
    submit(story, rollout_body())
    with pytest.raises(Conflict, match="already used"):
        submit(story, rollout_body(summary="something else"))


def test_notice_stored_but_never_routed_is_handed_on_again_when_the_source_retries(story: FakeWorld) -> None:
    submit(story, rollout_body())
    story.route_queue.take()  # the queue send was lost
    submit(story, rollout_body())
    assert len(story.route_queue.sent) == 1


def test_second_delivery_of_the_same_queue_message_sends_nothing(story: FakeWorld) -> None:
    submit(story, rollout_body())
    messages = run(story)
    sent = (len(story.email.sent), len(story.sms.sent), len(story.webhooks.sent))
    reports = [deliver(story, body) for body in messages]
    assert (len(story.email.sent), len(story.sms.sent), len(story.webhooks.sent)) == sent
    assert [(r.sent, r.in_flight, r.failed) for r in reports] == [(0, (), ())] * len(reports)
    assert all(r.done_before > 0 for r in reports)


def test_routing_the_same_notice_twice_creates_nothing_new(story: FakeWorld) -> None:
    accepted = submit(story, rollout_body())
    run(story)
    story.route_queue.send_many([{"notice_id": accepted.notice.id}])
    before = dict(story.deliveries.deliveries)
    run(story)
    assert story.deliveries.deliveries == before
    assert len(story.email.sent) == 4  # the statewide rollout reached everyone, once each


def test_failed_send_is_reported_for_retry_and_sent_on_the_retry(story: FakeWorld) -> None:
    story.email.fail_for = {"mayor@example.gov"}
    submit(story, rollout_body(jurisdiction="New Haven"))
    route_all(story)
    messages = story.send_queue.take()
    reports = [deliver(story, body) for body in messages]
    assert sum(len(r.failed) for r in reports) == 1
    failed = [d for d in story.deliveries.deliveries.values() if d.status is DeliveryStatus.FAILED]
    assert [(d.subscriber_id, d.attempts, d.last_error) for d in failed] == [("mayor", 1, "ses: Throttling")]
    story.email.fail_for = set()
    sent_before = len(story.email.sent)
    for body in messages:  # SQS redelivers the reported message; the others' deliveries are already sent
        deliver(story, body)
    assert [m.to for m in story.email.sent[sent_before:]] == ["mayor@example.gov"]


def texting(world: FakeWorld, count: int) -> FakeWorld:
    for n in range(count):
        channels = (Channel(ChannelType.SMS, f"+1860555{n:04d}"),)
        world.subscribers.add(subscriber(f"official-{n}", Role.STATE_EXECUTIVE, "us-ct", channels=channels))
    return world


def test_the_texts_of_a_message_get_their_reply_codes_in_one_request_each_for_its_delivery(
    world: FakeWorld,
) -> None:
    texting(world, 30)
    accepted = submit(world, rollout_body())
    route_all(world)
    messages = [m for m in world.send_queue.take() if m["channel"] == "sms"]
    assert [len(m["delivery_ids"]) for m in messages] == [25, 5]
    for body in messages:
        deliver(world, body)
    assert world.codes.issue_calls == len(messages)
    assert len(world.sms.sent) == 30
    for sms in world.sms.sent:
        [code] = [w for w in sms.body.replace(".", " ").split() if w.isdigit() and len(w) == 6]
        target = world.codes.lookup(sms.to, code)
        assert isinstance(target, AckTarget)
        assert target.notice_id == accepted.notice.id
        assert world.deliveries.deliveries[(target.notice_id, target.delivery_id)].address == sms.to


@pytest.mark.parametrize("failure", [StoreUnavailable, ConnectionError], ids=["refused", "no-answer"])
def test_refused_reply_codes_hold_back_the_texts_for_a_retry_that_sends_each_once(
    world: FakeWorld, failure: type[Exception]
) -> None:
    texting(world, 3)
    submit(world, rollout_body())
    route_all(world)
    [body] = world.send_queue.take()
    world.codes.fail_next = 1
    world.codes.failure = failure
    refused = deliver(world, body)
    assert world.sms.sent == []  # no text goes out without the code that acknowledges it
    assert sorted(refused.failed) == sorted(body["delivery_ids"])
    assert refused.needs_retry
    assert {d.last_error for d in world.deliveries.deliveries.values()} == {
        "sms: no reply code could be issued"
    }
    retried = deliver(world, body)
    assert retried.sent == 3
    assert sorted(m.to for m in world.sms.sent) == ["+18605550000", "+18605550001", "+18605550002"]


def test_notices_read_once_reads_each_notice_of_an_invocation_once(story: FakeWorld) -> None:
    accepted = submit(story, rollout_body())
    reads: list[str] = []

    class Counting:
        def get(self, notice_id: str) -> Notice:
            reads.append(notice_id)
            return story.notices.get(notice_id)

    once = delivery.NoticesReadOnce(Counting())
    assert once.get(accepted.notice.id) == once.get(accepted.notice.id) == accepted.notice
    assert reads == [accepted.notice.id]
    with pytest.raises(NotFound):
        once.get("ntc_missing")
    with pytest.raises(NotFound):  # a notice not found is asked for again, not remembered as missing
        once.get("ntc_missing")
    assert reads == [accepted.notice.id, "ntc_missing", "ntc_missing"]


def test_claimed_delivery_of_a_crashed_invocation_is_resent_only_after_its_lease(story: FakeWorld) -> None:
    submit(story, rollout_body(jurisdiction="New Haven"))
    route_all(story)
    body = next(m for m in story.send_queue.take() if m["channel"] == "email")
    wanted = carried_deliveries(body)
    assert wanted is not None
    story.deliveries.claim(wanted, now=NOW, lease=LEASE)  # claimed, then the invocation died
    early = deliver(story, body, after=LEASE - timedelta(seconds=1))
    assert early.sent == 0
    assert early.needs_retry  # the message must come back, or these deliveries would be stranded
    late = deliver(story, body, after=LEASE + timedelta(seconds=1))
    assert late.sent == len(wanted)
    assert not late.needs_retry


def test_advocates_receive_a_detainer_without_the_persons_identity(story: FakeWorld) -> None:
    submit(story, detainer_body())
    run(story)
    advocate_email = next(m for m in story.email.sent if m.to == "advocates@example.org")
    assert "Test Person" not in advocate_email.text + advocate_email.html
    assert "A012345678" not in advocate_email.text + advocate_email.html
    assert "1990-01-01" not in advocate_email.text + advocate_email.html
    assert "New Haven Correctional Center" in advocate_email.text
    advocate_hook = next(
        p for p, _ in story.webhooks.sent if "#advocates#" in p.payload["data"]["delivery_id"]
    )
    assert "subject" not in advocate_hook.payload["data"]["event"]
    assert "A012345678" not in str(advocate_hook.payload)


def test_reviewers_receive_the_detainer_with_the_persons_identity(story: FakeWorld) -> None:
    submit(story, detainer_body())
    run(story)
    reviewer_email = next(m for m in story.email.sent if m.to == "reviewers@example.gov")
    assert "Test Person" in reviewer_email.text
    assert "A012345678" in reviewer_email.text


def test_sms_fits_two_segments_and_never_carries_personal_data(story: FakeWorld) -> None:
    submit(story, detainer_body(summary="x" * 1500))
    submit(story, rollout_body(title="T" * 200))
    run(story)
    assert story.sms.sent
    for sms in story.sms.sent:
        assert len(sms.body) <= SMS_MAX_CHARS
        assert "Test Person" not in sms.body
        assert "012345678" not in sms.body


def test_every_email_and_webhook_carries_an_ack_link_for_its_own_delivery(story: FakeWorld) -> None:
    accepted = submit(story, rollout_body())
    run(story)
    secret = story.deps().signing_keys().accepted
    links = [m.text.split("/ack/")[1].split()[0] for m in story.email.sent]
    links += [
        p.payload["data"]["ack_url"].split("/ack/")[1].removesuffix("?via=webhook")
        for p, _ in story.webhooks.sent
    ]
    targets = [read_ack_token(secret, token) for token in links]
    assert {t.notice_id for t in targets} == {accepted.notice.id}
    assert len({t.delivery_id for t in targets}) == len(targets)
    assert all(isinstance(t, AckTarget) for t in targets)


def test_webhook_is_signed_with_the_subscribers_own_secret(story: FakeWorld) -> None:
    submit(story, rollout_body())
    run(story)
    assert {secrets for _, secrets in story.webhooks.sent} == {(ALL_CHANNELS[2].secret,)}


def test_coverage_gap_is_reported_when_no_state_executive_is_subscribed(world: FakeWorld) -> None:
    world.subscribers.add(subscriber("mayor", Role.LOCAL_OFFICIAL, "us-ct/town/new-haven"))
    accepted = submit(world, rollout_body(jurisdiction="New Haven"))
    assert accepted.notice.coverage_gaps == ("state-executive",)
    assert accepted.as_json()["coverage_gaps"] == ["state-executive"]


def test_detainer_notice_type_is_detainer(story: FakeWorld) -> None:
    assert submit(story, detainer_body()).notice.type is EventType.DETAINER


def test_a_detainer_through_the_whole_pipeline_logs_no_personal_data(
    story: FakeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(json=True)
    story.email.fail_for = {"reviewers@example.gov"}
    submit(story, detainer_body())
    run(story)
    logged = capsys.readouterr().out
    assert "delivery.failed" in logged
    for personal in ("Test Person", "A012345678", "1990-01-01", "reviewers@example.gov", "+18605550100"):
        assert personal not in logged
