"""Who receives a notice: the places above and (for rollouts) inside it, once each, and the coverage gaps."""

from __future__ import annotations

from chalicelib.data import load_registry
from chalicelib.domain.notices import Notice, NoticeStatus
from chalicelib.domain.places import JurisdictionKind
from chalicelib.domain.routing import (
    Reach,
    coverage_gaps,
    covers,
    plan_deliveries,
    reach,
    reach_above,
    recipients_for,
)
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Scope,
    SubscriptionEntry,
    index_entries,
)
from tests.builders import NOW, subscriber
from tests.fakes import InMemorySubscriberStore

REGISTRY = load_registry()
STATE, NEW_HAVEN, HARTFORD = "us-ct", "us-ct/town/new-haven", "us-ct/town/hartford"
NH_COUNTY, SOUTH_CENTRAL = "us-ct/county/new-haven", "us-ct/region/south-central-connecticut"
FAIRFIELD = "us-ct/county/fairfield"
NH_JAIL = "us-ct/facility/new-haven-correctional-center"


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
    return [
        r.subscriber_id for r in recipients_for(store.covering(reach(REGISTRY, jurisdiction_id, event_type)))
    ]


def test_town_rollout_reaches_county_region_and_state_subscribers() -> None:
    store = InMemorySubscriberStore()
    for sid, role, where in [
        ("town", Role.LOCAL_OFFICIAL, NEW_HAVEN),
        ("county", Role.LAW_ENFORCEMENT, NH_COUNTY),
        ("region", Role.LOCAL_OFFICIAL, SOUTH_CENTRAL),
        ("state", Role.STATE_EXECUTIVE, STATE),
        ("hartford", Role.LOCAL_OFFICIAL, HARTFORD),
        ("fairfield", Role.LOCAL_OFFICIAL, FAIRFIELD),
    ]:
        store.add(subscriber(sid, role, where))
    assert covering(store, NEW_HAVEN, EventType.ROLLOUT) == ["county", "region", "state", "town"]


def test_statewide_rollout_reaches_town_county_and_region_subscribers() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("town", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    store.add(subscriber("county", Role.LAW_ENFORCEMENT, FAIRFIELD))
    store.add(subscriber("region", Role.LOCAL_OFFICIAL, SOUTH_CENTRAL))
    store.add(subscriber("state", Role.STATE_EXECUTIVE, STATE))
    store.add(subscriber("jail", Role.CORRECTIONS, NH_JAIL))
    assert covering(store, STATE, EventType.ROLLOUT) == ["county", "jail", "region", "state", "town"]


def test_county_rollout_reaches_its_towns_not_the_neighbouring_county() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("new-haven", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    store.add(subscriber("milford", Role.LOCAL_OFFICIAL, "us-ct/town/milford"))
    store.add(subscriber("stamford", Role.LOCAL_OFFICIAL, "us-ct/town/stamford"))
    store.add(subscriber("fairfield", Role.LAW_ENFORCEMENT, FAIRFIELD))
    assert covering(store, NH_COUNTY, EventType.ROLLOUT) == ["milford", "new-haven"]


def test_region_rollout_reaches_its_towns_whatever_their_county() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("new-haven", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    store.add(subscriber("hartford", Role.LOCAL_OFFICIAL, HARTFORD))
    store.add(subscriber("nh-county", Role.LEGAL, NH_COUNTY))
    # The county overlaps the region but neither contains the other: a region notice is not for it.
    assert covering(store, SOUTH_CENTRAL, EventType.ROLLOUT) == ["new-haven"]


TEXAS, HARRIS, DALLAS = "us-tx", "us-tx/county/harris", "us-tx/county/dallas"


def test_a_county_rollout_in_any_state_reaches_the_county_and_the_state_subscribers() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("harris", Role.LOCAL_OFFICIAL, HARRIS))
    store.add(subscriber("texas", Role.STATE_EXECUTIVE, TEXAS))
    store.add(subscriber("dallas", Role.LOCAL_OFFICIAL, DALLAS))
    store.add(subscriber("connecticut", Role.STATE_EXECUTIVE, STATE))
    store.add(subscriber("georgia-harris", Role.LOCAL_OFFICIAL, "us-ga/county/harris"))
    assert covering(store, HARRIS, EventType.ROLLOUT) == ["harris", "texas"]


def test_a_statewide_rollout_in_any_state_reaches_its_counties_not_another_state_s() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("harris", Role.LOCAL_OFFICIAL, HARRIS))
    store.add(subscriber("dallas", Role.LAW_ENFORCEMENT, DALLAS))
    store.add(subscriber("texas", Role.STATE_EXECUTIVE, TEXAS))
    store.add(subscriber("new-haven", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    store.add(subscriber("louisiana", Role.STATE_EXECUTIVE, "us-la"))
    assert covering(store, TEXAS, EventType.ROLLOUT) == ["dallas", "harris", "texas"]
    assert covering(store, TEXAS, EventType.DETAINER) == ["texas"]  # a detainer does not go down


def test_reach_of_a_county_reads_the_county_then_its_state() -> None:
    assert reach(REGISTRY, HARRIS, EventType.ROLLOUT) == Reach(EventType.ROLLOUT, HARRIS, (TEXAS,))
    assert reach(REGISTRY, TEXAS, EventType.ROLLOUT) == Reach(EventType.ROLLOUT, TEXAS, ())


def test_exact_scope_hears_only_its_own_place() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("county-only", Role.LEGAL, NH_COUNTY, scope=Scope.EXACT))
    store.add(subscriber("town-only", Role.LOCAL_OFFICIAL, NEW_HAVEN, scope=Scope.EXACT))
    assert covering(store, NH_COUNTY, EventType.ROLLOUT) == ["county-only"]
    assert covering(store, NEW_HAVEN, EventType.ROLLOUT) == ["town-only"]
    assert covering(store, STATE, EventType.ROLLOUT) == []
    assert covering(store, NH_JAIL, EventType.DETAINER) == []


def test_detainer_does_not_go_down_to_towns() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("town", Role.LOCAL_OFFICIAL, NEW_HAVEN))
    store.add(subscriber("jail", Role.CORRECTIONS, NH_JAIL))
    store.add(subscriber("state", Role.CORRECTIONS, STATE))
    assert covering(store, STATE, EventType.DETAINER) == ["state"]
    assert covering(store, NH_COUNTY, EventType.DETAINER) == ["state"]
    assert covering(store, NH_JAIL, EventType.DETAINER) == ["jail", "state", "town"]


def test_only_subscribers_of_the_event_type_are_reached() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("rollouts", Role.ADVOCATE, STATE, event_types=(EventType.ROLLOUT,)))
    store.add(subscriber("detainers", Role.CORRECTIONS, STATE, event_types=(EventType.DETAINER,)))
    store.add(subscriber("town-detainers", Role.LEGAL, NEW_HAVEN, event_types=(EventType.DETAINER,)))
    assert covering(store, NEW_HAVEN, EventType.DETAINER) == ["detainers", "town-detainers"]
    assert covering(store, STATE, EventType.ROLLOUT) == ["rollouts"]


