"""Pre-classification of a detainer against the Connecticut regime in force on its issue date.

The regimes are data (chalicelib/data/regimes/us-ct.json); test_classification_data.py holds that
data to docs/detainer-rules.md, and these tests hold the engine to its rules: a suggestion, never a
decision, always naming its regime and criteria, with reported criteria shown as such. Facts read
from the stored event and the classification stored at ingest are in test_classification_ingest.py.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from chalicelib.domain.classification import (
    DetainerFacts,
    Outcome,
    PendingCharge,
    Status,
    Suggestion,
    classify,
    classify_event,
    issued_on,
    no_criterion_met,
    regime_on,
    undetermined,
)
from tests.unit.detainer_facts import (
    GOVERNOR,
    HB_7259,
    PA_13_155,
    PA_19,
    REGIMES,
    clean,
    conviction,
    met,
    outcomes,
    text_of,
)

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
