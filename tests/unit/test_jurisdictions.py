"""Requirements for the jurisdiction registry: Connecticut's places and every state's counties, their
names and codes, their parents."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest

from chalicelib.data import load_registry
from chalicelib.data.build_jurisdictions import OUTPUT, Census, build, files, main
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, JurisdictionKind, UnknownJurisdiction, canonical_id

SOURCE_DATA = Path(__file__).resolve().parents[2] / "data" / "connecticut"

NEW_HAVEN = "us-ct/town/new-haven"
NEW_HAVEN_COUNTY = "us-ct/county/new-haven"
SOUTH_CENTRAL = "us-ct/region/south-central-connecticut"
FAIRFIELD_COUNTY = "us-ct/county/fairfield"
STATE = "us-ct"


@pytest.fixture(scope="module")
def registry() -> JurisdictionRegistry:
    return load_registry()


def ids(nodes: tuple[Jurisdiction, ...]) -> list[str]:
    return [node.id for node in nodes]


# --- what the registry holds -------------------------------------------------------------------


def in_connecticut(registry: JurisdictionRegistry, kind: JurisdictionKind) -> tuple[Jurisdiction, ...]:
    return tuple(node for node in registry.within(STATE) if node.kind is kind)


def test_connecticut_holds_169_towns_8_counties_9_regions_and_the_state(
    registry: JurisdictionRegistry,
) -> None:
    assert len(in_connecticut(registry, JurisdictionKind.TOWN)) == 169
    assert len(in_connecticut(registry, JurisdictionKind.COUNTY)) == 8
    assert len(in_connecticut(registry, JurisdictionKind.REGION)) == 9
    assert ids(in_connecticut(registry, JurisdictionKind.STATE)) == [STATE]


def test_seed_list_holds_13_correctional_facilities(registry: JurisdictionRegistry) -> None:
    assert len(registry.of_kind(JurisdictionKind.FACILITY)) == 13


def test_towns_regions_and_facilities_are_connecticut_s_alone(registry: JurisdictionRegistry) -> None:
    for kind in (JurisdictionKind.TOWN, JurisdictionKind.REGION, JurisdictionKind.FACILITY):
        assert {node.state_id for node in registry.of_kind(kind)} == {STATE}


def test_all_lists_every_jurisdiction_once(registry: JurisdictionRegistry) -> None:
    every = ids(registry.all())
    connecticut = 1 + 8 + 9 + 169 + 13
    states = len(registry.states()) - 1
    counties = len(registry.of_kind(JurisdictionKind.COUNTY)) - 8
    assert len(every) == connecticut + states + counties
    assert len(set(every)) == len(every)


@pytest.mark.parametrize(
    ("id", "kind", "name", "fips"),
    [
        (STATE, JurisdictionKind.STATE, "Connecticut", "09"),
        (FAIRFIELD_COUNTY, JurisdictionKind.COUNTY, "Fairfield County", "09001"),
        (SOUTH_CENTRAL, JurisdictionKind.REGION, "South Central Connecticut Planning Region", "09170"),
        (NEW_HAVEN, JurisdictionKind.TOWN, "New Haven", "52070"),
        ("us-ct/town/windsor-locks", JurisdictionKind.TOWN, "Windsor Locks", "87070"),
        (
            "us-ct/facility/new-haven-correctional-center",
            JurisdictionKind.FACILITY,
            "New Haven Correctional Center",
            None,
        ),
        (
            "us-ct/facility/corrigan-radgowski-correctional-center",
            JurisdictionKind.FACILITY,
            "Corrigan-Radgowski Correctional Center",
            None,
        ),
    ],
)
def test_ids_follow_the_scheme(
    registry: JurisdictionRegistry, id: str, kind: JurisdictionKind, name: str, fips: str | None
) -> None:
    node = registry.get(id)
    assert (node.kind, node.name, node.fips) == (kind, name, fips)
    assert canonical_id(kind, name) == id


def test_every_town_has_one_county_and_one_region(registry: JurisdictionRegistry) -> None:
    for town in registry.of_kind(JurisdictionKind.TOWN):
        kinds = [registry.get(parent).kind for parent in town.parents]
        assert kinds == [JurisdictionKind.COUNTY, JurisdictionKind.REGION], town.id


def test_counties_and_regions_belong_to_the_state(registry: JurisdictionRegistry) -> None:
    for kind in (JurisdictionKind.COUNTY, JurisdictionKind.REGION):
        for node in in_connecticut(registry, kind):
            assert node.parents == (STATE,)


def test_every_state_s_counties_have_the_state_as_parent(registry: JurisdictionRegistry) -> None:
    for node in registry.of_kind(JurisdictionKind.COUNTY):
        assert node.parents == (node.state_id,), node.id
        assert registry.get(node.state_id).kind is JurisdictionKind.STATE
        assert node.fips is not None
        assert node.fips[:2] == registry.get(node.state_id).fips


def test_every_fairfield_county_town_lies_in_one_of_three_regions(registry: JurisdictionRegistry) -> None:
    towns = registry.children(FAIRFIELD_COUNTY)
    regions = {parent for town in towns for parent in town.parents if parent != FAIRFIELD_COUNTY}
    assert len(towns) == 23
    assert regions == {
        "us-ct/region/greater-bridgeport",
        "us-ct/region/western-connecticut",
        "us-ct/region/naugatuck-valley",
    }


def test_children_of_the_state_are_its_counties_and_regions(registry: JurisdictionRegistry) -> None:
    kinds = {child.kind for child in registry.children(STATE)}
    assert kinds == {JurisdictionKind.COUNTY, JurisdictionKind.REGION}
    assert len(registry.children(STATE)) == 17


def test_children_of_a_town_are_its_facilities(registry: JurisdictionRegistry) -> None:
    assert ids(registry.children("us-ct/town/enfield")) == [
        "us-ct/facility/robinson-correctional-institution",
        "us-ct/facility/willard-cybulski-correctional-institution",
    ]


# --- ancestry: what a notice for a place reaches -----------------------------------------------


def test_new_haven_ancestors_are_town_county_region_and_state(registry: JurisdictionRegistry) -> None:
    assert ids(registry.ancestors(NEW_HAVEN)) == [NEW_HAVEN, NEW_HAVEN_COUNTY, SOUTH_CENTRAL, STATE]


def test_facility_ancestors_include_its_town(registry: JurisdictionRegistry) -> None:
    assert ids(registry.ancestors("us-ct/facility/new-haven-correctional-center")) == [
        "us-ct/facility/new-haven-correctional-center",
        NEW_HAVEN,
        NEW_HAVEN_COUNTY,
        SOUTH_CENTRAL,
        STATE,
    ]


def test_a_town_whose_region_crosses_counties_keeps_its_legacy_county(registry: JurisdictionRegistry) -> None:
    assert ids(registry.ancestors("us-ct/town/shelton")) == [
        "us-ct/town/shelton",
        FAIRFIELD_COUNTY,
        "us-ct/region/naugatuck-valley",
        STATE,
    ]


def test_ancestors_of_the_state_is_the_state_alone(registry: JurisdictionRegistry) -> None:
    assert ids(registry.ancestors(STATE)) == [STATE]


def test_every_node_reaches_its_state_exactly_once(registry: JurisdictionRegistry) -> None:
    for node in registry.all():
        chain = ids(registry.ancestors(node.id))
        assert chain[0] == node.id
        assert chain[-1] == node.state_id
        assert len(chain) == len(set(chain))


# --- resolving what people and source systems write --------------------------------------------


def test_bare_new_haven_means_the_town_not_the_county(registry: JurisdictionRegistry) -> None:
    assert registry.resolve("New Haven").id == NEW_HAVEN
    assert registry.resolve("New Haven County").id == NEW_HAVEN_COUNTY


@pytest.mark.parametrize("name", ["Hartford", "Fairfield", "New London", "Litchfield", "Tolland", "Windham"])
def test_a_name_shared_by_a_town_and_a_county_means_the_town(
    registry: JurisdictionRegistry, name: str
) -> None:
    assert registry.resolve(name).kind is JurisdictionKind.TOWN
    assert registry.resolve(f"{name} County").kind is JurisdictionKind.COUNTY


def test_a_bare_county_name_that_is_no_town_means_the_county(registry: JurisdictionRegistry) -> None:
    assert registry.resolve("Middlesex").id == "us-ct/county/middlesex"


@pytest.mark.parametrize(
    "text",
    [
        "New Haven",
        "new haven",
        "NEW HAVEN",
        "  New   Haven  ",
        "New-Haven",
        "new_haven",
        "New Haven.",
        "Town of New Haven",
        "City of New Haven",
        "city of new haven",
        "New Haven, CT",
        "New Haven CT",
        "New Haven, Connecticut",
        "New Haven, Conn.",
        "Town of New Haven, CT",
        "New Haven town",
        "us-ct/town/new-haven",
        "US-CT/Town/New-Haven",
    ],
)
def test_names_resolve_regardless_of_case_spacing_punctuation_and_decoration(
    registry: JurisdictionRegistry, text: str
) -> None:
    assert registry.resolve(text).id == NEW_HAVEN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Windsor Locks", "us-ct/town/windsor-locks"),
        ("windsor-locks, ct", "us-ct/town/windsor-locks"),
        ("Fairfield County", FAIRFIELD_COUNTY),
        ("fairfield county, CT", FAIRFIELD_COUNTY),
        ("South Central Connecticut Planning Region", SOUTH_CENTRAL),
        ("South Central Connecticut", SOUTH_CENTRAL),
        ("south central connecticut region", SOUTH_CENTRAL),
        ("Capitol Region", "us-ct/region/capitol"),
        ("Western Connecticut", "us-ct/region/western-connecticut"),
    ],
)
def test_counties_and_regions_resolve_by_name(
    registry: JurisdictionRegistry, text: str, expected: str
) -> None:
    assert registry.resolve(text).id == expected


@pytest.mark.parametrize(
    "text",
    [
        "statewide",
        "Statewide",
        "Connecticut",
        "CT",
        "State of Connecticut",
        "all of Connecticut",
        "throughout Connecticut",
        "us-ct",
        "09",
    ],
)
def test_statewide_phrases_mean_the_state(registry: JurisdictionRegistry, text: str) -> None:
    assert registry.resolve(text).id == STATE


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("09", STATE),
        ("09001", FAIRFIELD_COUNTY),
        ("09009", NEW_HAVEN_COUNTY),
        ("09110", "us-ct/region/capitol"),
        ("09170", SOUTH_CENTRAL),
        ("52070", NEW_HAVEN),  # town (county-subdivision) code
        ("0900952070", NEW_HAVEN),  # GEOID under the legacy county
        ("0917052070", NEW_HAVEN),  # GEOID under the planning region
        (" 52070 ", NEW_HAVEN),
        ("0901509190", "us-ct/town/brooklyn"),
        ("0915009190", "us-ct/town/brooklyn"),
    ],
)
def test_fips_codes_resolve(registry: JurisdictionRegistry, code: str, expected: str) -> None:
    assert registry.resolve(code).id == expected


def test_fips_code_shared_by_brooklyn_and_the_western_region_is_refused_not_guessed(
    registry: JurisdictionRegistry,
) -> None:
    # Brooklyn's town code 09190 is also Western Connecticut's county-equivalent code: guessing would
    # misroute notices about Brooklyn Correctional Institution to the other end of the state.
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("09190")
    assert caught.value.ambiguous
    assert set(caught.value.suggestions) == {"Brooklyn", "Western Connecticut Planning Region"}


def test_unknown_fips_code_is_refused_without_name_suggestions(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("99999")
    assert caught.value.suggestions == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("New Haven Correctional Center", "us-ct/facility/new-haven-correctional-center"),
        ("Corrigan-Radgowski Correctional Center", "us-ct/facility/corrigan-radgowski-correctional-center"),
        ("Corrigan Radgowski", "us-ct/facility/corrigan-radgowski-correctional-center"),
        ("MacDougall-Walker", "us-ct/facility/macdougall-walker-correctional-institution"),
        ("MacDougall-Walker CI", "us-ct/facility/macdougall-walker-correctional-institution"),
        ("York", "us-ct/facility/york-correctional-institution"),
        ("Manson Youth Institution", "us-ct/facility/manson-youth-institution"),
    ],
)
def test_facility_names_resolve_with_or_without_their_suffix(
    registry: JurisdictionRegistry, text: str, expected: str
) -> None:
    assert registry.resolve(text).id == expected


@pytest.mark.parametrize("town", ["Bridgeport", "Hartford", "New Haven", "Cheshire", "Brooklyn"])
def test_a_facility_short_name_that_is_a_town_means_the_town(
    registry: JurisdictionRegistry, town: str
) -> None:
    assert registry.resolve(town).kind is JurisdictionKind.TOWN


def test_town_of_never_means_a_county(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction):
        registry.resolve("Town of Middlesex")


def test_unknown_name_lists_closest_matches(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("New Havn")
    error = caught.value
    assert isinstance(error, LookupError)
    assert error.query == "New Havn"
    assert error.suggestions[0] == "New Haven"
    assert 1 < len(error.suggestions) <= 5
    assert str(error).startswith("unknown jurisdiction 'New Havn'; closest: New Haven, ")


def test_decorated_unknown_name_is_suggested_on_its_bare_form(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.resolve("Town of Stamfrod, CT")
    assert caught.value.suggestions[0] == "Stamford"


@pytest.mark.parametrize("text", ["", "   ", "Springfield", "---"])
def test_names_nobody_uses_are_refused(registry: JurisdictionRegistry, text: str) -> None:
    with pytest.raises(UnknownJurisdiction):
        registry.resolve(text)


def test_get_takes_canonical_ids_only(registry: JurisdictionRegistry) -> None:
    assert registry.get(NEW_HAVEN).name == "New Haven"
    with pytest.raises(UnknownJurisdiction) as caught:
        registry.get("us-ct/town/new-havn")
    assert "New Haven" in caught.value.suggestions
    with pytest.raises(UnknownJurisdiction):
        registry.get("New Haven")


def test_ancestors_and_children_of_an_unknown_id_are_refused(registry: JurisdictionRegistry) -> None:
    with pytest.raises(UnknownJurisdiction):
        registry.ancestors("us-ct/town/atlantis")
    with pytest.raises(UnknownJurisdiction):
        registry.children("us-ct/town/atlantis")


# --- facilities are admin-managed data ---------------------------------------------------------


def facility(name: str, place: str, *aka: str) -> Jurisdiction:
    state = place.split("/", 1)[0]
    return Jurisdiction(
        canonical_id(JurisdictionKind.FACILITY, name, state),
        JurisdictionKind.FACILITY,
        name,
        None,
        (place,),
        aka,
    )


def test_admin_added_facility_hangs_under_its_town_in_a_new_registry(registry: JurisdictionRegistry) -> None:
    extended = registry.with_facilities([facility("Northern Correctional Institution", "us-ct/town/somers")])
    found = extended.resolve("Northern CI")
    assert found.id == "us-ct/facility/northern-correctional-institution"
    assert ids(extended.ancestors(found.id))[:2] == [found.id, "us-ct/town/somers"]
    assert len(extended.of_kind(JurisdictionKind.FACILITY)) == 14
    with pytest.raises(UnknownJurisdiction):
        registry.resolve("Northern Correctional Institution")


def test_a_facility_of_another_state_joins_its_county_when_the_state_loads(
    registry: JurisdictionRegistry,
) -> None:
    extended = registry.with_facilities(
        [facility("Harris County Jail", "us-tx/county/harris", "Harris Jail")]
    )
    assert extended.resolve("Harris County Jail, TX").id == "us-tx/facility/harris-county-jail"
    assert extended.resolve("Harris Jail").id == "us-tx/facility/harris-county-jail"
    assert ids(extended.ancestors("us-tx/facility/harris-county-jail")) == [
        "us-tx/facility/harris-county-jail",
        "us-tx/county/harris",
        "us-tx",
    ]
    assert "us-tx/facility/harris-county-jail" in ids(extended.children("us-tx/county/harris"))
    assert "us-tx/facility/harris-county-jail" in ids(extended.within("us-tx"))
    assert extended.answering("us-tx", "harris county jail")[0].id == "us-tx/facility/harris-county-jail"
    with pytest.raises(UnknownJurisdiction):
        registry.get("us-tx/facility/harris-county-jail")


def test_a_shipped_facility_s_id_cannot_be_taken_again(registry: JurisdictionRegistry) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        registry.with_facilities([facility("York Correctional Institution", "us-ct/town/montville")])
    texas = registry.with_facilities([facility("Harris County Jail", "us-tx/county/harris")] * 2)
    with pytest.raises(ValueError, match="duplicate"):
        texas.get("us-tx/county/harris")


def test_only_facilities_are_added(registry: JurisdictionRegistry) -> None:
    town = Jurisdiction("us-ct/town/atlantis", JurisdictionKind.TOWN, "Atlantis", None, ("us-ct",))
    with pytest.raises(ValueError, match="not a facility"):
        registry.with_facilities([town])


def test_short_facility_name_shared_by_two_facilities_is_ambiguous(registry: JurisdictionRegistry) -> None:
    extended = registry.with_facilities(
        [
            facility("Webster Correctional Center", "us-ct/town/cheshire"),
            facility("Webster Correctional Institution", "us-ct/town/cheshire"),
        ]
    )
    with pytest.raises(UnknownJurisdiction) as caught:
        extended.resolve("Webster")
    assert caught.value.ambiguous
    assert extended.resolve("Webster CC").id == "us-ct/facility/webster-correctional-center"


def test_a_facility_may_not_take_a_town_name(registry: JurisdictionRegistry) -> None:
    with pytest.raises(ValueError, match="same name"):
        registry.with_facilities([facility("Hartford", "us-ct/town/hartford")])


# --- building the registry from data -----------------------------------------------------------


def test_registry_refuses_a_dangling_parent_and_a_duplicate_id() -> None:
    state = Jurisdiction(STATE, JurisdictionKind.STATE, "Connecticut", "09", ())
    orphan = Jurisdiction("us-ct/town/x", JurisdictionKind.TOWN, "X", "00001", ("us-ct/county/nowhere",))
    with pytest.raises(ValueError, match="unknown parent"):
        JurisdictionRegistry([state, orphan])
    with pytest.raises(ValueError, match="duplicate"):
        JurisdictionRegistry([state, state])


def test_registry_round_trips_through_json(registry: JurisdictionRegistry) -> None:
    again = JurisdictionRegistry.from_json({"jurisdictions": registry.as_json()})
    assert again.all() == registry.all()


@pytest.mark.parametrize(
    "entry",
    [
        "us-ct",
        {"id": "us-ct", "kind": "nation", "name": "Connecticut", "fips": "09", "parents": []},
        {"id": "us-ct", "kind": "state", "name": "Connecticut", "fips": 9, "parents": []},
        {"id": "us-ct", "kind": "state", "name": "Connecticut", "fips": "09", "parents": "none"},
        {"id": "us-ct", "kind": "state", "fips": "09", "parents": []},
    ],
)
def test_malformed_data_fails_loudly(entry: object) -> None:
    with pytest.raises(ValueError, match=r"."):
        JurisdictionRegistry.from_json({"jurisdictions": [entry]})


def test_load_registry_parses_the_file_once() -> None:
    assert load_registry() is load_registry()


def test_data_file_names_its_sources() -> None:
    document = json.loads(OUTPUT.read_text(encoding="utf-8"))
    named = [source["file"] for source in document["sources"]]
    assert named == [
        "ct_towns.csv",
        "ct_counties.csv",
        "ct_planning_regions.csv",
        "ct_doc_facilities.csv",
        "addfips 0.4.2: data/states.csv",
        "addfips 0.4.2: data/counties_2020.csv",
    ]
    assert all(source["source"] for source in document["sources"])


def test_json_files_match_the_sources_in_the_repository_and_addfips() -> None:
    wanted = files(build(SOURCE_DATA), OUTPUT)
    assert {path: path.read_text(encoding="utf-8") for path in wanted} == wanted
    assert set(OUTPUT.with_suffix("").glob("*.json")) == set(wanted) - {OUTPUT}


def _write_minimal_census(
    folder: Path, *, counties: str = "09,001,Fairfield County\n48,201,Harris County\n"
) -> Census:
    folder.mkdir(exist_ok=True)
    (folder / "states.csv").write_text("name,postal,fips\nConnecticut,CT,09\nTexas,TX,48\n", encoding="utf-8")
    (folder / "counties_2020.csv").write_text("statefp,countyfp,name\n" + counties, encoding="utf-8")
    return Census(folder, "test census")


def _write_minimal_csvs(folder: Path, *, bridgeport_county: str = "Fairfield County") -> None:
    files = {
        "ct_towns.csv": "town,town_fips,county,county_fips,planning_region,planning_region_fips\r\n"
        "Bethel,04720,Fairfield County,09001,Western Connecticut Planning Region,09190\r\n"
        f"Bridgeport,08070,{bridgeport_county},09001,Greater Bridgeport Planning Region,09120\r\n",
        "ct_counties.csv": "county,county_fips,town_count\nFairfield County,09001,2\n",
        "ct_planning_regions.csv": "planning_region,planning_region_fips,town_count,legacy_counties\n"
        "Greater Bridgeport Planning Region,09120,1,Fairfield County\n"
        "Western Connecticut Planning Region,09190,1,Fairfield County\n",
        "ct_doc_facilities.csv": "facility,town\nBridgeport Correctional Center,Bridgeport\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _registry_of(built_main: dict[str, object], states: dict[str, dict[str, object]]) -> JurisdictionRegistry:
    return JurisdictionRegistry.from_json(built_main, load_state=states.__getitem__)


def test_build_derives_ids_and_parents_from_the_csvs(tmp_path: Path) -> None:
    _write_minimal_csvs(tmp_path)
    built = build(tmp_path, _write_minimal_census(tmp_path / "census"))
    registry = _registry_of(built.main, built.states)
    assert ids(registry.ancestors("us-tx/county/harris")) == ["us-tx/county/harris", "us-tx"]
    assert ids(registry.ancestors("us-ct/facility/bridgeport-correctional-center")) == [
        "us-ct/facility/bridgeport-correctional-center",
        "us-ct/town/bridgeport",
        FAIRFIELD_COUNTY,
        "us-ct/region/greater-bridgeport",
        STATE,
    ]


def test_build_refuses_csvs_that_disagree(tmp_path: Path) -> None:
    _write_minimal_csvs(tmp_path, bridgeport_county="Litchfield County")
    with pytest.raises(ValueError, match=r"does not match ct_counties\.csv"):
        build(tmp_path, _write_minimal_census(tmp_path / "census"))


def test_build_refuses_a_census_whose_connecticut_counties_are_not_the_legacy_counties(
    tmp_path: Path,
) -> None:
    # The 2022 list has the planning regions where the 2020 list has the counties: Connecticut's
    # graph is data/connecticut's, and the Census's Connecticut must agree with it, not replace it.
    _write_minimal_csvs(tmp_path)
    census = _write_minimal_census(
        tmp_path / "census", counties="09,120,Greater Bridgeport Planning Region\n"
    )
    with pytest.raises(ValueError, match="not the legacy counties"):
        build(tmp_path, census)


def test_build_refuses_a_code_listed_under_two_names_until_told_which_is_current(tmp_path: Path) -> None:
    _write_minimal_csvs(tmp_path)
    census = _write_minimal_census(
        tmp_path / "census", counties="09,001,Fairfield County\n48,201,Harris County\n48,201,Harris Parish\n"
    )
    with pytest.raises(ValueError, match=r"48201 is listed as \['Harris County', 'Harris Parish'\]"):
        build(tmp_path, census)


def test_build_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    _write_minimal_csvs(tmp_path)
    _write_minimal_census(tmp_path / "census")
    output = tmp_path / "out.json"
    given = [str(tmp_path), "--census", str(tmp_path / "census"), "--output", str(output)]
    assert main([*given, "--check"]) == 1
    assert main(given) == 0
    assert (tmp_path / "out" / "us-tx.json").exists()
    assert main([*given, "--check"]) == 0
    (tmp_path / "out" / "us-zz.json").write_text("{}", encoding="utf-8")
    assert main([*given, "--check"]) == 1  # a file of a state the sources no longer have


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
