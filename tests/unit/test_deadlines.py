"""Detainer hold deadlines: by the form, by Connecticut's regime on the issue date, the earlier governs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.deadlines import (
    FORMS,
    HOLD,
    HoldDeadlines,
    business_hold_end,
    describe,
    hold_deadlines,
    is_business_day,
    is_federal_holiday,
    plain_hold_end,
)

NY = ZoneInfo("America/New_York")


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


def business_hours_between(start: datetime, end: datetime) -> timedelta:
    """Elapsed time between two instants that falls on New York business days, hour by hour."""
    total = timedelta()
    step = timedelta(minutes=30)
    cursor = start.astimezone(UTC)
    stop = end.astimezone(UTC)
    while cursor < stop:
        if is_business_day(cursor.astimezone(NY).date()):
            total += step
        cursor += step
    return total


# -- business hours: 8 CFR 287.7 and PA 13-155 ----------------------------------------------------


def test_thursday_release_under_the_2014_regime_holds_until_monday_same_time() -> None:
    d = hold_deadlines("I-247", ny(2014, 3, 1), ny(2014, 3, 6, 17))  # Thursday

    assert d.state_deadline == ny(2014, 3, 10, 17)  # Monday
    assert d.form_deadline == ny(2014, 3, 10, 17)
    assert d.earliest == ny(2014, 3, 10, 17)


def test_rules_example_thursday_1700_ends_monday_1700() -> None:
    assert business_hold_end(ny(2026, 10, 1, 17)) == ny(2026, 10, 5, 17)


def test_weekday_release_without_a_weekend_in_between_is_48_hours() -> None:
    assert business_hold_end(ny(2026, 10, 5, 9, 15)) == ny(2026, 10, 7, 9, 15)  # Monday → Wednesday


def test_thanksgiving_is_not_counted() -> None:
    # Wednesday 17:00: 7 h Wednesday, Thanksgiving skipped, 24 h Friday, weekend skipped, 17 h Monday.
    assert business_hold_end(ny(2026, 11, 25, 17)) == ny(2026, 11, 30, 17)


def test_release_on_thanksgiving_starts_the_clock_on_friday() -> None:
    # Friday 24 h, weekend skipped, Monday 24 h: ends as Monday ends.
    assert business_hold_end(ny(2026, 11, 26, 12)) == ny(2026, 12, 1, 0)


def test_christmas_friday_is_not_counted() -> None:
    # Thursday 2026-12-24 17:00 (Christmas Eve is not a federal holiday): 7 h Thursday, Christmas Friday
    # and the weekend skipped, 24 h Monday, 17 h Tuesday.
    assert business_hold_end(ny(2026, 12, 24, 17)) == ny(2026, 12, 29, 17)


def test_holiday_monday_is_not_counted() -> None:
    # Friday 2026-01-16 17:00, Martin Luther King Jr. Day on Monday 19th: 7 h + 24 h Tuesday + 17 h.
    assert business_hold_end(ny(2026, 1, 16, 17)) == ny(2026, 1, 21, 17)


def test_observed_holiday_on_a_friday_is_not_counted() -> None:
    # Independence Day 2026 is a Saturday, observed Friday 3 July.
    assert business_hold_end(ny(2026, 7, 2, 17)) == ny(2026, 7, 7, 17)


def test_release_on_a_saturday_starts_the_clock_on_monday() -> None:
    # Monday 00:00 + 48 h of Monday and Tuesday: ends as Tuesday ends.
    assert business_hold_end(ny(2026, 10, 3, 10)) == ny(2026, 10, 7, 0)


def test_release_on_a_sunday_before_a_holiday_monday_starts_the_clock_on_tuesday() -> None:
    # Sunday 2026-10-11, Columbus Day Monday 12th: the clock starts Tuesday 00:00.
    assert business_hold_end(ny(2026, 10, 11, 15)) == ny(2026, 10, 15, 0)


def test_a_hold_ending_as_friday_ends_is_not_carried_to_monday() -> None:
    assert business_hold_end(ny(2026, 10, 1, 0)) == ny(2026, 10, 3, 0)  # Thursday 00:00 → Friday 24:00


def test_dst_change_weekend_counts_elapsed_hours() -> None:
    # Friday 2026-03-06 17:00 EST; clocks go forward on Sunday the 8th. 7 h Friday + 24 h Monday
    # + 17 h Tuesday = 48 business hours, ending 17:00 local (EDT), not 16:00 or 18:00.
    release = ny(2026, 3, 6, 17)
    end = business_hold_end(release)

    assert end == ny(2026, 3, 10, 17)
    assert end.utcoffset() == timedelta(hours=-4)
    assert business_hours_between(release, end) == HOLD


def test_dst_end_weekend_counts_elapsed_hours() -> None:
    release = ny(2026, 10, 30, 17)  # Friday EDT; clocks go back on Sunday 1 November
    end = business_hold_end(release)

    assert end == ny(2026, 11, 3, 17)
    assert end.utcoffset() == timedelta(hours=-5)
    assert business_hours_between(release, end) == HOLD


def test_release_given_in_another_offset_is_counted_in_new_york_days() -> None:
    # Saturday 03:00 UTC is still Friday 23:00 in New York (EDT): 1 h Friday, 24 h Monday, 23 h Tuesday.
    release = datetime(2026, 10, 3, 3, tzinfo=UTC)

    assert business_hold_end(release) == ny(2026, 10, 6, 23)


def test_business_hold_end_returns_new_york_time() -> None:
    end = business_hold_end(datetime(2026, 10, 5, 13, tzinfo=UTC))

    assert end.tzinfo == NY
    assert end == ny(2026, 10, 7, 9)


def test_other_hold_lengths_can_be_counted() -> None:
    assert business_hold_end(ny(2026, 10, 1, 17), hours=24) == ny(2026, 10, 2, 17)
    assert business_hold_end(ny(2026, 10, 1, 17), hours=0) == ny(2026, 10, 1, 17)


def test_negative_hold_length_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        business_hold_end(ny(2026, 10, 1, 17), hours=-1)


# -- which days are federal holidays ---------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # New Year's Day
        date(2026, 1, 19),  # Martin Luther King Jr. Day
        date(2026, 2, 16),  # Washington's Birthday
        date(2026, 5, 25),  # Memorial Day
        date(2026, 6, 19),  # Juneteenth
        date(2026, 7, 3),  # Independence Day, observed
        date(2026, 9, 7),  # Labor Day
        date(2026, 10, 12),  # Columbus Day
        date(2026, 11, 11),  # Veterans Day
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 12, 25),  # Christmas
        date(2016, 12, 26),  # Christmas on a Sunday, observed Monday
    ],
)
def test_the_statutory_federal_holidays_are_counted_as_holidays(day: date) -> None:
    assert is_federal_holiday(day)
    assert not is_business_day(day)


@pytest.mark.parametrize(
    "day",
    [
        date(2018, 12, 5),  # day of mourning for President George H. W. Bush (executive order)
        date(2018, 12, 24),  # Christmas Eve closure (executive order)
        date(2015, 12, 24),  # half-day closing
        date(2014, 12, 26),  # day after Christmas closure
    ],
)
def test_one_off_executive_closures_are_not_federal_holidays(day: date) -> None:
    assert not is_federal_holiday(day)
    assert is_business_day(day)


def test_weekends_are_not_business_days() -> None:
    assert not is_business_day(date(2026, 10, 3))
    assert not is_business_day(date(2026, 10, 4))
    assert is_business_day(date(2026, 10, 5))


# -- plain 48 hours ---------------------------------------------------------------------------


def test_plain_hold_is_48_elapsed_hours() -> None:
    assert plain_hold_end(ny(2026, 10, 2, 17)) == ny(2026, 10, 4, 17)


def test_plain_hold_over_a_clock_change_is_48_elapsed_hours_not_wall_clock() -> None:
    release = ny(2026, 3, 7, 17)  # Saturday EST; clocks go forward on Sunday
    end = plain_hold_end(release)

    assert end == ny(2026, 3, 9, 18)  # 18:00 EDT is 48 real hours later
    assert end.astimezone(UTC) - release.astimezone(UTC) == HOLD
    assert end.tzinfo == NY


def test_i247a_in_2026_is_plain_48_hours_even_over_a_weekend() -> None:
    d = hold_deadlines("I-247A", ny(2026, 11, 27, 9, 30), ny(2026, 11, 27, 17))  # Friday after Thanksgiving

    assert d.form_deadline == ny(2026, 11, 29, 17)  # Sunday
    assert d.state_deadline is None
    assert d.earliest == ny(2026, 11, 29, 17)
    assert d.form_rule == "I-247A: 48 hours"


@pytest.mark.parametrize("form", ["I-247D", "I-247X"])
def test_2015_request_forms_are_plain_48_hours_as_reported(form: str) -> None:
    d = hold_deadlines(form, ny(2019, 10, 15), ny(2019, 10, 18, 17))  # Friday, after the 2019 regime began

    assert d.form_deadline == ny(2019, 10, 20, 17)
    assert "reported" in d.form_rule


def test_old_i247_is_business_hours_under_8_cfr_287_7() -> None:
    d = hold_deadlines("I-247", ny(2012, 1, 10), ny(2012, 1, 12, 17))  # Thursday, before any CT regime

    assert d.form_deadline == ny(2012, 1, 17, 17)  # Tuesday: MLK Day on Monday the 16th
    assert "8 CFR 287.7" in d.form_rule
    assert d.state_rule is None
    assert d.state_deadline is None


# -- no hold -------------------------------------------------------------------------------------


def test_i247n_has_no_hold() -> None:
    d = hold_deadlines("I-247N", ny(2026, 1, 5), ny(2026, 1, 8, 17))

    assert d.form_deadline is None
    assert d.earliest is None
    assert d.form_rule.startswith("I-247N: no hold")


def test_i247n_under_pa_13_155_has_no_state_deadline_either() -> None:
    # The state's clock caps a hold; a notification-only request asks for none.
    d = hold_deadlines("I-247N", ny(2016, 1, 5), ny(2016, 1, 7, 17))

    assert d.form_deadline is None
    assert d.state_deadline is None
    assert d.earliest is None
    assert d.state_rule is not None
    assert d.state_rule.startswith("PA 13-155")


def test_unknown_release_time_gives_no_deadlines() -> None:
    d = hold_deadlines("I-247", ny(2015, 1, 5), None)

    assert (d.form_deadline, d.state_deadline, d.earliest) == (None, None, None)
    assert d.state_rule is not None
    assert d.state_rule.startswith("PA 13-155")


# -- both clocks -----------------------------------------------------------------------------------


def test_both_deadlines_shown_and_the_earlier_governs() -> None:
    # An I-247A issued in 2015, release due Thursday 17:00, under PA 13-155.
    d = hold_deadlines("I-247A", ny(2015, 6, 1), ny(2015, 6, 11, 17))

    assert d.form_deadline == ny(2015, 6, 13, 17)  # Saturday: plain 48 h
    assert d.state_deadline == ny(2015, 6, 15, 17)  # Monday: weekends not counted
    assert d.earliest == d.form_deadline
    assert describe(d) == [
        "Form I-247A: hold ends 2015-06-13 17:00 EDT (48 hours)",
        "Connecticut PA 13-155 (2014-01-01 to 2019-09-30): hold ends 2015-06-15 17:00 EDT"
        " (48 hours excluding Saturdays, Sundays and federal holidays)",
        "The earlier deadline governs: 2015-06-13 17:00 EDT",
    ]


def test_equal_clocks_are_described_once_as_agreeing() -> None:
    d = hold_deadlines("I-247", ny(2015, 1, 5), ny(2015, 1, 6, 10))

    assert d.form_deadline == d.state_deadline == d.earliest == ny(2015, 1, 8, 10)
    assert describe(d)[-1] == "Both clocks end at 2015-01-08 10:00 EST"


def test_deadlines_are_new_york_times() -> None:
    d = hold_deadlines("I-247A", datetime(2017, 6, 1, tzinfo=UTC), datetime(2017, 6, 1, 21, tzinfo=UTC))

    for value in (d.form_deadline, d.state_deadline, d.earliest):
        assert value is not None
        assert value.tzinfo == NY


# -- the Connecticut regime by issue date ----------------------------------------------------------


@pytest.mark.parametrize(
    ("issued", "regime_starts_with", "has_state_clock"),
    [
        (ny(2012, 2, 21, 23, 59), None, False),
        (ny(2012, 2, 22), "Governor's case-by-case review", False),
        (ny(2013, 12, 31, 23, 59), "Governor's case-by-case review", False),
        (ny(2014, 1, 1), "PA 13-155", True),
        (ny(2019, 9, 30, 23, 59), "PA 13-155", True),
        (ny(2019, 10, 1), "PA 19-20 and PA 19-23", False),
        (ny(2025, 9, 30, 23, 59), "PA 19-20 and PA 19-23", False),
        (ny(2025, 10, 1), "HB 7259", False),
    ],
)
def test_regime_boundaries_follow_the_issue_date(
    issued: datetime, regime_starts_with: str | None, has_state_clock: bool
) -> None:
    d = hold_deadlines("I-247A", issued, ny(2026, 10, 2, 17))

    if regime_starts_with is None:
        assert d.state_rule is None
    else:
        assert d.state_rule is not None
        assert d.state_rule.startswith(regime_starts_with)
    assert (d.state_deadline is not None) is has_state_clock


def test_issue_date_is_taken_in_new_york_not_utc() -> None:
    # 2014-01-01 03:00 UTC is still New Year's Eve 2013 in Connecticut: governor's review, no clock.
    d = hold_deadlines("I-247", datetime(2014, 1, 1, 3, tzinfo=UTC), ny(2014, 1, 2, 17))

    assert d.state_rule is not None
    assert d.state_rule.startswith("Governor's")
    assert d.state_deadline is None


# -- refusals --------------------------------------------------------------------------------------


def test_naive_release_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        business_hold_end(datetime(2026, 10, 1, 17))
    with pytest.raises(ValueError, match="timezone-aware"):
        plain_hold_end(datetime(2026, 10, 1, 17))
    with pytest.raises(ValueError, match="release_due_at"):
        hold_deadlines("I-247A", ny(2026, 10, 1), datetime(2026, 10, 1, 17))


def test_naive_issue_time_is_refused() -> None:
    with pytest.raises(ValueError, match="issued_at"):
        hold_deadlines("I-247A", datetime(2026, 10, 1), ny(2026, 10, 1, 17))


def test_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown detainer form"):
        hold_deadlines("I-999", ny(2026, 10, 1), ny(2026, 10, 1, 17))


def test_form_names_are_matched_ignoring_case_and_spaces() -> None:
    assert hold_deadlines(" i-247a ", ny(2026, 10, 1), None).form_rule.startswith("I-247A")
    assert set(FORMS) == {"I-247", "I-247D", "I-247N", "I-247X", "I-247A"}


# -- messages ----------------------------------------------------------------------------------


def test_description_of_a_2026_i247a() -> None:
    d = hold_deadlines("I-247A", ny(2026, 11, 27, 9, 30), ny(2026, 11, 27, 17))

    assert describe(d) == [
        "Form I-247A: hold ends 2026-11-29 17:00 EST (48 hours)",
        "Connecticut HB 7259 (from 2025-10-01): no separate hold clock, the form's applies",
    ]


def test_description_without_a_release_time_says_the_end_is_not_known() -> None:
    lines = describe(hold_deadlines("I-247", ny(2015, 1, 5), None))

    assert lines[0].startswith("Form I-247: hold end not known until the release time is")
    assert lines[1].startswith("Connecticut PA 13-155 (2014-01-01 to 2019-09-30): hold end not known")


def test_description_of_a_notification_only_request() -> None:
    lines = describe(hold_deadlines("I-247N", ny(2016, 1, 5), ny(2016, 1, 7, 17)))

    assert lines[0] == "Form I-247N: no hold, notification of release only"
    assert "no hold asked for, so its limit does not apply" in lines[1]


def test_description_before_any_connecticut_regime() -> None:
    lines = describe(hold_deadlines("I-247", ny(2010, 6, 29), ny(2010, 6, 30, 9)))

    assert lines == [
        "Form I-247: hold ends 2010-07-02 09:00 EDT"
        " (48 hours excluding Saturdays, Sundays and federal holidays, 8 CFR 287.7)",
        "Connecticut: no state regime in force on the issue date",
    ]


def test_hold_deadlines_are_immutable_values() -> None:
    d = hold_deadlines("I-247A", ny(2026, 10, 1), None)

    assert d == HoldDeadlines(None, None, None, "I-247A: 48 hours", d.state_rule)
    with pytest.raises(AttributeError):
        d.form_rule = "changed"  # type: ignore[misc]
