"""Correctional facilities kept by admins in every state: added, listed, shown, changed and retired
through the API, each refusal answered and changing nothing; once added, a facility is a place like
any other for detainers, routing, subscriptions, GET /jurisdictions and GET /coverage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.errors import ChangedMeanwhile
from chalicelib.domain.facilities import Facility, FacilityKind
from chalicelib.domain.subscribers import EventType, Role
from chalicelib.services.place_graph import FACILITY_LIFETIME_SECONDS
from tests.builders import detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld, InMemoryFacilityStore
from tests.unit.test_api import assert_error, call
from tests.unit.test_pipeline import run

Keys = dict[ApiRole, str]
HARRIS_JAIL = "us-tx/facility/harris-county-jail"
HARRIS_JAIL_PATH = "/facilities/us-tx/facility/harris-county-jail"
HARRIS_JAIL_BODY = {"name": "Harris County Jail", "place": "Harris County, TX", "kind": "jail"}
NEW_HAVEN_CC = "us-ct/facility/new-haven-correctional-center"


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def add_harris_jail(client: Client, keys: Keys, **extra: Any) -> dict[str, Any]:
    status, added = call(client, "POST", "/facilities", keys[ApiRole.ADMIN], {**HARRIS_JAIL_BODY, **extra})
    assert status == 201, added
    return dict(added)


def audited(world: FakeWorld) -> list[str]:
    return [e.data["action"] for e in world.ack_log.entries("audit")]


# --- adding, listing, showing ------------------------------------------------------------------------


def test_an_admin_adds_a_texas_jail_under_its_county_and_it_is_audited(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    added = add_harris_jail(client, keys, aliases=["Harris Jail", "harris  jail"])
    assert added["id"] == HARRIS_JAIL
    assert (added["name"], added["kind"], added["state"]) == ("Harris County Jail", "jail", "us-tx")
    assert added["place"] == {"id": "us-tx/county/harris", "name": "Harris County, TX", "kind": "county"}
    assert added["aliases"] == ["Harris Jail"]  # the same words twice are one alias
    assert (added["seed"], added["retired"], added["revision"]) == (False, False, 0)
    assert added["added_by"] == keys[ApiRole.ADMIN].split("_")[1]
    assert world.facilities.get(HARRIS_JAIL).place_id == "us-tx/county/harris"
    assert audited(world) == ["facility.added"]


def test_a_place_may_be_named_by_its_id_or_fips_code(client: Client, keys: Keys) -> None:
    admin = keys[ApiRole.ADMIN]
    body = {"name": "Travis County Jail", "place": "us-tx/county/travis", "kind": "jail"}
    assert call(client, "POST", "/facilities", admin, body)[1]["place"]["id"] == "us-tx/county/travis"
    body = {"name": "Montgomery Processing Center", "place": "48339", "kind": "detention-center"}
    assert call(client, "POST", "/facilities", admin, body)[1]["place"]["id"] == "us-tx/county/montgomery"


def test_a_connecticut_facility_sits_in_a_town(client: Client, keys: Keys) -> None:
    body = {"name": "Northern Correctional Institution", "place": "Somers", "kind": "prison"}
    status, added = call(client, "POST", "/facilities", keys[ApiRole.ADMIN], body)
    assert status == 201
    assert (added["id"], added["place"]["id"]) == (
        "us-ct/facility/northern-correctional-institution",
        "us-ct/town/somers",
    )
    status, found = call(client, "GET", "/jurisdictions?q=Northern%20CI", keys[ApiRole.VIEWER])
    assert (status, found["jurisdiction"]["id"]) == (200, added["id"])


def test_readers_list_a_states_facilities_and_connecticut_s_shipped_ones(client: Client, keys: Keys) -> None:
    add_harris_jail(client, keys)
    viewer = keys[ApiRole.VIEWER]
    status, texas = call(client, "GET", "/facilities?state=TX", viewer)
    assert status == 200
    assert texas["state"] == {"id": "us-tx", "name": "Texas"}
    assert [f["id"] for f in texas["items"]] == [HARRIS_JAIL]
    status, connecticut = call(client, "GET", "/facilities", viewer)
    assert status == 200
    assert len(connecticut["items"]) == 13
    kinds = {f["name"]: (f["kind"], f["seed"], f["revision"]) for f in connecticut["items"]}
    assert kinds["New Haven Correctional Center"] == ("jail", True, 0)
    assert kinds["York Correctional Institution"] == ("prison", True, 0)
    assert kinds["Manson Youth Institution"] == ("prison", True, 0)
    assert call(client, "GET", "/facilities?state=Oregon", viewer)[1]["items"] == []


def test_readers_show_an_added_and_a_shipped_facility(client: Client, keys: Keys) -> None:
    add_harris_jail(client, keys)
    viewer = keys[ApiRole.VIEWER]
    status, shown = call(client, "GET", HARRIS_JAIL_PATH, viewer)
    assert (status, shown["id"], shown["place"]["id"]) == (200, HARRIS_JAIL, "us-tx/county/harris")
    status, seed = call(client, "GET", "/facilities/us-ct/facility/new-haven-correctional-center", viewer)
    assert (status, seed["seed"], seed["place"]["id"], seed["added_by"]) == (
        200,
        True,
        "us-ct/town/new-haven",
        None,
    )


# --- refusals of POST, each changing nothing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({**HARRIS_JAIL_BODY, "place": "Harris Countee, TX"}, "place", "unknown"),
        ({**HARRIS_JAIL_BODY, "place": "Harris County"}, "place", "us-ga/county/harris"),  # Georgia and Texas
        ({**HARRIS_JAIL_BODY, "place": "Texas"}, "place", "is a state"),
        ({**HARRIS_JAIL_BODY, "place": "Hartford County"}, "place", "sits in a town"),
        ({**HARRIS_JAIL_BODY, "kind": "hotel"}, "kind", "one of"),
        ({**HARRIS_JAIL_BODY, "name": "   "}, "name", "empty"),
        ({**HARRIS_JAIL_BODY, "name": "---"}, "name", "letters or digits"),
        ({**HARRIS_JAIL_BODY, "name": "Harris\nJail"}, "name", "single line"),
        ({**HARRIS_JAIL_BODY, "aliases": "Harris Jail"}, "aliases", "list"),
        ({**HARRIS_JAIL_BODY, "aliases": ["ok", 7]}, "aliases[1]", "string"),
        ({**HARRIS_JAIL_BODY, "aliases": ["Harris\u2028Jail"]}, "aliases[0]", "single line"),
        ({**HARRIS_JAIL_BODY, "aliases": None}, "aliases", "list"),
        ({**HARRIS_JAIL_BODY, "place": "Harris\u2028County, TX"}, "place", "single line"),
        ({**HARRIS_JAIL_BODY, "capacity": 9000}, "capacity", "not a known field"),
        ({"place": "Harris County, TX", "kind": "jail"}, "name", "required"),
    ],
)
def test_a_bad_facility_is_400_naming_the_field_and_adds_nothing(
    client: Client, keys: Keys, world: FakeWorld, body: dict[str, Any], field: str, words: str
) -> None:
    status, answer = call(client, "POST", "/facilities", keys[ApiRole.ADMIN], body)
    assert status == 400
    assert_error(answer, "invalid_input")
    [detail] = [d for d in answer["details"] if d["field"] == field]
    assert words in detail["message"]
    assert world.facilities.facilities == {}
    assert audited(world) == []


def test_an_ambiguous_place_names_each_candidate_with_its_id(client: Client, keys: Keys) -> None:
    status, answer = call(
        client, "POST", "/facilities", keys[ApiRole.ADMIN], {**HARRIS_JAIL_BODY, "place": "Harris County"}
    )
    assert status == 400
    [detail] = answer["details"]
    assert detail["field"] == "place"
    assert "ambiguous" in detail["message"]
    assert "us-ga/county/harris" in detail["message"]
    assert "us-tx/county/harris" in detail["message"]


def test_the_same_id_twice_is_409_and_the_first_stays(client: Client, keys: Keys, world: FakeWorld) -> None:
    add_harris_jail(client, keys)
    again = {**HARRIS_JAIL_BODY, "name": "Harris County  Jail", "place": "us-tx/county/travis"}
    status, answer = call(client, "POST", "/facilities", keys[ApiRole.ADMIN], again)
    assert status == 409
    assert_error(answer, "conflict")
    assert world.facilities.get(HARRIS_JAIL).place_id == "us-tx/county/harris"
    assert audited(world) == ["facility.added"]


def test_a_shipped_facility_s_id_or_a_name_another_place_has_is_409(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    admin = keys[ApiRole.ADMIN]
    seed = {"name": "New Haven Correctional Center", "place": "New Haven", "kind": "jail"}
    status, answer = call(client, "POST", "/facilities", admin, seed)
    assert status == 409
    assert answer["details"][0]["field"] == "name"
    county = {"name": "Harris County", "place": "Harris County, TX", "kind": "jail"}
    status, answer = call(client, "POST", "/facilities", admin, county)
    assert status == 409
    assert "us-tx/county/harris" in answer["details"][0]["message"]
    add_harris_jail(client, keys, aliases=["Baker Street Jail"])
    taken = {
        "name": "Harris Annex",
        "place": "Harris County, TX",
        "kind": "jail",
        "aliases": ["Baker Street Jail"],
    }
    status, answer = call(client, "POST", "/facilities", admin, taken)
    assert status == 409
    assert answer["details"] == [
        {
            "field": "aliases[0]",
            "message": f"'Baker Street Jail' already names Harris County Jail, TX ({HARRIS_JAIL})",
        }
    ]
    assert list(world.facilities.facilities) == [HARRIS_JAIL]


def test_facilities_are_changed_by_admins_only_and_read_by_every_key(client: Client, keys: Keys) -> None:
    add_harris_jail(client, keys)
    for role in (ApiRole.SOURCE, ApiRole.REVIEWER, ApiRole.VIEWER):
        status, answer = call(client, "POST", "/facilities", keys[role], HARRIS_JAIL_BODY)
        assert status == 403
        assert_error(answer, "forbidden")
        assert call(client, "PATCH", HARRIS_JAIL_PATH, keys[role], {"retired": True})[0] == 403
        assert call(client, "GET", HARRIS_JAIL_PATH, keys[role])[0] == 200
        assert call(client, "GET", "/facilities?state=TX", keys[role])[0] == 200
    assert call(client, "POST", "/facilities", None, HARRIS_JAIL_BODY)[0] == 401
    assert call(client, "GET", "/facilities", None)[0] == 401


def test_an_unknown_facility_is_404_and_an_address_no_facility_id_has_400(client: Client, keys: Keys) -> None:
    viewer = keys[ApiRole.VIEWER]
    status, answer = call(client, "GET", "/facilities/us-tx/facility/nowhere", viewer)
    assert (status, answer["error"]) == (404, "not_found")
    for path, field in [
        ("/facilities/texas/facility/harris-county-jail", "state_id"),
        ("/facilities/us-tx/facility/harris_county_jail", "slug"),
        ("/facilities/us-tx/facility/-harris", "slug"),
    ]:
        status, answer = call(client, "GET", path, viewer)
        assert (status, [d["field"] for d in answer["details"]]) == (400, [field]), path
    status, answer = call(client, "GET", "/facilities?state=Harris%20County%2C%20TX", viewer)
    assert (status, answer["details"][0]["field"]) == (400, "state")


# --- changing and retiring ------------------------------------------------------------------------------


def test_an_admin_renames_and_re_aliases_a_facility_its_id_stays_and_the_change_is_audited(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    add_harris_jail(client, keys)
    change = {"name": "Harris County Joint Processing Center", "aliases": ["JPC"], "kind": "detention-center"}
    status, changed = call(client, "PATCH", HARRIS_JAIL_PATH, keys[ApiRole.ADMIN], change)
    assert status == 200
    assert (changed["id"], changed["name"], changed["aliases"]) == (HARRIS_JAIL, change["name"], ["JPC"])
    assert (changed["kind"], changed["revision"]) == ("detention-center", 1)
    status, found = call(client, "GET", "/jurisdictions?q=JPC%2C%20TX", keys[ApiRole.VIEWER])
    assert (status, found["jurisdiction"]["id"]) == (200, HARRIS_JAIL)
    status, _ = call(client, "GET", "/jurisdictions?q=Harris%20County%20Jail%2C%20TX", keys[ApiRole.VIEWER])
    assert status == 404  # the old name went with the rename
    [entry] = [e for e in world.ack_log.entries("audit") if e.data["action"] == "facility.changed"]
    assert (entry.data["before"]["name"], entry.data["after"]["name"]) == (
        "Harris County Jail",
        change["name"],
    )


def test_a_moved_facility_s_subscribers_are_reached_through_its_new_county(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    add_harris_jail(client, keys)
    world.subscribers.add(subscriber("sub_jail", Role.ADVOCATE, HARRIS_JAIL))
    graph = world.places.current()
    assert "us-tx/county/harris" in {j.id for j in graph.ancestors(HARRIS_JAIL)}
    status, moved = call(
        client, "PATCH", HARRIS_JAIL_PATH, keys[ApiRole.ADMIN], {"place": "Fort Bend County, TX"}
    )
    assert (status, moved["place"]["id"]) == (200, "us-tx/county/fort-bend")
    graph = world.places.current()
    assert [j.id for j in graph.ancestors(HARRIS_JAIL)] == [HARRIS_JAIL, "us-tx/county/fort-bend", "us-tx"]


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"place": "Cook County, IL"}, "place", 400),  # another state
        ({"place": "Texas"}, "place", 400),
        ({"name": "Travis County"}, "name", 409),
        ({"retired": "yes"}, "retired", 400),
        ({"id": "us-tx/facility/x"}, "id", 400),
        ({}, "body", 400),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld, change: dict[str, Any], field: str, status: int
) -> None:
    add_harris_jail(client, keys)
    answer = call(client, "PATCH", HARRIS_JAIL_PATH, keys[ApiRole.ADMIN], change)
    assert answer[0] == status
    assert field in {d["field"] for d in answer[1]["details"]}
    assert world.facilities.get(HARRIS_JAIL).revision == 0
    assert audited(world) == ["facility.added"]


def test_a_shipped_facility_is_not_changed_retired_or_moved_through_the_api(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    path = "/facilities/us-ct/facility/new-haven-correctional-center"
    for change in ({"place": "Hamden"}, {"retired": True}, {"name": "New Haven Jail"}):
        status, answer = call(client, "PATCH", path, keys[ApiRole.ADMIN], change)
        assert status == 409
        assert answer["details"][0]["field"] == "facility_id"
    assert world.places.current().get(NEW_HAVEN_CC).parents == ("us-ct/town/new-haven",)
    assert audited(world) == []
    assert (
        call(client, "PATCH", "/facilities/us-tx/facility/nowhere", keys[ApiRole.ADMIN], {"retired": True})[0]
        == 404
    )


def test_a_retired_facility_takes_no_new_detainer_and_keeps_what_named_it(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    add_harris_jail(client, keys)
    source = keys[ApiRole.SOURCE]
    body = detainer_body(facility="Harris County Jail, TX")
    status, accepted = call(client, "POST", "/events", source, body)
    assert status == 202
    status, retired = call(client, "PATCH", HARRIS_JAIL_PATH, keys[ApiRole.ADMIN], {"retired": True})
    assert (status, retired["retired"]) == (200, True)
    assert retired["retired_at"] is not None
    status, refused = call(client, "POST", "/events", source, {**body, "external_id": "I247A-2"})
    assert status == 400
    [detail] = refused["details"]
    assert (detail["field"], "retired" in detail["message"]) == ("facility", True)
    status, notice = call(client, "GET", f"/notices/{accepted['notice_id']}", keys[ApiRole.VIEWER])
    assert (status, notice["jurisdiction_id"]) == (200, HARRIS_JAIL)
    status, found = call(
        client, "GET", "/jurisdictions?q=us-tx%2Ffacility%2Fharris-county-jail", keys[ApiRole.VIEWER]
    )
    assert (status, found["jurisdiction"]["retired"]) == (200, True)
    status, back = call(client, "PATCH", HARRIS_JAIL_PATH, keys[ApiRole.ADMIN], {"retired": False})
    assert (status, back["retired"], back["revision"]) == (200, False, 2)
    assert call(client, "POST", "/events", source, {**body, "external_id": "I247A-3"})[0] == 202


class RacingStore(InMemoryFacilityStore):
    """Another admin's change lands between this change's read and its write, once."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def replace(self, facility: Facility) -> None:
        if not self.raced:
            self.raced = True
            stored = self.facilities[facility.id]
            self.facilities[facility.id] = replace(
                stored, aliases=("Baker Street",), revision=stored.revision + 1
            )
            raise ChangedMeanwhile("changed since it was read")
        super().replace(facility)


