"""Requirements for the jurisdiction registry: Connecticut's places and every state's counties, their
parents and what a notice for a place reaches, admin-added facilities, and the registry built from
its data. How names and codes are read is in test_jurisdiction_names.py; the country's states and
counties, in test_jurisdictions_national.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.data import load_registry
from chalicelib.data.build_jurisdictions import OUTPUT, Census, build, files, main
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, JurisdictionKind, UnknownJurisdiction, canonical_id
from tests.unit.ct_places import (
    FAIRFIELD_COUNTY,
    NEW_HAVEN,
    NEW_HAVEN_COUNTY,
    SOUTH_CENTRAL,
    STATE,
    ids,
    in_connecticut,
)

SOURCE_DATA = Path(__file__).resolve().parents[2] / "data" / "connecticut"


# --- what the registry holds -------------------------------------------------------------------


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
