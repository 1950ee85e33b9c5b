"""Detainer hold deadlines: when a hold asked for by ICE must end, by the form and by the state's law.

The facts are in ``docs/detainer-rules.md`` ("Forms", "Hold clock", and each state's regimes):

- the clock starts when the person would otherwise be released (``release_due_at``);
- the old I-247 (8 CFR 287.7) and Connecticut's PA 13-155 (2014-01-01 to 2019-09-30) allow 48 hours
  **excluding Saturdays, Sundays and federal holidays**: release due Thursday 17:00 → Monday 17:00;
- the I-247A (and, reported, the I-247D and I-247X) allow a plain 48 hours; the I-247N asks for no hold;
- a state whose law keeps no one in custody on the request itself (California from 2018, Illinois)
  ends the state's clock at the release time;
- both deadlines are shown when they differ, and escalations are timed against the earlier one.

Each state's clocks come with its regimes (``StateClocks``, built from its regime file by
``chalicelib.domain.classification``); ``CONNECTICUT`` is the default for callers that name no state.

Business hours are counted in America/New_York local days and are *elapsed* hours: a local day
is a business day or not as a whole, and a business day contributes however long it really is.
(US clock changes happen at 02:00 on Sundays, so in practice every business day is 24 hours long.)

"Federal holidays" are the legal public holidays of 5 U.S.C. § 6103(a) and the days observed in
their place under § 6103(b) (e.g. Friday 2026-07-03 for Saturday's Independence Day). One-off
executive-order closures (Christmas Eve 2024, days of mourning, half-day closings) are *not* counted:
they are closures, not holidays, and excluding fewer days gives the earlier deadline, which is the
safe side both for the person held and for escalations. ``_statutory_federal_holidays`` is the only
place that knows this, and the only code here that is not standard library (the ``holidays`` package).

Every datetime taken must be timezone-aware (a naive one raises ``ValueError``); every datetime
returned is aware and in America/New_York. Nothing here reads the clock.

Arithmetic note for callers: Python adds a ``timedelta`` to an aware datetime in *wall-clock* time
when it keeps the same ``tzinfo``; convert a deadline to UTC before subtracting a lead time from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.language import ENGLISH, N_, Words

NEW_YORK = ZoneInfo("America/New_York")
HOLD = timedelta(hours=48)

# The legal public holidays of 5 U.S.C. § 6103(a), by the names the `holidays` package gives them.
_STATUTORY_HOLIDAY_NAMES = frozenset(
    {
        "New Year's Day",
        "Birthday of Martin Luther King, Jr.",
        "Washington's Birthday",
        "Memorial Day",
        "Juneteenth National Independence Day",
        "Independence Day",
        "Labor Day",
        "Columbus Day",
        "Veterans Day",
        "Thanksgiving Day",
        "Christmas Day",
    }
)
_OBSERVED_SUFFIX = " (observed)"
# A business-hour count longer than this many calendar days means something is wrong with the input.
_MAX_SCAN_DAYS = 3660


# -- which days count ---------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _statutory_federal_holidays(year: int) -> frozenset[date]:
    """US federal holidays of ``year`` (and days observed in their place); the one use of `holidays`."""
    import holidays  # noqa: PLC0415 - confined here on purpose: the rest of the module is standard library

    calendar = holidays.country_holidays("US", years=year, categories=("government",), language="en_US")
    return frozenset(
        day
        for day in calendar
        if any(
            name.removesuffix(_OBSERVED_SUFFIX) in _STATUTORY_HOLIDAY_NAMES for name in calendar.get_list(day)
        )
    )


def is_federal_holiday(day: date) -> bool:
    """Whether ``day`` is a US federal holiday or the weekday one is observed on (5 U.S.C. § 6103)."""
    return day in _statutory_federal_holidays(day.year)


def is_business_day(day: date) -> bool:
    """Not a Saturday, a Sunday or a federal holiday."""
    return day.weekday() < 5 and not is_federal_holiday(day)


# -- the two clocks -----------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got the naive datetime {value.isoformat()}")


def _local_midnight_utc(day: date) -> datetime:
    """The instant a New York local day begins (midnight always exists there: clocks change at 02:00)."""
    return datetime.combine(day, time(0), tzinfo=NEW_YORK).astimezone(UTC)


def _local_days_from(start: datetime) -> Iterator[tuple[date, datetime, datetime]]:
    """New York local days from the one holding ``start``: (day, begins, ends), instants in UTC."""
    day = start.astimezone(NEW_YORK).date()
    for _ in range(_MAX_SCAN_DAYS):
        following = day + timedelta(days=1)
        yield day, _local_midnight_utc(day), _local_midnight_utc(following)
        day = following
    raise ValueError(f"no end found within {_MAX_SCAN_DAYS} days of {start.isoformat()}")


def business_hold_end(release_due_at: datetime, hours: int = 48) -> datetime:
    """When a hold of ``hours`` ends, counting only hours on New York business days.

    A release on a weekend or a holiday starts the clock at 00:00 of the next business day. A hold
    that ends exactly as a business day ends is reported at that midnight (Friday 24:00 is Saturday
    00:00), not carried to the next business day.
    """
    _require_aware(release_due_at, "release_due_at")
    if hours < 0:
        raise ValueError(f"hours must not be negative, got {hours}")
    remaining = timedelta(hours=hours)
    cursor = release_due_at.astimezone(UTC)
    for day, _begins, ends in _local_days_from(cursor):
        if not is_business_day(day):
            cursor = ends
            continue
        available = ends - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(NEW_YORK)
        remaining -= available
        cursor = ends
    raise AssertionError("unreachable: _local_days_from raises when it runs out")  # pragma: no cover


def plain_hold_end(release_due_at: datetime) -> datetime:
    """48 elapsed hours after the release time (a clock change in between is 47 or 49 wall-clock hours)."""
    _require_aware(release_due_at, "release_due_at")
    return (release_due_at.astimezone(UTC) + HOLD).astimezone(NEW_YORK)


# -- which clock applies ------------------------------------------------------------------------


class HoldClock(StrEnum):
    """The kinds of hold clock a form or a state's regime sets; regime files name them by value."""

    NONE = "none"  # no hold at all, or no clock of the state's own (the form's applies)
    PLAIN = "48-hours"  # 48 elapsed hours
    BUSINESS = "48-hours-business-days"  # 48 hours excluding Saturdays, Sundays and federal holidays
    # The request itself keeps no one in custody: the state's clock ends when the release is due.
    RELEASE = "release-when-due"


