"""The rotation store's cases against the in-memory fake and the DynamoDB adapter (moto, the table
from infra/): rotations round-trip whole, one per role and place, and are read by their places."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from chalicelib.bootstrap import build
from chalicelib.config import Settings
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.rotations import Override, Rotation, rotation_id_for
from chalicelib.domain.subscribers import Role
from chalicelib.ports import RotationStore
from tests.builders import NOW
from tests.fakes import InMemoryRotationStore
from tests.integration.conftest import STAGE, Aws

FACILITY = "us-ct/facility/new-haven-correctional-center"
NOTICE_PLACES = [
    FACILITY,
    "us-ct/town/new-haven",
    "us-ct/county/new-haven",
    "us-ct/region/south-central-connecticut",
    "us-ct",
]


def a_rotation(place: str = FACILITY, role: Role = Role.CORRECTIONS, **changes: Any) -> Rotation:
    values: dict[str, Any] = {
        "id": rotation_id_for(place, role),
        "jurisdiction_id": place,
        "role": role,
        "members": ("sub_ana", "sub_ben"),
        "shift": timedelta(days=7),
        "handoff": time(8, 30),
        "start": date(2026, 3, 2),
        "overrides": (
            Override(
                datetime(2026, 3, 8, 6, 0, tzinfo=UTC),
                datetime(2026, 3, 8, 18, 0, tzinfo=UTC),
                "sub_dee",
                "Ben at a hearing; «the change of the clocks»",
            ),
        ),
        "name": "New Haven CC detainer reviewers",
        "created_at": NOW,
        "updated_at": NOW + timedelta(hours=1),
    }
    values.update(changes)
    return Rotation(**values)


@pytest.fixture(params=["fake", "dynamodb"])
def rotations(request: pytest.FixtureRequest) -> Iterator[RotationStore]:
    if request.param == "fake":
        yield InMemoryRotationStore()
        return
    aws: Aws = request.getfixturevalue("aws")
    request.getfixturevalue("stack")
    yield build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session).rotations


def test_a_rotation_round_trips_unchanged(rotations: RotationStore) -> None:
    rotation = a_rotation()
    rotations.add(rotation)

    assert rotations.get(rotation.id) == rotation
    assert rotations.list() == [rotation]


def test_a_second_rotation_of_a_role_at_a_place_is_a_conflict_and_the_first_stays(
    rotations: RotationStore,
) -> None:
    rotations.add(a_rotation())
    with pytest.raises(Conflict):
        rotations.add(a_rotation(members=("sub_dee",)))

    assert rotations.get(a_rotation().id).members == ("sub_ana", "sub_ben")


def test_a_changed_rotation_replaces_the_stored_one_and_a_missing_one_is_not_found(
    rotations: RotationStore,
) -> None:
    rotations.add(a_rotation())
    changed = a_rotation(shift=timedelta(hours=12), overrides=(), name="")
    rotations.replace(changed)

    assert rotations.get(changed.id) == changed
    with pytest.raises(NotFound):
        rotations.replace(a_rotation("us-ct"))


def test_removing_a_rotation_returns_it_and_a_second_removal_is_not_found(rotations: RotationStore) -> None:
    rotations.add(a_rotation())

    assert rotations.remove(a_rotation().id) == a_rotation()
    assert rotations.list() == []
    with pytest.raises(NotFound):
        rotations.remove(a_rotation().id)
    with pytest.raises(NotFound):
        rotations.get(a_rotation().id)


def test_the_rotations_of_a_notice_s_places_are_found_nearest_first_and_no_others(
    rotations: RotationStore,
) -> None:
    state = a_rotation("us-ct", Role.STATE_EXECUTIVE)
    facility = a_rotation()
    facility_legal = a_rotation(role=Role.LEGAL)
    elsewhere = a_rotation("us-ct/facility/bridgeport-correctional-center")
    for rotation in (state, facility, facility_legal, elsewhere):
        rotations.add(rotation)

    assert rotations.at(NOTICE_PLACES) == [facility, facility_legal, state]
    assert rotations.at(["us-ct/town/hartford"]) == []
    assert rotations.list() == [state, elsewhere, facility, facility_legal]


def test_a_rotation_without_overrides_or_a_name_round_trips(rotations: RotationStore) -> None:
    bare = replace(a_rotation(), overrides=(), name="", created_at=None, updated_at=None)
    rotations.add(bare)

    assert rotations.at(NOTICE_PLACES) == [bare]
