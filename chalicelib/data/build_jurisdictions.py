"""Regenerate ``jurisdictions.json`` and ``jurisdictions/<state>.json`` from public data, so the
shipped files can be re-derived and audited.

    python -m chalicelib.data.build_jurisdictions            # rewrite the JSON files
    python -m chalicelib.data.build_jurisdictions --check    # fail if any is stale

Two sources. Connecticut's graph (towns, legacy counties, planning regions, facilities) comes from
the CSVs of ``data/connecticut``, as before there were other states. Every state, the District of
Columbia, the territories and every county and county-equivalent come from the Census's lists as the
``addfips`` package ships them (``data/states.csv``, ``data/counties_2020.csv``), a build-time
dependency pinned in requirements-dev.txt: a versioned copy of the Census's tables beats one copied
by hand. The service never reads either: Lambda bundles only ``chalicelib/``, and facts that decide
who gets alerted must not depend on anything outside the deployed code.

The two sources are reconciled for Connecticut: the Census's 2020 list has Connecticut's eight
legacy counties (the 2022 one has the planning regions instead); they must be exactly those of
``ct_counties.csv``, names and codes, and Connecticut's places are then taken from
``data/connecticut`` alone. The CSVs are cross-checked against each other here too, because a town
filed under the wrong county or region silently drops its officials from notices.

Layout: ``jurisdictions.json`` holds Connecticut's graph and every state's node, loaded at cold
start; each other state's counties are in ``jurisdictions/<state id>.json``, loaded the first time a
lookup needs them (``chalicelib.data.load_registry``).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import STATE_ID, Jurisdiction, JurisdictionKind, canonical_id, state_id_for

OUTPUT = Path(__file__).with_name("jurisdictions.json")
SOURCE_DIR = Path(__file__).resolve().parents[2] / "data" / "connecticut"
GENERATED_BY = "python -m chalicelib.data.build_jurisdictions (from data/connecticut and addfips)"
CENSUS_PACKAGE = "addfips"
CENSUS_STATES = "states.csv"
CENSUS_COUNTIES = "counties_2020.csv"

# Codes the Census's list gives under several names (a rename, or New York City's boroughs): the
# place's name, the others kept as names it also answers to. A code listed under several names and
# missing here stops the build, so a new source is read by a person before it is shipped.
CURRENT_NAMES = {
    "02158": "Kusilvak Census Area",  # Wade Hampton Census Area until 2015
    "02195": "Petersburg Borough",  # Petersburg Census Area until 2013
    "11001": "District of Columbia",  # also listed as "Washington"
    "36005": "Bronx County",  # the Bronx
    "36047": "Kings County",  # Brooklyn
    "36061": "New York County",  # Manhattan
    "36085": "Richmond County",  # Staten Island
    "46102": "Oglala Lakota County",  # Shannon County until 2015
    "60030": "Rose Island District",  # also listed as "Rose Atoll District"
}
# State codes of the county list that states.csv does not have: left out, with the reason.
NO_STATE = {"74": "U.S. Minor Outlying Islands (Midway): no state-level entry in states.csv, no residents"}

# Copied from data/connecticut/README.md, so provenance travels with the facts into the deployed bundle.
SOURCES: tuple[dict[str, str], ...] = (
    {
        "file": "ct_towns.csv",
        "what": "town, 2022 town FIPS, legacy county and its FIPS, planning region and its FIPS",
        "source": "US Census county-subdivision codes, as compiled in CT Data Collaborative's "
        "town-to-planning-region table (2023); county names from the Census county FIPS list",
    },
    {
        "file": "ct_counties.csv",
        "what": "the legacy counties (no county government since 1960; still used by many programs, "
        "including Secure Communities' 2010 Fairfield County activation)",
        "source": "derived from ct_towns.csv",
    },
    {
        "file": "ct_planning_regions.csv",
        "what": "the planning regions that replaced counties as Census county-equivalents in 2022",
        "source": "derived from ct_towns.csv",
    },
    {
        "file": "ct_doc_facilities.csv",
        "what": "Department of Correction facilities and their towns — a seed list only: rosters change, "
        "so facilities are admin-managed data",
        "source": "public facility lists, as of 2019, closed facilities removed",
    },
)

_HEADERS = {
    "ct_towns.csv": ["town", "town_fips", "county", "county_fips", "planning_region", "planning_region_fips"],
    "ct_counties.csv": ["county", "county_fips", "town_count"],
    "ct_planning_regions.csv": ["planning_region", "planning_region_fips", "town_count", "legacy_counties"],
    "ct_doc_facilities.csv": ["facility", "town"],
}


_HEADERS |= {
    CENSUS_STATES: ["name", "postal", "fips"],
    CENSUS_COUNTIES: ["statefp", "countyfp", "name"],
}


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _HEADERS[name]:
            raise ValueError(f"{name}: expected columns {_HEADERS[name]}, got {reader.fieldnames}")
        return [{key: value.strip() for key, value in row.items()} for row in reader]


@dataclass(frozen=True)
class Census:
    """The Census's state and county lists, and what to call them in the data file's sources."""

    folder: Path
    label: str  # "addfips 0.4.2"

    @classmethod
    def from_package(cls) -> Census:
        """addfips's copy, named with its version so a new one shows in the data file."""
        from importlib import metadata, resources  # noqa: PLC0415  # a build-time tool, not the service

        data = resources.files(CENSUS_PACKAGE).joinpath("data")
        return cls(Path(str(data)), f"{CENSUS_PACKAGE} {metadata.version(CENSUS_PACKAGE)}")

    def states(self) -> list[dict[str, str]]:
        return _read(self.folder, CENSUS_STATES)

    def counties(self) -> list[dict[str, str]]:
        return _read(self.folder, CENSUS_COUNTIES)

    def sources(self) -> list[dict[str, str]]:
        return [
            {
                "file": f"{self.label}: data/{CENSUS_STATES}",
                "what": "the states, the District of Columbia and the territories: name, postal code, FIPS "
                "code (a state listed under several names takes the first, the others are kept as 'aka')",
                "source": "US Census Bureau state FIPS codes, as shipped by the addfips package",
            },
            {
                "file": f"{self.label}: data/{CENSUS_COUNTIES}",
                "what": "every county and county-equivalent (parishes, boroughs, census areas, independent "
                "cities, municipios) with its FIPS code, 2020 vintage; for Connecticut its legacy counties, "
                "checked against ct_counties.csv, Connecticut's places being those of data/connecticut",
                "source": "US Census Bureau county FIPS codes (2020), as shipped by the addfips package",
            },
        ]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _fips(value: str, digits: int, where: str) -> str:
    _check(value.isdigit() and len(value) == digits, f"{where}: FIPS {value!r} is not {digits} digits")
    return value


