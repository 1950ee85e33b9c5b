"""The vendored map files (tools/vendor.py): each one the bytes its manifest records, pinned packages
refused when their bytes differ, the per-state geometry holding exactly its state's counties with
Vigil's jurisdiction ids, and the split keeping every arc a geometry names. No network: the check of
the files against the registry is ``python -m tools.vendor --check``."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.data import load_registry
from chalicelib.domain.places import JurisdictionKind
from tools.vendor import LOCK, OUT, VendorError, check_integrity, read_lock, subset

MANIFEST = json.loads((OUT / "MANIFEST.json").read_text(encoding="utf-8"))


def atlas(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OUT / name).read_text(encoding="utf-8"))
    return data


def test_every_vendored_file_is_the_bytes_its_manifest_records_and_nothing_else_is_there() -> None:
    files = MANIFEST["files"]
    assert {p.name for p in OUT.iterdir()} == {*files, "MANIFEST.json"}
    for name, entry in files.items():
        content = (OUT / name).read_bytes()
        edited = f"{name} differs from the manifest: run python -m tools.vendor"
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], edited
        assert len(content) == entry["bytes"]


def test_every_package_is_pinned_by_version_and_sha512_and_ships_its_licence() -> None:
    lock = read_lock(LOCK)
    assert lock["registry"] == "https://registry.npmjs.org"
    assert set(lock["packages"]) == {"d3-array", "d3-geo", "topojson-client", "us-atlas"}
    for name, pin in lock["packages"].items():
        assert pin["integrity"].startswith("sha512-")
        assert MANIFEST["files"][f"{name}.LICENSE"]["from"] == f"{name}@{pin['version']}"
        assert b"Permission to use, copy, modify" in (OUT / f"{name}.LICENSE").read_bytes()  # ISC


def test_a_tarball_whose_bytes_differ_from_the_pin_is_refused() -> None:
    data = b"the published tarball"
    pin = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    check_integrity(data, pin)
    with pytest.raises(VendorError, match="integrity mismatch"):
        check_integrity(data + b"!", pin)
    with pytest.raises(VendorError, match="only sha512"):
        check_integrity(data, "sha1-" + base64.b64encode(hashlib.sha1(data).digest()).decode())  # noqa: S324  # the refused kind


@pytest.mark.parametrize(("state", "counties"), [("us-ct", 8), ("us-tx", 254), ("us-ca", 58), ("us-dc", 1)])
def test_a_states_geometry_holds_its_counties_by_vigils_id_and_fips(state: str, counties: int) -> None:
    registry = load_registry()
    topology = atlas(f"atlas-{state}.json")
    geometries = topology["objects"]["counties"]["geometries"]
    assert len(geometries) == counties
    for g in geometries:
        place = registry.get(g["id"])
        assert place.state_id == state
        assert place.fips == g["properties"]["fips"]
        assert g["properties"]["name"] == place.name
    assert [g["id"] for g in topology["objects"]["state"]["geometries"]] == [state]


def test_connecticut_is_drawn_by_its_legacy_counties_which_us_atlas_ships() -> None:
    ids = {g["id"] for g in atlas("atlas-us-ct.json")["objects"]["counties"]["geometries"]}
    legacy = {j.id for j in load_registry().within("us-ct") if j.kind is JurisdictionKind.COUNTY}
    assert ids == legacy
    assert all(i.startswith("us-ct/county/") for i in ids)


def test_the_country_holds_every_state_and_the_district_by_vigils_id() -> None:
    states = atlas("atlas-states.json")["objects"]["states"]["geometries"]
    ids = {g["id"] for g in states}
    assert len(ids) == 51
    assert ids <= {s.id for s in load_registry().states()}
    assert {f"atlas-{i}.json" for i in ids} <= set(MANIFEST["files"])


def test_every_arc_a_states_geometry_names_is_in_its_file() -> None:
    for path in sorted(Path(OUT).glob("atlas-us-*.json")):
        topology = atlas(path.name)
        count = len(topology["arcs"])
        named: set[int] = set()

        def walk(arcs: Any, into: set[int] = named) -> None:
            if isinstance(arcs, int):
                into.add(arcs if arcs >= 0 else ~arcs)
            else:
                for a in arcs:
                    walk(a)

        for collection in topology["objects"].values():
            for g in collection["geometries"]:
                walk(g["arcs"])
        assert named == set(range(count)), path.name  # every arc named, none left over


def test_a_subset_renumbers_arcs_reversed_ones_included() -> None:
    topology = {
        "transform": {"scale": [1, 1], "translate": [0, 0]},
        "arcs": [[[0, 0], [1, 0]], [[5, 5], [1, 1]], [[9, 9], [0, 1]], [[1, 0], [0, 1]]],
        "objects": {},
    }
    kept = subset(topology, {"shapes": [{"type": "Polygon", "id": "x", "arcs": [[3, ~1]]}]})
    assert kept["arcs"] == [[[5, 5], [1, 1]], [[1, 0], [0, 1]]]
    assert kept["objects"]["shapes"]["geometries"] == [{"type": "Polygon", "id": "x", "arcs": [[1, ~0]]}]
    assert kept["transform"] == topology["transform"]