# Rule texts read "<name>: <clock>"; describe() relies on the first ": " separating the two, in every
# language of the catalogue (where each rule text is translated whole). A state's rule texts from its
# regime file are translated where the catalogue has them (Connecticut's, below) and said in English
# where it has not.
_FORMS: dict[str, tuple[HoldClock, str]] = {
    "I-247": (
        HoldClock.BUSINESS,
        # Translators: every rule text is "<name>: <clock>": keep the first ": " between the two.
        N_("I-247: 48 hours excluding Saturdays, Sundays and federal holidays, 8 CFR 287.7"),
    ),
    "I-247D": (HoldClock.PLAIN, N_("I-247D: 48 hours, reported")),
    "I-247X": (HoldClock.PLAIN, N_("I-247X: 48 hours, reported")),
    "I-247N": (HoldClock.NONE, N_("I-247N: no hold, notification of release only")),
    "I-247A": (HoldClock.PLAIN, N_("I-247A: 48 hours")),
}

FORMS = tuple(_FORMS)


@dataclass(frozen=True, slots=True)
class StateClock:
    """One regime's hold clock, from ``starts`` to ``until`` (both inclusive; None: still in force)."""

    starts: date
    until: date | None
    clock: HoldClock
    rule: str  # "<regime name> (<period>): <what the clock is>"

    def in_force_on(self, day: date) -> bool:
        return self.starts <= day and (self.until is None or day <= self.until)


@dataclass(frozen=True)
class StateClocks:
    """A state's hold clocks by the detainer's issue date, and the state's name for messages.

    ``on_file`` is false for a state whose detainer law Vigil does not have: no state clock applies,
    and messages say so rather than "no regime in force".
    """

    name: str
    clocks: tuple[StateClock, ...]
    on_file: bool = True

    def on(self, issued_at: datetime) -> StateClock | None:
        """The clock in force on the issue date (a New York calendar date), if any."""
        day = issued_at.astimezone(NEW_YORK).date()
        return next((c for c in self.clocks if c.in_force_on(day)), None)

    def sets_clock(self, rule: str) -> bool:
        return any(c.rule == rule and c.clock is not HoldClock.NONE for c in self.clocks)


