"""Each state's detainer law as data: California, Illinois, a state with none on file, and the files.

The regimes are chalicelib/data/regimes/<state>.json; these tests hold California's and Illinois's to
what their statutes give (docs/detainer-rules.md), either side of every effective date, and hold the
loader to reading one state's file, whole or not at all.
"""

from __future__ import annotations

import json
import types
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from chalicelib.data import regimes as regime_files
from chalicelib.data.regimes import load_ct_regimes, load_state_regimes, read_state_regimes, state_law
from chalicelib.domain.classification import (
    Classification,
    Conviction,
    Criterion,
    DetainerFacts,
    Duty,
    Outcome,
    PendingCharge,
    RegimeClock,
    RegimeDataError,
    StateLaw,
    Status,
    Suggestion,
    load_regimes,
    state_clocks,
)
from chalicelib.domain.deadlines import CONNECTICUT, NEW_YORK, HoldClock, hold_deadlines
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.schemas.events import parse_event
from chalicelib.services import ingest
from tests.builders import NOW, detainer_body
from tests.fakes import FakeWorld
from tests.unit.detainer_facts import clean, text_of
from tests.unit.test_pipeline import SOURCE

CA = state_law("us-ca/facility/x")
IL = state_law("us-il/facility/x")


def ca_conviction(statute: str, cls: str | None, *, final: bool = True) -> Conviction:
    return Conviction(statute=statute, offence_class=cls, on=date(2012, 5, 1), final=final)


ROBBERY = ca_conviction("PC 211", "unclassified felony")  # a serious and violent felony by name


def facts(**overrides: Any) -> DetainerFacts:
    """Every fact given, the criminal record looked up and empty: nothing meets any criterion."""
    return clean(**{"convictions": (), "pending_charges": (), **overrides})


WARRANT = facts(judicial_warrant=True)
SERIOUS_FELONY = facts(convictions=(ROBBERY,))
NOTHING = facts()


def outcomes(c: Classification) -> dict[str, Outcome]:
    return {r.id: r.outcome for r in c.criteria}


# -- California: AB 4 from 2014, SB 54 from 2018 ---------------------------------------------------


@pytest.mark.parametrize(
    ("day", "regime", "warrant", "serious_felony", "nothing"),
    [
        (date(2013, 12, 31), None, "needs-judgment", "needs-judgment", "needs-judgment"),
        (date(2014, 1, 1), "ab-4-2014", "may-cooperate", "may-cooperate", "may-not-cooperate"),
        (date(2017, 12, 31), "ab-4-2014", "may-cooperate", "may-cooperate", "may-not-cooperate"),
        (date(2018, 1, 1), "sb-54-2018", "may-cooperate", "may-cooperate", "may-not-cooperate"),
        (date(2026, 3, 2), "sb-54-2018", "may-cooperate", "may-cooperate", "may-not-cooperate"),
    ],
)
def test_california_judicial_warrant_serious_felony_and_no_conviction_either_side_of_each_date(
    day: date, regime: str | None, warrant: str, serious_felony: str, nothing: str
) -> None:
    got = [CA.classify(f, on=day) for f in (WARRANT, SERIOUS_FELONY, NOTHING)]
    assert {c.regime_id for c in got} == {regime}
    assert [c.suggestion for c in got] == [warrant, serious_felony, nothing]


def test_before_the_trust_act_no_california_regime_applies() -> None:
    c = CA.classify(WARRANT, on=date(2013, 12, 31))
    assert "No California regime was in force on 2013-12-31 (the first began on 2014-01-01)" in text_of(c)
    assert c.criteria == ()


def test_under_sb_54_a_judicial_warrant_is_a_confirmed_criterion_under_ab_4_only_reported() -> None:
    ab4 = CA.classify(WARRANT, on=date(2016, 6, 1))
    sb54 = CA.classify(WARRANT, on=date(2022, 6, 1))
    assert "rests only on reported criteria (judicial-warrant)" in text_of(ab4)
    assert "Suggests may-cooperate: confirmed criterion judicial-warrant is met." in text_of(sb54)