def test_subscriber_covering_a_notice_two_ways_is_one_recipient() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("twice", Role.STATE_EXECUTIVE, STATE, NEW_HAVEN))
    recipients = recipients_for(store.covering(reach(REGISTRY, NEW_HAVEN, EventType.ROLLOUT)))
    assert [(r.subscriber_id, sorted(r.via)) for r in recipients] == [("twice", sorted([NEW_HAVEN, STATE]))]


def test_a_recipient_from_inside_is_reached_via_the_places_it_subscribed_to() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("two-towns", Role.LOCAL_OFFICIAL, NEW_HAVEN, "us-ct/town/milford"))
    recipients = recipients_for(store.covering(reach(REGISTRY, STATE, EventType.ROLLOUT)))
    assert [(r.subscriber_id, sorted(r.via)) for r in recipients] == [
        ("two-towns", ["us-ct/town/milford", NEW_HAVEN])
    ]


def test_facility_detainer_reaches_the_facility_town_and_state_reviewers() -> None:
    store = InMemorySubscriberStore()
    store.add(subscriber("unit", Role.CORRECTIONS, NH_JAIL))
    store.add(subscriber("commissioner", Role.CORRECTIONS, STATE))
    store.add(subscriber("other-jail", Role.CORRECTIONS, "us-ct/facility/bridgeport-correctional-center"))
    found = covering(store, NH_JAIL, EventType.DETAINER)
    assert found == ["commissioner", "unit"]


def test_routing_queries_one_partition_per_place_of_its_reach_whatever_the_number_of_subscribers() -> None:
    store = InMemorySubscriberStore()
    for n in range(300):
        store.add(subscriber(f"s{n}", Role.LOCAL_OFFICIAL, NEW_HAVEN if n % 2 else HARTFORD))
    covering(store, NEW_HAVEN, EventType.ROLLOUT)
    covering(store, STATE, EventType.ROLLOUT)
    assert store.queries == [NEW_HAVEN, NH_COUNTY, SOUTH_CENTRAL, STATE, STATE]


