"""The subscription index and the facilities it routes to, against the in-memory fakes and the
DynamoDB adapters (moto, tables from infra/): who a notice for a place reaches, rows kept in step
with their subscriber; and on DynamoDB, what each read costs and how rows written before scopes are
read and reindexed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.adapters.dynamodb import encode
from chalicelib.adapters.subscriber_store import DynamoSubscriberStore, entry_to_item, subscriber_to_item
from chalicelib.data import load_registry
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, NotFound
from chalicelib.domain.facilities import Facility, FacilityKind
from chalicelib.domain.places import JurisdictionKind
from chalicelib.domain.routing import covers, reach, recipients_for
from chalicelib.domain.subscribers import EventType, Role, Scope, Subscriber, index_entries
from chalicelib.ports import SubscriberStore, SubscriptionIndex
from chalicelib.services.subscribers import reindex_all
from infra import reindex
from tests.builders import NOW, subscriber
from tests.fake_acklog import InMemoryAckLog
from tests.integration.conftest import STAGE, Aws, Stores


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
