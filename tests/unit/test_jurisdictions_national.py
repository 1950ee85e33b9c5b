"""Requirements for the jurisdiction registry over the country: states and counties counted against
the Census lists addfips ships, in the same id scheme, named with their state, and each state's
file loaded only when a name or id needs it."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from importlib import resources

import pytest

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import JurisdictionKind, UnknownJurisdiction, canonical_id
from tests.unit.ct_places import FAIRFIELD_COUNTY, NEW_HAVEN_COUNTY, STATE, in_connecticut

# --- the country: counts against the source, names with their state, loading per state ---------


def _census_rows(name: str) -> list[dict[str, str]]:
    with resources.files("addfips").joinpath("data", name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_states_and_counties_match_the_census_lists_addfips_ships(registry: JurisdictionRegistry) -> None:
    states = {row["fips"] for row in _census_rows("states.csv")}
    codes: dict[str, set[str]] = defaultdict(set)
    for row in _census_rows("counties_2020.csv"):
        if row["statefp"] in states:  # 74 (Midway) has no state-level entry: left out
            codes[row["statefp"]].add(row["statefp"] + row["countyfp"])
    assert {node.fips for node in registry.states()} == states
    assert len(registry.states()) == 56  # 50 states, DC, Puerto Rico, and four more territories
    for state in registry.states():
        counties = {n.fips for n in registry.children(state.id) if n.kind is JurisdictionKind.COUNTY}
        assert counties == codes[state.fips or ""], state.id
    assert len(registry.of_kind(JurisdictionKind.COUNTY)) == sum(len(c) for c in codes.values()) == 3235


def test_connecticut_keeps_its_legacy_counties_which_are_the_census_2020_list(
    registry: JurisdictionRegistry,
) -> None:
    census = {
        row["statefp"] + row["countyfp"]: row["name"]
        for row in _census_rows("counties_2020.csv")
        if row["statefp"] == "09"
    }
    assert {n.fips: n.name for n in in_connecticut(registry, JurisdictionKind.COUNTY)} == census


@pytest.mark.parametrize(
    ("id", "name", "fips"),
    [
        ("us-tx", "Texas", "48"),
        ("us-dc", "District of Columbia", "11"),
        ("us-pr", "Puerto Rico", "72"),
        ("us-tx/county/harris", "Harris County", "48201"),
        ("us-la/county/orleans-parish", "Orleans Parish", "22071"),
        ("us-va/county/fairfax", "Fairfax County", "51059"),
        ("us-va/county/fairfax-city", "Fairfax city", "51600"),
        ("us-ak/county/juneau-city-and-borough", "Juneau City and Borough", "02110"),
        ("us-pr/county/san-juan-municipio", "San Juan Municipio", "72127"),
        ("us-nm/county/dona-ana", "Doña Ana County", "35013"),
    ],
)
def test_states_and_counties_have_ids_in_the_same_scheme(
    registry: JurisdictionRegistry, id: str, name: str, fips: str
) -> None:
    node = registry.get(id)
    assert (node.name, node.fips) == (name, fips)
    assert canonical_id(node.kind, name, node.state_id) == id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Harris County, Texas", "us-tx/county/harris"),
        ("Harris County, TX", "us-tx/county/harris"),
        ("harris county tx", "us-tx/county/harris"),
        ("48201", "us-tx/county/harris"),
        ("Orleans Parish, Louisiana", "us-la/county/orleans-parish"),
        ("Orleans Parish", "us-la/county/orleans-parish"),
        ("Texas", "us-tx"),
        ("TX", "us-tx"),
        ("State of Texas", "us-tx"),
        ("48", "us-tx"),
        ("West Virginia", "us-wv"),
        ("Jefferson County, West Virginia", "us-wv/county/jefferson"),
        ("Fairfax County, Virginia", "us-va/county/fairfax"),
        ("Fairfax city, VA", "us-va/county/fairfax-city"),
        ("Cook County, IL", "us-il/county/cook"),
        ("Doña Ana County, NM", "us-nm/county/dona-ana"),
        ("Dona Ana County", "us-nm/county/dona-ana"),
        ("Brooklyn Borough", "us-ny/county/kings"),
        ("Washington, DC", "us-dc/county/district-of-columbia"),
        ("District of Columbia", "us-dc"),
        ("Puerto Rico", "us-pr"),
        ("us-tx/county/harris", "us-tx/county/harris"),
    ],
)
def test_places_of_every_state_resolve_by_name_with_their_state_or_by_code(
    registry: JurisdictionRegistry, text: str, expected: str
) -> None:
    assert registry.resolve(text).id == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hartford", "us-ct/town/hartford"),
        ("statewide", STATE),
        ("New Haven County", NEW_HAVEN_COUNTY),
        ("09001", FAIRFIELD_COUNTY),
        ("Middlesex", "us-ct/county/middlesex"),
        ("Middlesex County", "us-ct/county/middlesex"),
        ("Fairfield County", FAIRFIELD_COUNTY),
        ("Windham County", "us-ct/county/windham"),
        ("Washington", "us-ct/town/washington"),
        ("Brooklyn", "us-ct/town/brooklyn"),
    ],
)
def test_connecticut_names_without_a_state_keep_their_connecticut_meaning(
    registry: JurisdictionRegistry, text: str, expected: str
) -> None:
    assert registry.resolve(text).id == expected


def test_a_connecticut_name_other_states_use_too_says_so_beside_the_answer(
    registry: JurisdictionRegistry,
) -> None:
    chosen = registry.resolve("Windham County")
    assert [n.say() for n in registry.also_named("Windham County", chosen)] == ["Windham County, VT"]
    washington = registry.resolve("Washington")
    others = registry.also_named("Washington", washington)
    assert others[0].id == "us-wa"
    assert others[0].say() == "State of Washington"
    assert registry.resolve(others[0].say()).id == "us-wa"
    assert all(registry.resolve(node.say()).id == node.id for node in others)


def test_a_bare_name_shared_by_several_states_places_is_refused_naming_each_with_its_id(
    registry: JurisdictionRegistry,
) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("Washington County")
    error = caught.value
    assert error.ambiguous
    assert len(error.candidates) >= 25
    assert {node.kind for node in error.candidates} == {JurisdictionKind.COUNTY}
    assert "Washington County, TX (us-tx/county/washington)" in error.message
    assert "Washington County, AL" in error.suggestions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Harris County", {"us-ga/county/harris", "us-tx/county/harris"}),
        ("Fairfax, VA", {"us-va/county/fairfax", "us-va/county/fairfax-city"}),
        ("Baltimore, Maryland", {"us-md/county/baltimore", "us-md/county/baltimore-city"}),
        ("St. Louis, MO", {"us-mo/county/st-louis", "us-mo/county/st-louis-city"}),
    ],
)
def test_names_shared_within_or_across_states_are_refused_not_guessed(
    registry: JurisdictionRegistry, text: str, expected: set[str]
) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve(text)
    assert caught.value.ambiguous
    assert {node.id for node in caught.value.candidates} == expected


def test_avon_s_town_code_is_also_an_alaska_borough_s_and_is_refused_not_guessed(
    registry: JurisdictionRegistry,
) -> None:
    # The rule of 09190: a code two places have is refused, naming both; the GEOIDs still work.
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("02060")
    assert {node.id for node in caught.value.candidates} == {
        "us-ct/town/avon",
        "us-ak/county/bristol-bay-borough",
    }
    assert registry.resolve("0900302060").id == "us-ct/town/avon"


def test_an_unknown_name_with_its_state_is_suggested_from_that_state(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("Harris Conty, Texas")
    assert caught.value.suggestions[0] == "Harris County, TX"
    assert all(s.endswith(", TX") for s in caught.value.suggestions)


def test_a_county_named_as_its_state_leaves_the_name_to_the_state(registry: JurisdictionRegistry) -> None:
    assert registry.resolve("Guam").id == "us-gu"
    assert registry.resolve("66010").id == "us-gu/county/guam"


def _counting_registry() -> tuple[JurisdictionRegistry, list[str]]:
    loaded: list[str] = []
    folder = resources.files("chalicelib.data")
    main_file = json.loads(folder.joinpath("jurisdictions.json").read_text(encoding="utf-8"))

    def load(state: str) -> dict[str, object]:
        loaded.append(state)
        data: dict[str, object] = json.loads(
            folder.joinpath("jurisdictions", f"{state}.json").read_text("utf-8")
        )
        return data

    return JurisdictionRegistry.from_json(main_file, load_state=load), loaded


def test_connecticut_and_the_states_need_no_other_state_s_file() -> None:
    registry, loaded = _counting_registry()
    for text in ("New Haven", "Hartford County", "statewide", "09001", "TX", "State of Texas", "Tolland"):
        registry.also_named(text, registry.resolve(text))
    registry.ancestors("us-ct/facility/new-haven-correctional-center")
    registry.within(STATE)
    assert loaded == []


def test_a_county_loads_its_own_state_s_file_alone() -> None:
    registry, loaded = _counting_registry()
    assert registry.resolve("Harris County, Texas").fips == "48201"
    assert registry.ancestors("us-tx/county/harris")[-1].id == "us-tx"
    assert registry.resolve("48113").name == "Dallas County"
    assert loaded == ["us-tx"]


def test_a_bare_name_from_elsewhere_loads_every_state_once() -> None:
    registry, loaded = _counting_registry()
    assert registry.resolve("Orleans Parish").id == "us-la/county/orleans-parish"
    registry.resolve("Cook County, Illinois")
    assert sorted(loaded) == sorted({node.id for node in registry.states()} - {STATE})
