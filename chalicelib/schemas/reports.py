"""GET /reports/detainers query parameters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.schemas.fields import FIRST_YEAR, LAST_YEAR, Problems

NEW_YORK = ZoneInfo("America/New_York")
MAX_SPAN = timedelta(days=3660)


def parse_report_window(params: Mapping[str, str | None], *, today: date) -> tuple[datetime, datetime, str]:
    """[from, to] as whole days in America/New_York (default: the last 365 days); format json or csv."""
    problems = Problems()
    days: dict[str, date] = {}
    for key, default in (("from", today - timedelta(days=364)), ("to", today)):
        raw = params.get(key)
        try:
            day = date.fromisoformat(raw) if raw else default
        except ValueError:
            problems.add(key, "must be a date as YYYY-MM-DD")
            continue
        # As for timestamps: the day after 9999-12-31 overflows, and New York's days before 1883
        # began at local mean time.
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            problems.add(key, f"must be a day from {FIRST_YEAR} to {LAST_YEAR}")
            continue
        days[key] = day
    fmt = params.get("format") or "json"
    if fmt not in {"json", "csv"}:
        problems.add("format", "must be json or csv")
    if len(days) == 2 and days["from"] > days["to"]:
        problems.add("from", "must not be after to")
    if len(days) == 2 and days["to"] - days["from"] > MAX_SPAN:
        problems.add("to", "the window may span at most ten years")
    problems.raise_if_any("report window")
    start = datetime.combine(days["from"], time.min, NEW_YORK)
    end = datetime.combine(days["to"] + timedelta(days=1), time.min, NEW_YORK)
    return start, end, fmt
