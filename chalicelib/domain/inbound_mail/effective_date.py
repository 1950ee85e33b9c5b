"""The effective date: every date a layer's sentences name, scored by how closely it is tied to the
activation, and the best one chosen, with any conflict listed (**Dates.** in the package docstring).

Separate from ``dates`` (what a phrase means) because this is the choice between them, and it reads
sentences, which ``dates`` must not depend on: the forwards use ``dates`` to date the layers that
sentences are cut from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from chalicelib.domain.inbound_mail.dates import (
    EXPLICIT_DATE,
    NEW_YORK,
    NOW,
    TIME,
    TODAY,
    TOMORROW,
    WEEKDAY_PHRASE,
    WEEKDAYS,
    clock_of,
    explicit_date,
    weekday_date,
)
from chalicelib.domain.inbound_mail.results import Found, missing
from chalicelib.domain.inbound_mail.sentences import Sentence, View, found_in
from chalicelib.domain.inbound_mail.text import blank_spans, one_line
from chalicelib.domain.inbound_mail.vocabulary import ACTIVATION, SUPERSEDED

_MAX_MENTIONS = 50  # dates or times in one sentence; a real notice names a handful


@dataclass(frozen=True)
class _Mention:
    value: datetime
    has_time: bool
    phrase: str
    start: int
    end: int
    sentence: Sentence
    relative: bool
    certain: bool
    note: str | None
    score: int = 0


def find_effective_at(view: View) -> tuple[Found[datetime], list[str]]:
    reference = view.layer.sent_at.value
    assert reference is not None  # every layer has its own date or a fallback
    reference = reference.astimezone(NEW_YORK)
    mentions = [m for s in view.sentences for m in _date_mentions(s, reference)]
    if not mentions:
        return missing(), []
    eligible = [m for m in mentions if (m.sentence.activation or m.sentence.program) and m.score > 0]
    if not eligible:
        named = ", ".join(f"'{m.phrase}'" for m in mentions[:5])
        return missing(), [f"dates named but none in a sentence about the activation: {named}"]
    best = max(m.score for m in eligible)
    top = sorted((m for m in eligible if m.score == best), key=lambda m: (m.value.date(), not m.has_time))
    chosen = top[0]
    days = {m.value.date() for m in mentions}
    tie = len({m.value.date() for m in top}) > 1
    chosen = next((m for m in top if m.value.date() == chosen.value.date() and m.has_time), chosen)
    certain = chosen.certain and len(days) == 1 and (view.layer.dated or not chosen.relative)
    notes = [chosen.note] if chosen.note else []
    if chosen.relative and not view.layer.dated:
        notes.append(f"'{chosen.phrase}' was resolved against {view.layer.sent_at.source}")
    if len(days) > 1:
        notes.append(_conflict(mentions, chosen, tie))
    return found_in(chosen.value, chosen.sentence, chosen.start, chosen.end, certain=certain), notes


def _conflict(mentions: list[_Mention], chosen: _Mention, tie: bool) -> str:
    described: dict[date, str] = {}
    for m in mentions:
        described.setdefault(m.value.date(), f"{m.value.date().isoformat()} ('{m.phrase}')")
    why = "the earliest of those equally tied to the activation" if tie else _tie_word(chosen)
    listed = [
        f"{text} (chosen: {why})" if day == chosen.value.date() else text for day, text in described.items()
    ]
    count = "two" if len(listed) == 2 else str(len(listed))
    shown = listed[:6] + ([f"and {len(listed) - 6} more"] if len(listed) > 6 else [])
    if chosen.value.date() not in list(described)[:6]:
        shown.append(next(text for text in listed if "(chosen:" in text))
    return f"{count} dates named: " + "; ".join(shown)


def _tie_word(chosen: _Mention) -> str:
    match = ACTIVATION.search(chosen.sentence.text)
    return f"tied to '{match.group()}'" if match else "tied to the program's name"


def _date_mentions(sentence: Sentence, reference: datetime) -> list[_Mention]:
    """Every date the sentence names, each phrase once: explicit dates first, then relative words."""
    text, today = sentence.text, reference.date()
    times = [(m.start(), m.end(), clock) for m in TIME.finditer(text) if (clock := clock_of(m)) is not None]
    times = times[:_MAX_MENTIONS]

    def make(match: re.Match[str], day: date | None, *, relative: bool, certain: bool = True,
             note: str | None = None, moment: datetime | None = None) -> _Mention | None:  # fmt: skip
        clock = _nearest(times, match.start(), match.end())
        if moment is not None and clock is None:
            value, has_time = moment, True
        elif day is not None:
            value, has_time = datetime.combine(day, clock or time(0), tzinfo=NEW_YORK), clock is not None
        else:
            return None
        phrase = one_line(match.group())
        return _Mention(
            value, has_time, phrase, match.start(), match.end(), sentence, relative, certain, note
        )

    def explicit(match: re.Match[str]) -> _Mention | None:
        day, certain, note = explicit_date(match, today)
        return make(match, day, relative=False, certain=certain, note=note)

    def weekday(match: re.Match[str]) -> _Mention | None:
        mod = " ".join((match.group("mod") or "").lower().split())
        target = WEEKDAYS.index(match.group("wd").title())
        clock = _nearest(times, match.start(), match.end())
        day, certain, note = weekday_date(mod, target, reference, clock)
        return make(match, day, relative=True, certain=certain, note=note)

    def now(match: re.Match[str]) -> _Mention:
        phrase = one_line(match.group())
        return _Mention(reference, True, phrase, match.start(), match.end(), sentence, True, True, None)

    stages: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], _Mention | None]], ...] = (
        (EXPLICIT_DATE, explicit),
        (NOW, now),
        (TODAY, lambda m: make(m, today, relative=True, moment=reference)),
        (TOMORROW, lambda m: make(m, today + timedelta(days=1), relative=True)),
        (WEEKDAY_PHRASE, weekday),
    )  # fmt: skip
    found: list[_Mention] = []
    work = text
    for pattern, read in stages:
        spans: list[tuple[int, int]] = []
        for match in pattern.finditer(work):
            if len(found) >= _MAX_MENTIONS:
                break
            spans.append(match.span())
            if (mention := read(match)) is not None:
                found.append(mention)
        work = blank_spans(work, spans)
    return [_scored(m, found, reference) for m in sorted(found, key=lambda m: m.start)]


def _scored(mention: _Mention, all_mentions: list[_Mention], reference: datetime) -> _Mention:
    """Activation words weigh most, nearby ones more; a superseded or already-past date is pushed down."""
    sentence = mention.sentence
    score = 4 * sentence.activation + 2 * sentence.program + sentence.subject
    if ACTIVATION.search(sentence.text[max(0, mention.start - 40) : mention.end + 40]):
        score += 1  # "statewide on Wednesday" beats "this morning" later in the same sentence
    previous_end = max((m.end for m in all_mentions if m.end <= mention.start), default=0)
    if SUPERSEDED.search(sentence.text[max(previous_end, mention.start - 40) : mention.start]):
        score -= 5
    if not mention.relative and mention.value.date() < reference.date() - timedelta(days=1):
        score -= 3
    return replace(mention, score=score)


def _nearest(times: list[tuple[int, int, time]], start: int, end: int) -> time | None:
    best: tuple[int, time] | None = None
    for t_start, t_end, clock in times:
        if t_end > start and t_start < end:
            continue
        distance = start - t_end if t_end <= start else t_start - end
        if distance <= 80 and (best is None or distance < best[0]):
            best = (distance, clock)
    return best[1] if best else None