# Connecticut's clocks (General Statutes § 54-192h) by the issue date of the detainer, as
# chalicelib/data/regimes/us-ct.json gives them (a test keeps the two equal): the clocks of callers
# that name no state. Ingest always passes the clocks of the detainer's own state.
CONNECTICUT = StateClocks(
    "Connecticut",
    (
        StateClock(
            date(2012, 2, 22),
            date(2013, 12, 31),
            HoldClock.NONE,
            N_("Governor's case-by-case review (2012-02-22 to 2013-12-31): no statutory hold clock"),
        ),
        StateClock(
            date(2014, 1, 1),
            date(2019, 9, 30),
            HoldClock.BUSINESS,
            N_(
                "PA 13-155 (2014-01-01 to 2019-09-30): "
                "48 hours excluding Saturdays, Sundays and federal holidays"
            ),
        ),
        StateClock(
            date(2019, 10, 1),
            date(2025, 9, 30),
            HoldClock.NONE,
            N_(
                "PA 19-20 and PA 19-23 (2019-10-01 to 2025-09-30): no separate hold clock, the form's applies"
            ),
        ),
        StateClock(
            date(2025, 10, 1),
            None,
            HoldClock.NONE,
            N_("HB 7259 (from 2025-10-01): no separate hold clock, the form's applies"),
        ),
    ),
)


def _deadline(clock: HoldClock, release_due_at: datetime | None) -> datetime | None:
    if release_due_at is None or clock is HoldClock.NONE:
        return None
    if clock is HoldClock.BUSINESS:
        return business_hold_end(release_due_at)
    if clock is HoldClock.RELEASE:
        return release_due_at.astimezone(NEW_YORK)
    return plain_hold_end(release_due_at)


@dataclass(frozen=True)
class HoldDeadlines:
    """The form's deadline, the state's, and the earlier of the two, which escalations are timed against.

    ``form_rule`` and ``state_rule`` say which rule produced each ("I-247A: 48 hours"); ``state_rule``
    is None when no regime of the state is in force on the issue date (or none is on file). A
    deadline is None when its rule sets no clock or the release time is not known yet.
    """

    form_deadline: datetime | None
    state_deadline: datetime | None
    earliest: datetime | None
    form_rule: str
    state_rule: str | None


def hold_deadlines(
    form: str, issued_at: datetime, release_due_at: datetime | None, state: StateClocks = CONNECTICUT
) -> HoldDeadlines:
    """The hold deadlines of a detainer on ``form`` issued at ``issued_at`` for a release due then,
    under the clocks of ``state`` (the detainer's state).

    The state's clock caps a hold, so a form that asks for none (I-247N) has no state deadline either;
    ``state_rule`` still names the regime in force. Raises ValueError for a form that is not one of
    FORMS (matched ignoring case and surrounding spaces) or for a naive datetime.
    """
    _require_aware(issued_at, "issued_at")
    if release_due_at is not None:
        _require_aware(release_due_at, "release_due_at")
    key = form.strip().upper()
    if key not in _FORMS:
        raise ValueError(f"unknown detainer form {form!r}; expected one of {', '.join(FORMS)}")
    form_clock, form_rule = _FORMS[key]
    regime = state.on(issued_at)
    form_deadline = _deadline(form_clock, release_due_at)
    # A state clock caps a hold; a form that asks for no hold (I-247N) leaves nothing for it to cap.
    state_clock = regime.clock if regime and form_clock is not HoldClock.NONE else HoldClock.NONE
    state_deadline = _deadline(state_clock, release_due_at)
    known = [d for d in (form_deadline, state_deadline) if d is not None]
    return HoldDeadlines(
        form_deadline=form_deadline,
        state_deadline=state_deadline,
        earliest=min(known) if known else None,
        form_rule=form_rule,
        state_rule=regime.rule if regime else None,
    )


# -- for messages -------------------------------------------------------------------------------


def _when(value: datetime) -> str:
    return value.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M %Z")


def _form_sets_clock(rule: str) -> bool:
    return any(text == rule and clock is not HoldClock.NONE for clock, text in _FORMS.values())