def test_a_serious_felony_is_met_by_its_section_which_is_reported_not_read() -> None:
    c = CA.classify(SERIOUS_FELONY, on=date(2022, 6, 1))
    assert {r.id for r in c.criteria if r.outcome is Outcome.MET} == {"listed-serious-or-violent-section"}
    assert "rests only on reported criteria (listed-serious-or-violent-section)" in text_of(c)
    # The confirmed criterion the section stands for can only say "may apply": the facts cannot decide it.
    assert outcomes(c)["serious-or-violent-felony"] is Outcome.UNKNOWN


@pytest.mark.parametrize("statute", ["PC 211", "Penal Code § 211(a)", "211", "PC 187", "Penal Code 215"])
def test_listed_sections_are_read_from_how_a_statute_is_written(statute: str) -> None:
    c = CA.classify(facts(convictions=(ca_conviction(statute, None),)), on=date(2022, 6, 1))
    assert outcomes(c)["listed-serious-or-violent-section"] is Outcome.MET


def test_a_felony_outside_the_listed_sections_needs_judgment_not_a_guess() -> None:
    burglary = ca_conviction("PC 459", "unclassified felony")  # serious only when of the first degree
    c = CA.classify(facts(convictions=(burglary,)), on=date(2022, 6, 1))
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT
    assert outcomes(c)["listed-serious-or-violent-section"] is Outcome.NOT_MET
    for unknown in ("serious-or-violent-felony", "state-prison-felony", "listed-offence-felony-15-years"):
        assert outcomes(c)[unknown] is Outcome.UNKNOWN
    assert "may apply, for the reviewer to judge" in text_of(c)


def test_a_misdemeanor_may_be_a_listed_wobbler_within_five_years_so_it_needs_judgment() -> None:
    theft = ca_conviction("PC 484", "unclassified misdemeanor")
    for day in (date(2016, 6, 1), date(2022, 6, 1)):
        c = CA.classify(facts(convictions=(theft,)), on=day)
        assert c.suggestion is Suggestion.NEEDS_JUDGMENT
        assert outcomes(c)["wobbler-misdemeanor-5-years"] is Outcome.UNKNOWN
        assert outcomes(c)["state-prison-felony"] is Outcome.NOT_MET


def test_an_infraction_is_no_qualifying_conviction() -> None:
    c = CA.classify(facts(convictions=(ca_conviction("VC 22350", "infraction"),)), on=date(2022, 6, 1))
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE
    assert set(outcomes(c).values()) == {Outcome.NOT_MET}


def test_a_serious_felony_not_yet_final_does_not_count() -> None:
    appealed_pending = facts(convictions=(ca_conviction("PC 211", "unclassified felony", final=False),))
    assert CA.classify(appealed_pending, on=date(2022, 6, 1)).suggestion is Suggestion.MAY_NOT_COOPERATE


def test_a_pending_charge_may_have_a_magistrates_probable_cause_finding() -> None:
    charged = facts(pending_charges=(PendingCharge(statute="PC 211", offence_class="unclassified felony"),))
    c = CA.classify(charged, on=date(2022, 6, 1))
    assert outcomes(c)["magistrate-probable-cause"] is Outcome.UNKNOWN
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT


def test_without_a_criminal_record_looked_up_california_needs_judgment() -> None:
    c = CA.classify(facts(convictions=None, pending_charges=None), on=date(2022, 6, 1))
    assert c.suggestion is Suggestion.NEEDS_JUDGMENT


def test_sb_54_limits_notification_requests_ab_4_limited_holds_only() -> None:
    notify = facts(form="I-247N")
    assert CA.classify(notify, on=date(2022, 6, 1)).suggestion is Suggestion.MAY_NOT_COOPERATE
    assert CA.classify(notify, on=date(2016, 6, 1)).suggestion is Suggestion.NEEDS_JUDGMENT


def test_sb_54_never_holds_on_the_request_and_its_clock_ends_at_release() -> None:
    c = CA.classify(SERIOUS_FELONY, on=date(2022, 6, 1))
    assert "Under SB 54 the request itself keeps no one in custody" in text_of(c)
    assert "no-detention-on-hold-request" in {d.id for d in c.duties}
    release = datetime(2022, 6, 2, 17, tzinfo=NEW_YORK)  # a Thursday
    sb54 = hold_deadlines("I-247A", datetime(2022, 6, 1, 9, tzinfo=NEW_YORK), release, CA.clocks)
    assert (sb54.state_deadline, sb54.earliest) == (release, release)
    ab4 = hold_deadlines("I-247A", datetime(2016, 6, 1, 9, tzinfo=NEW_YORK), release, CA.clocks)
    assert ab4.state_deadline is None  # AB 4 sets no clock of its own: the form's 48 hours
    assert ab4.earliest == ab4.form_deadline


