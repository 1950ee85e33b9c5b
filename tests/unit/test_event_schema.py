"""POST /events bodies: what is accepted, and every refusal naming its field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from chalicelib.data import load_registry
from chalicelib.domain.classification import Conviction, DetainerFacts
from chalicelib.domain.deadlines import NEW_YORK
from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.subscribers import EventType
from chalicelib.schemas.events import parse_event
from tests.builders import detainer_body, rollout_body


def fields_refused(body: Any, header: str | None = None) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        parse_event(body, idempotency_header=header, registry=load_registry())
    return {e.field: e.message for e in caught.value.details}


def test_story_rollout_is_accepted_as_statewide() -> None:
    event = parse_event(rollout_body(), idempotency_header=None, registry=load_registry())
    assert event.type is EventType.ROLLOUT
    assert event.jurisdiction_id == "us-ct"
    assert event.idempotency_key == "ice-ct-2012-02-17-01"
    assert event.event["effective_at"] == "2012-02-22T00:00:00-05:00"
    assert event.event["source"]["original_recipients"] == ["desk.sergeant@example.gov"]


def test_rollout_for_a_town_name_resolves_to_the_town() -> None:
    event = parse_event(
        rollout_body(jurisdiction="New Haven"), idempotency_header=None, registry=load_registry()
    )
    assert event.jurisdiction_id == "us-ct/town/new-haven"


def test_a_rollout_elsewhere_names_its_place_with_its_state_and_a_connecticut_one_as_before() -> None:
    harris = parse_event(
        rollout_body(jurisdiction="Harris County, Texas"), idempotency_header=None, registry=load_registry()
    )
    assert harris.jurisdiction_id == "us-tx/county/harris"
    assert harris.event["jurisdiction_name"] == "Harris County, TX"  # Georgia has a Harris County too
    assert harris.title.startswith("secure-communities takes effect in Harris County, TX on ")
    texas = parse_event(rollout_body(jurisdiction="TX"), idempotency_header=None, registry=load_registry())
    assert texas.event["jurisdiction_name"] == "Texas"
    town = parse_event(
        rollout_body(jurisdiction="New Haven"), idempotency_header=None, registry=load_registry()
    )
    assert town.event["jurisdiction_name"] == "New Haven"


def test_every_bad_field_is_listed_at_once() -> None:
    refused = fields_refused(
        rollout_body(program="", jurisdiction="Gotham", effective_at="next week", summary=7, colour="red")
    )
    assert set(refused) == {"program", "jurisdiction", "effective_at", "summary", "colour"}
    assert "unknown jurisdiction 'Gotham'" in refused["jurisdiction"]
    assert refused["colour"] == "is not a known field"


def test_unknown_jurisdiction_names_the_closest_matches() -> None:
    refused = fields_refused(rollout_body(jurisdiction="New Havn"))
    assert "closest: New Haven" in refused["jurisdiction"]


def test_time_without_offset_is_refused_because_the_effective_moment_would_be_ambiguous() -> None:
    assert "UTC offset" in fields_refused(rollout_body(effective_at="2012-02-22T00:00:00"))["effective_at"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # The 48-hour clock ran past year 9999: an OverflowError, a 500.
        (
            {"issued_at": "9999-12-30T00:00:00+00:00", "release_due_at": "9999-12-31T23:00:00+00:00"},
            "issued_at",
        ),
        # The deadline came back at New York's local mean time, -04:56:02: not an ISO 8601 offset.
        ({"issued_at": "0418-09-18T00:00:00+00:00"}, "issued_at"),
        ({"release_due_at": "1899-12-31T23:59:59-05:00"}, "release_due_at"),
    ],
)
def test_a_detainer_dated_outside_1900_to_2199_is_refused(changes: dict[str, str], field: str) -> None:
    assert "from 1900 to 2199" in fields_refused(detainer_body(**changes))[field]


def test_the_first_and_last_years_are_accepted() -> None:
    for effective_at in ("1900-01-01T00:00:00-05:00", "2199-12-31T23:59:59-05:00"):
        event = parse_event(
            rollout_body(effective_at=effective_at), idempotency_header=None, registry=load_registry()
        )
        assert event.event["effective_at"] == effective_at


def test_missing_type_is_refused_with_the_allowed_values() -> None:
    body = rollout_body()
    del body["type"]
    assert "rollout, detainer" in fields_refused(body)["type"]


def test_body_that_is_not_an_object_is_refused() -> None:
    assert fields_refused(["rollout"]) == {"body": "expected a JSON object"}


def test_idempotency_key_may_come_from_the_header() -> None:
    body = rollout_body()
    del body["external_id"]
    event = parse_event(body, idempotency_header="key-from-header", registry=load_registry())
    assert event.idempotency_key == "key-from-header"


def test_event_without_any_idempotency_key_is_refused() -> None:
    body = rollout_body()
    del body["external_id"]
    assert "Idempotency-Key" in fields_refused(body)["external_id"]


def test_external_id_and_a_different_header_are_refused() -> None:
    assert "differs" in fields_refused(rollout_body(), header="another-key")["external_id"]


def test_detainer_names_its_facility_and_normalises_the_a_number() -> None:
    event = parse_event(
        detainer_body(subject={"name": "X Y", "a_number": "12345678"}),
        idempotency_header=None,
        registry=load_registry(),
    )
    assert event.jurisdiction_id == "us-ct/facility/new-haven-correctional-center"
    assert event.event["subject"]["a_number"] == "A012345678"


@pytest.mark.parametrize(
    "written", ["A-208-417-395", "A 208 417 395", "a208417395", "208-417-395", "A‑208‑417‑395"]
)
def test_a_numbers_written_as_on_the_form_are_accepted_and_stored_normalised(written: str) -> None:
    event = parse_event(
        detainer_body(subject={"name": "X Y", "a_number": written}),
        idempotency_header=None,
        registry=load_registry(),
    )
    assert event.event["subject"]["a_number"] == "A208417395"


def test_a_detainer_is_parsed_into_its_facts_and_not_classified() -> None:
    event = parse_event(detainer_body(), idempotency_header=None, registry=load_registry())
    assert event.detainer == DetainerFacts(
        form="I-247A",
        issued_at=datetime(2026, 11, 27, 9, 30, tzinfo=NEW_YORK),
        release_due_at=datetime(2026, 11, 27, 17, tzinfo=NEW_YORK),
        judicial_warrant=False,
        tsdb_match=False,
        outstanding_ct_warrant=False,
        gang_member=False,
        public_safety_risk=False,
        probable_cause=frozenset(),
        convictions=(Conviction("53a-134", "B felony", date(2019, 5, 1), final=True),),
        pending_charges=(),
    )
    # The suggestion and the hold clocks are the ingest use case's (services.ingest.accept).
    assert not {"classification", "hold"} & set(event.event)


def test_a_rollout_carries_no_detainer_facts() -> None:
    assert parse_event(rollout_body(), idempotency_header=None, registry=load_registry()).detainer is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"form": "I-999"}, "form"),
        ({"facility": "New Haven"}, "facility"),
        ({"subject": {"name": "X", "a_number": "A12"}}, "subject.a_number"),
        ({"subject": {"name": "X", "date_of_birth": "01/01/1990"}}, "subject.date_of_birth"),
        ({"subject": None}, "subject"),
        ({"release_due_at": "2026-11-26T09:00:00-05:00"}, "release_due_at"),
        ({"judicial_warrant": "no"}, "judicial_warrant"),
        ({"convictions": [{"class": "B felony"}]}, "convictions[0].statute"),
        ({"convictions": "many"}, "convictions"),
    ],
)
def test_detainer_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    assert field in fields_refused(detainer_body(**change))


def test_control_characters_are_refused_because_they_break_email_headers() -> None:
    assert "control characters" in fields_refused(rollout_body(summary="line\rBcc: x@example.com"))["summary"]