def test_a_change_that_meets_another_is_applied_again_to_what_is_stored(keys: Keys, world: FakeWorld) -> None:
    world.facilities = RacingStore()
    world.__post_init__()  # the graph and the index read the racing store
    bootstrap.use(world.deps())
    with Client(app) as client:
        add_harris_jail(client, keys)
        status, changed = call(client, "PATCH", HARRIS_JAIL_PATH, keys[ApiRole.ADMIN], {"kind": "prison"})
    assert status == 200
    assert (changed["kind"], changed["aliases"], changed["revision"]) == ("prison", ["Baker Street"], 2)


# --- a facility is a place like any other -----------------------------------------------------------------


def test_a_detainer_at_a_texas_jail_reaches_the_jail_harris_county_and_texas_and_has_no_regime(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    add_harris_jail(client, keys, aliases=["Harris Jail"])
    for sid, place in (
        ("sub_jail", HARRIS_JAIL),
        ("sub_county", "us-tx/county/harris"),
        ("sub_state", "us-tx"),
    ):
        world.subscribers.add(subscriber(sid, Role.CORRECTIONS, place))
    world.subscribers.add(subscriber("sub_travis", Role.CORRECTIONS, "us-tx/county/travis"))
    world.subscribers.add(subscriber("sub_ct", Role.CORRECTIONS, "us-ct"))
    status, accepted = call(
        client, "POST", "/events", keys[ApiRole.SOURCE], detainer_body(facility="Harris Jail, TX")
    )
    assert status == 202
    assert (accepted["jurisdiction_id"], accepted["recipients"], accepted["coverage_gaps"]) == (
        HARRIS_JAIL,
        3,
        [],
    )
    run(world)
    reached = {d.subscriber_id for d in world.deliveries.deliveries.values()}
    assert reached == {"sub_jail", "sub_county", "sub_state"}
    classification = world.notices.get(accepted["notice_id"]).event["classification"]
    assert classification["suggestion"] == "needs-judgment"
    assert "no regime on file for Texas" in classification["explanation"][0]
    assert (classification["regime_id"], classification["criteria"]) == (None, [])


@pytest.mark.parametrize(
    ("place", "reached"),
    [("us-tx", {"sub_jail", "sub_travis_jail"}), ("us-tx/county/harris", {"sub_jail"})],
)
def test_a_texas_or_harris_county_rollout_reaches_the_jail_s_subscribers(
    client: Client, keys: Keys, world: FakeWorld, place: str, reached: set[str]
) -> None:
    add_harris_jail(client, keys)
    travis = {"name": "Travis County Jail", "place": "us-tx/county/travis", "kind": "jail"}
    travis_jail = call(client, "POST", "/facilities", keys[ApiRole.ADMIN], travis)[1]["id"]
    world.subscribers.add(
        subscriber("sub_jail", Role.ADVOCATE, HARRIS_JAIL, event_types=(EventType.ROLLOUT,))
    )
    world.subscribers.add(subscriber("sub_travis_jail", Role.ADVOCATE, travis_jail))
    world.subscribers.add(subscriber("sub_il", Role.ADVOCATE, "us-il"))
    status, accepted = call(client, "POST", "/events", keys[ApiRole.SOURCE], rollout_body(jurisdiction=place))
    assert (status, accepted["recipients"]) == (202, len(reached))
    run(world)
    assert {d.subscriber_id for d in world.deliveries.deliveries.values()} == reached


def test_subscriptions_and_coverage_know_an_added_facility(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    add_harris_jail(client, keys)
    body = {
        "name": "Jail chaplain",
        "role": "advocate",
        "channels": [{"type": "webhook", "url": "https://chaplain.example.org/hook"}],
        "subscriptions": [{"jurisdiction": HARRIS_JAIL, "event_types": ["detainer"]}],
    }
    status, created = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], body)
    assert status == 201
    assert created["subscriptions"][0]["jurisdiction"] == HARRIS_JAIL
    status, coverage = call(client, "GET", "/coverage?state=TX", keys[ApiRole.VIEWER])
    assert status == 200
    [jail] = [j for j in coverage["jurisdictions"] if j["id"] == HARRIS_JAIL]
    assert (jail["kind"], jail["reachable"]["detainer"]["advocate"]) == ("facility", 1)


