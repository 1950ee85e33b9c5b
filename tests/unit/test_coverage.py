"""Who a notice would reach, three ways that must agree: the preview in POST /events' answer, the
route step, and the coverage report; and all three as the rule of containment says."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from chalicelib.data import load_registry
from chalicelib.domain.auth import ApiRole, Caller
from chalicelib.domain.coverage import PlaceCoverage, coverage
from chalicelib.domain.deliveries import carried_deliveries
from chalicelib.domain.places import JurisdictionKind
from chalicelib.domain.policies import DEFAULT_POLICIES
from chalicelib.domain.routing import covers
from chalicelib.domain.subscribers import EventType, Role, Scope, Subscriber, Subscription
from chalicelib.schemas.events import parse_event
from chalicelib.schemas.subscribers import parse_subscriber
from chalicelib.services import ingest, routing
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from vigil_local.demo import DEMO_SUBSCRIBERS

REGISTRY = load_registry()
REQUIRED = {t: DEFAULT_POLICIES[t].required_roles for t in EventType}
STATE, NEW_HAVEN, NH_COUNTY = "us-ct", "us-ct/town/new-haven", "us-ct/county/new-haven"
SOUTH_CENTRAL, FAIRFIELD = "us-ct/region/south-central-connecticut", "us-ct/county/fairfield"


def place(report: list[PlaceCoverage], jurisdiction_id: str) -> PlaceCoverage:
    return next(p for p in report if p.jurisdiction.id == jurisdiction_id)


def test_statewide_rollout_coverage_counts_the_town_county_and_region_subscribers() -> None:
    people = [
        subscriber("mayor", Role.LOCAL_OFFICIAL, NEW_HAVEN),
        subscriber("coordinator", Role.LAW_ENFORCEMENT, FAIRFIELD),
        subscriber("council", Role.LOCAL_OFFICIAL, SOUTH_CENTRAL),
    ]
    state = place(coverage(REGISTRY, people, REQUIRED), STATE)
    assert state.reachable[EventType.ROLLOUT] == {Role.LOCAL_OFFICIAL: 2, Role.LAW_ENFORCEMENT: 1}
    assert state.reachable[EventType.DETAINER] == {}  # a detainer does not go down


def test_coverage_of_a_state_lists_its_places_and_counts_its_own_subscribers_only() -> None:
    people = [
        subscriber("harris", Role.LOCAL_OFFICIAL, "us-tx/county/harris"),
        subscriber("governor", Role.STATE_EXECUTIVE, "us-tx"),
        subscriber("connecticut", Role.STATE_EXECUTIVE, STATE),
    ]
    report = coverage(REGISTRY, people, REQUIRED, state="us-tx")
    assert len(report) == 1 + 254
    assert {p.jurisdiction.state_id for p in report} == {"us-tx"}
    assert place(report, "us-tx").reachable[EventType.ROLLOUT] == {
        Role.LOCAL_OFFICIAL: 1,
        Role.STATE_EXECUTIVE: 1,
    }
    assert place(report, "us-tx/county/dallas").reachable[EventType.ROLLOUT] == {Role.STATE_EXECUTIVE: 1}
    assert (EventType.ROLLOUT, Role.STATE_EXECUTIVE) not in place(report, "us-tx/county/harris").gaps


def test_coverage_without_a_state_is_connecticut_s() -> None:
    report = coverage(REGISTRY, [], REQUIRED)
    assert {p.jurisdiction.state_id for p in report} == {STATE}
    assert len(report) == 1 + 8 + 9 + 169 + 13


def test_exact_scope_counts_only_at_its_own_place() -> None:
    people = [subscriber("adviser", Role.STATE_EXECUTIVE, NH_COUNTY, scope=Scope.EXACT)]
    report = coverage(REGISTRY, people, REQUIRED)
    assert place(report, NH_COUNTY).reachable[EventType.ROLLOUT] == {Role.STATE_EXECUTIVE: 1}
    assert (EventType.ROLLOUT, Role.STATE_EXECUTIVE) in place(report, NEW_HAVEN).gaps
    assert (EventType.ROLLOUT, Role.STATE_EXECUTIVE) in place(report, STATE).gaps


def test_coverage_follows_the_rule_for_every_place_and_event_type() -> None:
    people = demo_like()
    report = coverage(REGISTRY, people, REQUIRED)
    for where in report:
        for event_type in EventType:
            expected = Counter(
                s.role
                for s in people
                if any(covers(sub, where.jurisdiction.id, event_type, REGISTRY) for sub in s.subscriptions)
            )
            assert where.reachable[event_type] == dict(expected), (where.jurisdiction.id, event_type)


def demo_like() -> list[Subscriber]:
    """The demo's subscribers (vigil_local/demo.py) with their channels confirmed, and a few who
    narrowed a subscription to its own place."""
    people = []
    for n, demo in enumerate(DEMO_SUBSCRIBERS):
        draft = parse_subscriber(demo.body(None), registry=REGISTRY, allow_plain_http=False)
        people.append(
            Subscriber(
                id=f"sub_demo{n:02d}",
                name=draft.name,
                role=draft.role,
                organization=draft.organization,
                ack_required=draft.ack_required,
                channels=draft.channels,
                subscriptions=draft.subscriptions,
                created_at=NOW,
                escalation_contact=draft.escalation_contact,
            )
        )
    exact = [
        ("sub_exact_town", Role.LOCAL_OFFICIAL, NEW_HAVEN, tuple(EventType)),
        ("sub_exact_county", Role.STATE_EXECUTIVE, NH_COUNTY, (EventType.ROLLOUT,)),
        (
            "sub_exact_jail",
            Role.CORRECTIONS,
            "us-ct/facility/hartford-correctional-center",
            (EventType.DETAINER,),
        ),
    ]
    for sid, role, where, types in exact:
        people.append(subscriber(sid, role, where, event_types=types, scope=Scope.EXACT))
    people.append(
        replace(
            subscriber("sub_mixed", Role.LEGAL, "us-ct/town/hamden"),
            subscriptions=(
                Subscription("us-ct/town/hamden", frozenset(EventType)),
                Subscription("us-ct/town/stamford", frozenset({EventType.ROLLOUT}), Scope.EXACT),
            ),
        )
    )
    return people


@pytest.fixture
def demo(world: FakeWorld) -> FakeWorld:
    for person in demo_like():
        world.subscribers.add(person)
    return world


def places_for(event_type: EventType) -> list[str]:
    """Every place of Connecticut (the demo's) a notice of this type can name: rollouts anywhere,
    detainers at a facility."""
    if event_type is EventType.DETAINER:
        return [p.id for p in REGISTRY.of_kind(JurisdictionKind.FACILITY)]
    return [p.id for p in REGISTRY.within(STATE)]


@pytest.mark.parametrize("event_type", list(EventType))
def test_the_preview_equals_what_routing_creates_at_every_place(
    demo: FakeWorld, event_type: EventType
) -> None:
    caller = Caller(key_id="source-key", role=ApiRole.SOURCE)
    report = {
        p.jurisdiction.id: p for p in coverage(REGISTRY, demo.subscribers.subscribers.values(), REQUIRED)
    }
    for n, where in enumerate(places_for(event_type)):
        body = (
            rollout_body(jurisdiction=where, external_id=f"preview-{n}")
            if event_type is EventType.ROLLOUT
            else detainer_body(facility=where, external_id=f"preview-{n}")
        )
        accepted = ingest.accept(
            parse_event(body, idempotency_header=None, registry=REGISTRY),
            caller=caller,
            notices=demo.notices,
            index=demo.subscribers,
            registry=REGISTRY,
            policies=demo.policies,
            route_queue=demo.route_queue,
            ack_log=demo.ack_log,
            now=NOW,
        )
        routed = routing.route(
            accepted.notice.id,
            notices=demo.notices,
            index=demo.subscribers,
            send_queue=demo.send_queue,
            registry=REGISTRY,
            policies=demo.policies,
            ack_log=demo.ack_log,
            rotations=demo.rotations,
            subscribers=demo.subscribers,
            now=NOW,
        )
        reached = {
            d.subscriber_id: d.role
            for body in demo.send_queue.take()
            for d in carried_deliveries(body) or ()
            if d.notice_id == accepted.notice.id
        }
        by_rule = {
            s.id: s.role
            for s in demo.subscribers.subscribers.values()
            if any(covers(sub, where, event_type, REGISTRY) for sub in s.subscriptions)
        }
        assert (accepted.notice.recipients, accepted.notice.coverage_gaps) == (
            routed.recipients,
            routed.coverage_gaps,
        )
        assert reached == by_rule, where
        assert dict(Counter(reached.values())) == report[where].reachable[event_type], where
        assert tuple(str(r) for t, r in report[where].gaps if t is event_type) == routed.coverage_gaps, where
