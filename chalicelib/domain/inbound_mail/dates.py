"""What a date or time phrase means: explicit dates, weekdays, "today", "tomorrow", "effective
immediately" and clock times, each resolved against the message's own date (**Dates.** in the
package docstring), and reading a Date header or a forwarded "Sent:" line (``parse_date_text``).

Calendar reading only, no choice between dates: the forwards need it to date each layer before any
sentence exists, and ``effective_date`` builds on it to choose the notice's date.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from chalicelib.domain.inbound_mail.text import one_line

NEW_YORK = ZoneInfo("America/New_York")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_WEEKDAY_ABBR = r"(?-i:(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?)"
MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|(?-i:May)|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?![a-z])"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Spanish month names, as advocates' notices and Spanish mail clients write them ("22 de febrero de 2012").
_SPANISH_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip
SPANISH_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|sep?tiembre|octubre|noviembre|diciembre)"
)


EXPLICIT_DATE = re.compile(
    rf"""(?<![\w/.:-])
    (?:(?P<wd>{WEEKDAY}|{_WEEKDAY_ABBR}),?\s+(?:the\s+)?)?
    (?:
        (?P<mon>{MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])
            (?:,?\s+(?P<year>(?:19|20)\d\d)(?!\d))?
      | (?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon2>{MONTH})\.?
            (?:,?\s+(?P<year2>(?:19|20)\d\d)(?!\d))?
      | (?P<m3>\d{{1,2}})/(?P<d3>\d{{1,2}})/(?P<y3>(?:19|20)?\d\d)(?![\d/])
      | (?P<y4>(?:19|20)\d\d)-(?P<m4>\d\d)-(?P<d4>\d\d)(?!\d)
      | (?P<d5>\d{{1,2}})\s+de\s+(?P<m5>{SPANISH_MONTH})(?:\s+(?:de|del)\s+(?P<y5>(?:19|20)\d\d)(?!\d))?
    )""",
    re.IGNORECASE | re.VERBOSE,
)
NOW = re.compile(
    r"\b(?:(?:effective|activated?|active|live|in\s+effect|begins?|starts?|starting|beginning)\s+"
    r"(?:immediately|now|right\s+away)|immediately\s+(?:effective|activated?|active|live)"
    r"|(?:as\s+of|effective|starting|beginning|from)\s+(?:now|today|this\s+(?:morning|afternoon|evening)))\b",
    re.IGNORECASE,
)
TODAY = re.compile(r"\b(?:today|tonight)\b", re.IGNORECASE)
TOMORROW = re.compile(r"\btomorrow\b", re.IGNORECASE)
WEEKDAY_PHRASE = re.compile(
    rf"\b(?:(?P<mod>this\s+coming|this|next|coming)\s+)?(?P<wd>{WEEKDAY})\b", re.IGNORECASE
)
TIME = re.compile(
    r"""(?<![\w:.])(?:
        (?P<h>\d{1,2})(?::(?P<mi>[0-5]\d))?\s*(?P<ap>[ap])\.?\s?m\b\.?
      | (?P<h24>[01]?\d|2[0-3]):(?P<mi24>[0-5]\d)(?!\d)
      | (?P<mil>[01]\d|2[0-3])(?P<milm>[0-5]\d)\s*(?:hours|hrs)\b
      | (?P<noon>noon|midday)\b
      | (?P<midnight>midnight)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_HEADER_DATE = re.compile(
    rf"""(?:(?:{WEEKDAY}|{_WEEKDAY_ABBR}),?\s+)?
    (?:
        (?P<mon>{MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})
      | (?P<day2>\d{{1,2}})\s+(?P<mon2>{MONTH})\.?,?\s+(?P<year2>\d{{4}})
      | (?P<m3>\d{{1,2}})/(?P<d3>\d{{1,2}})/(?P<y3>\d{{4}}|\d\d)
      | (?P<y4>\d{{4}})-(?P<m4>\d\d)-(?P<d4>\d\d)
    )
    (?:(?:,|\s+at|T)?\s*(?P<h>\d{{1,2}}):(?P<mi>\d\d)(?::(?P<s>\d\d))?(?:\.\d+)?
        \s*(?P<ap>[ap]\.?\s?m\b\.?)?)?
    \s*(?P<zone>[+-]\d\d:?\d\d|(?-i:[A-Z]{{1,5}})\b|\((?-i:[A-Z]{{2,5}})\))?""",
    re.IGNORECASE | re.VERBOSE,
)
_ZONES = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}  # fmt: skip


def clock_of(match: re.Match[str]) -> time | None:
    if match.group("noon"):
        return time(12, 0)
    if match.group("midnight"):
        return time(0, 0)
    if match.group("mil"):
        return time(int(match.group("mil")), int(match.group("milm")))
    if match.group("h24"):
        return time(int(match.group("h24")), int(match.group("mi24")))
    hour = int(match.group("h"))
    if not 1 <= hour <= 12:
        return None
    hour = hour % 12 + (12 if match.group("ap").lower() == "p" else 0)
    return time(hour, int(match.group("mi") or 0))