# -- Illinois: the TRUST Act from 28 Aug 2017, the Way Forward Act from 2 Aug 2021 ---------------


@pytest.mark.parametrize(
    ("day", "regime"),
    [
        (date(2017, 1, 1), None),  # not the TRUST Act's date: it took effect when signed
        (date(2017, 8, 27), None),
        (date(2017, 8, 28), "il-trust-act-2017"),
        (date(2021, 8, 1), "il-trust-act-2017"),
        (date(2021, 8, 2), "il-way-forward-2021"),
        (date(2022, 1, 1), "il-way-forward-2021"),
    ],
)
def test_illinois_acts_on_a_judicial_warrant_only_either_side_of_each_date(
    day: date, regime: str | None
) -> None:
    got = [IL.classify(f, on=day) for f in (WARRANT, SERIOUS_FELONY, NOTHING)]
    assert {c.regime_id for c in got} == {regime}
    expected = (
        [Suggestion.NEEDS_JUDGMENT] * 3
        if regime is None
        else [Suggestion.MAY_COOPERATE, Suggestion.MAY_NOT_COOPERATE, Suggestion.MAY_NOT_COOPERATE]
    )
    assert [c.suggestion for c in got] == expected


def test_in_illinois_a_serious_felony_does_not_change_the_suggestion_and_it_says_so() -> None:
    c = IL.classify(SERIOUS_FELONY, on=date(2022, 6, 1))
    assert "Not a criterion under PA 102-234: convictions do not change the suggestion." in text_of(c)
    assert "administrative warrant (I-200, I-205) alone is never enough" in text_of(c)
    assert "confirmed criterion judicial-warrant is met" in text_of(IL.classify(WARRANT, on=date(2022, 6, 1)))


def test_illinois_limits_notification_only_requests_too() -> None:
    c = IL.classify(facts(form="I-247N"), on=date(2018, 6, 1))
    assert c.suggestion is Suggestion.MAY_NOT_COOPERATE


def test_the_way_forward_act_adds_the_report_to_the_attorney_general() -> None:
    assert [d.id for d in IL.classify(NOTHING, on=date(2018, 6, 1)).duties] == []
    way_forward = IL.classify(NOTHING, on=date(2022, 6, 1))
    assert [(d.id, d.status) for d in way_forward.duties] == [
        ("report-to-attorney-general", Status.CONFIRMED)
    ]


# -- a state with no regime on file ----------------------------------------------------------------


def test_a_texas_detainer_has_no_regime_on_file_never_connecticuts() -> None:
    texas = state_law("us-tx/county/harris")
    assert (texas.state_id, texas.name, texas.on_file) == ("us-tx", "Texas", False)
    c = texas.classify(SERIOUS_FELONY, on=date(2022, 6, 1))
    assert (c.regime_id, c.suggestion, c.criteria, c.duties) == (None, Suggestion.NEEDS_JUDGMENT, (), ())
    assert "no regime on file for Texas" in text_of(c)
    assert "Connecticut" not in text_of(c)
    issued, release = datetime(2016, 6, 1, tzinfo=NEW_YORK), datetime(2016, 6, 2, 17, tzinfo=NEW_YORK)
    clocks = hold_deadlines("I-247", issued, release)
    texas_clocks = hold_deadlines("I-247", issued, release, texas.clocks)
    assert clocks.state_rule is not None  # Connecticut's PA 13-155 …
    assert (texas_clocks.state_rule, texas_clocks.state_deadline) == (None, None)  # … never Texas's


@pytest.mark.parametrize(
    ("place", "state"),
    [
        ("us-tx/county/harris", "us-tx"),
        ("us-ct", "us-ct"),
        ("US-IL/town/chicago", "us-il"),
        ("us-pr", "us-pr"),
    ],
)
def test_the_state_is_the_prefix_of_the_place_id(place: str, state: str) -> None:
    assert state_law(place).state_id == state


