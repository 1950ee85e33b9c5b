"""A detainer's classification from the request to the notice: the facts read from the event as the
schema stores it, and ingest storing their classification and hold deadline (a rollout is neither
classified nor timed)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from chalicelib.data import load_registry
from chalicelib.domain.classification import (
    Conviction,
    DetainerFacts,
    PendingCharge,
    Suggestion,
    classify,
    classify_event,
    facts_from_event,
    issued_on,
)
from chalicelib.domain.deadlines import NEW_YORK, describe, hold_deadlines
from chalicelib.schemas.events import parse_event
from chalicelib.services import ingest
from tests.builders import NOW, detainer_body, rollout_body
from tests.fakes import FakeWorld
from tests.unit.detainer_facts import REGIMES, met, text_of
from tests.unit.test_pipeline import SOURCE, submit

# -- from the stored event ------------------------------------------------------------------------


def test_facts_come_from_the_event_as_the_schema_stores_it() -> None:
    submitted = parse_event(
        detainer_body(issued_at="2022-03-01T09:00:00-05:00", release_due_at="2022-03-02T17:00:00-05:00"),
        idempotency_header=None,
        registry=load_registry(),
    )
    facts = facts_from_event(submitted.event)
    assert submitted.detainer == facts
    assert facts.judicial_warrant is False
    assert facts.convictions == (
        Conviction(statute="53a-134", offence_class="B felony", on=date(2019, 5, 1), final=True),
    )
    c = classify_event(submitted.event, REGIMES)
    assert (c.regime_id, c.suggestion) == ("pa-19-20-23", Suggestion.MAY_COOPERATE)


# -- from the request to the notice ---------------------------------------------------------------


def test_the_parser_gives_the_facts_and_ingest_stores_their_classification_and_deadline(
    world: FakeWorld,
) -> None:
    body = detainer_body(issued_at="2022-03-01T09:00:00-05:00", release_due_at="2022-03-02T17:00:00-05:00")
    submitted = parse_event(body, idempotency_header=None, registry=world.deps().registry)
    facts = submitted.detainer
    assert facts is not None
    assert facts.issued_at is not None
    assert not {"classification", "hold"} & set(submitted.event)

    notice = world.notices.get(submit(world, body).notice.id)

    event = dict(notice.event)
    classification, hold = event.pop("classification"), event.pop("hold")
    assert event == submitted.event  # the rest is the event as parsed
    assert classification == classify(facts, REGIMES, on=issued_on(facts.issued_at)).as_json()
    assert (classification["regime_id"], classification["suggestion"]) == ("pa-19-20-23", "may-cooperate")
    clocks = hold_deadlines("I-247A", facts.issued_at, facts.release_due_at)
    assert notice.deadline == clocks.earliest == datetime(2022, 3, 4, 17, tzinfo=NEW_YORK)
    assert hold["form_deadline"] == "2022-03-04T17:00:00-05:00"
    assert hold["explained"] == describe(clocks)
    [created] = world.ack_log.entries(notice.id)
    assert created.data["deadline"] == "2022-03-04T17:00:00-05:00"


def test_a_detainer_sent_again_is_a_duplicate_because_its_classification_is_the_same(
    world: FakeWorld,
) -> None:
    first = submit(world, detainer_body())
    again = submit(world, detainer_body())
    assert (again.duplicate, again.notice.id) == (True, first.notice.id)


def test_ingest_refuses_detainer_facts_without_a_form_or_an_issue_time(world: FakeWorld) -> None:
    """The parser always gives both; facts built another way must not become an untimed notice."""
    submitted = parse_event(detainer_body(), idempotency_header=None, registry=world.deps().registry)
    with pytest.raises(ValueError, match="form and issue time"):
        ingest.accept(
            replace(submitted, detainer=DetainerFacts(form="I-247A")),
            caller=SOURCE,
            notices=world.notices,
            index=world.subscribers,
            registry=world.deps().registry,
            policies=world.policies,
            route_queue=world.route_queue,
            ack_log=world.ack_log,
            now=NOW,
        )
    assert world.notices.notices == {}
    assert world.route_queue.take() == []


def test_a_rollout_is_neither_classified_nor_timed(world: FakeWorld) -> None:
    submitted = parse_event(rollout_body(), idempotency_header=None, registry=world.deps().registry)
    assert submitted.detainer is None
    notice = world.notices.get(submit(world, rollout_body()).notice.id)
    assert notice.deadline is None
    assert not {"classification", "hold"} & set(notice.event)


def test_the_fields_being_added_to_the_event_are_read_when_present() -> None:
    facts = facts_from_event(
        {
            "issued_at": "2015-01-05T10:00:00-05:00",
            "probable_cause": ["final-order", "statements"],
            "outstanding_ct_warrant": True,
            "gang_member": False,
            "public_safety_risk": False,
            "pending_charges": [{"statute": "53a-61", "class": "A misdemeanor", "bond_posted": True}],
            "convictions": [{"statute": "53a-60", "class": "D felony", "date": "2010-01-01", "final": False}],
        }
    )
    assert facts.final_order_of_removal is True
    assert facts.outstanding_ct_warrant is True
    assert facts.pending_charges == (
        PendingCharge(statute="53a-61", offence_class="A misdemeanor", bond_posted=True),
    )
    assert facts.convictions is not None
    assert facts.convictions[0].final is False
    assert facts_from_event({}).final_order_of_removal is None


def test_an_unknown_probable_cause_box_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown probable_cause"):
        facts_from_event({"probable_cause": ["final_order"]})


def test_a_hold_that_falls_under_the_next_regime_needs_judgment() -> None:
    event = {
        "form": "I-247A",
        "issued_at": "2019-09-30T15:00:00-04:00",
        "release_due_at": "2019-10-02T09:00:00-04:00",
        "judicial_warrant": False,
        "tsdb_match": False,
        "convictions": [{"statute": "53a-135", "class": "C felony", "final": True}],
    }
    c = classify_event(event, REGIMES)
    assert c.regime_id == "pa-13-155"
    assert met(c) == {"felony-conviction"}
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert "under PA 19-20 and PA 19-23, where the suggestion would be may-not-cooperate" in text_of(c)
