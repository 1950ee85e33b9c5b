"""The coverage map in headless Chromium under the stack's ``/api`` base path, on the demo as ``make run``
makes it: Connecticut's eight legacy counties and Texas's 254 drawn from the vendored geometry, each
county coloured as the API's coverage says, the demo's gaps hatched and named in the legend's words, a
county's coverage opened by a click and by the keyboard, the whole country's states to zoom out to and
back in from, every file fetched from Vigil, and with the map's script (or one of its libraries)
blocked the view saying so and the table still holding every place."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import Dashboard
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.browser

IMMUTABLE = "public, max-age=31536000, immutable"


def county_places(stack: RunningStack, state: str) -> dict[str, dict[str, Any]]:
    """The state's counties as the API's coverage lists them, by id."""
    answer = stack.call("GET", f"/coverage?state={state}")
    assert answer.status == 200
    return {j["id"]: j for j in answer.body["jurisdictions"] if j["kind"] == "county"}


def rollout_gaps(stack: RunningStack, state: str) -> dict[str, bool]:
    """Each county: whether the API says a rollout there misses a required role."""
    return {
        place: any(g.startswith("rollout:") for g in j["gaps"])
        for place, j in county_places(stack, state).items()
    }


def counties(page: Dashboard, state: str, count: int) -> list[WebElement]:
    """The map's counties once it draws ``state`` with ``count`` of them."""

    def drawn() -> list[WebElement]:
        svg = page.all(f'[data-testid="map-svg"][data-view="state"][data-state="{state}"]')
        return page.all('[data-testid="map-county"]') if svg else []

    return page.wait(drawn, what=f"the map of {state}'s {count} counties", done=lambda c: len(c) == count)


def status_by_place(shapes: list[WebElement]) -> dict[str, str]:
    return {str(s.get_attribute("data-jurisdiction-id")): str(s.get_attribute("data-status")) for s in shapes}


def show_coverage(page: Dashboard) -> None:
    page.sign_in()
    page.show("coverage")


def choose_state(page: Dashboard, name: str) -> None:
    before = page.refreshes()
    page.testid("coverage-state").send_keys(name)
    page.wait_until_loaded("coverage", after=before)


def detail_of(page: Dashboard, place: str) -> WebElement:
    return page.wait(
        lambda: page.all(f'[data-testid="map-detail"][data-jurisdiction-id="{place}"]'),
        what=f"the coverage of {place} beside the map",
    )[0]


def test_on_the_demo_as_shipped_connecticuts_gap_counties_are_hatched_and_named_in_words(
    dashboard: Dashboard,
) -> None:
    """No policy set by the test: the demo's own asks for the governor's office and a local official."""
    policy = dashboard.stack.call("GET", "/policies/rollout").body
    assert policy["required_roles"] == ["state-executive", "local-official"]
    show_coverage(dashboard)
    expected = rollout_gaps(dashboard.stack, "us-ct")
    assert len(expected) == 8
    gaps = sorted(place for place, gap in expected.items() if gap)
    assert "us-ct/county/litchfield" in gaps  # no local official of the demo there (Torrington's county)
    assert len(gaps) < 8  # and one in others

    shapes = counties(dashboard, "us-ct", 8)
    assert status_by_place(shapes) == {p: "gap" if gap else "covered" for p, gap in expected.items()}
    fills = {s.get_attribute("data-status"): s.value_of_css_property("fill") for s in shapes}
    assert "map-gap-hatch" in fills["gap"]  # hatched, not a colour alone
    assert fills["gap"] != fills["covered"]
    assert len(dashboard.all("svg.coverage-map .gap-mark")) == len(gaps)  # and marked ✗

    legend = dashboard.testid("map-legend-gap").text
    labels = {s.get_attribute("data-jurisdiction-id"): s.get_attribute("aria-label") or "" for s in shapes}
    names = {place: j["name"] for place, j in county_places(dashboard.stack, "us-ct").items()}
    assert f"{len(gaps)} of 8" in legend
    for place in gaps:
        assert f"{names[place]}: no local-official" in legend
        assert labels[place].startswith(f"{names[place]}: GAP")
    for place in set(expected) - set(gaps):
        assert names[place] not in legend
    assert f"{8 - len(gaps)} of 8" in dashboard.testid("map-legend-covered").text

    towns = dashboard.testid("map-places-town")
    assert "Connecticut's 169 towns" in towns.text
    assert len(towns.find_elements("css selector", '[data-testid="map-place"]')) == 169
    assert "9 planning regions" in dashboard.testid("map-places-region").text


def test_a_click_on_a_county_opens_its_coverage_and_so_does_enter(dashboard: Dashboard) -> None:
    show_coverage(dashboard)
    expected = rollout_gaps(dashboard.stack, "us-ct")
    shapes = {s.get_attribute("data-jurisdiction-id"): s for s in counties(dashboard, "us-ct", 8)}
    gap = next(p for p, g in sorted(expected.items()) if g)
    covered = next(p for p, g in sorted(expected.items()) if not g)

    dashboard.script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", shapes[gap])
    detail = detail_of(dashboard, gap)
    assert "✗" in dashboard.testid("map-detail-summary").text
    roles = detail.find_elements("css selector", '[data-testid="map-detail-role"][data-gap="true"]')
    assert any("Rollout: local-official — ✗ GAP" in r.text for r in roles)
    assert shapes[gap].get_attribute("aria-current") == "true"

    # The keyboard: the map is one Tab stop, the arrow keys walk the counties by name, Enter opens one.
    ordered = sorted(shapes, key=lambda p: shapes[p].get_attribute("aria-label") or "")
    dashboard.script("arguments[0].focus()", shapes[gap])
    at = ordered.index(gap)
    key = Keys.ARROW_RIGHT if ordered.index(covered) > at else Keys.ARROW_LEFT
    for _ in range(abs(ordered.index(covered) - at)):
        dashboard.driver.switch_to.active_element.send_keys(key)
    focused = dashboard.driver.switch_to.active_element
    assert focused.get_attribute("data-jurisdiction-id") == covered
    assert [s.get_attribute("tabindex") for s in shapes.values()].count("0") == 1  # one Tab stop
    focused.send_keys(Keys.ENTER)
    detail = detail_of(dashboard, covered)
    assert "No gap" in dashboard.testid("map-detail-summary").text
    assert not detail.find_elements("css selector", '[data-testid="map-detail-role"][data-gap="true"]')

    # A town, which the map does not draw, opens the same way from the list beside it.
    dashboard.testid("map-places-town").find_element(
        "css selector", '[data-testid="map-place"][data-jurisdiction-id="us-ct/town/andover"]'
    ).click()
    assert "Andover (town)" in detail_of(dashboard, "us-ct/town/andover").text


