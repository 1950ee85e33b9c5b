"""How many segments a text takes, and fitting a text to the budget.

A text travels in one of two encodings (3GPP TS 23.038), chosen for the whole text:

- **GSM-7**, when every character is in the GSM 7-bit default alphabet or its extension table: 160
  septets in one segment, 153 per segment once it is split (the rest of each carries the
  concatenation header). Extension characters (``€ [ ] { } \\ ^ ~ |`` and form feed) take two septets,
  an escape and the character, which are never split between segments.
- **UCS-2** (UTF-16), as soon as one character is outside both: 70 code units in one segment, 67
  per segment once split; a character beyond the Basic Multilingual Plane (an emoji) takes two, which
  are never split.

Spanish matters here: é, ñ, Ñ, É, ü, ¿ and ¡ are in the default alphabet, but á, í, ó, ú (and Á, Í, Ó,
Ú) are not, so one of them makes the whole text UCS-2 and two segments hold 134 characters, not 306.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

# The GSM 7-bit default alphabet, in code order (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# The default extension table: each character is sent as the escape and one more septet.
GSM7_EXTENSION = frozenset("\x0c^{}\\[~]|€")

SINGLE_GSM7 = 160
PART_GSM7 = 153
SINGLE_UCS2 = 70
PART_UCS2 = 67

# The longest a message Vigil sends may be: two segments.
MAX_SEGMENTS = 2
ELLIPSIS = "..."


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class SmsSize:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def encoding_of(text: str) -> Encoding:
    allowed = GSM7_BASIC | GSM7_EXTENSION
    return Encoding.GSM7 if all(c in allowed for c in text) else Encoding.UCS2


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    if encoding is Encoding.GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def size(text: str) -> SmsSize:
    """The encoding, length in units and number of segments of ``text`` (0 segments for no text)."""
    encoding = encoding_of(text)
    costs = _unit_costs(text, encoding)
    units = sum(costs)
    single, part = (SINGLE_GSM7, PART_GSM7) if encoding is Encoding.GSM7 else (SINGLE_UCS2, PART_UCS2)
    if units <= single:
        return SmsSize(encoding, units, 1 if units else 0)
    # Split: fill each segment, moving a character that does not fit whole to the next one.
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsSize(encoding, units, segments)


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    return size(text).segments <= max_segments


def fit_text(head: str, middle: str, tail: str, max_segments: int = MAX_SEGMENTS) -> str:
    """``head + middle + tail`` within ``max_segments``, shortening ``middle`` (marked with "...") as
    little as needed. The tail (a reply code) is never cut: if the head and tail alone are too long,
    the middle goes and the head is cut at its end."""
    whole = head + middle + tail
    if fits(whole, max_segments):
        return whole
    best = _longest(lambda keep: head + middle[:keep] + ELLIPSIS + tail, len(middle) - 1, max_segments)
    if best is not None:
        return best
    return _longest(lambda keep: head[:keep] + tail, len(head), max_segments) or _cut(tail, max_segments)


def _longest(make: Callable[[int], str], most: int, max_segments: int) -> str | None:
    """``make(keep)`` for the largest ``keep`` in 0..most that fits, by bisection (a longer keep never
    takes fewer segments); None if not even ``make(0)`` fits."""
    low, high, best = 0, most, None
    while low <= high:
        keep = (low + high) // 2
        candidate = make(keep)
        if fits(candidate, max_segments):
            best, low = candidate, keep + 1
        else:
            high = keep - 1
    return best


def _cut(text: str, max_segments: int) -> str:
    return _longest(lambda keep: text[:keep], len(text), max_segments) or ""
