"""The same cases against the in-memory fakes and the DynamoDB adapters (moto, tables from infra/):
notices, subscribers, deliveries, keys, the escalation schedule, acknowledgments, policies and reply
codes. The subscription index, mail triage and retention have their own modules beside this one
(test_index_store_contract.py, test_triage_store_contract.py, test_retention_store_contract.py); the
``stores`` fixture that runs each case both ways is in conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import ack_code_store
from chalicelib.adapters.ack_code_store import CODE_LIFETIME
from chalicelib.adapters.subscriber_store import item_to_subscriber, subscriber_to_item
from chalicelib.bootstrap import build
from chalicelib.config import Settings
from chalicelib.data import load_registry
from chalicelib.domain.acknowledgments import Acknowledgment, AckVia
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, InvalidInput, NotFound
from chalicelib.domain.language import Language
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.policies import DEFAULT_POLICIES, Audience, EscalationPolicy, Step
from chalicelib.domain.routing import plan_deliveries, recipients_for
from chalicelib.domain.subscribers import Channel, ChannelRef, ChannelType, EventType, Role, index_entries
from chalicelib.domain.tokens import AckTarget
from chalicelib.ports import AckCodeStore, NoticeExists, StoreUnavailable
from tests.builders import NOW, subscriber
from tests.integration.conftest import STAGE, Aws, Stores

LEASE = timedelta(minutes=6)


def a_notice(**overrides: Any) -> Notice:
    values: dict[str, Any] = {
        "id": "ntc_contract",
        "type": EventType.ROLLOUT,
        "status": NoticeStatus.OPEN,
        "idempotency_key": "k-1",
        "fingerprint": "f" * 64,
        "jurisdiction_id": "us-ct/town/new-haven",
        "title": "Secure Communities in New Haven",
        "received_at": NOW,
        "event": {"program": "secure-communities", "nested": {"list": [1, 2.5, "x"], "flag": True}},
        "submitted_by": "key-1",
    }
    values.update(overrides)
    return Notice(**values)


def test_notice_round_trips_unchanged(stores: Stores) -> None:
    notice = a_notice()
    stores.notices.add(notice)
    assert stores.notices.get(notice.id) == notice


def test_second_notice_with_the_same_id_raises_with_the_stored_one(stores: Stores) -> None:
    stores.notices.add(a_notice())
    with pytest.raises(NoticeExists) as caught:
        stores.notices.add(a_notice(title="other"))
    assert caught.value.existing.title == "Secure Communities in New Haven"


def test_a_cursor_after_a_notice_resumes_the_newest_first_list_just_after_it(stores: Stores) -> None:
    for n in range(5):
        stores.notices.add(
            a_notice(id=f"ntc_{n}", idempotency_key=f"k-{n}", received_at=NOW + timedelta(minutes=n))
        )
    newest_first = stores.notices.recent(EventType.ROLLOUT, limit=10, cursor=None).items
    assert [n.id for n in newest_first] == ["ntc_4", "ntc_3", "ntc_2", "ntc_1", "ntc_0"]
    after = stores.notices.recent(
        EventType.ROLLOUT, limit=10, cursor=stores.notices.cursor_after(newest_first[1])
    )
    assert [n.id for n in after.items] == ["ntc_2", "ntc_1", "ntc_0"]


@pytest.mark.parametrize("forged", ["eyJ4IjogInkifQ==", "bm90IGpzb24=", "ntc_never_issued"])
def test_a_cursor_the_store_did_not_issue_is_the_callers_mistake(stores: Stores, forged: str) -> None:
    stores.notices.add(a_notice())
    with pytest.raises(InvalidInput) as refused:
        stores.notices.recent(EventType.ROLLOUT, limit=10, cursor=forged)
    assert refused.value.details[0].field == "cursor"


def test_a_cursor_another_list_issued_is_the_callers_mistake_on_every_list(stores: Stores) -> None:
    """A cursor of one list handed to another (the newest notices' to the subscribers' or the triage
    queue's) is refused naming the field, never read as a key of the wrong table."""
    for n in range(3):
        stores.notices.add(
            a_notice(id=f"ntc_{n}", idempotency_key=f"k-{n}", received_at=NOW + timedelta(minutes=n))
        )
    page = stores.notices.recent(EventType.ROLLOUT, limit=1, cursor=None)
    assert page.cursor is not None
    for listing in (
        lambda: stores.subscribers.list(limit=10, cursor=page.cursor),
        lambda: stores.notices.held(limit=10, cursor=page.cursor),
    ):
        with pytest.raises(InvalidInput) as refused:
            listing()
        assert refused.value.details[0].field == "cursor"


def test_unknown_notice_is_not_found(stores: Stores) -> None:
    with pytest.raises(NotFound):
        stores.notices.get("ntc_nothing")


def test_saved_routing_is_read_back(stores: Stores) -> None:
    stores.notices.add(a_notice())
    stores.notices.save_routing(a_notice().routed(recipients=7, coverage_gaps=("state-executive",), now=NOW))
    stored = stores.notices.get("ntc_contract")
    assert (stored.recipients, stored.coverage_gaps, stored.routed_at) == (7, ("state-executive",), NOW)


def test_subscriber_round_trips_with_its_webhook_secret(stores: Stores) -> None:
    channels = (
        Channel(ChannelType.EMAIL, "a@example.gov"),
        Channel(ChannelType.WEBHOOK, "https://x.example.org/h", secret="whsec_abc"),
    )
    sub = subscriber("sub_1", Role.ADVOCATE, "us-ct", "us-ct/town/new-haven", channels=channels)
    stores.subscribers.add(sub)
    assert stores.subscribers.get("sub_1") == sub
    assert stores.subscribers.get_many(["sub_1", "sub_missing"]) == {"sub_1": sub}


def test_a_subscriber_keeps_its_language_and_one_stored_without_reads_as_english(stores: Stores) -> None:
    stores.subscribers.add(subscriber("sub_es", Role.ADVOCATE, "us-ct", language=Language.SPANISH))
    assert stores.subscribers.get("sub_es").language is Language.SPANISH
    item = subscriber_to_item(subscriber("sub_old", Role.ADVOCATE, "us-ct"))
    del item["language"]
    assert item_to_subscriber(item).language is Language.ENGLISH


def test_adding_an_existing_subscriber_id_is_a_conflict(stores: Stores) -> None:
    stores.subscribers.add(subscriber("sub_1", Role.ADVOCATE, "us-ct"))
    with pytest.raises(Conflict):
        stores.subscribers.add(subscriber("sub_1", Role.LEGAL, "us-ct"))


def test_a_write_based_on_an_old_read_is_refused_and_changes_nothing(stores: Stores) -> None:
    stores.subscribers.add(subscriber("sub_1", Role.ADVOCATE, "us-ct"))
    read_by_admin = stores.subscribers.get("sub_1")
    read_by_sender = stores.subscribers.get("sub_1")
    stores.subscribers.replace(replace(read_by_admin, name="Renamed"))
    with pytest.raises(ChangedMeanwhile):
        stores.subscribers.replace(replace(read_by_sender, organization="Overwritten"))
    stored = stores.subscribers.get("sub_1")
    assert (stored.name, stored.organization, stored.revision) == ("Renamed", read_by_admin.organization, 1)


def test_each_write_moves_the_revision_on(stores: Stores) -> None:
    stores.subscribers.add(subscriber("sub_1", Role.ADVOCATE, "us-ct"))
    for expected in (1, 2, 3):
        stores.subscribers.replace(replace(stores.subscribers.get("sub_1"), name=f"n{expected}"))
        assert stores.subscribers.get("sub_1").revision == expected


def test_replacing_a_deleted_subscriber_is_not_found(stores: Stores) -> None:
    stores.subscribers.add(subscriber("sub_1", Role.ADVOCATE, "us-ct"))
    read = stores.subscribers.get("sub_1")
    stores.subscribers.delete("sub_1")
    with pytest.raises(NotFound):
        stores.subscribers.replace(replace(read, name="Too late"))


def planned(count: int = 3) -> list[Any]:
    subs = [subscriber(f"s{n}", Role.LOCAL_OFFICIAL, "us-ct") for n in range(count)]
    entries = [e for s in subs for e in index_entries(s, load_registry())]
    return plan_deliveries(a_notice(), recipients_for(entries), step=0, now=NOW)


def test_a_claim_creates_the_rows_a_message_carried_and_never_overwrites_one(stores: Stores) -> None:
    deliveries = planned()
    first = stores.deliveries.claim(deliveries, now=NOW, lease=LEASE)
    assert [d.status for d in first.claimed] == [DeliveryStatus.SENDING] * 3
    assert first.refused == ()
    stores.deliveries.record([first.claimed[0].sent(provider_message_id="m-1", now=NOW)])
    again = stores.deliveries.claim(deliveries, now=NOW + LEASE * 2, lease=LEASE)
    assert [d.delivery_id for d in again.refused] == [deliveries[0].delivery_id]
    assert again.refused[0].status is DeliveryStatus.SENT
    assert (
        stores.deliveries.get_many("ntc_contract", [deliveries[0].delivery_id])[0].status
        is DeliveryStatus.SENT
    )


def test_a_delivery_is_claimed_once_until_its_lease_runs_out(stores: Stores) -> None:
    deliveries = planned()
    first = stores.deliveries.claim(deliveries, now=NOW, lease=LEASE)
    assert [d.status for d in first.claimed] == [DeliveryStatus.SENDING] * 3
    held = stores.deliveries.claim(deliveries, now=NOW + timedelta(minutes=1), lease=LEASE)
    assert held.claimed == ()
    assert [d.status for d in held.refused] == [DeliveryStatus.SENDING] * 3
    again = stores.deliveries.claim(deliveries[:1], now=NOW + LEASE + timedelta(seconds=1), lease=LEASE)
    assert [d.delivery_id for d in again.claimed] == [deliveries[0].delivery_id]


def test_sent_deliveries_are_never_claimed_again_and_failed_ones_are(stores: Stores) -> None:
    deliveries = planned(2)
    claimed = stores.deliveries.claim(deliveries, now=NOW, lease=LEASE).claimed
    stores.deliveries.record(
        [claimed[0].sent(provider_message_id="m", now=NOW), claimed[1].failed(error="boom")]
    )
    later = NOW + LEASE * 2
    fresh = stores.deliveries.get_many("ntc_contract", [d.delivery_id for d in deliveries])
    reclaimed = stores.deliveries.claim(fresh, now=later, lease=LEASE)
    assert [d.delivery_id for d in reclaimed.claimed] == [deliveries[1].delivery_id]
    assert reclaimed.claimed[0].attempts == 1


def test_a_claim_of_rows_as_planned_keeps_the_attempts_made_since(stores: Stores) -> None:
    """A message carries its rows as routing planned them (no attempts): a row that failed since
    is claimed as stored, its attempts kept, so its retry schedule goes on where it was."""
    deliveries = planned(2)
    claimed = stores.deliveries.claim(deliveries, now=NOW, lease=LEASE).claimed
    stores.deliveries.record(
        [claimed[0].failed(error="throttled"), claimed[1].sent(provider_message_id="m", now=NOW)]
    )
    again = stores.deliveries.claim(deliveries, now=NOW + timedelta(minutes=1), lease=LEASE)
    assert [(d.delivery_id, d.attempts, d.last_error) for d in again.claimed] == [
        (deliveries[0].delivery_id, 1, "throttled")
    ]
    assert [d.delivery_id for d in again.refused] == [deliveries[1].delivery_id]
    stored = stores.deliveries.get_many("ntc_contract", [deliveries[0].delivery_id])[0]
    assert (stored.status, stored.attempts) == (DeliveryStatus.SENDING, 1)


def test_deliveries_of_a_notice_are_listed_with_their_outcomes(stores: Stores) -> None:
    deliveries = planned(2)
    claimed = stores.deliveries.claim(deliveries, now=NOW, lease=LEASE).claimed
    stores.deliveries.record([replace(claimed[0], status=DeliveryStatus.SENT, attempts=1, sent_at=NOW)])
    listed = {d.delivery_id: d for d in stores.deliveries.for_notice("ntc_contract")}
    assert listed[deliveries[0].delivery_id].sent_at == NOW
    assert listed[deliveries[1].delivery_id].status is DeliveryStatus.SENDING


def test_key_round_trips_and_revocation_sticks(stores: Stores) -> None:
    key, _ = new_key(name="k", role=ApiRole.SOURCE, now=NOW)
    stores.keys.add(key)
    assert stores.keys.get(key.id) == key
    stores.keys.revoke(key.id, now=NOW)
    stores.keys.revoke(key.id, now=NOW + timedelta(days=1))
    revoked = stores.keys.get(key.id)
    assert revoked is not None
    assert revoked.revoked_at == NOW
    assert stores.keys.get("missing") is None
    with pytest.raises(NotFound):
        stores.keys.revoke("missing", now=NOW)


def test_due_notices_come_from_the_schedule_most_overdue_first(stores: Stores) -> None:
    for n, minutes in enumerate((30, 10, 20)):
        notice = a_notice(id=f"ntc_{n}", idempotency_key=f"k{n}")
        stores.notices.add(notice)
        stores.notices.save_routing(
            notice.routed(
                recipients=1, coverage_gaps=(), now=NOW, next_step_at=NOW + timedelta(minutes=minutes)
            )
        )
    due = stores.notices.due(NOW + timedelta(minutes=25), limit=10)
    assert [n.id for n in due] == ["ntc_1", "ntc_2"]
    assert due[0].next_step_at == NOW + timedelta(minutes=10)


def test_a_step_is_advanced_once_from_where_it_was(stores: Stores) -> None:
    notice = a_notice()
    stores.notices.add(notice)
    stores.notices.save_routing(notice.routed(recipients=1, coverage_gaps=(), now=NOW, next_step_at=NOW))
    later = NOW + timedelta(hours=1)
    assert stores.notices.advance_step(notice.id, from_step=0, to_step=1, next_step_at=later) is True
    assert stores.notices.advance_step(notice.id, from_step=0, to_step=1, next_step_at=later) is False
    stored = stores.notices.get(notice.id)
    assert (stored.step, stored.next_step_at) == (1, later)
    assert stores.notices.due(NOW + timedelta(minutes=30), limit=10) == []


def test_last_step_takes_the_notice_off_the_schedule(stores: Stores) -> None:
    notice = a_notice()
    stores.notices.add(notice)
    stores.notices.save_routing(notice.routed(recipients=1, coverage_gaps=(), now=NOW, next_step_at=NOW))
    assert stores.notices.advance_step(notice.id, from_step=0, to_step=3, next_step_at=None)
    assert stores.notices.due(NOW + timedelta(days=365), limit=10) == []


def test_acknowledged_notice_leaves_the_schedule_and_is_acknowledged_once(stores: Stores) -> None:
    notice = a_notice()
    stores.notices.add(notice)
    stores.notices.save_routing(notice.routed(recipients=1, coverage_gaps=(), now=NOW, next_step_at=NOW))
    assert stores.notices.mark_acknowledged(notice.id, at=NOW) is True
    assert stores.notices.mark_acknowledged(notice.id, at=NOW + timedelta(minutes=1)) is False
    stored = stores.notices.get(notice.id)
    assert (stored.status, stored.acknowledged_at) == (NoticeStatus.ACKNOWLEDGED, NOW)
    assert stores.notices.due(NOW + timedelta(days=1), limit=10) == []
    assert stores.notices.advance_step(notice.id, from_step=0, to_step=1, next_step_at=None) is False


def test_rerouting_does_not_pull_back_a_later_steps_schedule(stores: Stores) -> None:
    notice = a_notice()
    stores.notices.add(notice)
    stores.notices.save_routing(notice.routed(recipients=1, coverage_gaps=(), now=NOW, next_step_at=NOW))
    stores.notices.advance_step(notice.id, from_step=0, to_step=1, next_step_at=NOW + timedelta(hours=2))
    stores.notices.save_routing(notice.routed(recipients=2, coverage_gaps=(), now=NOW, next_step_at=NOW))
    stored = stores.notices.get(notice.id)
    assert (stored.step, stored.next_step_at, stored.recipients) == (1, NOW + timedelta(hours=2), 2)


def test_one_acknowledgment_per_subscriber_is_kept_and_deliveries_stay_separate(stores: Stores) -> None:
    deliveries = planned(2)
    stores.deliveries.claim(deliveries, now=NOW, lease=LEASE)
    first = Acknowledgment(
        "ntc_contract", "s0", Role.LOCAL_OFFICIAL, deliveries[0].delivery_id, AckVia.LINK, NOW
    )
    assert stores.deliveries.record_ack(first) is True
    assert (
        stores.deliveries.record_ack(replace(first, via=AckVia.SMS, at=NOW + timedelta(minutes=1))) is False
    )
    assert stores.deliveries.acknowledgments("ntc_contract") == [first]
    assert {d.delivery_id for d in stores.deliveries.for_notice("ntc_contract")} == {
        d.delivery_id for d in deliveries
    }


def test_stored_policy_replaces_the_default_for_its_event_type_only(stores: Stores) -> None:
    assert stores.policies.get(EventType.ROLLOUT) == DEFAULT_POLICIES[EventType.ROLLOUT]
    custom = EscalationPolicy(
        EventType.ROLLOUT,
        (Role.STATE_EXECUTIVE, Role.LOCAL_OFFICIAL),
        (Step(Audience.RECIPIENTS, after=timedelta(0)), Step(Audience.ADMINS, after=timedelta(minutes=7))),
    )
    stores.policies.put(custom)
    assert stores.policies.get(EventType.ROLLOUT) == custom
    assert stores.policies.get(EventType.DETAINER) == DEFAULT_POLICIES[EventType.DETAINER]


def test_reply_codes_are_bound_to_their_phone(stores: Stores) -> None:
    target = AckTarget("ntc_contract", "000#s0#sms-1")
    code = stores.codes.issue("+18605550100", target, now=NOW)
    assert len(code) == 6
    assert code.isdigit()
    assert stores.codes.lookup("+18605550100", code) == target
    assert stores.codes.lookup("+12035550100", code) is None
    other = stores.codes.issue("+18605550100", AckTarget("ntc_contract", "001#s0#sms-1"), now=NOW)
    assert other != code


def test_reply_codes_issued_together_are_distinct_per_phone_and_each_bound_to_its_target(
    stores: Stores,
) -> None:
    # 120 codes: more than one transaction holds, three phones with forty texts each.
    wanted: list[tuple[str, AckTarget | ChannelRef]] = [
        (f"+1860555010{n % 3}", AckTarget("ntc_contract", f"{n:03d}#s0#sms-1")) for n in range(120)
    ]
    codes = stores.codes.issue_many(wanted, now=NOW)
    assert len(codes) == len(wanted)
    assert len(set(zip((phone for phone, _ in wanted), codes, strict=True))) == len(wanted)
    for (phone, target), code in zip(wanted, codes, strict=True):
        assert stores.codes.lookup(phone, code) == target


@pytest.fixture
def dynamo_codes(aws: Aws, stack: dict[str, str]) -> AckCodeStore:
    return build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session).codes


