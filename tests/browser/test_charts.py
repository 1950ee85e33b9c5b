"""The acknowledgment charts in headless Chromium, from the demo's twelve weeks of past notices: points
and bars where the API has figures and nowhere else, the chosen week's figures written on the chart and
read out, the tables beside them holding the same figures, the keyboard reaching and moving each chart,
the script fetched from Vigil under the stack's base path, and with that script blocked the page still
showing every figure, in tables opened for it."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.conftest import Dashboard
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.browser

EXECUTIVE = "state-executive"


def weekly(stack: RunningStack, kind: str = "rollout") -> dict[str, Any]:
    answer = stack.call("GET", f"/stats/acknowledgments?type={kind}")
    assert answer.status == 200
    return dict(answer.body["weekly"])


def by_week(answer: dict[str, Any], entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """A role's or place's weeks laid over all twelve."""
    found = {e["week"]: e for e in entries}
    return [found.get(week) for week in answer["weeks"]]


def role_weeks(answer: dict[str, Any], role: str) -> list[dict[str, Any] | None]:
    return by_week(answer, next(r["weeks"] for r in answer["by_role"] if r["role"] == role))


def plotted(figure: WebElement, css: str) -> dict[int, float]:
    """What the chart drew: week index → the value it stands for."""
    return {
        int(e.get_attribute("data-week") or -1): float(e.get_attribute("data-value") or "nan")
        for e in figure.find_elements(By.CSS_SELECTOR, css)
    }


def percent(share: float) -> str:
    """As the page writes a share: rounded half up, as Math.round does."""
    return f"{int(share * 100 + 0.5)}%"


def role_section(page: Dashboard, role: str) -> WebElement:
    return page.wait(
        lambda: page.all(f'[data-testid="weekly-role"][data-role="{role}"]'),
        what=f"the weekly chart of {role}",
    )[0]


def test_the_weekly_charts_draw_the_demos_weeks_where_the_api_has_figures(dashboard: Dashboard) -> None:
    dashboard.sign_in()
    dashboard.show("acks")
    answer = weekly(dashboard.stack)

    weeks = role_weeks(answer, EXECUTIVE)
    chart = role_section(dashboard, EXECUTIVE).find_element(
        By.CSS_SELECTOR, '[data-testid="weekly-role-chart"]'
    )
    medians = {i: w["median_minutes"] for i, w in enumerate(weeks) if w and w["count"]}
    assert len(medians) >= 8  # the demo's past spreads over the weeks
    assert plotted(chart, '[data-testid="chart-point"][data-series="median"]') == medians
    assert plotted(chart, '[data-testid="chart-point"][data-series="p90"]') == {
        i: w["p90_minutes"] for i, w in enumerate(weeks) if w and w["count"]
    }

    share = dashboard.testid("share-chart")
    shares = {i: w["share_reached_last_step"] for i, w in enumerate(answer["all"]) if w["notices"]}
    assert plotted(share, '[data-testid="chart-bar"]') == shares
    assert any(v > 0 for v in shares.values())  # some climbed to the last step
    labels = {
        int(e.get_attribute("data-week") or -1): e.text
        for e in share.find_elements(By.CSS_SELECTOR, '[data-testid="chart-value"]')
    }
    assert labels == {i: percent(v) for i, v in shares.items()}


def test_the_table_beside_a_chart_holds_the_figures_the_chart_reads_out_week_by_week(
    dashboard: Dashboard,
) -> None:
    dashboard.sign_in()
    dashboard.show("acks")
    section = role_section(dashboard, EXECUTIVE)
    figures = section.find_element(By.CSS_SELECTOR, '[data-testid="weekly-role-figures"]')
    assert figures.get_attribute("open") is None  # with its chart, the table is a click away
    figures.find_element(By.TAG_NAME, "summary").click()
    rows = figures.find_elements(By.CSS_SELECTOR, '[data-testid="weekly-row"]')
    assert len(rows) == 12

    plot = section.find_element(By.CSS_SELECTOR, ".chart-plot")
    readout = section.find_element(By.CSS_SELECTOR, '[data-testid="chart-readout"]')
    plot.send_keys(Keys.HOME)
    for n, row in enumerate(rows):
        if n:
            plot.send_keys(Keys.ARROW_RIGHT)
        week, count, median, p90 = (c.text for c in row.find_elements(By.CSS_SELECTOR, "th, td"))
        assert readout.text.startswith(week + ":")
        if count == "0":
            assert f"no acknowledgment by {EXECUTIVE}" in readout.text
        else:
            assert f"median {median}, 90th percentile {p90}, over {count} acknowledgment" in readout.text
            labels = [e.text for e in section.find_elements(By.CSS_SELECTOR, '[data-testid="chart-label"]')]
            assert sorted(labels) == sorted([median, p90])  # the chosen week's figures, on the chart


def test_the_keyboard_reaches_each_chart_after_the_type_and_moves_through_its_weeks(
    dashboard: Dashboard,
) -> None:
    dashboard.sign_in()
    dashboard.show("acks")
    first = role_section(dashboard, EXECUTIVE)  # the required role comes first
    dashboard.testid("acks-type").send_keys(Keys.TAB)
    focused = dashboard.driver.switch_to.active_element
    plot = first.find_element(By.CSS_SELECTOR, ".chart-plot")
    assert focused == plot
    assert "arrow keys" in (plot.get_attribute("aria-label") or "")
    figure = first.find_element(By.CSS_SELECTOR, '[data-testid="weekly-role-chart"]')
    before = int(figure.get_attribute("data-chosen-week") or -1)
    focused.send_keys(Keys.ARROW_LEFT)
    assert int(figure.get_attribute("data-chosen-week") or -1) == max(0, before - 1)
    focused.send_keys(Keys.END)
    assert figure.get_attribute("data-chosen-week") == "11"
    assert "(this week, so far)" in first.find_element(By.CSS_SELECTOR, '[data-testid="chart-readout"]').text


def test_the_charts_script_comes_from_vigil_under_the_base_path(dashboard: Dashboard) -> None:
    dashboard.sign_in()
    dashboard.show("acks")
    loaded = dashboard.script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    scripts = [name for name in loaded if "charts.js" in name]
    assert len(scripts) == 1
    assert scripts[0].startswith(f"{dashboard.stack.api_url}/dashboard/assets/charts.js?v=")
    assert dashboard.stack.api_url.endswith("/api")
    answer = dashboard.stack.call("GET", scripts[0].removeprefix(dashboard.stack.api_url), key=None)
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_with_the_charts_script_blocked_every_figure_is_in_an_open_table(dashboard: Dashboard) -> None:
    dashboard.driver.execute_cdp_cmd("Network.enable", {})
    dashboard.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/dashboard/assets/*"]})
    dashboard.sign_in()
    dashboard.show("acks")
    answer = weekly(dashboard.stack)

    assert dashboard.script("return typeof window.VigilCharts") == "undefined"
    assert dashboard.testid("charts-missing").is_displayed()
    assert dashboard.all("figure.chart") == []
    figures = dashboard.all('[data-testid="weekly-role-figures"], [data-testid="share-figures"]')
    assert len(figures) >= 3
    assert all(f.get_attribute("open") is not None for f in figures)
    rows = dashboard.testid("share-table").find_elements(By.CSS_SELECTOR, '[data-testid="weekly-row"]')
    assert [r.find_elements(By.TAG_NAME, "td")[-1].text for r in rows] == [
        "—" if w["share_reached_last_step"] is None else percent(w["share_reached_last_step"])
        for w in answer["all"]
    ]
    assert dashboard.testid("acks-by-role").is_displayed()
    dashboard.show("coverage")  # the rest of the page works as before
    assert dashboard.all('[data-testid="coverage-row"]')