def test_texas_is_drawn_with_its_254_counties_when_picked(dashboard: Dashboard) -> None:
    show_coverage(dashboard)
    counties(dashboard, "us-ct", 8)
    choose_state(dashboard, "Texas")
    shapes = counties(dashboard, "us-tx", 254)
    expected = rollout_gaps(dashboard.stack, "us-tx")
    assert status_by_place(shapes) == {p: "gap" if gap else "covered" for p, gap in expected.items()}
    assert dashboard.testid("map-title").text == "Texas: 254 counties"


def test_a_territory_the_census_map_does_not_draw_is_said_so_with_its_places_in_the_table(
    dashboard: Dashboard,
) -> None:
    show_coverage(dashboard)
    counties(dashboard, "us-ct", 8)
    choose_state(dashboard, "Puerto Rico")
    none = dashboard.wait_for_testid("map-none")
    assert "no counties of Puerto Rico" in none.text
    assert dashboard.all('[data-testid="map-county"]') == []
    rows = dashboard.all('[data-testid="coverage-row"]')
    assert rows
    assert all((r.get_attribute("data-jurisdiction-id") or "").startswith("us-pr") for r in rows)


def test_the_map_zooms_out_to_the_states_and_into_another_ones_counties(dashboard: Dashboard) -> None:
    show_coverage(dashboard)
    counties(dashboard, "us-ct", 8)
    dashboard.testid("map-zoom-out").click()
    states = dashboard.wait(
        lambda: dashboard.all('[data-testid="map-state"]'), what="the states", done=lambda s: len(s) == 51
    )
    current = [s.get_attribute("data-jurisdiction-id") for s in states if s.get_attribute("aria-current")]
    assert current == ["us-ct"]
    assert dashboard.driver.switch_to.active_element.get_attribute("data-jurisdiction-id") == "us-ct"

    before = dashboard.refreshes()
    texas = next(s for s in states if s.get_attribute("data-jurisdiction-id") == "us-tx")
    dashboard.script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", texas)
    dashboard.wait_until_loaded("coverage", after=before)
    counties(dashboard, "us-tx", 254)
    assert dashboard.testid("coverage-state").get_attribute("value") == "us-tx"
    assert dashboard.all('[data-testid="coverage-row"][data-jurisdiction-id="us-tx/county/harris"]')


def test_the_map_its_libraries_and_geometry_come_from_vigil_under_the_base_path(dashboard: Dashboard) -> None:
    show_coverage(dashboard)
    counties(dashboard, "us-ct", 8)
    loaded: list[str] = dashboard.script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    wanted = ("map.js", "d3-array.min.js", "d3-geo.min.js", "topojson-client.min.js", "atlas-us-ct.json")
    assets = f"{dashboard.stack.api_url}/dashboard/assets/"
    assert dashboard.stack.api_url.endswith("/api")
    for name in wanted:
        found = [url for url in loaded if url.startswith(f"{assets}{name}?v=")]
        assert len(found) == 1, f"{name}: {loaded}"
        answer = dashboard.stack.call("GET", found[0].removeprefix(dashboard.stack.api_url), key=None)
        assert answer.status == 200
        assert answer.headers["cache-control"] == IMMUTABLE
    atlases = [url for url in loaded if "/dashboard/assets/atlas-" in url]
    assert len(atlases) == 1  # Connecticut's only, not the country's
    assert all(url.startswith(dashboard.stack.api_url.removesuffix("/api")) for url in loaded)


@pytest.mark.parametrize("blocked", ["*/dashboard/assets/map.js*", "*/dashboard/assets/d3-geo.min.js*"])
def test_with_the_maps_script_blocked_the_view_says_so_and_the_table_holds_every_place(
    dashboard: Dashboard, blocked: str
) -> None:
    dashboard.driver.execute_cdp_cmd("Network.enable", {})
    dashboard.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": [blocked]})
    show_coverage(dashboard)
    missing = dashboard.wait_for_testid("map-missing")
    assert "table below" in missing.text
    assert dashboard.all('[data-testid="map-county"]') == []
    answer: dict[str, Any] = dashboard.stack.call("GET", "/coverage?state=us-ct").body
    rows = dashboard.all('[data-testid="coverage-row"]')
    assert len(rows) == len(answer["jurisdictions"])
    # The places beside the map still open their coverage.
    dashboard.testid("map-places-town").find_element(
        "css selector", '[data-testid="map-place"][data-jurisdiction-id="us-ct/town/hartford"]'
    ).click()
    assert "Hartford (town)" in detail_of(dashboard, "us-ct/town/hartford").text
