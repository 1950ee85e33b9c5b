"""The languages Vigil speaks to people, and the message catalogue that holds their words.

Every text a person reads (messages, link pages, answers to texts) is written in English in the
code and looked up in the catalogue: GNU gettext's compiled ``.mo`` files under ``chalicelib/locale``,
read with the standard library's ``gettext``. ``tools/catalogue.py`` extracts the English texts from
the code (the calls ``_(…)``, ``_.ctx(…)`` and the marker ``N_(…)``) into the Spanish ``.po`` file and
compiles it, and fails while any Spanish translation is missing or stale.

English is the catalogue's source language and reads no file; a language's ``.mo`` is opened the first
time one of its messages is rendered, and kept for the life of the process (cold start pays nothing
for a language nobody in a batch reads).

A translated text names its values in braces (``"Reply {code} to acknowledge."``): a translation may
move them, never add one the English lacks (the catalogue check enforces it). Values are filled in
after translation, so text from a notice is never read as a template.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

DOMAIN = "vigil"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"


class Language(StrEnum):
    ENGLISH = "en"
    SPANISH = "es"


DEFAULT_LANGUAGE = Language.ENGLISH


def N_(message: str) -> str:  # gettext's name for "translate later"
    """Marks a text for the catalogue where it is defined (a table of answers); it is translated
    where it is used, with ``_(text)``."""
    return message


class _Catalogue(Protocol):
    def gettext(self, message: str, /) -> str: ...
    def pgettext(self, context: str, message: str, /) -> str: ...


class Words:
    """One language's words: ``_("text", name=value)`` is the text in that language with its values
    filled in; ``_.ctx(context, text)`` tells apart one English word with two meanings ("May")."""

    def __init__(self, language: Language, catalogue: _Catalogue | None) -> None:
        self.language = language
        self._catalogue = catalogue

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._catalogue.gettext(message) if self._catalogue else message
        return text.format(**values) if values else text

    def ctx(self, context: str, message: str, /, **values: object) -> str:
        text = self._catalogue.pgettext(context, message) if self._catalogue else message
        return text.format(**values) if values else text

    def day(self, value: date) -> str:
        """A date in words: "5 March 2026", "5 de marzo de 2026"."""
        _ = self
        return _("{day} {month} {year}", day=value.day, month=self._month(value.month), year=value.year)

    def moment(self, value: datetime) -> str:
        """An instant, in the zone it is given in: "Fri 17 Feb 2012, 4:05 PM EST"."""
        hour12 = value.hour % 12 or 12
        _ = self
        # Translators: {hour24} (00 to 23) may stand in for {hour12} and {am_pm}.
        return _(
            "{weekday} {day} {month_abbr} {year}, {hour12}:{minute} {am_pm} {zone}",
            weekday=self._weekday(value.weekday()),
            day=value.day,
            month_abbr=self._month_abbr(value.month),
            year=value.year,
            hour12=hour12,
            hour24=f"{value.hour:02d}",
            minute=f"{value.minute:02d}",
            am_pm=self.ctx("time", "AM") if value.hour < 12 else self.ctx("time", "PM"),
            zone=value.tzname() or "",
        )

    def _weekday(self, index: int) -> str:
        names = (
            self.ctx("weekday", "Mon"),
            self.ctx("weekday", "Tue"),
            self.ctx("weekday", "Wed"),
            self.ctx("weekday", "Thu"),
            self.ctx("weekday", "Fri"),
            self.ctx("weekday", "Sat"),
            self.ctx("weekday", "Sun"),
        )
        return names[index]

    def _month_abbr(self, month: int) -> str:
        names = (
            self.ctx("month abbreviation", "Jan"),
            self.ctx("month abbreviation", "Feb"),
            self.ctx("month abbreviation", "Mar"),
            self.ctx("month abbreviation", "Apr"),
            self.ctx("month abbreviation", "May"),
            self.ctx("month abbreviation", "Jun"),
            self.ctx("month abbreviation", "Jul"),
            self.ctx("month abbreviation", "Aug"),
            self.ctx("month abbreviation", "Sep"),
            self.ctx("month abbreviation", "Oct"),
            self.ctx("month abbreviation", "Nov"),
            self.ctx("month abbreviation", "Dec"),
        )
        return names[month - 1]

    def _month(self, month: int) -> str:
        names = (
            self.ctx("month", "January"),
            self.ctx("month", "February"),
            self.ctx("month", "March"),
            self.ctx("month", "April"),
            self.ctx("month", "May"),
            self.ctx("month", "June"),
            self.ctx("month", "July"),
            self.ctx("month", "August"),
            self.ctx("month", "September"),
            self.ctx("month", "October"),
            self.ctx("month", "November"),
            self.ctx("month", "December"),
        )
        return names[month - 1]


ENGLISH = Words(Language.ENGLISH, None)


def words_for(language: Language | str | None) -> Words:
    """The words of a subscriber's language (English for none, or one Vigil does not speak)."""
    try:
        chosen = Language(language) if language else DEFAULT_LANGUAGE
    except ValueError:
        chosen = DEFAULT_LANGUAGE
    return ENGLISH if chosen is Language.ENGLISH else _loaded(chosen)


@functools.cache
def _loaded(language: Language) -> Words:
    """A language's compiled catalogue, read once per process on first use."""
    import gettext  # noqa: PLC0415  # cold start: only a non-English message needs it

    with (LOCALE_DIR / language.value / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as compiled:
        return Words(language, gettext.GNUTranslations(compiled))


def preferred_language(accept_language: str | None) -> Language:
    """The language a browser asks for first among those Vigil speaks (RFC 9110 ``Accept-Language``),
    for pages that belong to nobody known: an invalid link, a deleted subscriber's. English when it
    names none of them."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if quality <= 0 or primary not in {lang.value for lang in Language}:
            continue
        candidate = (-quality, position, Language(primary))
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE
