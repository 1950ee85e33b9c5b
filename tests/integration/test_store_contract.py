"""The same cases against the in-memory fakes and the DynamoDB adapters (moto, tables from infra/)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters import ack_code_store
from chalicelib.adapters.ack_code_store import CODE_LIFETIME
from chalicelib.adapters.dynamodb import encode
from chalicelib.adapters.subscriber_store import (
    DynamoSubscriberStore,
    entry_to_item,
    item_to_subscriber,
    subscriber_to_item,
)
from chalicelib.bootstrap import build
from chalicelib.config import Settings
from chalicelib.data import load_registry
from chalicelib.domain.acknowledgments import Acknowledgment, AckVia
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.deliveries import DeliveryStatus
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, InvalidInput, NotFound
from chalicelib.domain.facilities import Facility, FacilityKind
from chalicelib.domain.language import Language
from chalicelib.domain.mail_trust import SenderKind, TrustedSender
from chalicelib.domain.notices import MAX_REPORTS_KEPT, Notice, NoticeStatus
from chalicelib.domain.places import JurisdictionKind
from chalicelib.domain.policies import DEFAULT_POLICIES, Audience, EscalationPolicy, Step
from chalicelib.domain.routing import covers, plan_deliveries, reach, recipients_for
from chalicelib.domain.subscribers import (
    Channel,
    ChannelRef,
    ChannelType,
    EventType,
    Role,
    Scope,
    Subscriber,
    index_entries,
)
from chalicelib.domain.tokens import AckTarget
from chalicelib.ports import (
    AckCodeStore,
    DeliveryStore,
    FacilityStore,
    KeyStore,
    NoticeExists,
    NoticeStore,
    PolicyStore,
    StoreUnavailable,
    SubscriberStore,
    SubscriptionIndex,
    TrustedSenderStore,
)
from chalicelib.services.place_graph import PlaceGraph
from chalicelib.services.subscribers import reindex_all
from infra import reindex, schedule_retention
from tests.builders import NOW, subscriber
from tests.fake_acklog import InMemoryAckLog
from tests.fakes import (
    InMemoryAckCodeStore,
    InMemoryDeliveryStore,
    InMemoryFacilityStore,
    InMemoryKeyStore,
    InMemoryNoticeStore,
    InMemoryPolicyStore,
    InMemorySubscriberStore,
    InMemoryTrustedSenderStore,
)
from tests.integration.conftest import STAGE, Aws

LEASE = timedelta(minutes=6)


@dataclass
class Stores:
    notices: NoticeStore
    subscribers: SubscriberStore
    index: SubscriptionIndex
    deliveries: DeliveryStore
    keys: KeyStore
    policies: PolicyStore
    codes: AckCodeStore
    trusted: TrustedSenderStore
    facilities: FacilityStore
    # The place graph the subscriber store's index rows are computed with, the facilities in it.
    places: PlaceGraph


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "fake":
        facilities = InMemoryFacilityStore()
        places = PlaceGraph(load_registry(), facilities, clock=lambda: 0.0)
        subscribers = InMemorySubscriberStore(places=places.current)
        yield Stores(
            InMemoryNoticeStore(),
            subscribers,
            subscribers,
            InMemoryDeliveryStore(),
            InMemoryKeyStore(),
            InMemoryPolicyStore(),
            InMemoryAckCodeStore(),
            InMemoryTrustedSenderStore(),
            facilities,
            places,
        )
        return
    aws: Aws = request.getfixturevalue("aws")
    request.getfixturevalue("stack")
    deps = build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session)
    yield Stores(
        deps.notices,
        deps.subscribers,
        deps.index,
        deps.deliveries,
        deps.keys,
        deps.policies,
        deps.codes,
        deps.trusted_senders,
        deps.facilities,
        deps.places,
    )


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


def covering(stores: Stores | Dynamo, place: str, event_type: EventType = EventType.ROLLOUT) -> list[str]:
    """Who the index says a notice of this type for this place reaches, once each."""
    found = stores.index.covering(reach(load_registry(), place, event_type))
    return [r.subscriber_id for r in recipients_for(found)]


STATE, NEW_HAVEN, HARTFORD = "us-ct", "us-ct/town/new-haven", "us-ct/town/hartford"
NH_COUNTY, FAIRFIELD, SOUTH_CENTRAL = (
    "us-ct/county/new-haven",
    "us-ct/county/fairfield",
    "us-ct/region/south-central-connecticut",
)
NH_JAIL = "us-ct/facility/new-haven-correctional-center"


def test_index_returns_rows_of_the_asked_jurisdictions_and_event_type_only(stores: Stores) -> None:
    stores.subscribers.add(subscriber("both", Role.STATE_EXECUTIVE, STATE))
    stores.subscribers.add(subscriber("rollouts", Role.ADVOCATE, STATE, event_types=(EventType.ROLLOUT,)))
    stores.subscribers.add(subscriber("hartford", Role.LOCAL_OFFICIAL, HARTFORD))
    found = list(stores.index.covering(reach(load_registry(), NEW_HAVEN, EventType.DETAINER)))
    assert [(e.subscriber_id, e.jurisdiction_id) for e in found] == [("both", STATE)]
    assert all(c.secret is None for e in found for c in e.channels)


def test_statewide_rollout_reaches_town_county_and_region_subscribers(stores: Stores) -> None:
    for sid, where in [
        ("town", NEW_HAVEN),
        ("county", FAIRFIELD),
        ("region", SOUTH_CENTRAL),
        ("state", STATE),
    ]:
        stores.subscribers.add(subscriber(sid, Role.LOCAL_OFFICIAL, where))
    stores.subscribers.add(subscriber("jail", Role.CORRECTIONS, NH_JAIL))
    stores.subscribers.add(
        subscriber("detainers", Role.CORRECTIONS, HARTFORD, event_types=(EventType.DETAINER,))
    )
    assert covering(stores, STATE) == ["county", "jail", "region", "state", "town"]


TEXAS, HARRIS, DALLAS = "us-tx", "us-tx/county/harris", "us-tx/county/dallas"


def test_a_county_rollout_in_another_state_reaches_the_county_and_that_state_s_subscribers(
    stores: Stores,
) -> None:
    stores.subscribers.add(subscriber("harris", Role.LOCAL_OFFICIAL, HARRIS))
    stores.subscribers.add(subscriber("texas", Role.STATE_EXECUTIVE, TEXAS))
    stores.subscribers.add(subscriber("dallas", Role.LOCAL_OFFICIAL, DALLAS))
    stores.subscribers.add(subscriber("connecticut", Role.STATE_EXECUTIVE, STATE))
    assert covering(stores, HARRIS) == ["harris", "texas"]


def test_a_statewide_rollout_in_another_state_reaches_its_counties_in_one_read(stores: Stores) -> None:
    stores.subscribers.add(subscriber("harris", Role.LOCAL_OFFICIAL, HARRIS))
    stores.subscribers.add(subscriber("dallas", Role.LAW_ENFORCEMENT, DALLAS))
    stores.subscribers.add(subscriber("texas", Role.STATE_EXECUTIVE, TEXAS))
    stores.subscribers.add(subscriber("new-haven", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    assert reach(load_registry(), TEXAS, EventType.ROLLOUT).reads == 1
    assert covering(stores, TEXAS) == ["dallas", "harris", "texas"]


def test_county_rollout_reaches_its_towns_not_the_neighbouring_county(stores: Stores) -> None:
    stores.subscribers.add(subscriber("new-haven", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    stores.subscribers.add(subscriber("hartford", Role.LOCAL_OFFICIAL, HARTFORD))
    stores.subscribers.add(subscriber("fairfield", Role.LAW_ENFORCEMENT, FAIRFIELD))
    stores.subscribers.add(subscriber("state", Role.STATE_EXECUTIVE, STATE))
    assert covering(stores, NH_COUNTY) == ["new-haven", "state"]


def test_exact_scope_hears_only_its_own_place(stores: Stores) -> None:
    stores.subscribers.add(subscriber("exact", Role.LEGAL, NH_COUNTY, scope=Scope.EXACT))
    stores.subscribers.add(subscriber("exact-town", Role.LOCAL_OFFICIAL, NEW_HAVEN, scope=Scope.EXACT))
    assert covering(stores, NH_COUNTY) == ["exact"]
    assert covering(stores, NEW_HAVEN) == ["exact-town"]
    assert covering(stores, STATE) == []
    assert covering(stores, NH_JAIL, EventType.DETAINER) == []


def test_detainer_does_not_go_down_to_towns(stores: Stores) -> None:
    stores.subscribers.add(subscriber("town", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    stores.subscribers.add(subscriber("jail", Role.CORRECTIONS, NH_JAIL))
    stores.subscribers.add(subscriber("state", Role.CORRECTIONS, STATE))
    assert covering(stores, STATE, EventType.DETAINER) == ["state"]
    assert covering(stores, NH_JAIL, EventType.DETAINER) == ["jail", "state", "town"]


def test_a_subscriber_inside_a_place_twice_is_read_once_there(stores: Stores) -> None:
    stores.subscribers.add(subscriber("twice", Role.LOCAL_OFFICIAL, NEW_HAVEN, "us-ct/town/milford"))
    found = list(stores.index.covering(reach(load_registry(), STATE, EventType.ROLLOUT)))
    assert [(e.subscriber_id, sorted(e.subscribed_to)) for e in found] == [
        ("twice", ["us-ct/town/milford", NEW_HAVEN])
    ]


def rewrite(stores: Stores, sub: Subscriber) -> None:
    """Replace the stored subscriber of that id with ``sub``, based on the stored revision."""
    stores.subscribers.replace(replace(sub, revision=stores.subscribers.get(sub.id).revision))


def test_changed_subscriptions_move_the_rows_above_them(stores: Stores) -> None:
    stores.subscribers.add(subscriber("moving", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    rewrite(stores, subscriber("moving", Role.LOCAL_OFFICIAL, "us-ct/town/stamford"))
    assert covering(stores, NH_COUNTY) == []
    assert covering(stores, FAIRFIELD) == ["moving"]
    assert covering(stores, STATE) == ["moving"]
    rewrite(stores, subscriber("moving", Role.LOCAL_OFFICIAL, "us-ct/town/stamford", scope=Scope.EXACT))
    assert covering(stores, FAIRFIELD) == []
    assert covering(stores, STATE) == []
    assert covering(stores, "us-ct/town/stamford") == ["moving"]


def test_deleted_subscriber_leaves_the_index(stores: Stores) -> None:
    stores.subscribers.add(subscriber("gone", Role.STATE_EXECUTIVE, STATE, FAIRFIELD, NEW_HAVEN))
    stores.subscribers.delete("gone")
    for place in (STATE, FAIRFIELD, NH_COUNTY, NEW_HAVEN, "us-ct/town/stamford"):
        assert covering(stores, place) == []
    with pytest.raises(NotFound):
        stores.subscribers.get("gone")
    with pytest.raises(NotFound):
        stores.subscribers.delete("gone")


def test_reindexing_a_current_subscriber_changes_nothing(stores: Stores) -> None:
    sub = subscriber("current", Role.LOCAL_OFFICIAL, NEW_HAVEN)
    stores.subscribers.add(sub)
    first = stores.subscribers.reindex(sub.id)
    again = stores.subscribers.reindex(sub.id)
    assert (first.written, first.removed, again.removed) == (len(index_entries(sub, load_registry())), 0, 0)
    assert covering(stores, STATE) == ["current"]


def test_subscriber_list_pages_through_everyone_once(stores: Stores) -> None:
    for n in range(5):
        stores.subscribers.add(subscriber(f"sub_{n}", Role.ADVOCATE, "us-ct"))
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = stores.subscribers.list(limit=2, cursor=cursor)
        seen += [s.id for s in page.items]
        cursor = page.cursor
        if cursor is None:
            break
    assert sorted(seen) == [f"sub_{n}" for n in range(5)]


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


# --- the subscription index on DynamoDB: what each read costs, and rows written before scopes ---


@dataclass
class Dynamo:
    subscribers: SubscriberStore
    index: SubscriptionIndex
    client: Any
    # (KeyConditionExpression, Count, ScannedCount) of each Query on the subscriptions table.
    queries: list[tuple[str, int, int]]


@pytest.fixture
def dynamo(aws: Aws, stack: dict[str, str]) -> Dynamo:
    queries: list[tuple[str, int, int]] = []

    def on_query(params: dict[str, Any], parsed: dict[str, Any], **_: Any) -> None:
        if params["TableName"].endswith("-subscriptions") and "IndexName" not in params:
            queries.append((params["KeyConditionExpression"], parsed["Count"], parsed["ScannedCount"]))

    client = aws.client("dynamodb")
    pending: dict[str, Any] = {}
    client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: pending.update(params=params)
    )
    client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: on_query(pending["params"], parsed)
    )
    store = DynamoSubscriberStore(
        f"vigil-{STAGE}-subscribers", f"vigil-{STAGE}-subscriptions", client, load_registry
    )
    return Dynamo(store, store, client, queries)


def test_each_read_of_a_reach_is_one_query_that_reads_only_the_covering_rows(dynamo: Dynamo) -> None:
    placed = [NEW_HAVEN, HARTFORD, "us-ct/town/stamford", NH_COUNTY, FAIRFIELD, SOUTH_CENTRAL, STATE, NH_JAIL]
    for n, where in enumerate(placed):
        dynamo.subscribers.add(subscriber(f"c{n}", Role.LOCAL_OFFICIAL, where))
        dynamo.subscribers.add(subscriber(f"x{n}", Role.LEGAL, where, scope=Scope.EXACT))
        dynamo.subscribers.add(
            subscriber(f"d{n}", Role.CORRECTIONS, where, event_types=(EventType.DETAINER,))
        )
    for place, event_type in [
        (STATE, EventType.ROLLOUT),
        (NH_COUNTY, EventType.ROLLOUT),
        (NH_JAIL, EventType.DETAINER),
    ]:
        dynamo.queries.clear()
        wanted = reach(load_registry(), place, event_type)
        found = list(dynamo.index.covering(wanted))
        expected = sorted(
            s
            for s in {e.subscriber_id for e in found}
            if any(
                covers(sub, place, event_type, load_registry())
                for sub in dynamo.subscribers.get(s).subscriptions
            )
        )
        assert sorted(e.subscriber_id for e in found) == expected  # nobody read who is not reached
        assert len(dynamo.queries) == wanted.reads
        assert all(count == scanned for _, count, scanned in dynamo.queries)  # no filter discards reads
        assert sum(count for _, count, _ in dynamo.queries) == len(found)


def test_statewide_rollout_takes_one_query_whatever_is_subscribed_inside_the_state(dynamo: Dynamo) -> None:
    for n, town in enumerate(load_registry().of_kind(JurisdictionKind.TOWN)[:40]):
        dynamo.subscribers.add(subscriber(f"t{n}", Role.LOCAL_OFFICIAL, town.id))
    found = list(dynamo.index.covering(reach(load_registry(), STATE, EventType.ROLLOUT)))
    assert len(found) == 40
    assert [(condition, count) for condition, count, _ in dynamo.queries] == [
        ("jurisdiction_id = :j AND entry_key BETWEEN :from AND :to", 40)
    ]


def legacy_rows(client: Any, sub: Any) -> None:
    """A subscriber as the store wrote it before scopes and inside rows: no scope stored, one
    `{event_type}#{subscriber_id}` row per subscribed place and event type."""
    item = subscriber_to_item(sub)
    for s in item["subscriptions"]:
        del s["scope"]
    client.put_item(TableName=f"vigil-{STAGE}-subscribers", Item=encode(item))
    for entry in index_entries(sub, load_registry()):
        if not entry.inside:
            client.put_item(TableName=f"vigil-{STAGE}-subscriptions", Item=encode(entry_to_item(entry)))


def test_rows_written_before_scopes_still_route_upward_and_reindexing_adds_the_rest(dynamo: Dynamo) -> None:
    mayor = subscriber("sub_mayor", Role.LOCAL_OFFICIAL, NEW_HAVEN)
    legacy_rows(dynamo.client, mayor)
    # A stale row, as a place moved to another county would leave: reindexing removes it.
    stale = replace(index_entries(mayor, load_registry())[-1], jurisdiction_id=FAIRFIELD)
    dynamo.client.put_item(TableName=f"vigil-{STAGE}-subscriptions", Item=encode(entry_to_item(stale)))
    assert dynamo.subscribers.get("sub_mayor") == mayor  # read as contained
    assert covering(dynamo, NEW_HAVEN) == ["sub_mayor"]
    assert covering(dynamo, NH_JAIL, EventType.DETAINER) == ["sub_mayor"]
    assert covering(dynamo, STATE) == []  # the inside rows do not exist yet

    first = dynamo.subscribers.reindex("sub_mayor")
    again = dynamo.subscribers.reindex("sub_mayor")

    assert (first.written, first.removed) == (5, 1)
    assert (again.written, again.removed) == (5, 0)
    assert covering(dynamo, STATE) == ["sub_mayor"]
    assert covering(dynamo, NH_COUNTY) == ["sub_mayor"]
    assert covering(dynamo, FAIRFIELD) == []


def test_reindexing_every_subscriber_is_audited_and_idempotent(dynamo: Dynamo) -> None:
    legacy_rows(dynamo.client, subscriber("sub_a", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    legacy_rows(dynamo.client, subscriber("sub_b", Role.STATE_EXECUTIVE, STATE))
    log = InMemoryAckLog()
    first = reindex_all(subscribers=dynamo.subscribers, ack_log=log, actor="ops", now=NOW, page_size=1)
    again = reindex_all(subscribers=dynamo.subscribers, ack_log=log, actor="ops", now=NOW, page_size=1)
    assert (first.subscribers, first.rows_written, first.rows_removed) == (2, 7, 0)
    assert (again.subscribers, again.rows_written, again.rows_removed) == (2, 7, 0)
    assert covering(dynamo, STATE) == ["sub_a", "sub_b"]
    assert [e.data["action"] for e in log.entries("audit")] == ["subscriptions.reindexed"] * 2


def test_make_reindex_reindexes_the_stage_it_names(
    dynamo: Dynamo, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    legacy_rows(dynamo.client, subscriber("sub_a", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    report = reindex.main(["--stage", STAGE, "--region", aws.region], session=aws.session)
    assert (report.subscribers, report.rows_written, report.rows_removed) == (1, 5, 0)
    assert "1 subscribers, 5 index rows written, 0 stale rows removed" in capsys.readouterr().out
    assert covering(dynamo, STATE) == ["sub_a"]


def a_trusted(sender: str, kind: SenderKind = SenderKind.DOMAIN, note: str = "") -> TrustedSender:
    return TrustedSender(sender=sender, kind=kind, note=note, added_by="key-1", added_at=NOW)


def test_trusted_senders_round_trip_and_are_listed_by_name(stores: Stores) -> None:
    agency = a_trusted("ice.dhs.gov", note="ICE, the federal agency")
    forwarder = a_trusted("desk.sergeant@example.gov", SenderKind.ADDRESS)
    stores.trusted.add(agency)
    stores.trusted.add(forwarder)
    assert stores.trusted.list() == [forwarder, agency]


def test_a_sender_listed_twice_is_a_conflict_and_the_first_entry_stays(stores: Stores) -> None:
    stores.trusted.add(a_trusted("ice.dhs.gov", note="first"))
    with pytest.raises(Conflict):
        stores.trusted.add(a_trusted("ice.dhs.gov", note="second"))
    assert [entry.note for entry in stores.trusted.list()] == ["first"]


def test_find_returns_only_the_listed_among_the_candidates(stores: Stores) -> None:
    stores.trusted.add(a_trusted("example.gov"))
    stores.trusted.add(a_trusted("desk.sergeant@example.gov", SenderKind.ADDRESS))
    found = stores.trusted.find(
        ["patrol@police.example.gov", "police.example.gov", "example.gov", "example.gov"]
    )
    assert [entry.sender for entry in found] == ["example.gov"]
    assert stores.trusted.find([]) == []


def test_removing_a_sender_returns_it_and_a_second_removal_is_not_found(stores: Stores) -> None:
    stores.trusted.add(a_trusted("ice.dhs.gov", note="ICE"))
    assert stores.trusted.remove("ice.dhs.gov").note == "ICE"
    assert stores.trusted.list() == []
    with pytest.raises(NotFound):
        stores.trusted.remove("ice.dhs.gov")


def a_facility(**overrides: Any) -> Facility:
    values: dict[str, Any] = {
        "id": "us-tx/facility/harris-county-jail",
        "name": "Harris County Jail",
        "place_id": "us-tx/county/harris",
        "kind": FacilityKind.JAIL,
        "aliases": ("Harris Jail", "1200 Baker Street Jail"),
        "added_by": "key-1",
        "added_at": NOW,
        "changed_at": NOW,
    }
    values.update(overrides)
    return Facility(**values)


def test_facilities_round_trip_and_are_listed_by_id(stores: Stores) -> None:
    jail = a_facility()
    centre = a_facility(
        id="us-tx/facility/el-paso-processing-center",
        name="El Paso Processing Center",
        place_id="us-tx/county/el-paso",
        kind=FacilityKind.DETENTION_CENTER,
        aliases=(),
        retired_at=NOW + timedelta(days=1),
    )
    stores.facilities.add(jail)
    stores.facilities.add(centre)
    assert stores.facilities.get(jail.id) == jail
    assert stores.facilities.list() == [centre, jail]


def test_a_facility_id_added_twice_is_a_conflict_and_the_first_stays(stores: Stores) -> None:
    stores.facilities.add(a_facility())
    with pytest.raises(Conflict):
        stores.facilities.add(a_facility(name="Harris County Jail (second)"))
    assert stores.facilities.get("us-tx/facility/harris-county-jail").name == "Harris County Jail"
    with pytest.raises(NotFound):
        stores.facilities.get("us-tx/facility/nowhere")


def test_a_facility_is_replaced_only_from_the_revision_stored(stores: Stores) -> None:
    stores.facilities.add(a_facility())
    read = stores.facilities.get("us-tx/facility/harris-county-jail")
    stores.facilities.replace(replace(read, name="Harris County Jail, Baker Street"))
    with pytest.raises(ChangedMeanwhile):
        stores.facilities.replace(replace(read, kind=FacilityKind.PRISON))  # based on revision 0
    stored = stores.facilities.get(read.id)
    assert (stored.name, stored.kind, stored.revision) == (
        "Harris County Jail, Baker Street",
        FacilityKind.JAIL,
        1,
    )
    with pytest.raises(NotFound):
        stores.facilities.replace(a_facility(id="us-tx/facility/nowhere"))


def test_a_subscription_to_an_added_facility_is_read_by_its_county_and_state(stores: Stores) -> None:
    stores.facilities.add(a_facility())
    stores.places.forget()
    jail = "us-tx/facility/harris-county-jail"
    stores.subscribers.add(subscriber("sub_jail", Role.ADVOCATE, jail))
    places = stores.places.current()
    for place in ("us-tx", "us-tx/county/harris"):
        found = stores.index.covering(reach(places, place, EventType.ROLLOUT))
        assert [e.subscriber_id for e in found] == ["sub_jail"], place
    found = stores.index.covering(reach(places, jail, EventType.DETAINER))
    assert [e.subscriber_id for e in found] == ["sub_jail"]
    assert not list(stores.index.covering(reach(places, "us-tx/county/travis", EventType.ROLLOUT)))


def a_report(copy: str, reporter: str = "desk.sergeant@example.gov") -> dict[str, Any]:
    return {
        "id": copy,
        "at": NOW.isoformat(),
        "reporter": reporter,
        "verified": True,
        "via": "email",
        "forwarded": True,
        "raw": f"s3://bucket/{copy}",
    }


def test_reports_of_a_notice_are_counted_once_each_and_read_back(stores: Stores) -> None:
    stores.notices.add(a_notice())
    assert stores.notices.add_report("ntc_contract", a_report("c1"))
    assert stores.notices.add_report("ntc_contract", a_report("c2", "patrol@example.gov"))
    assert not stores.notices.add_report("ntc_contract", a_report("c1"))  # the same copy again
    notice = stores.notices.get("ntc_contract")
    assert notice.report_count == 2
    assert list(notice.reports) == [a_report("c1"), a_report("c2", "patrol@example.gov")]
    with pytest.raises(NotFound):
        stores.notices.add_report("ntc_nothing", a_report("c3"))


def test_reports_past_the_kept_ones_are_still_counted_once(stores: Stores) -> None:
    stores.notices.add(a_notice())
    for n in range(MAX_REPORTS_KEPT + 2):
        assert stores.notices.add_report("ntc_contract", a_report(f"c{n}"))
    assert not stores.notices.add_report("ntc_contract", a_report(f"c{MAX_REPORTS_KEPT + 1}"))
    notice = stores.notices.get("ntc_contract")
    assert (len(notice.reports), notice.report_count) == (MAX_REPORTS_KEPT, MAX_REPORTS_KEPT + 2)


def test_held_notices_are_queued_oldest_first_and_leave_the_queue_when_dismissed_or_completed(
    stores: Stores,
) -> None:
    for n, minutes in enumerate((30, 10, 20)):
        held = a_notice(
            id=f"ntc_held{n}", status=NoticeStatus.TRIAGE, received_at=NOW + timedelta(minutes=minutes)
        )
        stores.notices.add(held)
    stores.notices.add(a_notice(id="ntc_open", next_step_at=NOW))
    first = stores.notices.held(limit=2, cursor=None)
    assert [n.id for n in first.items] == ["ntc_held1", "ntc_held2"]
    assert [n.next_step_at for n in first.items] == [None, None]  # held: no escalation step to come
    assert first.cursor is not None
    assert [n.id for n in stores.notices.held(limit=2, cursor=first.cursor).items] == ["ntc_held0"]
    assert stores.notices.dismiss_triage("ntc_held1", reason="a newsletter", by="key-1", at=NOW)
    assert not stores.notices.dismiss_triage("ntc_held1", reason="again", by="key-1", at=NOW)
    assert stores.notices.close_triage("ntc_held2", routed_as="ntc_open", at=NOW)
    assert [n.id for n in stores.notices.held(limit=10, cursor=None).items] == ["ntc_held0"]
    dismissed = stores.notices.get("ntc_held1")
    assert dismissed.status is NoticeStatus.CLOSED
    assert dismissed.extra["dismissed"] == {"reason": "a newsletter", "by": "key-1", "at": NOW.isoformat()}
    due = stores.notices.due(NOW + timedelta(days=1), limit=10)
    assert [n.id for n in due] == ["ntc_open"]  # the sweep never sees the queue


def test_a_subscriber_stored_without_a_revision_reads_as_the_first(dynamo: Dynamo) -> None:
    item = subscriber_to_item(subscriber("sub_old", Role.ADVOCATE, "us-ct"))
    del item["revision"]
    dynamo.client.put_item(TableName=f"vigil-{STAGE}-subscribers", Item=encode(item))
    first, second = dynamo.subscribers.get("sub_old"), dynamo.subscribers.get("sub_old")
    assert first.revision == 0
    dynamo.subscribers.replace(replace(first, name="Changed"))
    with pytest.raises(ChangedMeanwhile):
        dynamo.subscribers.replace(replace(second, name="Lost"))
    stored = dynamo.subscribers.get("sub_old")
    assert (stored.name, stored.revision) == ("Changed", 1)


# --- personal data kept until its retention period runs out -------------------------------------


def a_decided_detainer(stores: Stores, notice_id: str, *, due_in: timedelta) -> Notice:
    notice = a_notice(
        id=notice_id,
        idempotency_key=notice_id,
        type=EventType.DETAINER,
        event={
            "facility_name": "New Haven Correctional Center",
            "subject": {"name": "Person One", "date_of_birth": "1980-01-01", "a_number": "A012345678"},
            "confidential": {"victim": True},
            "counsel_subscriber_ids": ["sub_counsel"],
        },
    )
    stores.notices.add(notice)
    assert stores.notices.record_decision(
        notice.id,
        decision={"decision": "decline", "decided_at": NOW.isoformat()},
        duties=[],
        at=NOW,
        personal_data_due=NOW + due_in,
    )
    return stores.notices.get(notice.id)


def test_a_decision_puts_the_notice_on_the_retention_index_by_when_its_data_falls_due(
    stores: Stores,
) -> None:
    later = a_decided_detainer(stores, "ntc_later", due_in=timedelta(days=90))
    sooner = a_decided_detainer(stores, "ntc_sooner", due_in=timedelta(days=30))
    assert later.personal_data_due_at == NOW + timedelta(days=90)
    assert stores.notices.personal_data_due(NOW + timedelta(days=29), limit=10) == []
    assert stores.notices.personal_data_due(NOW + timedelta(days=30), limit=10) == [sooner.id]
    assert stores.notices.personal_data_due(NOW + timedelta(days=365), limit=10) == [sooner.id, later.id]
    assert stores.notices.personal_data_due(NOW + timedelta(days=365), limit=1) == [sooner.id]


def test_a_decision_without_a_due_time_never_falls_due(stores: Stores) -> None:
    notice = a_notice(type=EventType.DETAINER)
    stores.notices.add(notice)
    assert stores.notices.record_decision(notice.id, decision={"decision": "honor"}, duties=[], at=NOW)
    assert stores.notices.personal_data_due(NOW + timedelta(days=3650), limit=10) == []
    assert stores.notices.get(notice.id).personal_data_due_at is None


def test_personal_data_is_removed_once_and_the_notice_leaves_the_index_when_done(stores: Stores) -> None:
    notice = a_decided_detainer(stores, "ntc_due", due_in=timedelta(days=90))
    when = NOW + timedelta(days=91)
    kept = {"facility_name": "New Haven Correctional Center"}
    fields = ["subject", "confidential", "counsel_subscriber_ids"]
    assert stores.notices.remove_personal_data(notice.id, event=kept, fields=fields, at=when)
    assert not stores.notices.remove_personal_data(notice.id, event={}, fields=[], at=when)
    stored = stores.notices.get(notice.id)
    assert stored.event == kept
    assert (stored.personal_data_removed_at, stored.personal_data_removed) == (when, tuple(fields))
    assert (stored.personal_data_due_at, stored.decision) == (notice.personal_data_due_at, notice.decision)
    # Still due until the removal is recorded: a run that stopped here finds it next time.
    assert stores.notices.personal_data_due(when, limit=10) == [notice.id]
    stores.notices.retention_done(notice.id)
    assert stores.notices.personal_data_due(when, limit=10) == []
    assert stores.notices.get(notice.id).personal_data_removed_at == when


def test_a_notice_not_on_the_retention_index_is_not_changed(stores: Stores) -> None:
    notice = a_notice(type=EventType.DETAINER)
    stores.notices.add(notice)
    assert not stores.notices.remove_personal_data(notice.id, event={}, fields=["subject"], at=NOW)
    assert stores.notices.get(notice.id).event == notice.event


@pytest.mark.integration
def test_what_falls_due_is_one_query_of_the_keys_only_index(aws: Aws, stack: dict[str, str]) -> None:
    deps = build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session)
    client = aws.client("dynamodb")
    calls: list[tuple[str, dict[str, Any]]] = []
    aws.session.events.register(
        "provide-client-params.dynamodb.*",
        lambda params, model, **_: calls.append((model.name, dict(params))),
    )
    stores = Stores(
        deps.notices,
        deps.subscribers,
        deps.index,
        deps.deliveries,
        deps.keys,
        deps.policies,
        deps.codes,
        deps.trusted_senders,
        deps.facilities,
        deps.places,
    )
    for n in range(3):
        a_decided_detainer(stores, f"ntc_{n}", due_in=timedelta(days=n))
    calls.clear()
    assert build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session).notices.personal_data_due(
        NOW + timedelta(days=1), limit=10
    ) == ["ntc_0", "ntc_1"]
    [(operation, params)] = calls
    assert (operation, params["IndexName"]) == ("Query", "personal-data-due")
    [index] = [
        i
        for i in client.describe_table(TableName=f"vigil-{STAGE}-notices")["Table"]["GlobalSecondaryIndexes"]
        if i["IndexName"] == "personal-data-due"
    ]
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"  # no copy of the personal data


def test_a_detainer_decided_before_the_index_is_scheduled_once(stores: Stores) -> None:
    notice = a_notice(type=EventType.DETAINER)
    stores.notices.add(notice)
    assert not stores.notices.schedule_personal_data_removal(notice.id, due=NOW)  # undecided
    assert stores.notices.record_decision(notice.id, decision={"decision": "honor"}, duties=[], at=NOW)
    assert stores.notices.schedule_personal_data_removal(notice.id, due=NOW + timedelta(days=90))
    assert not stores.notices.schedule_personal_data_removal(notice.id, due=NOW)
    assert stores.notices.get(notice.id).personal_data_due_at == NOW + timedelta(days=90)
    assert stores.notices.personal_data_due(NOW + timedelta(days=90), limit=10) == [notice.id]


@pytest.mark.integration
def test_make_schedule_retention_schedules_the_detainers_decided_before(
    aws: Aws, stack: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    deps = build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session)
    earlier = a_notice(id="ntc_earlier", idempotency_key="e", type=EventType.DETAINER)
    deps.notices.add(earlier)
    deps.notices.record_decision(
        earlier.id, decision={"decision": "decline", "decided_at": NOW.isoformat()}, duties=[], at=NOW
    )
    undecided = a_notice(id="ntc_undecided", idempotency_key="u", type=EventType.DETAINER)
    deps.notices.add(undecided)
    args = ["--stage", STAGE, "--region", aws.region, "--days", "30"]
    assert schedule_retention.main(args, session=aws.session) == ["ntc_earlier"]
    assert "stage test: 1 decided detainers given a removal time, 30 days after" in capsys.readouterr().out
    assert deps.notices.get(earlier.id).personal_data_due_at == NOW + timedelta(days=30)
    assert deps.notices.personal_data_due(NOW + timedelta(days=30), limit=10) == [earlier.id]
    assert schedule_retention.main(args, session=aws.session) == []  # idempotent
    audited = [e.data for e in deps.ack_log.entries("audit") if e.actor == "infra/schedule_retention.py"]
    assert [a["after"] for a in audited] == [
        {"detainers": 1, "retention_days": 30},
        {"detainers": 0, "retention_days": 30},
    ]