def build_connecticut(folder: Path) -> list[Jurisdiction]:
    """Connecticut's graph; raises ValueError naming the first inconsistency between the CSVs."""
    towns = _read(folder, "ct_towns.csv")
    counties = _read(folder, "ct_counties.csv")
    regions = _read(folder, "ct_planning_regions.csv")
    facilities = _read(folder, "ct_doc_facilities.csv")

    county_fips = {row["county"]: _fips(row["county_fips"], 5, row["county"]) for row in counties}
    region_fips = {
        row["planning_region"]: _fips(row["planning_region_fips"], 5, row["planning_region"])
        for row in regions
    }
    _check(len(county_fips) == len(counties), "ct_counties.csv: a county is listed twice")
    _check(len(region_fips) == len(regions), "ct_planning_regions.csv: a region is listed twice")
    _check(len({row["town"] for row in towns}) == len(towns), "ct_towns.csv: a town is listed twice")
    _check(len({row["town_fips"] for row in towns}) == len(towns), "ct_towns.csv: a town FIPS is used twice")
    for row in towns:
        town = row["town"]
        _fips(row["town_fips"], 5, town)
        _check(
            county_fips.get(row["county"]) == row["county_fips"],
            f"{town}: county {row['county']} {row['county_fips']} does not match ct_counties.csv",
        )
        _check(
            region_fips.get(row["planning_region"]) == row["planning_region_fips"],
            f"{town}: region {row['planning_region']} {row['planning_region_fips']} "
            "does not match ct_planning_regions.csv",
        )

    towns_per_county = Counter(row["county"] for row in towns)
    for row in counties:
        _check(
            int(row["town_count"]) == towns_per_county[row["county"]],
            f"{row['county']}: town_count {row['town_count']} but {towns_per_county[row['county']]} towns",
        )
    towns_per_region = Counter(row["planning_region"] for row in towns)
    for row in regions:
        region = row["planning_region"]
        _check(
            int(row["town_count"]) == towns_per_region[region],
            f"{region}: town_count {row['town_count']} but {towns_per_region[region]} towns",
        )
        listed = sorted(row["legacy_counties"].split(";"))
        actual = sorted({town["county"] for town in towns if town["planning_region"] == region})
        _check(listed == actual, f"{region}: legacy_counties {listed} but its towns lie in {actual}")
    town_names = {row["town"] for row in towns}
    for row in facilities:
        _check(row["town"] in town_names, f"{row['facility']}: unknown town {row['town']!r}")

    county_ids = {name: canonical_id(JurisdictionKind.COUNTY, name) for name in county_fips}
    region_ids = {name: canonical_id(JurisdictionKind.REGION, name) for name in region_fips}
    town_ids = {name: canonical_id(JurisdictionKind.TOWN, name) for name in town_names}

    def by_id(nodes: list[Jurisdiction]) -> list[Jurisdiction]:
        return sorted(nodes, key=lambda node: node.id)

    nodes = [
        Jurisdiction(STATE_ID, JurisdictionKind.STATE, "Connecticut", "09", ()),
        *by_id(
            [
                Jurisdiction(county_ids[name], JurisdictionKind.COUNTY, name, fips, (STATE_ID,))
                for name, fips in county_fips.items()
            ]
        ),
        *by_id(
            [
                Jurisdiction(region_ids[name], JurisdictionKind.REGION, name, fips, (STATE_ID,))
                for name, fips in region_fips.items()
            ]
        ),
        *by_id(
            [
                Jurisdiction(
                    town_ids[row["town"]],
                    JurisdictionKind.TOWN,
                    row["town"],
                    row["town_fips"],
                    (county_ids[row["county"]], region_ids[row["planning_region"]]),
                )
                for row in towns
            ]
        ),
        *by_id(
            [
                Jurisdiction(
                    canonical_id(JurisdictionKind.FACILITY, row["facility"]),
                    JurisdictionKind.FACILITY,
                    row["facility"],
                    None,
                    (town_ids[row["town"]],),
                )
                for row in facilities
            ]
        ),
    ]
    JurisdictionRegistry(nodes)  # refuses duplicate ids, clashing names and dangling parents
    return nodes