def _registry(*places: tuple[str, str]) -> JurisdictionRegistry:
    """A graph with one facility in each of the given (state id, state name)."""
    entries: list[dict[str, Any]] = []
    for state_id, name in places:
        entries += [
            {"id": state_id, "kind": "state", "name": name, "fips": None, "parents": []},
            {"id": f"{state_id}/town/capital", "kind": "town", "name": f"{name} Capital", "fips": None,
             "parents": [state_id]},
            {"id": f"{state_id}/facility/county-jail", "kind": "facility", "name": f"{name} County Jail",
             "fips": None, "parents": [f"{state_id}/town/capital"]},
        ]  # fmt: skip
    return JurisdictionRegistry.from_json({"jurisdictions": entries})


def _accept(world: FakeWorld, registry: JurisdictionRegistry, **body: Any) -> dict[str, Any]:
    submitted = parse_event(detainer_body(**body), idempotency_header=None, registry=registry)
    accepted = ingest.accept(
        submitted,
        caller=SOURCE,
        notices=world.notices,
        index=world.subscribers,
        registry=registry,
        policies=world.policies,
        route_queue=world.route_queue,
        ack_log=world.ack_log,
        now=NOW,
    )
    return dict(world.notices.get(accepted.notice.id).event) | {"deadline": accepted.notice.deadline}


def test_ingest_classifies_and_times_a_detainer_by_the_law_of_its_facilitys_state(world: FakeWorld) -> None:
    registry = _registry(("us-tx", "Texas"), ("us-ca", "California"), ("us-il", "Illinois"))
    robbery = [{"statute": "PC 211", "class": "unclassified felony", "date": "2019-05-01", "final": True}]
    texas, california, illinois = (
        _accept(
            world, registry, facility=f"{name} County Jail", convictions=robbery, external_id=f"I247A-{name}"
        )
        for name in ("Texas", "California", "Illinois")
    )

    assert texas["classification"]["suggestion"] == "needs-judgment"
    assert "no regime on file for Texas" in texas["classification"]["explanation"][0]
    assert texas["hold"]["explained"][1] == "Texas: no detainer regime on file, so no state clock applies"
    assert texas["deadline"] == datetime.fromisoformat(texas["hold"]["form_deadline"])

    assert (california["classification"]["regime_id"], california["classification"]["suggestion"]) == (
        "sb-54-2018",
        "may-cooperate",
    )
    release = datetime.fromisoformat(detainer_body()["release_due_at"])
    assert california["deadline"] == release  # SB 54: no hold on the request itself
    assert california["hold"]["explained"][1].startswith("California SB 54 (from 2018-01-01): hold ends")

    assert (illinois["classification"]["regime_id"], illinois["classification"]["suggestion"]) == (
        "il-way-forward-2021",
        "may-not-cooperate",
    )


# -- the files ------------------------------------------------------------------------------------


def _files() -> list[str]:
    folder = resources.files("chalicelib.data").joinpath(regime_files.REGIMES_DIR)
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def test_the_files_on_file_are_connecticut_california_and_illinois() -> None:
    assert _files() == ["us-ca", "us-ct", "us-il"]


@pytest.mark.parametrize("state", ["us-ca", "us-ct", "us-il"])
def test_every_item_of_every_file_says_how_sure_it_is_and_where_it_was_read(state: str) -> None:
    regimes = load_state_regimes(state)
    assert regimes
    for r in regimes:
        items: list[Criterion | Duty | RegimeClock] = [*r.criteria, *r.duties, r.hold_clock]
        assert all(i.source for i in items), r.id
        if state != "us-ct":  # the Connecticut file's sources are its rules file, docs/detainer-rules.md
            confirmed = [i for i in items if i.status is Status.CONFIRMED]
            assert all("http" in i.source for i in confirmed), r.id


def test_connecticuts_clocks_in_its_file_are_the_default_clocks_of_the_deadlines_module() -> None:
    assert state_clocks("Connecticut", load_ct_regimes()) == CONNECTICUT


def test_the_hold_clocks_of_california_and_illinois() -> None:
    assert [c.clock for c in CA.clocks.clocks] == [HoldClock.NONE, HoldClock.RELEASE]
    assert [c.clock for c in IL.clocks.clocks] == [HoldClock.RELEASE, HoldClock.RELEASE]


