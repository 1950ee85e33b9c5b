"""Regenerate ``jurisdictions.json`` from the public CSVs, so the shipped file can be re-derived and audited.

    python -m chalicelib.data.build_jurisdictions            # rewrite the JSON from data/connecticut
    python -m chalicelib.data.build_jurisdictions --check    # fail if it is stale

The service never reads the CSVs: Lambda bundles only ``chalicelib/``, and facts that decide who gets
alerted must not depend on a folder outside the deployed code. The CSVs are cross-checked against each
other here, because a town filed under the wrong county or region silently drops its officials from
notices.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from chalicelib.domain.jurisdictions import (
    STATE_ID,
    Jurisdiction,
    JurisdictionKind,
    JurisdictionRegistry,
    canonical_id,
)

OUTPUT = Path(__file__).with_name("jurisdictions.json")
SOURCE_DIR = Path(__file__).resolve().parents[2] / "data" / "connecticut"
GENERATED_BY = "python -m chalicelib.data.build_jurisdictions (from data/connecticut)"

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


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != _HEADERS[name]:
            raise ValueError(f"{name}: expected columns {_HEADERS[name]}, got {reader.fieldnames}")
        return [{key: value.strip() for key, value in row.items()} for row in reader]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _fips(value: str, digits: int, where: str) -> str:
    _check(value.isdigit() and len(value) == digits, f"{where}: FIPS {value!r} is not {digits} digits")
    return value


def build(folder: Path) -> dict[str, object]:
    """The data file's content; raises ValueError naming the first inconsistency between the CSVs."""
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
    registry = JurisdictionRegistry(nodes)  # refuses duplicate ids, clashing names and dangling parents
    return {
        "generated_by": GENERATED_BY,
        "sources": [dict(source) for source in SOURCES],
        "jurisdictions": registry.as_json(),
    }


def render(document: dict[str, object]) -> str:
    """One jurisdiction per line, so data changes give reviewable diffs; byte-stable for ``--check``."""
    head = {key: value for key, value in document.items() if key != "jurisdictions"}
    entries = document["jurisdictions"]
    assert isinstance(entries, list)
    lines = [json.dumps(head, ensure_ascii=False, indent=2)[:-2] + ","]
    lines.append('  "jurisdictions": [')
    lines.append(",\n".join("    " + json.dumps(entry, ensure_ascii=False) for entry in entries))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "folder",
        type=Path,
        nargs="?",
        default=SOURCE_DIR,
        help="folder holding ct_towns.csv and its siblings",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="only report whether the output is up to date")
    args = parser.parse_args(argv)
    try:
        text = render(build(args.folder))
    except (OSError, ValueError) as error:
        print(f"cannot build jurisdictions: {error}", file=sys.stderr)
        return 1
    output: Path = args.output
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"{output} is stale; run: {GENERATED_BY}", file=sys.stderr)
            return 1
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