def scripted_codes(monkeypatch: pytest.MonkeyPatch, *codes: str) -> Iterator[str]:
    """The codes the store draws, in order; returns the iterator, to check every one was drawn."""
    draws = iter(codes)
    monkeypatch.setattr(ack_code_store, "new_reply_code", lambda: next(draws))
    return draws


def test_a_code_live_for_the_phone_is_drawn_again_and_the_live_one_is_kept(
    dynamo_codes: AckCodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = AckTarget("ntc_contract", "000#s0#sms-1")
    scripted_codes(monkeypatch, "111111", "111111", "222222", "333333")
    assert dynamo_codes.issue("+18605550100", first, now=NOW) == "111111"
    second, third = AckTarget("ntc_contract", "001#s0#sms-1"), AckTarget("ntc_contract", "002#s0#sms-1")

    codes = dynamo_codes.issue_many([("+18605550100", second), ("+12035550100", third)], now=NOW)

    assert codes == ["333333", "222222"]
    assert dynamo_codes.lookup("+18605550100", "111111") == first
    assert dynamo_codes.lookup("+18605550100", "333333") == second
    assert dynamo_codes.lookup("+12035550100", "222222") == third


def test_one_batch_never_gives_one_phone_the_same_code_twice(
    dynamo_codes: AckCodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = [AckTarget("ntc_contract", f"00{n}#s0#sms-1") for n in range(2)]
    scripted_codes(monkeypatch, "444444", "444444", "555555")
    codes = dynamo_codes.issue_many([("+18605550100", t) for t in targets], now=NOW)
    assert codes == ["444444", "555555"]
    assert [dynamo_codes.lookup("+18605550100", c) for c in codes] == targets


def test_an_expired_code_may_be_issued_again(
    dynamo_codes: AckCodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    scripted_codes(monkeypatch, "666666", "666666")
    old = AckTarget("ntc_old", "000#s0#sms-1")
    dynamo_codes.issue("+18605550100", old, now=NOW - CODE_LIFETIME - timedelta(days=1))
    new = AckTarget("ntc_contract", "000#s0#sms-1")
    assert dynamo_codes.issue_many([("+18605550100", new)], now=NOW) == ["666666"]
    assert dynamo_codes.lookup("+18605550100", "666666") == new


def test_codes_that_stay_taken_are_refused_after_eight_draws(
    dynamo_codes: AckCodeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    draws = scripted_codes(monkeypatch, *["777777"] * 9)
    dynamo_codes.issue("+18605550100", AckTarget("ntc_contract", "000#s0#sms-1"), now=NOW)
    with pytest.raises(StoreUnavailable, match="no free reply code"):
        dynamo_codes.issue_many([("+18605550100", AckTarget("ntc_contract", "001#s0#sms-1"))], now=NOW)
    assert next(draws, None) is None  # one draw for the first code, eight for the refused one