@pytest.fixture
def bundled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The reader reading a scratch copy of the bundled files (the process's cache is left alone)."""
    folder = resources.files("chalicelib.data").joinpath(regime_files.REGIMES_DIR)
    for name in _files():
        (tmp_path / f"{name}.json").write_text(folder.joinpath(f"{name}.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(regime_files, "resources", types.SimpleNamespace(files=lambda _package: tmp_path))
    return tmp_path


def test_a_malformed_state_file_is_refused_at_load_with_the_file_named(bundled: Path) -> None:
    data = json.loads((bundled / "us-ca.json").read_text(encoding="utf-8"))
    del data["regimes"][1]["criteria"][0]["source"]
    data["regimes"][0]["hold_clock"]["clock"] = "72-hours"
    (bundled / "us-ca.json").write_text(json.dumps(data))
    with pytest.raises(RegimeDataError) as caught:
        read_state_regimes("us-ca")
    assert caught.value.source == "chalicelib/data/regimes/us-ca.json"
    assert "in chalicelib/data/regimes/us-ca.json" in str(caught.value)
    assert "$.regimes[1].criteria[0].source: is required" in caught.value.problems
    assert any(p.startswith("$.regimes[0].hold_clock.clock: must be one of") for p in caught.value.problems)
    assert read_state_regimes("us-il") is not None  # another state's file is not affected


def test_a_file_that_is_not_json_is_refused_with_its_name(bundled: Path) -> None:
    (bundled / "us-il.json").write_text('{"version": "1", "state": "us-il",')
    with pytest.raises(
        RegimeDataError, match=r"in chalicelib/data/regimes/us-il\.json:\n- \$: not valid JSON"
    ):
        read_state_regimes("us-il")


def test_a_file_for_another_state_is_refused(bundled: Path) -> None:
    (bundled / "us-tx.json").write_text((bundled / "us-ca.json").read_text(encoding="utf-8"))
    with pytest.raises(RegimeDataError, match=r"\$\.state: is 'us-ca', but the file is for 'us-tx'"):
        read_state_regimes("us-tx")


def test_a_state_without_a_file_and_an_unknown_state_have_no_regimes(bundled: Path) -> None:
    assert read_state_regimes("us-tx") is None
    assert read_state_regimes("../us-ct") is None  # only a known state id ever names a file


# -- the vocabulary California needed ---------------------------------------------------------------


def _one_criterion(test: dict[str, Any]) -> dict[str, Any]:
    text = (
        resources.files("chalicelib.data")
        .joinpath(regime_files.regimes_file("us-ca"))
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    data["regimes"] = [data["regimes"][1]]
    data["regimes"][0]["criteria"] = [data["regimes"][0]["criteria"][0] | {"id": "probe", "test": test}]
    return data


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        ("unclassified misdemeanor", Outcome.MET),
        ("A misdemeanor", Outcome.MET),
        ("unclassified felony", Outcome.NOT_MET),
        ("infraction", Outcome.NOT_MET),
        (None, Outcome.UNKNOWN),
    ],
)
def test_a_misdemeanor_test(cls: str | None, expected: Outcome) -> None:
    (regime,) = load_regimes(_one_criterion({"conviction": {"misdemeanor": True}}))
    c = StateLaw("us-ca", "California", (regime,)).classify(
        facts(convictions=(ca_conviction("PC 1", cls),)), on=date(2022, 6, 1)
    )
    assert outcomes(c)["probe"] is expected


def test_needs_judgment_turns_met_into_unknown_and_leaves_not_met_alone() -> None:
    (regime,) = load_regimes(_one_criterion({"needs_judgment": {"fact": "tsdb_match"}}))
    law = StateLaw("us-ca", "California", (regime,))
    met = law.classify(facts(tsdb_match=True), on=date(2022, 6, 1))
    assert (outcomes(met)["probe"], met.suggestion) == (Outcome.UNKNOWN, Suggestion.NEEDS_JUDGMENT)
    assert "may apply, for the reviewer to judge" in text_of(met)
    assert outcomes(law.classify(facts(), on=date(2022, 6, 1)))["probe"] is Outcome.NOT_MET


def test_sections_of_both_kinds_in_one_list_are_refused() -> None:
    with pytest.raises(RegimeDataError, match="not both kinds"):
        load_regimes(_one_criterion({"conviction": {"statutes": ["211", "53a-134"]}}))