def build_country(
    census: Census, connecticut: Sequence[Jurisdiction]
) -> tuple[list[Jurisdiction], list[Jurisdiction]]:
    """(every state but Connecticut, every county-equivalent outside Connecticut), from the Census's
    lists; raises ValueError if Connecticut's legacy counties there differ from ``connecticut``'s."""
    names_by_code: dict[str, list[str]] = defaultdict(list)
    postal_by_code: dict[str, str] = {}
    for row in census.states():
        code = _fips(row["fips"], 2, row["name"])
        names_by_code[code].append(row["name"])
        _check(postal_by_code.setdefault(code, row["postal"]) == row["postal"], f"{code}: two postal codes")
    states = {
        code: Jurisdiction(
            state_id_for(postal_by_code[code]), JurisdictionKind.STATE, names[0], code, (), tuple(names[1:])
        )
        for code, names in names_by_code.items()
    }
    ct = states.get("09")
    _check(
        ct is not None and ct.id == STATE_ID and ct.name == "Connecticut", "the Census has no Connecticut 09"
    )

    county_names: dict[str, list[str]] = defaultdict(list)
    for row in census.counties():
        code = _fips(row["statefp"], 2, row["name"]) + _fips(row["countyfp"], 3, row["name"])
        if code[:2] in NO_STATE:
            continue
        _check(code[:2] in states, f"{row['name']}: state code {code[:2]} is not in {CENSUS_STATES}")
        if row["name"] not in county_names[code]:
            county_names[code].append(row["name"])
    for code, names in county_names.items():
        if len(names) > 1:
            _check(
                code in CURRENT_NAMES, f"{code} is listed as {names}: say which is its name in CURRENT_NAMES"
            )
    for code, name in CURRENT_NAMES.items():
        listed = county_names.get(code)
        _check(listed is None or name in listed, f"CURRENT_NAMES: {code} is not named {name!r} in the list")

    legacy = {node.fips: node.name for node in connecticut if node.kind is JurisdictionKind.COUNTY}
    census_ct = {code: names[0] for code, names in county_names.items() if code.startswith("09")}
    _check(
        census_ct == legacy,
        f"Connecticut's counties in {census.label} {sorted(census_ct.items())} are not the legacy counties "
        f"of ct_counties.csv {sorted(legacy.items())}",
    )

    counties = []
    for code in sorted(county_names):
        if code.startswith("09"):
            continue  # Connecticut's are data/connecticut's, checked equal above
        state = states[code[:2]]
        name = CURRENT_NAMES.get(code, county_names[code][0])
        aka = tuple(n for n in county_names[code] if n != name)
        node_id = canonical_id(JurisdictionKind.COUNTY, name, state.id)
        counties.append(Jurisdiction(node_id, JurisdictionKind.COUNTY, name, code, (state.id,), aka))
    others = sorted((s for code, s in states.items() if code != "09"), key=lambda node: node.id)
    return others, sorted(counties, key=lambda node: node.id)


