"""Who receives a notice: the jurisdiction tree, once each, and the coverage gaps."""

from __future__ import annotations

from chalicelib.data import load_registry
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.routing import coverage_gaps, plan_deliveries, recipients_for
from chalicelib.domain.subscribers import Channel, ChannelType, EventType, Role, index_entries
from tests.builders import NOW, subscriber
from tests.fakes import InMemorySubscriberStore

STATE, NEW_HAVEN = "us-ct", "us-ct/town/new-haven"
NH_COUNTY, SOUTH_CENTRAL = "us-ct/county/new-haven", "us-ct/region/south-central-connecticut"


def notice(jurisdiction_id: str, event_type: EventType = EventType.ROLLOUT) -> Notice:
    return Notice(
        id="ntc_1",
        type=event_type,
        status=NoticeStatus.OPEN,
        idempotency_key="k",
        fingerprint="f",
        jurisdiction_id=jurisdiction_id,
        title="t",
        received_at=NOW,
        event={},
        submitted_by="key",
    )


def covering(store: InMemorySubscriberStore, jurisdiction_id: str, event_type: EventType) -> list[str]:
    ancestors = [j.id for j in load_registry().ancestors(jurisdiction_id)]
    return [r.subscriber_id for r in recipients_for(store.covering(ancestors, event_type))]


def test_town_rollout_reaches_county_region_and_state_subscribers() -> None:
    store = InMemorySubscriberStore()
    for sid, role, where in [
        ("town", Role.LOCAL_OFFICIAL, NEW_HAVEN),
        ("county", Role.LAW_ENFORCEMENT, NH_COUNTY),
        ("region", Role.LOCAL_OFFICIAL, SOUTH_CENTRAL),
        ("state", Role.STATE_EXECUTIVE, STATE),
        ("hartford", Role.LOCAL_OFFICIAL, "us-ct/town/hartford"),
        ("fairfield", Role.LOCAL_OFFICIAL, "us-ct/county/fairfield"),
    ]:
        store.add(subscriber(sid, role, where))
    assert covering(store, NEW_HAVEN, EventType.ROLLOUT) == ["county", "region", "state", "town"]


def test_statewide_rollout_does_not_reach_town_subscribers_below_it() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("town", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    store.add(subscriber("state", Role.STATE_EXECUTIVE, STATE))
    # Subscriptions cover what is under them; a statewide notice is for state-level subscribers.
    assert covering(store, STATE, EventType.ROLLOUT) == ["state"]


def test_only_subscribers_of_the_event_type_are_reached() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("rollouts", Role.ADVOCATE, STATE, event_types=(EventType.ROLLOUT,)))
    store.add(subscriber("detainers", Role.CORRECTIONS, STATE, event_types=(EventType.DETAINER,)))
    assert covering(store, NEW_HAVEN, EventType.DETAINER) == ["detainers"]


def test_subscriber_covering_a_notice_two_ways_is_one_recipient() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("twice", Role.STATE_EXECUTIVE, STATE, NEW_HAVEN))
    ancestors = [j.id for j in load_registry().ancestors(NEW_HAVEN)]
    recipients = recipients_for(store.covering(ancestors, EventType.ROLLOUT))
    assert [(r.subscriber_id, sorted(r.via)) for r in recipients] == [("twice", sorted([NEW_HAVEN, STATE]))]


def test_facility_detainer_reaches_the_facility_town_and_state_reviewers() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("unit", Role.CORRECTIONS, "us-ct/facility/new-haven-correctional-center"))
    store.add(subscriber("commissioner", Role.CORRECTIONS, STATE))
    store.add(subscriber("other-jail", Role.CORRECTIONS, "us-ct/facility/bridgeport-correctional-center"))
    found = covering(store, "us-ct/facility/new-haven-correctional-center", EventType.DETAINER)
    assert found == ["commissioner", "unit"]


def test_routing_queries_one_partition_per_ancestor_whatever_the_number_of_subscribers() -> None:
    store = InMemorySubscriberStore()
    for n in range(300):
        store.add(subscriber(f"s{n}", Role.LOCAL_OFFICIAL, NEW_HAVEN if n % 2 else "us-ct/town/hartford"))
    covering(store, NEW_HAVEN, EventType.ROLLOUT)
    assert store.queries == [NEW_HAVEN, NH_COUNTY, SOUTH_CENTRAL, STATE]


def test_missing_state_executive_is_a_coverage_gap() -> None:
    entries = index_entries(subscriber("mayor", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    gaps = coverage_gaps([Role.STATE_EXECUTIVE], recipients_for(entries))
    assert gaps == (Role.STATE_EXECUTIVE,)


def test_present_state_executive_closes_the_gap() -> None:
    entries = index_entries(subscriber("adviser", Role.STATE_EXECUTIVE, STATE))
    assert coverage_gaps([Role.STATE_EXECUTIVE], recipients_for(entries)) == ()


def test_one_delivery_per_recipient_and_channel_with_stable_ids() -> None:
    channels = (Channel(ChannelType.EMAIL, "a@example.gov"), Channel(ChannelType.SMS, "+18605550100"))
    entries = index_entries(subscriber("adviser", Role.STATE_EXECUTIVE, STATE, channels=channels))
    planned = plan_deliveries(notice(STATE), recipients_for(entries), step=0, now=NOW)
    again = plan_deliveries(notice(STATE), recipients_for(entries), step=0, now=NOW)
    assert [d.channel_type for d in planned] == [ChannelType.EMAIL, ChannelType.SMS]
    assert [d.delivery_id for d in planned] == [d.delivery_id for d in again]
    assert len({d.delivery_id for d in planned}) == 2