def _line(
    rule_name: str,
    clock: str,
    deadline: datetime | None,
    _: Words,
    *,
    sets_clock: bool,
    hold_asked: bool = True,
) -> str:
    if deadline is not None:
        return _("{rule}: hold ends {when} ({clock})", rule=rule_name, when=_when(deadline), clock=clock)
    if not sets_clock:
        return _("{rule}: {clock}", rule=rule_name, clock=clock)
    if not hold_asked:
        return _(
            "{rule}: no hold asked for, so its limit does not apply ({clock})", rule=rule_name, clock=clock
        )
    return _("{rule}: hold end not known until the release time is ({clock})", rule=rule_name, clock=clock)


def describe(d: HoldDeadlines, state: StateClocks = CONNECTICUT, _: Words = ENGLISH) -> list[str]:
    """Short lines for messages, e.g. "Form I-247A: hold ends 2026-11-29 17:00 EST (48 hours)".

    ``state`` is the state whose clocks gave the deadlines: it names the state and its rules' clocks.
    """
    sets_clock = d.state_rule is not None and state.sets_clock(d.state_rule)
    return _described(d, state.name, _, on_file=state.on_file, state_sets_clock=sets_clock)


def kept_hold(d: HoldDeadlines, state: StateClocks) -> dict[str, Any]:
    """What a notice keeps of its clocks (its ``hold``): enough for ``describe_kept`` to say them again
    in another language without the state's regime file."""
    return {
        "form_deadline": d.form_deadline.isoformat() if d.form_deadline else None,
        "state_deadline": d.state_deadline.isoformat() if d.state_deadline else None,
        "form_rule": d.form_rule,
        "state_rule": d.state_rule,
        "state": state.name,
        "state_on_file": state.on_file,
        "state_sets_clock": d.state_rule is not None and state.sets_clock(d.state_rule),
        "explained": describe(d, state),
    }


def describe_kept(hold: dict[str, Any], _: Words) -> list[str]:
    """``describe`` of the clocks a notice keeps (its ``hold``), in another language than the English
    lines written when the notice was made. A hold kept without its state is Connecticut's."""

    def moment(key: str) -> datetime | None:
        value = hold.get(key)
        return datetime.fromisoformat(value) if isinstance(value, str) else None

    form_deadline, state_deadline = moment("form_deadline"), moment("state_deadline")
    known = [d for d in (form_deadline, state_deadline) if d is not None]
    state_rule = hold.get("state_rule")
    kept = HoldDeadlines(
        form_deadline=form_deadline,
        state_deadline=state_deadline,
        earliest=min(known) if known else None,
        form_rule=str(hold.get("form_rule", "")),
        state_rule=str(state_rule) if isinstance(state_rule, str) else None,
    )
    sets_clock = hold.get("state_sets_clock")
    if not isinstance(sets_clock, bool):
        sets_clock = kept.state_rule is not None and CONNECTICUT.sets_clock(kept.state_rule)
    return _described(
        kept,
        str(hold.get("state", CONNECTICUT.name)),
        _,
        on_file=hold.get("state_on_file", True) is not False,
        state_sets_clock=sets_clock,
    )


def _described(
    d: HoldDeadlines, state_name: str, _: Words, *, on_file: bool, state_sets_clock: bool
) -> list[str]:
    form_name, _sep, form_clock = _(d.form_rule).partition(": ")
    form_sets_clock = _form_sets_clock(d.form_rule)
    lines = [
        _line(_("Form {name}", name=form_name), form_clock, d.form_deadline, _, sets_clock=form_sets_clock)
    ]
    if d.state_rule is None:
        lines.append(
            _("{state}: no state regime in force on the issue date", state=state_name)
            if on_file
            else _("{state}: no detainer regime on file, so no state clock applies", state=state_name)
        )
    else:
        # The state's and the regime's names are proper nouns: said as they are in every language.
        rule_name, _sep, clock = _(d.state_rule).partition(": ")
        lines.append(
            _line(
                f"{state_name} {rule_name}",
                clock,
                d.state_deadline,
                _,
                sets_clock=state_sets_clock,
                hold_asked=form_sets_clock,
            )
        )
    if d.form_deadline is not None and d.state_deadline is not None:
        if d.form_deadline == d.state_deadline:
            lines.append(_("Both clocks end at {when}", when=_when(d.form_deadline)))
        elif d.earliest is not None:
            lines.append(_("The earlier deadline governs: {when}", when=_when(d.earliest)))
    return lines