@dataclass(frozen=True)
class Built:
    """The data files: the one loaded at cold start, and one per state loaded on first use."""

    main: dict[str, object]
    states: dict[str, dict[str, object]]  # state id → its file's content


def build(folder: Path, census: Census | None = None) -> Built:
    """Every data file's content; raises ValueError naming the first inconsistency of the sources."""
    census = census or Census.from_package()
    connecticut = build_connecticut(folder)
    states, counties = build_country(census, connecticut)
    by_state: dict[str, list[Jurisdiction]] = {state.id: [] for state in states}
    for county in counties:
        by_state[county.parents[0]].append(county)
    eager = [*connecticut, *states]
    registry = JurisdictionRegistry(
        eager, lazy={s: functools.partial(by_state.__getitem__, s) for s in by_state}
    )
    registry.all()  # every state loaded: refuses duplicate ids, clashing names and dangling parents
    return Built(
        main={
            "generated_by": GENERATED_BY,
            "sources": [*(dict(source) for source in SOURCES), *census.sources()],
            "states": {state: len(places) for state, places in sorted(by_state.items())},
            "shared_names": registry.shared_names(),
            "jurisdictions": [node.as_json() for node in eager],
        },
        states={
            state: {
                "generated_by": GENERATED_BY,
                "state": state,
                "jurisdictions": [node.as_json() for node in places],
            }
            for state, places in sorted(by_state.items())
        },
    )


_ONE_PER_LINE = ("states", "shared_names")


def render(document: Mapping[str, object]) -> str:
    """One jurisdiction (and one state, one shared name) per line, so data changes give reviewable
    diffs; byte-stable for ``--check``."""
    head = {key: value for key, value in document.items() if key not in ("jurisdictions", *_ONE_PER_LINE)}
    entries = document["jurisdictions"]
    assert isinstance(entries, list)
    lines = [json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ","]
    for key in _ONE_PER_LINE:
        table = document.get(key)
        if table is None:
            continue
        assert isinstance(table, dict)
        lines.append(f"  {json.dumps(key)}: {{")
        lines.append(
            ",\n".join(f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in table.items())
        )
        lines.append("  },")
    lines.append('  "jurisdictions": [')
    lines.append(",\n".join("    " + json.dumps(entry, ensure_ascii=False) for entry in entries))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def state_folder(output: Path) -> Path:
    """Where the per-state files go: ``jurisdictions/`` beside ``jurisdictions.json``."""
    return output.with_suffix("")


def files(built: Built, output: Path) -> dict[Path, str]:
    """Each file to write, with its text."""
    folder = state_folder(output)
    out = {output: render(built.main)}
    out |= {folder / f"{state}.json": render(document) for state, document in built.states.items()}
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "folder",
        type=Path,
        nargs="?",
        default=SOURCE_DIR,
        help="folder holding ct_towns.csv and its siblings",
    )
    parser.add_argument(
        "--census",
        type=Path,
        help="folder holding states.csv and counties_2020.csv (default: the addfips package's copy)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="only report whether the output is up to date")
    args = parser.parse_args(argv)
    output: Path = args.output
    try:
        census = Census(args.census, f"census files of {args.census.name}") if args.census else None
        wanted = files(build(args.folder, census), output)
    except (OSError, ValueError, ModuleNotFoundError) as error:
        print(f"cannot build jurisdictions: {error}", file=sys.stderr)
        return 1
    folder = state_folder(output)
    extra = sorted(set(folder.glob("*.json")) - set(wanted)) if folder.is_dir() else []
    if args.check:
        stale = [
            path for path, text in wanted.items() if not path.exists() or path.read_text("utf-8") != text
        ]
        if stale or extra:
            named = ", ".join(str(path) for path in [*stale, *extra][:5])
            print(f"stale or left over: {named}; run: {GENERATED_BY}", file=sys.stderr)
            return 1
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    for path in extra:
        path.unlink()
    for path, text in wanted.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {output} and {len(wanted) - 1} files in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
