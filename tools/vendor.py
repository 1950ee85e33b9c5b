"""Vendor the coverage map's libraries and geometry into chalicelib/dashboard/vendor/.

    .venv/bin/python -m tools.vendor            # fetch what tools/vendor.lock.json names, write vendor/
    .venv/bin/python -m tools.vendor --check    # exit 1, naming each file, if vendor/ is not what it writes
    .venv/bin/python -m tools.vendor --update d3-geo@3.1.3   # pin another version (its integrity too)

The map is drawn by two npm libraries, ``topojson-client`` (TopoJSON to GeoJSON) and ``d3-geo`` (with
``d3-array``, the one module its browser build needs), from the Census cartographic boundaries that
``us-atlas`` redistributes as TopoJSON. Each package is fetched from the npm registry as the lock file
pins it (name, version and the registry's ``integrity``, a SHA-512 of the tarball) and refused if its
bytes do not match. From each, the browser build (``dist/*.min.js``) is copied as it is and its
licence beside it (``<package>.LICENSE``); tarballs are kept in ``~/.cache/vigil-vendor`` so a check
runs without the network once they are there.

From ``us-atlas``'s ``counties-albers-10m.json`` (projected with d3.geoAlbersUsa to a 975×610 box,
so the page projects nothing) it writes one file per state, ``atlas-<state id>.json``, holding only
that state's counties and outline and the arcs they use, and ``atlas-states.json``, the states alone
(from its ``states-albers-10m.json``): a state's view loads its own counties (Texas's 254 in 68 kB)
rather than the country's 3,142 (795 kB). Each geometry's ``id`` is Vigil's jurisdiction id, matched
by FIPS code through the jurisdiction graph (``chalicelib/data``), its ``name`` Vigil's; a county the
graph does not list keeps ``id`` null and its FIPS (us-atlas is the 2017 edition: Connecticut's eight
legacy counties, not its planning regions).

``vendor/MANIFEST.json`` lists every file written with its SHA-256 and the package it came from;
``tests/unit/test_vendor.py`` checks the files against it, so a hand edit is caught without the network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.data import load_registry

REPO_ROOT = Path(__file__).resolve().parents[1]
LOCK = REPO_ROOT / "tools" / "vendor.lock.json"
OUT = REPO_ROOT / "chalicelib" / "dashboard" / "vendor"
CACHE = Path.home() / ".cache" / "vigil-vendor"
MANIFEST = "MANIFEST.json"
ATLAS = "us-atlas"
ATLAS_FILE = "package/counties-albers-10m.json"
# The states alone, merged from the same counties: fewer, longer arcs than the counties' file splits them in.
ATLAS_STATES_FILE = "package/states-albers-10m.json"
# The browser builds: package → its file in the tarball. d3-geo's needs d3-array as window.d3 first.
SCRIPTS = {
    "d3-array": "package/dist/d3-array.min.js",
    "d3-geo": "package/dist/d3-geo.min.js",
    "topojson-client": "package/dist/topojson-client.min.js",
}
LICENCE = "package/LICENSE"

Topology = dict[str, Any]
Geometry = dict[str, Any]


class VendorError(Exception):
    """A package that cannot be fetched, or whose bytes are not the ones the lock file pins."""


def read_lock(path: Path = LOCK) -> dict[str, Any]:
    lock: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return lock


def check_integrity(data: bytes, integrity: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"integrity {integrity[:20]}…: only sha512 is accepted")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise VendorError(f"integrity mismatch: expected sha512-{expected}, got sha512-{actual}")


def tarball(registry: str, name: str, version: str, integrity: str) -> bytes:
    """The package's tarball, from the cache or the registry, verified against ``integrity``."""
    cached = CACHE / f"{name}-{version}.tgz"
    if cached.exists():
        data = cached.read_bytes()
    else:
        url = f"{registry}/{name}/-/{name}-{version}.tgz"
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310  # the lock's https registry
            data = response.read()
    try:
        check_integrity(data, integrity)
    except VendorError as e:
        raise VendorError(f"{name}@{version}: {e}") from None
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def member(data: bytes, path: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        found = archive.extractfile(path)
        if found is None:
            raise VendorError(f"{path} is not a file in the tarball")
        return found.read()


# ----------------------------------------------------------------------------- TopoJSON subsets


def _arc_indexes(arcs: Any) -> Iterable[int]:
    """Every arc index a geometry's ``arcs`` names, at any depth (negative: the arc reversed)."""
    if isinstance(arcs, int):
        yield arcs if arcs >= 0 else ~arcs
    else:
        for item in arcs:
            yield from _arc_indexes(item)


def _renumber(arcs: Any, new: Mapping[int, int]) -> Any:
    if isinstance(arcs, int):
        return new[arcs] if arcs >= 0 else ~new[~arcs]
    return [_renumber(item, new) for item in arcs]


def subset(topology: Topology, objects: Mapping[str, list[Geometry]]) -> Topology:
    """A topology of ``objects`` (name → geometries of ``topology``) with only the arcs they use.

    Quantized arcs are delta-encoded within each arc, so an arc is copied as it is; only the indexes
    that name them change."""
    used = sorted({i for geoms in objects.values() for g in geoms for i in _arc_indexes(g.get("arcs", []))})
    new = {old: n for n, old in enumerate(used)}
    return {
        "type": "Topology",
        "transform": topology["transform"],
        "objects": {
            name: {
                "type": "GeometryCollection",
                "geometries": [{**g, "arcs": _renumber(g["arcs"], new)} for g in geoms if "arcs" in g],
            }
            for name, geoms in objects.items()
        },
        "arcs": [topology["arcs"][i] for i in used],
    }


def _dump(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def atlas_files(topology: Topology, states_topology: Topology) -> dict[str, bytes]:
    """``atlas-states.json`` and one ``atlas-<state id>.json`` per state us-atlas draws."""
    registry = load_registry()
    states = {s.fips: s for s in registry.states() if s.fips}
    counties = topology["objects"]["counties"]["geometries"]
    outlines = topology["objects"]["states"]["geometries"]

    def state_geometry(g: Geometry) -> Geometry:
        state = states[g["id"]]
        return {"type": g["type"], "arcs": g["arcs"], "id": state.id, "properties": {"name": state.name}}

    country = [state_geometry(g) for g in states_topology["objects"]["states"]["geometries"]]
    files = {"atlas-states.json": _dump(subset(states_topology, {"states": country}))}
    for outline in outlines:
        state = states[outline["id"]]
        by_fips = {j.fips: j for j in registry.within(state.id) if j.fips and len(j.fips) == 5}
        mine = []
        for g in counties:
            if g["id"][:2] != outline["id"]:
                continue
            place = by_fips.get(g["id"])
            name = place.name if place else g["properties"]["name"]
            mine.append(
                {
                    "type": g["type"],
                    "arcs": g["arcs"],
                    "id": place.id if place else None,
                    "properties": {"name": name, "fips": g["id"]},
                }
            )
        mine.sort(key=lambda g: g["properties"]["fips"])
        files[f"atlas-{state.id}.json"] = _dump(
            subset(topology, {"counties": mine, "state": [state_geometry(outline)]})
        )
    return files


# ----------------------------------------------------------------------------- the vendored set


def build(lock: Mapping[str, Any]) -> dict[str, bytes]:
    """Every file of vendor/, by name, MANIFEST.json included."""
    files: dict[str, bytes] = {}
    origin: dict[str, str] = {}
    for name, pin in sorted(lock["packages"].items()):
        data = tarball(lock["registry"], name, pin["version"], pin["integrity"])
        made: dict[str, bytes] = {f"{name}.LICENSE": member(data, LICENCE)}
        if name in SCRIPTS:
            made[f"{name}.min.js"] = member(data, SCRIPTS[name])
        if name == ATLAS:
            made.update(
                atlas_files(json.loads(member(data, ATLAS_FILE)), json.loads(member(data, ATLAS_STATES_FILE)))
            )
        for file, content in made.items():
            files[file] = content
            origin[file] = f"{name}@{pin['version']}"
    manifest = {
        "written_by": "python -m tools.vendor (from tools/vendor.lock.json)",
        "files": {
            f: {"from": origin[f], "sha256": hashlib.sha256(files[f]).hexdigest(), "bytes": len(files[f])}
            for f in sorted(files)
        },
    }
    files[MANIFEST] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    return files


def differences(files: Mapping[str, bytes], out: Path = OUT) -> list[str]:
    present = {p.name for p in out.iterdir() if p.is_file()} if out.is_dir() else set()
    stale = [f"{n}: differs" for n in sorted(files) if n in present and (out / n).read_bytes() != files[n]]
    return (
        [f"{n}: missing" for n in sorted(set(files) - present)]
        + stale
        + [f"{n}: not vendored by the lock file" for n in sorted(present - set(files))]
    )


def write(files: Mapping[str, bytes], out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for extra in {p.name for p in out.iterdir() if p.is_file()} - set(files):
        (out / extra).unlink()
    for name, content in files.items():
        (out / name).write_bytes(content)


def update(lock: dict[str, Any], spec: str) -> None:
    """Pin ``name@version``, with the integrity the registry publishes for it."""
    name, _, version = spec.rpartition("@")
    if not name or not version:
        raise VendorError(f"{spec!r}: expected name@version")
    url = f"{lock['registry']}/{name}/{version}"
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310  # the lock's https registry
        meta = json.load(response)
    lock["packages"][name] = {"version": meta["version"], "integrity": meta["dist"]["integrity"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vendor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if vendor/ is not what the lock writes")
    parser.add_argument("--update", metavar="NAME@VERSION", action="append", default=[])
    args = parser.parse_args(argv)
    lock = read_lock()
    try:
        for spec in args.update:
            update(lock, spec)
        files = build(lock)
    except VendorError as e:
        print(f"vendor: {e}", file=sys.stderr)
        return 1
    if args.check:
        stale = differences(files)
        for line in stale:
            print(line, file=sys.stderr)
        return 1 if stale else 0
    if args.update:
        LOCK.write_text(json.dumps(lock, indent=2) + "\n", encoding="utf-8")
    write(files)
    total = sum(len(c) for c in files.values())
    print(f"{len(files)} files, {total:,} bytes, in {OUT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