def test_another_container_s_facility_is_seen_once_the_lifetime_has_passed(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    viewer = keys[ApiRole.VIEWER]
    assert call(client, "GET", "/jurisdictions?q=Texas", viewer)[0] == 200
    reads = world.facilities.listed
    for _ in range(3):
        assert call(client, "GET", "/jurisdictions?q=Hartford", viewer)[0] == 200
    assert world.facilities.listed == reads  # one read per lifetime, not one per request
    world.facilities.add(
        Facility(HARRIS_JAIL, "Harris County Jail", "us-tx/county/harris", FacilityKind.JAIL)
    )
    assert call(client, "GET", "/jurisdictions?q=Harris%20County%20Jail%2C%20TX", viewer)[0] == 404
    world.ticks[0] += FACILITY_LIFETIME_SECONDS
    status, found = call(client, "GET", "/jurisdictions?q=Harris%20County%20Jail%2C%20TX", viewer)
    assert (status, found["jurisdiction"]["id"], found["ancestors"]) == (
        200,
        HARRIS_JAIL,
        [HARRIS_JAIL, "us-tx/county/harris", "us-tx"],
    )
    assert world.facilities.listed == reads + 1


def test_two_stored_namesakes_or_a_shipped_id_never_keep_a_state_from_loading(world: FakeWorld) -> None:
    """What the writes' checks keep out but a race or a release could let in."""
    jail = Facility(HARRIS_JAIL, "Harris County Jail", "us-tx/county/harris", FacilityKind.JAIL)
    world.facilities.add(jail)
    world.facilities.add(
        replace(jail, id="us-tx/facility/harris-county-jail-2", place_id="us-tx/county/travis")
    )
    world.facilities.add(
        Facility(NEW_HAVEN_CC, "New Haven Correctional Center", "us-ct/town/hamden", FacilityKind.JAIL)
    )
    graph = world.places.current()
    assert graph.resolve("Harris County Jail, TX").id == HARRIS_JAIL
    second = graph.get("us-tx/facility/harris-county-jail-2")
    assert second.name == "Harris County Jail (us-tx/facility/harris-county-jail-2)"
    assert graph.get(NEW_HAVEN_CC).parents == ("us-ct/town/new-haven",)  # the shipped one
