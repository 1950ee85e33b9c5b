"""The dashboard page names its charts' script by a relative address carrying the script's fingerprint;
Vigil serves that script itself (so the page's Content-Security-Policy holds), kept by browsers for a
year under the current fingerprint and checked again under any other; no other file is served."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from importlib import resources

import pytest
from chalice.test import Client

from app import app
from chalicelib.entrypoints.pages import DASHBOARD_ASSETS, asset_version
from tests.fakes import FakeWorld

CHARTS = resources.files("chalicelib.dashboard").joinpath("charts.js").read_text(encoding="utf-8")


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


def page(client: Client) -> str:
    response = client.http.get("/dashboard")
    assert response.status_code == 200
    return response.body.decode()


def test_the_page_loads_the_charts_by_a_relative_address_with_their_fingerprint(client: Client) -> None:
    sources = re.findall(r'<script src="([^"]+)"', page(client))
    assert sources == [f"dashboard/assets/charts.js?v={hashlib.sha256(CHARTS.encode()).hexdigest()[:16]}"]
    assert "{{version:" not in page(client)


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


@pytest.mark.parametrize("name", ["index.html", "charts.JS", "__init__.py", "..%2Fpages.py", "nothing.js"])
def test_only_the_pages_assets_are_served(client: Client, name: str) -> None:
    response = client.http.get(f"/dashboard/assets/{name}")
    assert response.status_code == 404
    assert b"import" not in response.body
    assert b"<html" not in response.body


def test_every_asset_is_a_file_shipped_beside_the_page() -> None:
    shipped = resources.files("chalicelib.dashboard")
    for name in DASHBOARD_ASSETS:
        assert shipped.joinpath(name).is_file(), name
