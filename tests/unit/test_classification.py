"""Pre-classification of a detainer against the Connecticut regime in force on its issue date.

The regimes are data (chalicelib/data/regimes/us-ct.json); these tests hold that data to
docs/detainer-rules.md, and the engine to its rules: a suggestion, never a decision, always
naming its regime and criteria, with reported criteria shown as such.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime
from importlib import resources
from typing import Any

import pytest

from chalicelib.data import load_registry
from chalicelib.data.regimes import REGIMES_FILE, load_ct_regimes
from chalicelib.domain.classification import (
    Classification,
    Conviction,
    DetainerFacts,
    Outcome,
    PendingCharge,
    Regime,
    RegimeDataError,
    Status,
    Suggestion,
    classify,
    classify_event,
    facts_from_event,
    issued_on,
    load_regimes,
    no_criterion_met,
    regime_on,
    undetermined,
)
from chalicelib.domain.deadlines import NEW_YORK, describe, hold_deadlines
from chalicelib.schemas.events import parse_event
from chalicelib.services import ingest
from tests.builders import NOW, detainer_body, rollout_body
from tests.fakes import FakeWorld
from tests.unit.test_pipeline import SOURCE, submit

REGIMES = load_ct_regimes()

GOVERNOR = date(2013, 6, 3)
PA_13_155 = date(2016, 6, 1)
PA_19 = date(2022, 6, 1)
HB_7259 = date(2026, 1, 15)


def raw_data() -> dict[str, Any]:
    text = resources.files("chalicelib.data").joinpath(REGIMES_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def regime(regime_id: str) -> Regime:
    return next(r for r in REGIMES if r.id == regime_id)


def conviction(
    statute: str = "53a-125b",
    cls: str | None = "C misdemeanor",
    *,
    final: bool | None = True,
    description: str = "",
) -> Conviction:
    return Conviction(
        statute=statute, offence_class=cls, on=date(2012, 5, 1), final=final, description=description or None
    )


def clean(**overrides: Any) -> DetainerFacts:
    """Every fact given, none meeting any criterion: a misdemeanor conviction, a charge with bond posted."""
    values: dict[str, Any] = {
        "form": "I-247A",
        "judicial_warrant": False,
        "tsdb_match": False,
        "outstanding_ct_warrant": False,
        "gang_member": False,
        "public_safety_risk": False,
        "probable_cause": frozenset({"pending-proceedings"}),
        "convictions": (conviction(),),
        "pending_charges": (
            PendingCharge(statute="53a-125b", offence_class="A misdemeanor", bond_posted=True),
        ),
    }
    values.update(overrides)
    return DetainerFacts(**values)


def outcomes(c: Classification) -> dict[str, Outcome]:
    return {r.id: r.outcome for r in c.criteria}


def met(c: Classification) -> set[str]:
    return {r.id for r in c.criteria if r.outcome is Outcome.MET}


def text_of(c: Classification) -> str:
    return "\n".join(c.explanation)


# -- the data file against the rules file -------------------------------------------------------


def test_the_bundled_file_loads_four_regimes_in_date_order() -> None:
    assert [r.id for r in REGIMES] == ["governor-review-2012", "pa-13-155", "pa-19-20-23", "hb-7259-2025"]
    assert load_ct_regimes() is REGIMES  # parsed once per process


def test_regime_dates_are_those_of_the_rules_file() -> None:
    assert [(r.in_force_from, r.in_force_until) for r in REGIMES] == [
        (date(2012, 2, 22), date(2013, 12, 31)),
        (date(2014, 1, 1), date(2019, 9, 30)),
        (date(2019, 10, 1), date(2025, 9, 30)),
        (date(2025, 10, 1), None),
    ]


def test_regime_names_and_dates_agree_with_the_hold_clock_module() -> None:
    for r in REGIMES:
        start = datetime(
            r.in_force_from.year, r.in_force_from.month, r.in_force_from.day, 12, tzinfo=NEW_YORK
        )
        state_rule = hold_deadlines("I-247A", start, None).state_rule
        assert state_rule is not None
        assert state_rule.startswith(r.name)


def test_modes_follow_the_rules_file() -> None:
    assert [str(r.mode) for r in REGIMES] == [
        "case-by-case",
        "any-criterion",
        "any-criterion",
        "any-criterion",
    ]


def test_every_criterion_the_rules_file_marks_confirmed_is_confirmed_in_the_data() -> None:
    confirmed = {
        "pa-13-155": {
            "felony-conviction",
            "pending-charges-no-bond",
            "outstanding-ct-warrant",
            "gang-member",
            "tsdb-match",
            "final-order-of-removal",
            "public-safety-risk",
        },
        "pa-19-20-23": {"judicial-warrant", "class-a-or-b-felony"},
        "hb-7259-2025": {"judicial-warrant", "class-a-or-b-felony"},  # "the 2019 criteria plus ..."
    }
    for regime_id, ids in confirmed.items():
        statuses = {c.id: c.status for c in regime(regime_id).criteria}
        assert {i: statuses[i] for i in ids} == dict.fromkeys(ids, Status.CONFIRMED)


def test_nothing_is_confirmed_that_the_rules_file_does_not_mark_confirmed() -> None:
    confirmed = {(r.id, c.id) for r in REGIMES for c in r.criteria if c.status is Status.CONFIRMED}
    assert confirmed == {
        ("pa-13-155", "felony-conviction"),
        ("pa-13-155", "pending-charges-no-bond"),
        ("pa-13-155", "outstanding-ct-warrant"),
        ("pa-13-155", "gang-member"),
        ("pa-13-155", "tsdb-match"),
        ("pa-13-155", "final-order-of-removal"),
        ("pa-13-155", "public-safety-risk"),
        ("pa-19-20-23", "judicial-warrant"),
        ("pa-19-20-23", "class-a-or-b-felony"),
        ("hb-7259-2025", "judicial-warrant"),
        ("hb-7259-2025", "class-a-or-b-felony"),
    }
    # No duty is marked confirmed in the rules file.
    assert {d.status for r in REGIMES for d in r.duties} == {Status.REPORTED}


def test_reported_criteria_are_reported() -> None:
    assert {c.status for c in regime("governor-review-2012").criteria} == {Status.REPORTED}
    assert {c.id: c.status for c in regime("pa-19-20-23").criteria}["tsdb-match"] is Status.REPORTED
    added = [
        c for c in regime("hb-7259-2025").criteria if c.id not in {"judicial-warrant", "class-a-or-b-felony"}
    ]
    assert len(added) == 11  # the TSDB criterion and the ten offences of the rules file's list
    assert {c.status for c in added} == {Status.REPORTED}


def test_duties_of_each_regime() -> None:
    assert [d.id for d in regime("governor-review-2012").duties] == ["commissioner-review"]
    assert [d.id for d in regime("pa-13-155").duties] == ["notify-ice", "hold-limit"]
    for later in ("pa-19-20-23", "hb-7259-2025"):
        assert [d.id for d in regime(later).duties] == [
            "notify-ice",
            "tell-person-and-counsel",
            "same-limits-for-notification",
        ]


def test_sources_quote_what_the_rules_file_marks_confirmed_and_reported() -> None:
    data = raw_data()
    assert data["version"]
    assert any("PA 13-155" in quote for quote in data["sources"]["confirmed"])
    assert any("HB 7259" in quote for quote in data["sources"]["reported"])
    assert data["sources"]["unmarked_treated_as_reported"]


# -- strict loading -----------------------------------------------------------------------------


def test_an_unknown_test_kind_is_refused() -> None:
    data = raw_data()
    data["regimes"][1]["criteria"][0]["test"] = {"arrested": True}
    with pytest.raises(RegimeDataError, match="unknown test kind 'arrested'"):
        load_regimes(data)


def test_an_unknown_fact_or_field_is_refused() -> None:
    data = raw_data()
    data["regimes"][1]["criteria"][2]["test"] = {"fact": "looks_suspicious"}
    data["regimes"][2]["criteria"][0]["weight"] = 3
    with pytest.raises(RegimeDataError) as caught:
        load_regimes(data)
    assert len(caught.value.problems) == 2
    assert "unknown fact 'looks_suspicious'" in str(caught.value)
    assert "$.regimes[2].criteria[0].weight: is not a known field" in str(caught.value)


def test_a_bad_status_is_refused() -> None:
    data = raw_data()
    data["regimes"][2]["criteria"][2]["status"] = "probably"
    with pytest.raises(RegimeDataError, match="status"):
        load_regimes(data)


def test_overlapping_regimes_are_refused() -> None:
    data = raw_data()
    data["regimes"][1]["in_force_until"] = "2019-10-01"
    with pytest.raises(RegimeDataError, match=r"'pa-13-155' .* overlaps 'pa-19-20-23'"):
        load_regimes(data)


def test_an_open_ended_regime_before_another_overlaps_it() -> None:
    data = raw_data()
    data["regimes"][2]["in_force_until"] = None
    with pytest.raises(RegimeDataError, match="overlaps"):
        load_regimes(data)


def test_a_gap_between_regimes_is_allowed_and_nothing_applies_in_it() -> None:
    data = raw_data()
    data["regimes"][1]["in_force_until"] = "2019-06-30"
    regimes = load_regimes(data)
    assert regime_on(regimes, date(2019, 7, 15)) is None
    c = classify(clean(), regimes, on=date(2019, 7, 15))
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert c.regime_id is None


def test_a_statute_must_be_a_bare_section_number() -> None:
    data = raw_data()
    data["regimes"][3]["criteria"][3]["test"] = {"conviction": {"statutes": ["CGS 53a-71(a)"]}}
    with pytest.raises(RegimeDataError, match="bare section number"):
        load_regimes(data)


def test_a_lawyer_can_correct_a_criterion_without_touching_code() -> None:
    data = copy.deepcopy(raw_data())
    data["regimes"][2]["criteria"][2]["status"] = "confirmed"
    corrected = load_regimes(data)
    c = classify(clean(tsdb_match=True), corrected, on=PA_19)
    assert c.suggestion is Suggestion.MAY_COOPERATE
    assert "rests only on reported" not in text_of(c)


# -- which regime: boundary dates in America/New_York -------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2012, 2, 21), None),
        (date(2012, 2, 22), "governor-review-2012"),
        (date(2013, 12, 31), "governor-review-2012"),
        (date(2014, 1, 1), "pa-13-155"),
        (date(2019, 9, 30), "pa-13-155"),
        (date(2019, 10, 1), "pa-19-20-23"),
        (date(2025, 9, 30), "pa-19-20-23"),
        (date(2025, 10, 1), "hb-7259-2025"),
    ],
)
def test_regime_on_each_boundary_date(day: date, expected: str | None) -> None:
    found = regime_on(REGIMES, day)
    assert (found.id if found else None) == expected
    assert classify(clean(), REGIMES, on=day).regime_id == expected


@pytest.mark.parametrize(
    ("issued_at", "expected"),
    [
        ("2019-10-01T01:00:00-04:00", "pa-19-20-23"),  # 05:00 UTC, and 1 October in New York
        ("2019-09-30T23:30:00-04:00", "pa-13-155"),  # already 1 October in UTC, still 30 September here
        ("2019-10-01T03:30:00+00:00", "pa-13-155"),  # the same instant written in UTC
        ("2012-02-22T00:30:00-05:00", "governor-review-2012"),
        ("2012-02-22T04:59:00+00:00", None),  # 21 February, 23:59 in New York
        ("2025-10-01T00:00:00-04:00", "hb-7259-2025"),
    ],
)
def test_the_issue_date_is_taken_in_new_york(issued_at: str, expected: str | None) -> None:
    event = {"form": "I-247A", "issued_at": issued_at, "judicial_warrant": False}
    assert classify_event(event, REGIMES).regime_id == expected


def test_issued_on_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        issued_on(datetime(2019, 10, 1, 1))


def test_before_2012_no_regime_applies_and_a_human_must_judge() -> None:
    c = classify(clean(judicial_warrant=True), REGIMES, on=date(2011, 5, 1))
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert (c.regime_id, c.criteria, c.duties) == (None, (), ())
    assert "No Connecticut regime was in force on 2011-05-01 (the first began on 2012-02-22)" in text_of(c)


# -- the governor's case-by-case review ---------------------------------------------------------


def test_governor_review_always_needs_judgment_but_shows_its_considerations() -> None:
    felon = classify(clean(convictions=(conviction("53a-134", "B felony"),)), REGIMES, on=GOVERNOR)
    nothing = classify(clean(), REGIMES, on=GOVERNOR)
    assert felon.suggestion is nothing.suggestion is Suggestion.NEEDS_JUDGMENT
    assert outcomes(felon)["felony-conviction"] is Outcome.MET
    assert outcomes(nothing) == dict.fromkeys(
        ["warrants", "felony-conviction", "gang-or-terrorism-links"], Outcome.NOT_MET
    )
    assert "Consideration met: felony-conviction (reported)" in text_of(felon)
    assert [d.id for d in felon.duties] == ["commissioner-review"]


def test_governor_review_reads_gang_or_terrorism_links_either_way() -> None:
    for facts in (clean(gang_member=True), clean(tsdb_match=True)):
        assert outcomes(classify(facts, REGIMES, on=GOVERNOR))["gang-or-terrorism-links"] is Outcome.MET


# -- PA 13-155: any of seven ----------------------------------------------------------------------


def test_pa_13_155_with_no_criterion_met_suggests_may_not_cooperate() -> None:
    c = classify(clean(), REGIMES, on=PA_13_155)
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE
    assert set(outcomes(c).values()) == {Outcome.NOT_MET}
    assert no_criterion_met(c)


@pytest.mark.parametrize(
    ("criterion", "change"),
    [
        ("felony-conviction", {"convictions": (conviction("53a-124", "D felony"),)}),
        (
            "pending-charges-no-bond",
            {
                "pending_charges": (
                    PendingCharge(statute="53a-61", offence_class="A misdemeanor", bond_posted=False),
                )
            },
        ),
        ("outstanding-ct-warrant", {"outstanding_ct_warrant": True}),
        ("gang-member", {"gang_member": True}),
        ("tsdb-match", {"tsdb_match": True}),
        ("final-order-of-removal", {"probable_cause": frozenset({"final-order", "biometric-match"})}),
    ],
)
def test_pa_13_155_each_criterion_alone_suggests_may_cooperate(
    criterion: str, change: dict[str, Any]
) -> None:
    c = classify(clean(**change), REGIMES, on=PA_13_155)
    assert c.suggestion is Suggestion.MAY_COOPERATE
    assert met(c) == {criterion}
    assert f"Met: {criterion} (confirmed)" in text_of(c)
    assert not no_criterion_met(c)


def test_pa_13_155_public_safety_risk_alone_needs_judgment() -> None:
    c = classify(clean(public_safety_risk=True), REGIMES, on=PA_13_155)
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert met(c) == {"public-safety-risk"}
    assert "discretionary criterion public-safety-risk is flagged" in text_of(c)


def test_the_discretionary_criterion_needs_judgment_even_when_another_is_met() -> None:
    c = classify(clean(public_safety_risk=True, gang_member=True), REGIMES, on=PA_13_155)
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert "Other criteria met: gang-member" in text_of(c)


def test_pa_13_155_a_misdemeanor_is_not_a_felony_and_a_non_final_felony_does_not_count() -> None:
    c = classify(
        clean(convictions=(conviction(), conviction("53a-101", "B felony", final=False))),
        REGIMES,
        on=PA_13_155,
    )
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE
    felony = next(r for r in c.criteria if r.id == "felony-conviction")
    assert felony.outcome is Outcome.NOT_MET
    assert "not counted, no final judgment: § 53a-101, B felony" in felony.detail


def test_a_final_judgment_under_appeal_still_counts() -> None:
    appealed = conviction("53a-134", "B felony", final=True, description="robbery; appeal pending")
    assert (
        classify(clean(convictions=(appealed,)), REGIMES, on=PA_13_155).suggestion is Suggestion.MAY_COOPERATE
    )


def test_a_conviction_whose_finality_is_not_given_is_unknown() -> None:
    c = classify(clean(convictions=(conviction("53a-134", "B felony", final=None),)), REGIMES, on=PA_13_155)
    assert outcomes(c)["felony-conviction"] is Outcome.UNKNOWN
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT


def test_pa_13_155_a_charge_whose_bond_is_unknown_is_unknown() -> None:
    pending = (PendingCharge(statute="53a-61", bond_posted=None),)
    c = classify(clean(pending_charges=pending), REGIMES, on=PA_13_155)
    assert outcomes(c)["pending-charges-no-bond"] is Outcome.UNKNOWN
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT


def test_pa_13_155_notification_only_request_is_never_suggested_may_not_cooperate() -> None:
    c = classify(clean(form="I-247N"), REGIMES, on=PA_13_155)
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert "I-247N asks only to be told of the release" in text_of(c)
    # From 2019 the same limits apply to notification-only requests.
    assert classify(clean(form="I-247N"), REGIMES, on=PA_19).suggestion is Suggestion.MAY_NOT_COOPERATE


# -- PA 19-20 / 19-23: judicial warrant, class A or B felony, TSDB (reported) --------------------


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        ("A felony", Suggestion.MAY_COOPERATE),
        ("B felony", Suggestion.MAY_COOPERATE),
        ("Class B felony", Suggestion.MAY_COOPERATE),
        ("C felony", Suggestion.MAY_NOT_COOPERATE),
        ("D felony", Suggestion.MAY_NOT_COOPERATE),
        ("A misdemeanor", Suggestion.MAY_NOT_COOPERATE),
        ("unclassified felony", Suggestion.NEEDS_JUDGMENT),
        ("felony", Suggestion.NEEDS_JUDGMENT),  # another state's grade, no Connecticut class
        (None, Suggestion.NEEDS_JUDGMENT),
    ],
)
def test_2019_only_class_a_or_b_felonies_count(cls: str | None, expected: Suggestion) -> None:
    c = classify(clean(convictions=(conviction("53a-999", cls),)), REGIMES, on=PA_19)
    assert c.suggestion is expected


def test_2019_a_class_c_felony_that_met_pa_13_155_no_longer_does() -> None:
    facts = clean(convictions=(conviction("53a-135", "C felony"),))
    assert classify(facts, REGIMES, on=date(2019, 9, 30)).suggestion is Suggestion.MAY_COOPERATE
    assert classify(facts, REGIMES, on=date(2019, 10, 1)).suggestion is Suggestion.MAY_NOT_COOPERATE


def test_2019_a_non_final_class_b_conviction_does_not_count() -> None:
    c = classify(clean(convictions=(conviction("53a-134", "B felony", final=False),)), REGIMES, on=PA_19)
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE


def test_2019_a_judicial_warrant_suggests_may_cooperate() -> None:
    c = classify(clean(judicial_warrant=True), REGIMES, on=PA_19)
    assert c.suggestion is Suggestion.MAY_COOPERATE
    assert met(c) == {"judicial-warrant"}
    assert "administrative warrant" not in text_of(c)


def test_2019_an_administrative_warrant_alone_is_never_enough() -> None:
    c = classify(clean(judicial_warrant=False), REGIMES, on=PA_19)
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE
    assert "an administrative warrant (I-200, I-205) alone is never enough" in text_of(c)
    # PA 13-155 had no judicial-warrant criterion, so it says nothing of the kind.
    assert "administrative warrant" not in text_of(classify(clean(), REGIMES, on=PA_13_155))


def test_2019_a_tsdb_match_suggests_may_cooperate_but_says_it_rests_on_a_reported_criterion() -> None:
    c = classify(clean(tsdb_match=True), REGIMES, on=PA_19)
    assert c.suggestion is Suggestion.MAY_COOPERATE
    assert next(r for r in c.criteria if r.id == "tsdb-match").status is Status.REPORTED
    assert "rests only on reported criteria (tsdb-match)" in text_of(c)


def test_2019_facts_that_no_longer_count_are_said_not_to_count() -> None:
    pending = (PendingCharge(statute="53a-61", bond_posted=False),)
    c = classify(
        clean(
            gang_member=True, outstanding_ct_warrant=True, public_safety_risk=True, pending_charges=pending
        ),
        REGIMES,
        on=PA_19,
    )
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE
    explained = text_of(c)
    assert "Not a criterion under PA 19-20 and PA 19-23: gang or Security Risk Group membership" in explained
    assert "the submitting agency's public-safety flag" in explained
    assert "pending charges (arrest or charge, not conviction)" in explained


# -- HB 7259: the added offences, all reported ----------------------------------------------------


@pytest.mark.parametrize(
    ("statute", "cls", "criterion"),
    [
        ("53a-71", "C felony", "sexual-assault-2nd-or-3rd"),
        ("53a-72a", "D felony", "sexual-assault-2nd-or-3rd"),
        ("53-21", "C felony", "risk-of-injury-to-a-minor"),
        ("53a-196e", "C felony", "possession-of-csam"),
        ("53a-196f", "D felony", "possession-of-csam"),
        ("53a-102a", "C felony", "burglary-with-a-firearm"),
        ("53a-64bb", "D felony", "strangulation"),
        ("53a-223", "D felony", "violation-of-protective-order"),
        ("C.G.S. § 53a-135(a)(1)", "C felony", "robbery-1st-or-2nd"),
    ],
)
def test_hb_7259_added_offences_suggest_may_cooperate_and_are_shown_as_reported(
    statute: str, cls: str, criterion: str
) -> None:
    facts = clean(convictions=(conviction(statute, cls),))
    c = classify(facts, REGIMES, on=HB_7259)
    assert c.suggestion is Suggestion.MAY_COOPERATE
    assert criterion in met(c)
    assert "class-a-or-b-felony" not in met(c)
    assert {r.status for r in c.criteria if r.outcome is Outcome.MET} == {Status.REPORTED}
    assert f"Met: {criterion} (reported)" in text_of(c)
    assert "rests only on reported criteria" in text_of(c)
    # The same conviction the day before HB 7259 met nothing.
    assert classify(facts, REGIMES, on=date(2025, 9, 30)).suggestion is Suggestion.MAY_NOT_COOPERATE


def test_hb_7259_risk_of_injury_and_injury_to_a_child_are_the_same_section() -> None:
    c = classify(clean(convictions=(conviction("53-21", "C felony"),)), REGIMES, on=HB_7259)
    assert met(c) == {"risk-of-injury-to-a-minor", "injury-to-a-child"}


def test_hb_7259_kidnapping_is_also_a_class_a_or_b_felony_so_the_confirmed_criterion_carries_it() -> None:
    c = classify(clean(convictions=(conviction("53a-94", "B felony"),)), REGIMES, on=HB_7259)
    assert met(c) == {"class-a-or-b-felony", "kidnapping"}
    assert "Suggests may-cooperate: confirmed criterion class-a-or-b-felony is met." in text_of(c)
    assert "rests only on reported" not in text_of(c)


def test_hb_7259_assault_is_domestic_violence_only_if_the_record_says_so() -> None:
    family = conviction("53a-61", "A misdemeanor", description="Assault 3rd, family violence")
    plain = conviction("53a-61", "A misdemeanor")
    assert classify(clean(convictions=(family,)), REGIMES, on=HB_7259).suggestion is Suggestion.MAY_COOPERATE
    c = classify(clean(convictions=(plain,)), REGIMES, on=HB_7259)
    assert outcomes(c)["domestic-violence-assault"] is Outcome.UNKNOWN
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert undetermined(c)
    assert not no_criterion_met(c)


def test_hb_7259_a_charge_is_still_not_a_conviction() -> None:
    pending = (PendingCharge(statute="53a-71", offence_class="C felony", bond_posted=False),)
    assert (
        classify(clean(pending_charges=pending), REGIMES, on=HB_7259).suggestion
        is Suggestion.MAY_NOT_COOPERATE
    )


# -- missing facts are unknown, never "no" ------------------------------------------------------


def test_no_criminal_history_entered_makes_conviction_criteria_unknown() -> None:
    c = classify(clean(convictions=None), REGIMES, on=PA_19)
    assert outcomes(c)["class-a-or-b-felony"] is Outcome.UNKNOWN
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert "class-a-or-b-felony: no criminal history entered" in text_of(c)
    assert undetermined(c)
    assert not no_criterion_met(c)


def test_an_empty_history_counts_as_none_only_when_the_event_says_history_was_entered() -> None:
    event = {"form": "I-247A", "issued_at": "2022-06-01T10:00:00-04:00", "judicial_warrant": False}
    event |= {"tsdb_match": False, "convictions": [], "pending_charges": []}
    assert classify_event(event, REGIMES).suggestion is Suggestion.NEEDS_JUDGMENT
    entered = classify_event({**event, "criminal_history_entered": True}, REGIMES)
    assert entered.suggestion is Suggestion.MAY_NOT_COOPERATE
    assert no_criterion_met(entered)


def test_facts_not_given_are_unknown_under_pa_13_155() -> None:
    c = classify(DetainerFacts(), REGIMES, on=PA_13_155)
    assert set(outcomes(c).values()) == {Outcome.UNKNOWN}
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT


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


# -- every suggestion names its regime and its criteria -----------------------------------------


def test_every_suggestion_names_its_regime_and_criteria() -> None:
    fact_sets = [
        clean(),
        DetainerFacts(),
        clean(judicial_warrant=True),
        clean(tsdb_match=True),
        clean(public_safety_risk=True),
        clean(convictions=None),
        clean(convictions=(conviction("53a-134", "B felony"),)),
        clean(convictions=(conviction("53a-72a", "D felony"),)),
        clean(form="I-247N"),
    ]
    days = [date(2012, 2, 22), GOVERNOR, PA_13_155, PA_19, HB_7259, date(2030, 1, 1)]
    seen = set()
    for day in days:
        r = regime_on(REGIMES, day)
        assert r is not None
        for facts in fact_sets:
            c = classify(facts, REGIMES, on=day)
            seen.add(c.suggestion)
            assert (c.regime_id, c.regime_name, c.citation, c.on) == (r.id, r.name, r.citation, day)
            assert c.explanation[0].startswith(f"Regime: {r.name} [{r.id}]")
            assert c.explanation[-1] == "A suggestion, never a decision: the reviewer decides."
            assert [x.id for x in c.criteria] == [x.id for x in r.criteria]
            assert all(x.detail for x in c.criteria)
            assert c.duties == r.duties
            if c.suggestion is Suggestion.MAY_COOPERATE:
                for x in c.criteria:
                    if x.outcome is Outcome.MET:
                        assert f"Met: {x.id} ({x.status})" in text_of(c)
                if all(x.status is Status.REPORTED for x in c.criteria if x.outcome is Outcome.MET):
                    assert "rests only on reported criteria" in text_of(c)
            encoded = json.loads(json.dumps(c.as_json()))
            assert encoded["regime_id"] == r.id
            assert encoded["suggestion"] == str(c.suggestion)
            assert {x["status"] for x in encoded["criteria"]} <= {"confirmed", "reported"}
            assert {x["outcome"] for x in encoded["criteria"]} <= {"met", "not-met", "unknown"}
    assert seen == set(Suggestion)
