"""The Connecticut regimes' data (chalicelib/data/regimes/us-ct.json) held to docs/detainer-rules.md:
dates, modes, criteria confirmed and reported, duties and sources; and its strict loading, which
refuses unknown kinds, facts and statuses, overlapping regimes and malformed statutes."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime
from importlib import resources
from typing import Any

import pytest

from chalicelib.data.regimes import REGIMES_FILE, load_ct_regimes
from chalicelib.domain.classification import (
    RegimeDataError,
    Status,
    Suggestion,
    classify,
    load_regimes,
    regime_on,
)
from chalicelib.domain.deadlines import NEW_YORK, hold_deadlines
from tests.unit.detainer_facts import PA_19, REGIMES, clean, regime, text_of


def raw_data() -> dict[str, Any]:
    text = resources.files("chalicelib.data").joinpath(REGIMES_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


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