def explicit_date(match: re.Match[str], today: date) -> tuple[date | None, bool, str | None]:
    g = match.groupdict()
    certain, note = True, None
    month_name = g["mon"] or g["mon2"]
    if month_name:
        month, day, year_text = (
            _MONTHS.index(month_name[:3].lower()) + 1,
            int(g["day"] or g["day2"]),
            g["year"] or g["year2"],
        )
    elif g["m3"]:
        month, day, year_text = int(g["m3"]), int(g["d3"]), g["y3"]
        if month > 12 >= day:
            month, day = day, month
            certain, note = False, f"'{match.group()}' read as day/month/year"
    elif g["m5"]:
        month = _SPANISH_MONTHS.index(g["m5"].lower().replace("setiembre", "septiembre")) + 1
        day, year_text = int(g["d5"]), g["y5"]
    else:
        month, day, year_text = int(g["m4"]), int(g["d4"]), g["y4"]
    found: date | None
    try:
        if year_text:
            found = date(int(year_text) + (2000 if len(year_text) == 2 else 0), month, day)
        else:
            found = _infer_year(month, day, today)
    except ValueError:
        return None, False, None
    if found is None:
        return None, False, None
    if g["wd"] and g["wd"][:3].title() != WEEKDAYS[found.weekday()][:3]:
        certain = False
        note = f"'{one_line(match.group())}': {found.isoformat()} is a {WEEKDAYS[found.weekday()]}"
    return found, certain, note


def _infer_year(month: int, day: int, today: date) -> date | None:
    for year in (today.year, today.year + 1, today.year + 2, today.year + 3, today.year + 4):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue  # February 29 of a non-leap year
        if candidate >= today - timedelta(days=180):
            return candidate
    return None


def weekday_date(
    mod: str, target: int, reference: datetime, clock: time | None
) -> tuple[date, bool, str | None]:
    today = reference.date()
    name = WEEKDAYS[target]
    if mod == "next":
        return _next_weekday(today, target)
    if mod == "this":
        this_week = today + timedelta(days=target - today.weekday())
        if this_week > today:
            return this_week, True, None
        if this_week < today:
            first = today + timedelta(days=(target - today.weekday()) % 7)
            return (
                first,
                False,
                f"'this {name}' had passed when the message was sent; took {first.isoformat()}",
            )
    ahead = (target - today.weekday()) % 7
    if ahead:
        return today + timedelta(days=ahead), True, None
    if clock is not None and datetime.combine(today, clock, tzinfo=NEW_YORK) > reference:
        return (
            today,
            False,
            f"'{name}' is the day the message was sent; took that day, at the later time given",
        )
    later = today + timedelta(days=7)
    return (
        later,
        False,
        f"'{name}' is the day the message was sent; took the following {name}, {later.isoformat()}",
    )


def _next_weekday(today: date, target: int) -> tuple[date, bool, str | None]:
    name = WEEKDAYS[target]
    first = today + timedelta(days=(target - today.weekday()) % 7 or 7)
    following_week = today + timedelta(days=7 + target - today.weekday())
    if first == following_week:
        return first, True, None
    return (
        following_week,
        False,
        (
            f"'next {name}' could mean {first.isoformat()} or {following_week.isoformat()}; "
            f"took {following_week.isoformat()}, the {name} of the following week"
        ),
    )


def find_date_text(value: str) -> re.Match[str] | None:
    """Where a date (and its time and zone, if given) is written in a line of text, such as the
    attribution "On Fri, Feb 17, 2012 at 4:05 PM, ICE ERO <ero@example.gov> wrote:"."""
    return _HEADER_DATE.search(value)


def parse_date_text(value: str) -> tuple[datetime | None, bool]:
    """A Date header or a forwarded "Sent:" line; returns the moment and whether its zone was given."""
    match = _HEADER_DATE.search(value)
    if match:
        parsed = _header_date(match)
        if parsed is not None:
            return parsed
    try:
        rfc = email.utils.parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None, False
    if not 1990 <= rfc.year <= 2100:
        return None, False
    if rfc.tzinfo is None:
        return rfc.replace(tzinfo=UTC), False
    return rfc, True


def _header_date(match: re.Match[str]) -> tuple[datetime, bool] | None:
    g = match.groupdict()
    month_name = g["mon"] or g["mon2"]
    zone = _zone((g["zone"] or "").strip("()"))
    try:
        if month_name:
            month = _MONTHS.index(month_name[:3].lower()) + 1
            day, year = int(g["day"] or g["day2"]), int(g["year"] or g["year2"])
        elif g["m3"]:
            month, day, year = int(g["m3"]), int(g["d3"]), int(g["y3"])
            year += 2000 if year < 100 else 0
        else:
            month, day, year = int(g["m4"]), int(g["d4"]), int(g["y4"])
        hour = _hour(int(g["h"] or 0), g["ap"])
        moment = datetime(year, month, day, hour, int(g["mi"] or 0), int(g["s"] or 0), tzinfo=zone[0])
    except ValueError:
        return None
    return (moment, zone[1]) if 1990 <= year <= 2100 else None


def _hour(hour: int, meridiem: str | None) -> int:
    if not meridiem:
        return hour
    if not 1 <= hour <= 12:
        raise ValueError(f"{hour} {meridiem} is not a time")
    return hour % 12 + (12 if meridiem[0].lower() == "p" else 0)


def _zone(text: str) -> tuple[tzinfo, bool]:
    """A numeric offset or a US abbreviation; anything else is New York time, marked as assumed."""
    if len(text) >= 5 and text[0] in "+-":
        digits = text[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        if offset < timedelta(hours=15):
            return timezone(-offset if text[0] == "-" else offset), True
    if text in _ZONES:
        return timezone(timedelta(hours=_ZONES[text])), True
    return NEW_YORK, text == "ET"