def test_reach_reads_the_place_itself_then_each_place_above_it() -> None:
    assert reach(REGISTRY, NEW_HAVEN, EventType.ROLLOUT) == Reach(
        EventType.ROLLOUT, NEW_HAVEN, (NH_COUNTY, SOUTH_CENTRAL, STATE)
    )
    assert reach(REGISTRY, STATE, EventType.ROLLOUT) == Reach(EventType.ROLLOUT, STATE, ())
    assert reach_above(REGISTRY, NEW_HAVEN, EventType.DETAINER) == Reach(
        EventType.DETAINER, None, (NH_COUNTY, SOUTH_CENTRAL, STATE)
    )


def rows(entries: list[SubscriptionEntry]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return sorted((e.jurisdiction_id, str(e.event_type), str(e.scope), e.inside) for e in entries)


def test_a_town_subscription_writes_its_row_and_an_inside_row_at_each_place_above_for_rollouts() -> None:
    entries = index_entries(subscriber("mayor", Role.LOCAL_OFFICIAL, NEW_HAVEN), REGISTRY)
    assert rows(entries) == sorted(
        [
            (NEW_HAVEN, "detainer", "contained", ()),
            (NEW_HAVEN, "rollout", "contained", ()),
            (NH_COUNTY, "rollout", "contained", (NEW_HAVEN,)),
            (SOUTH_CENTRAL, "rollout", "contained", (NEW_HAVEN,)),
            (STATE, "rollout", "contained", (NEW_HAVEN,)),
        ]
    )


def test_an_exact_subscription_writes_only_its_own_row() -> None:
    entries = index_entries(
        subscriber(
            "mayor", Role.LOCAL_OFFICIAL, NEW_HAVEN, event_types=(EventType.ROLLOUT,), scope=Scope.EXACT
        ),
        REGISTRY,
    )
    assert rows(entries) == [(NEW_HAVEN, "rollout", "exact", ())]
    assert not entries[0].covers_below


def test_a_place_subscribed_directly_gets_no_inside_row_there() -> None:
    entries = index_entries(
        subscriber("both", Role.LOCAL_OFFICIAL, NEW_HAVEN, STATE, event_types=(EventType.ROLLOUT,)), REGISTRY
    )
    assert [(e.jurisdiction_id, e.inside) for e in entries if e.jurisdiction_id == STATE] == [(STATE, ())]


def test_the_index_finds_exactly_whom_the_rule_covers_at_every_place() -> None:
    """For every place and event type, reading the index as routing does finds the subscribers
    ``covers`` says a notice there reaches, on a population of every kind of place and both scopes."""
    store = InMemorySubscriberStore()
    kinds = [JurisdictionKind.STATE, JurisdictionKind.REGION, JurisdictionKind.COUNTY, JurisdictionKind.TOWN]
    places = [p for kind in kinds for p in REGISTRY.of_kind(kind)[:7]] + [REGISTRY.get(NH_JAIL)]
    for n, place in enumerate(places):
        for scope in Scope:
            types = [(EventType.ROLLOUT,), (EventType.DETAINER,), tuple(EventType)][n % 3]
            store.add(
                subscriber(f"s{n}-{scope}", Role.LOCAL_OFFICIAL, place.id, event_types=types, scope=scope)
            )
    for place in REGISTRY.all():
        for event_type in EventType:
            expected = sorted(
                s.id
                for s in store.subscribers.values()
                if any(covers(sub, place.id, event_type, REGISTRY) for sub in s.subscriptions)
            )
            assert covering(store, place.id, event_type) == expected, (place.id, event_type)


def test_missing_state_executive_is_a_coverage_gap() -> None:
    entries = index_entries(subscriber("mayor", Role.LOCAL_OFFICIAL, NEW_HAVEN), REGISTRY)
    gaps = coverage_gaps([Role.STATE_EXECUTIVE], recipients_for(entries))
    assert gaps == (Role.STATE_EXECUTIVE,)


def test_present_state_executive_closes_the_gap() -> None:
    entries = index_entries(subscriber("adviser", Role.STATE_EXECUTIVE, STATE), REGISTRY)
    assert coverage_gaps([Role.STATE_EXECUTIVE], recipients_for(entries)) == ()


def test_one_delivery_per_recipient_and_channel_with_stable_ids() -> None:
    channels = (Channel(ChannelType.EMAIL, "a@example.gov"), Channel(ChannelType.SMS, "+18605550100"))
    entries = index_entries(subscriber("adviser", Role.STATE_EXECUTIVE, STATE, channels=channels), REGISTRY)
    planned = plan_deliveries(notice(STATE), recipients_for(entries), step=0, now=NOW)
    again = plan_deliveries(notice(STATE), recipients_for(entries), step=0, now=NOW)
    assert [d.channel_type for d in planned] == [ChannelType.EMAIL, ChannelType.SMS]
    assert [d.delivery_id for d in planned] == [d.delivery_id for d in again]
    assert len({d.delivery_id for d in planned}) == 2
