"""Duty rotations through the API: admins make, read, change and delete them (each change audited),
every bad field is named, and a rotation nobody in it can be reached is a coverage gap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from chalicelib.services.audit import AUDIT_STREAM
from tests.builders import subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call

Keys = dict[ApiRole, str]
FACILITY = "us-ct/facility/new-haven-correctional-center"
# Tuesday 2 June 2026, noon in New York: Ben's day in a daily rotation of Ana and Ben from 1 June.
AT = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)
ROTATION: dict[str, Any] = {
    "jurisdiction": "New Haven Correctional Center",
    "role": "corrections",
    "name": "New Haven CC detainer reviewers",
    "members": ["ana", "ben"],
    "shift": "P1D",
    "handoff": "08:00",
    "start": "2026-06-01",
}


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(world.deps(), clock=lambda: AT)
    for sid in ("ana", "ben", "dee"):
        world.subscribers.add(subscriber(sid, Role.CORRECTIONS, FACILITY))
    world.subscribers.add(subscriber("advocates", Role.ADVOCATE, "us-ct"))
    with Client(app) as test_client:
        yield test_client


def create(client: Client, keys: Keys, **changes: Any) -> tuple[int, Any]:
    return call(client, "POST", "/rotations", keys[ApiRole.ADMIN], {**ROTATION, **changes})


def fields(body: Any) -> list[str]:
    return [d["field"] for d in body["details"]]


def audited(world: FakeWorld) -> list[tuple[str, str]]:
    return [(e.data["action"], e.actor) for e in world.ack_log.entries(AUDIT_STREAM)]


def test_an_admin_makes_a_rotation_and_sees_who_is_on_duty_now_and_next(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    status, made = create(client, keys)

    assert status == 201
    assert made["id"].startswith("rot_")
    assert made["jurisdiction_id"] == FACILITY
    assert made["jurisdiction_name"] == "New Haven Correctional Center"
    assert made["time_zone"] == "America/New_York"
    assert made["members"] == [
        {"subscriber_id": "ana", "name": "Office ana", "reachable": True},
        {"subscriber_id": "ben", "name": "Office ben", "reachable": True},
    ]
    assert made["on_duty"] == {
        "subscriber_id": "ben",
        "name": "Office ben",
        "start": "2026-06-02T12:00:00+00:00",
        "end": "2026-06-03T12:00:00+00:00",
        "covering_for": None,
    }
    assert made["next_on_duty"]["subscriber_id"] == "ana"
    assert made["next_on_duty"]["start"] == "2026-06-03T12:00:00+00:00"
    assert made["coverage_gap"] is False
    key_id = keys[ApiRole.ADMIN].split("_")[1]
    assert audited(world) == [("rotation.created", key_id)]
    assert call(client, "GET", f"/rotations/{made['id']}", keys[ApiRole.ADMIN]) == (200, made)
    assert call(client, "GET", "/rotations", keys[ApiRole.ADMIN]) == (200, {"items": [made]})


def test_a_second_rotation_of_the_role_at_the_place_is_a_conflict_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, first = create(client, keys)
    status, body = create(client, keys, members=["dee"], name="another")

    assert status == 409
    assert_error(body, "conflict")
    assert first["id"] in body["message"]
    assert world.rotations.get(first["id"]).members == ("ana", "ben")


def test_members_who_are_not_subscribers_of_the_role_are_each_named_and_nothing_is_stored(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    cover = {
        "start": "2026-06-02T12:00:00-04:00",
        "end": "2026-06-02T18:00:00-04:00",
        "subscriber_id": "nobody",
    }
    status, body = create(client, keys, members=["ana", "advocates", "ghost"], overrides=[cover])

    assert status == 400
    assert_error(body, "invalid_input")
    assert fields(body) == ["members[1]", "members[2]", "overrides[0].subscriber_id"]
    assert "'advocates' is a advocate, not a corrections" in body["details"][0]["message"]
    assert world.rotations.rotations == {}
    assert audited(world) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"jurisdiction": "Gotham"}, "jurisdiction"),
        ({"role": "sheriff"}, "role"),
        ({"members": []}, "members"),
        ({"members": ["ana", "ana"]}, "members[1]"),
        ({"shift": "PT30M"}, "shift"),
        ({"shift": "P29D"}, "shift"),
        ({"shift": "a week"}, "shift"),
        ({"handoff": "8am"}, "handoff"),
        ({"handoff": "24:00"}, "handoff"),
        ({"start": "2026-02-30"}, "start"),
        (
            {
                "overrides": [
                    {
                        "start": "2026-06-02T12:00:00",
                        "end": "2026-06-02T13:00:00-04:00",
                        "subscriber_id": "dee",
                    }
                ]
            },
            "overrides[0].start",
        ),
        (
            {
                "overrides": [
                    {
                        "start": "2026-06-02T12:00:00-04:00",
                        "end": "2026-06-02T11:00:00-04:00",
                        "subscriber_id": "dee",
                    }
                ]
            },
            "overrides[0].end",
        ),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_each_bad_field_of_a_new_rotation_is_named(
    client: Client, keys: Keys, world: FakeWorld, changes: dict[str, Any], field: str
) -> None:
    status, body = create(client, keys, **changes)

    assert status == 400
    assert field in fields(body)
    assert world.rotations.rotations == {}


def test_overlapping_overrides_are_refused_naming_the_later_one(client: Client, keys: Keys) -> None:
    overrides = [
        {"start": "2026-06-02T12:00:00-04:00", "end": "2026-06-02T18:00:00-04:00", "subscriber_id": "dee"},
        {"start": "2026-06-02T17:00:00-04:00", "end": "2026-06-02T19:00:00-04:00", "subscriber_id": "ana"},
    ]
    status, body = create(client, keys, overrides=overrides)

    assert status == 400
    assert body["details"] == [{"field": "overrides[1]", "message": "overlaps overrides[0]"}]


def test_an_override_added_by_a_change_covers_the_shift_and_the_change_is_audited_before_and_after(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, made = create(client, keys)
    cover = {
        "start": "2026-06-02T11:00:00-04:00",
        "end": "2026-06-02T18:00:00-04:00",
        "subscriber_id": "dee",
        "note": "Ben at a hearing",
    }
    status, changed = call(
        client, "PATCH", f"/rotations/{made['id']}", keys[ApiRole.ADMIN], {"add_overrides": [cover]}
    )

    assert status == 200
    assert changed["on_duty"] == {
        "subscriber_id": "dee",
        "name": "Office dee",
        "start": "2026-06-02T15:00:00+00:00",
        "end": "2026-06-02T22:00:00+00:00",
        "covering_for": "ben",
    }
    assert changed["next_on_duty"]["subscriber_id"] == "ben"
    entry = world.ack_log.entries(AUDIT_STREAM)[-1]
    assert entry.data["action"] == "rotation.changed"
    assert entry.data["before"]["overrides"] == []
    assert entry.data["after"]["overrides"][0]["subscriber_id"] == "dee"


def test_a_change_may_not_move_the_rotation_or_add_an_override_that_overlaps(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    cover = {"start": "2026-06-02T11:00:00-04:00", "end": "2026-06-02T18:00:00-04:00", "subscriber_id": "dee"}
    _, made = create(client, keys, overrides=[cover])
    path = f"/rotations/{made['id']}"
    stored = world.rotations.get(made["id"])

    moved = call(client, "PATCH", path, keys[ApiRole.ADMIN], {"jurisdiction": "Hartford", "role": "legal"})
    overlapping = call(
        client, "PATCH", path, keys[ApiRole.ADMIN], {"add_overrides": [{**cover, "subscriber_id": "ana"}]}
    )
    empty = call(client, "PATCH", path, keys[ApiRole.ADMIN], {})
    stranger = call(client, "PATCH", path, keys[ApiRole.ADMIN], {"members": ["ana", "advocates"]})

    assert (moved[0], fields(moved[1])) == (400, ["jurisdiction", "role"])
    assert (overlapping[0], fields(overlapping[1])) == (400, ["add_overrides[0]"])
    assert (empty[0], fields(empty[1])) == (400, ["body"])
    assert (stranger[0], fields(stranger[1])) == (400, ["members[1]"])
    assert world.rotations.get(made["id"]) == stored
    assert [a for a, _ in audited(world)] == ["rotation.created"]


def test_deleting_a_rotation_removes_it_and_is_audited(client: Client, keys: Keys, world: FakeWorld) -> None:
    _, made = create(client, keys)

    assert call(client, "DELETE", f"/rotations/{made['id']}", keys[ApiRole.ADMIN]) == (204, None)
    status, body = call(client, "GET", f"/rotations/{made['id']}", keys[ApiRole.ADMIN])
    assert status == 404
    assert_error(body, "not_found")
    assert call(client, "DELETE", f"/rotations/{made['id']}", keys[ApiRole.ADMIN])[0] == 404
    assert [a for a, _ in audited(world)] == ["rotation.created", "rotation.deleted"]


@pytest.mark.parametrize("role", [ApiRole.SOURCE, ApiRole.REVIEWER, ApiRole.VIEWER])
def test_rotations_are_for_admins_only(client: Client, keys: Keys, world: FakeWorld, role: ApiRole) -> None:
    status, body = call(client, "POST", "/rotations", keys[role], ROTATION)

    assert status == 403
    assert_error(body, "forbidden")
    assert call(client, "GET", "/rotations", keys[role])[0] == 403
    assert world.rotations.rotations == {}


def test_a_rotation_none_of_whose_members_can_be_reached_is_a_coverage_gap(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    _, made = create(client, keys)
    for sid in ("ana", "ben"):
        unconfirmed = Channel(ChannelType.EMAIL, f"{sid}@doc.example.gov", verified=False)
        world.subscribers.replace(subscriber(sid, Role.CORRECTIONS, FACILITY, channels=(unconfirmed,)))

    shown = call(client, "GET", f"/rotations/{made['id']}", keys[ApiRole.ADMIN])[1]
    coverage = call(client, "GET", "/coverage", keys[ApiRole.VIEWER])[1]

    assert shown["coverage_gap"] is True
    assert [m["reachable"] for m in shown["members"]] == [False, False]
    assert coverage["rotation_gaps"] == [
        {
            "rotation_id": made["id"],
            "name": "New Haven CC detainer reviewers",
            "jurisdiction_id": FACILITY,
            "role": "corrections",
            "members": 2,
        }
    ]


def test_a_rotation_with_a_member_who_can_be_reached_is_no_coverage_gap(client: Client, keys: Keys) -> None:
    create(client, keys)

    assert call(client, "GET", "/coverage", keys[ApiRole.ADMIN])[1]["rotation_gaps"] == []
