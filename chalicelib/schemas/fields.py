"""Field readers that collect every problem instead of stopping at the first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from chalicelib.domain.errors import FieldError, InvalidInput
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, UnknownJurisdiction

MISSING = object()
_LINE_BREAKS = frozenset("\n\r\t\x0b\x0c\x85\u2028\u2029")
# The years a timestamp may name. Hold clocks add days to a detainer's dates (past year 9999 that
# overflows), and New York's time before 1883 was local mean time, an offset in seconds that no
# ISO 8601 timestamp can carry.
FIRST_YEAR = 1900
LAST_YEAR = 2199


class Problems:
    """Accumulates field errors; ``raise_if_any`` turns them into one 400."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def raise_if_any(self, what: str) -> None:
        if self.errors:
            fields = ", ".join(e.field for e in self.errors)
            raise InvalidInput(f"{what} is invalid: {fields}", self.errors)


def require_object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput(f"{what} must be a JSON object", [FieldError("body", "expected a JSON object")])
    return body


def reject_unknown(body: Mapping[str, Any], allowed: set[str], problems: Problems, prefix: str = "") -> None:
    for key in sorted(set(body) - allowed, key=str)[:20]:
        # A hostile key can be megabytes long: name it, but not all of it.
        shown = key if len(key) <= 100 else key[:100] + "…"
        problems.add(f"{prefix}{shown}", "is not a known field")


def text(
    body: Mapping[str, Any],
    key: str,
    problems: Problems,
    *,
    required: bool = True,
    max_len: int = 500,
    prefix: str = "",
    single_line: bool = False,
) -> str | None:
    value = body.get(key, MISSING)
    if value is MISSING or value is None:
        if required:
            problems.add(prefix + key, "is required")
        return None
    if not isinstance(value, str):
        problems.add(prefix + key, "must be a string")
        return None
    value = value.strip()
    reason = _text_problem(value, required=required, max_len=max_len, single_line=single_line)
    if reason:
        problems.add(prefix + key, reason)
        return None
    return value


def _text_problem(value: str, *, required: bool, max_len: int, single_line: bool) -> str | None:
    if required and not value:
        return "must not be empty"
    if len(value) > max_len:
        return f"must be at most {max_len} characters"
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        return "must not contain control characters"
    if single_line and any(c in _LINE_BREAKS for c in value):
        # Names and titles end up in email subjects and headers, where a line break is an injection.
        return "must be a single line"
    return None


def timestamp(
    body: Mapping[str, Any], key: str, problems: Problems, *, required: bool = True, prefix: str = ""
) -> datetime | None:
    raw = text(body, key, problems, required=required, max_len=64, prefix=prefix)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        problems.add(prefix + key, "must be an ISO 8601 date-time, e.g. 2012-02-22T00:00:00-05:00")
        return None
    if value.tzinfo is None:
        problems.add(prefix + key, "must include a UTC offset, e.g. -05:00")
        return None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        problems.add(prefix + key, f"must be a date-time from {FIRST_YEAR} to {LAST_YEAR}")
        return None
    return value


def calendar_date(
    body: Mapping[str, Any], key: str, problems: Problems, *, required: bool = True, prefix: str = ""
) -> date | None:
    raw = text(body, key, problems, required=required, max_len=10, prefix=prefix)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.add(prefix + key, "must be a date as YYYY-MM-DD")
        return None


def boolean(
    body: Mapping[str, Any], key: str, problems: Problems, *, default: bool, prefix: str = ""
) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        problems.add(prefix + key, "must be true or false")
        return default
    return value


def choice[S: StrEnum](
    body: Mapping[str, Any], key: str, options: type[S], problems: Problems, *, prefix: str = ""
) -> S | None:
    value = body.get(key, MISSING)
    allowed = [str(o) for o in options]
    if value is MISSING or value is None:
        problems.add(prefix + key, f"is required (one of {', '.join(allowed)})")
        return None
    if not isinstance(value, str) or value not in allowed:
        problems.add(prefix + key, f"must be one of {', '.join(allowed)}")
        return None
    return options(value)


def jurisdiction(
    registry: JurisdictionRegistry, value: str | None, field: str, problems: Problems
) -> Jurisdiction | None:
    """Resolve a name, FIPS code or id; an unknown one is refused with the closest matches, an
    ambiguous one ("Washington County") with every place it could mean and its id."""
    if value is None:
        return None
    try:
        return registry.resolve(value)
    except UnknownJurisdiction as exc:
        problems.add(field, exc.message)
        return None


def strings_among(value: Any, allowed: Iterable[str]) -> bool:
    """A non-empty list of strings, each one of ``allowed`` (anything else, lists inside included, is not)."""
    known = set(allowed)
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v in known for v in value)


def whole_number(raw: str | None, *, low: int, high: int) -> int | None:
    """An ASCII decimal within bounds, else None ('²' and '١' are digits to Python, not to us)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    number = int(raw)
    return number if low <= number <= high else None
