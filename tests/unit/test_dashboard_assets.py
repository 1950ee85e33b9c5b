"""The dashboard page names its charts' and map's scripts by relative addresses carrying each one's
fingerprint, and lists the fingerprints of the map's vendored libraries and geometry; Vigil serves
those files itself (so the page's Content-Security-Policy holds), kept by browsers for a year under
the current fingerprint and checked again under any other; no other file is served."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from importlib import resources

import pytest
import yaml
from chalice.test import Client

from app import app
from chalicelib.entrypoints.pages import DASHBOARD_ASSETS, asset_version
from tests.fakes import FakeWorld
from tools.openapi import DOCUMENT

CHARTS = resources.files("chalicelib.dashboard").joinpath("charts.js").read_text(encoding="utf-8")
MAP = resources.files("chalicelib.dashboard").joinpath("map.js").read_text(encoding="utf-8")
VENDOR = resources.files("chalicelib.dashboard").joinpath("vendor")


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def page(client: Client) -> str:
    response = client.http.get("/dashboard")
    assert response.status_code == 200
    return response.body.decode()


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_page_loads_the_charts_and_the_map_by_relative_addresses_with_their_fingerprints(
    client: Client,
) -> None:
    sources = re.findall(r'<script src="([^"]+)"', page(client))
    assert sources == [
        f"dashboard/assets/charts.js?v={fingerprint(CHARTS)}",
        f"dashboard/assets/map.js?v={fingerprint(MAP)}",
    ]
    assert "{{version:" not in page(client)


def vendored_versions(html: str) -> dict[str, str]:
    found = re.search(r'<script type="application/json" id="vendored-versions">([^<]*)</script>', html)
    assert found, "the page lists no vendored versions"
    return dict(json.loads(found.group(1)))


def test_the_page_lists_each_vendored_scripts_and_geometrys_fingerprint(client: Client) -> None:
    versions = vendored_versions(page(client))
    libraries = {"d3-array.min.js", "d3-geo.min.js", "topojson-client.min.js"}
    assert {*libraries, "atlas-states.json", "atlas-us-ct.json", "atlas-us-tx.json"} <= set(versions)
    for name, version in versions.items():
        assert version == fingerprint(VENDOR.joinpath(name).read_text(encoding="utf-8")), name
    assert not [n for n in versions if n.endswith(".LICENSE") or n == "MANIFEST.json"]


def test_a_states_geometry_is_served_as_json_and_kept_for_a_year_under_its_version(client: Client) -> None:
    response = client.http.get(f"/dashboard/assets/atlas-us-ct.json?v={asset_version('atlas-us-ct.json')}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    topology = json.loads(response.body)
    assert topology["type"] == "Topology"
    assert len(topology["objects"]["counties"]["geometries"]) == 8


def test_a_vendored_library_is_served_as_a_script(client: Client) -> None:
    response = client.http.get(f"/dashboard/assets/d3-geo.min.js?v={asset_version('d3-geo.min.js')}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"geoPath" in response.body


def test_the_pages_policy_admits_scripts_from_vigil_only(client: Client) -> None:
    policy = client.http.get("/dashboard").headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline';" in policy
    assert "http" not in policy  # no other origin, no CDN


def test_the_current_version_is_kept_for_a_year(client: Client) -> None:
    response = client.http.get(f"/dashboard/assets/charts.js?v={asset_version('charts.js')}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.body.decode() == CHARTS


@pytest.mark.parametrize("query", ["", "?v=0123456789abcdef", "?v="])
def test_any_other_version_is_checked_again_on_every_use(client: Client, query: str) -> None:
    response = client.http.get(f"/dashboard/assets/charts.js{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.body.decode() == CHARTS


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "charts.JS",
        "__init__.py",
        "..%2Fpages.py",
        "nothing.js",
        "MANIFEST.json",
        "d3-geo.LICENSE",
        "vendor%2Fd3-geo.min.js",
        "atlas-us-zz.json",
    ],
)
def test_only_the_pages_assets_are_served(client: Client, name: str) -> None:
    response = client.http.get(f"/dashboard/assets/{name}")
    assert response.status_code == 404
    assert b"import" not in response.body
    assert b"<html" not in response.body


def test_every_asset_is_a_file_shipped_beside_the_page_or_vendored() -> None:
    shipped = resources.files("chalicelib.dashboard")
    for name in DASHBOARD_ASSETS:
        assert shipped.joinpath(name).is_file() or VENDOR.joinpath(name).is_file(), name


def test_the_contract_lists_every_asset_by_name() -> None:
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    parameters = document["paths"]["/dashboard/assets/{name}"]["get"]["parameters"]
    (name,) = [p for p in parameters if p["name"] == "name"]
    assert sorted(name["schema"]["enum"]) == sorted(DASHBOARD_ASSETS), (
        "docs/openapi.yaml: list every name of pages.DASHBOARD_ASSETS under /dashboard/assets/{name}"
    )
