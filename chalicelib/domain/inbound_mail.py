"""Forwarded notices: reading an email someone forwarded to Vigil, and finding what it announces.

The notice that started this project arrived as a quiet email to lower-level officers (DESIGN.md §1),
so anyone who receives one must be able to forward it to Vigil and have it become a routed, tracked
notice. ``parse_message`` reads the raw RFC 822 bytes and returns an ``Extraction``: who sent the
original, to whom and when, which program, from when and where. Each value says where in the message
it came from and whether it is certain. A notice whose program, date or place could not be found goes
to admins for triage (``needs_triage``): a dropped notice is the failure this project exists to
prevent, and a guessed place sends it to the wrong officials.

The rules below are decisions, written down so that admins can predict what Vigil will do.

**Forwards.** Inline forwards (Gmail's "---------- Forwarded message ---------", Outlook's
"-----Original Message-----" or a bare "From: / Sent: / To: / Subject:" block, Apple's
"Begin forwarded message:" with ``>``-quoted lines) and ``message/rfc822`` attachments are unwrapped,
and the innermost original counts: its sender, recipients, date, subject and body. The program, date
and places are looked for in the original first; the forwarder's own note is used only when the
original names nothing, and then the value is marked uncertain. Replies ("On …, X wrote:") are not
unwrapped.

**Dates.** Relative phrases are resolved against the original's own date (its Date header, or the
"Date:"/"Sent:" line of an inline forward), never against the forward's; ``received_at`` is used only
when the message has no readable date, and then the result is uncertain. Times without a zone are
America/New_York, and so is every ``effective_at``.

- "effective immediately", "as of today", "starting now" → the moment the original was sent;
  "today"/"tonight" → that day at the time given, else the moment it was sent; "tomorrow" → the
  next day.
- "Wednesday", "on/as of/by/coming Wednesday" → the first Wednesday after the message's date.
  When the message was itself sent on a Wednesday, that day counts only if a time later than the
  sending time is given, else the following week; either way the value is uncertain.
- "this Wednesday" → the Wednesday of the message's own week (weeks start on Monday); if that day
  has passed, the next Wednesday, uncertain.
- "next Wednesday" → the Wednesday of the following week. When that differs from the first
  Wednesday after the message (said on a Monday, "next Wednesday" could mean two or nine days
  later) the later is taken and the value is uncertain.
- Explicit dates: "February 22", "Feb. 22, 2012", "Wednesday, February 22nd", "22 February 2012",
  "2/22/2012" (month first; "22/2/2012" is read day first, uncertain), "2012-02-22". Without a
  year, the message's year, or the next year if that would put the date more than 180 days in the
  past. A weekday that does not match the date makes the value uncertain.
- A time in the same sentence ("at 12:01 a.m.", "8:00 a.m.", "noon", "midnight", "0001 hours")
  sets the time of day, else midnight local ("midnight" is the start of the day named).
- Only a date in a sentence that names the activation ("effective", "activate", "go live",
  "begin", "deploy", "statewide on", "take effect", …) or the program can be the effective date;
  an activation word within a few words of the date ties it closer still. A date just after
  "originally scheduled for", "postponed from", "instead of" and the like is superseded, and a
  date already past when the message was sent is history. When several different dates are named,
  the best-tied one wins (ties: the earliest, so nobody acts late), the value is uncertain and
  ``problems`` lists them.

**Places.** Places are taken only from the subject and from sentences about the activation
(activation words, the program's name, or "applies to", "includes", "the following towns", …), so an
office address in a signature or a history sentence does not route the notice; when the only places
named are elsewhere, nothing is guessed and ``problems`` names them for the admin who triages.
Within such sentences:

- "statewide", "throughout Connecticut", "across the state", "all Connecticut jurisdictions",
  "every town in the state" and similar → ``us-ct``. "Connecticut" alone does not, since agencies
  are named after the state.
- Counties ("Fairfield County", "Hartford and New Haven counties"), planning regions ("Capitol
  Region", "Capitol Planning Region") and correctional facilities by their full names.
- Towns by whole word and case ("New Haven", not "new haven"), longest name first, so "West
  Hartford" is not Hartford and "Fairfield County" is not the town. Never a town followed by a ZIP
  code (an address), by "Field Office"/"Sub-Office", or after "ICE"/"ERO"/"HSI".
- Towns whose names are also common words, people's names or better-known places elsewhere
  (``COMMON_WORD_TOWNS``: Union, Salem, Kent, Washington, Warren, Orange, Madison, …) count only
  with context: "Town of X"/"City of X", "X, CT"/"X, Conn.", "X Police", "in X" followed by a
  date or activation word ("in Kent on Wednesday"), or in a list next to another place
  ("Union, Salem and Kent").
- Clauses about what is already so ("currently operating in Fairfield County", "has been active
  in …", "since 2010 …") are skipped.

**Triage.** ``needs_triage`` is true when the program, the effective date or the places are
missing. A value that was found but is uncertain is still returned, with ``certain=False`` and a
line in ``problems`` saying why, so the notice is routed at once and the doubt travels with it.

**Safety.** At most ``MAX_MESSAGE_BYTES`` (checked before parsing), ``MAX_PARTS`` MIME parts and
``MAX_DEPTH`` levels of nesting; only the first ``MAX_TEXT_CHARS`` of text and ``MAX_HTML_CHARS`` of
HTML are read, so a hostile message cannot make the parser slow. Attachments are listed by
filename and content type, never decoded or opened. HTML is converted to plain text (scripts,
styles and tags dropped, entities decoded) and never passed on; ``text`` is plain text, so whoever
puts it into a page must escape it. Unknown charsets are read as UTF-8 with undecodable bytes
replaced. Anything that is not a readable message (no header block, no From header, truncated
MIME) raises ``MalformedMessage``, and so does any other failure while reading it: bad input never
raises anything else.

Standard library only; no I/O and no clock.
"""

from __future__ import annotations

import codecs
import email.errors
import email.policy
import email.utils
import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from email.message import Message
from email.parser import BytesParser
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from chalicelib.domain.jurisdictions import (
    STATE_ID,
    JurisdictionKind,
    JurisdictionRegistry,
    normalize_name,
)

__all__ = [
    "COMMON_WORD_TOWNS",
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "MAX_PARTS",
    "MAX_TEXT_CHARS",
    "NEW_YORK",
    "PROGRAMS",
    "Extraction",
    "Found",
    "MalformedMessage",
    "MessageTooLarge",
    "Program",
    "html_to_text",
    "needs_triage",
    "parse_date_text",
    "parse_message",
]

NEW_YORK = ZoneInfo("America/New_York")
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_PARTS = 200
MAX_DEPTH = 10
MAX_FORWARDS = 10
MAX_TEXT_CHARS = 200_000
MAX_HTML_CHARS = 1_000_000  # Python's HTML parser reads about half a megabyte a second
MAX_RECIPIENTS = 200
NOT_FOUND = "not found"

T = TypeVar("T")


# --- results ---------------------------------------------------------------------------------------


class MalformedMessage(ValueError):
    """Bytes that are not a readable email; ``reason`` is a sentence the sender can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessageTooLarge(MalformedMessage):
    """Refused before parsing, so an oversized upload costs nothing beyond its bytes."""


@dataclass(frozen=True)
class Found(Generic[T]):
    """An extracted value with where it came from, so an admin can check it against the message."""

    value: T | None
    source: str
    certain: bool


def _missing(source: str = NOT_FOUND) -> Found[Any]:
    return Found(None, source, False)


@dataclass(frozen=True)
class Extraction:
    """What a forwarded notice says, field by field, with the reasons a person should look at it."""

    forwarded_by: str | None
    original_sender: Found[str]
    original_recipients: Found[tuple[str, ...]]
    sent_at: Found[datetime]
    subject: Found[str]
    program: Found[str]
    effective_at: Found[datetime]
    jurisdictions: Found[tuple[str, ...]]
    text: str
    attachments: tuple[str, ...]
    problems: tuple[str, ...]


def needs_triage(x: Extraction) -> bool:
    """A notice without a program, an effective date or a place cannot be routed; admins decide."""
    return x.program.value is None or x.effective_at.value is None or not x.jurisdictions.value


# --- programs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """A program's slug and the ways people write its name; extend ``PROGRAMS`` to add one."""

    slug: str
    patterns: tuple[re.Pattern[str], ...]


_DASH = "[-‐‑‒–]"
PROGRAMS: tuple[Program, ...] = (
    Program(
        "secure-communities",
        (
            re.compile(r"\bsecure[\s-]+communities\b", re.IGNORECASE),
            re.compile(rf"\bS{_DASH}?\s?Comm\b", re.IGNORECASE),
        ),
    ),
    Program(
        "287g",
        (re.compile(r"(?<![\w.])287\s*\(\s*g\s*\)", re.IGNORECASE), re.compile(r"\b287g\b", re.IGNORECASE)),
    ),
    Program(
        "priority-enforcement-program",
        (re.compile(r"\bpriority\s+enforcement\s+program\b", re.IGNORECASE), re.compile(r"\bPEP\b")),
    ),
)


# --- words that carry meaning --------------------------------------------------------------------

_ACTIVATION = re.compile(
    r"\b(?:effective|activat\w*|go(?:es|ing)?\s+live|went\s+live|live\s+on|begin\w*|began|deploy\w*"
    r"|statewide\s+on|start\w*|commenc\w*|takes?\s+effect|go(?:es)?\s+into\s+effect|implement\w*"
    r"|roll(?:s|ed|ing)?[\s-]*out|launch\w*|switch\w*\s+on|turn\w*\s+on|expand\w*|extend\w*)\b",
    re.IGNORECASE,
)
_SCOPE = re.compile(
    r"\b(?:appl(?:y|ies|ied)\s+to|affect(?:s|ed)?|cover(?:s|ed)?|includ(?:e|es|ed|ing)"
    r"|following\s+(?:towns|cities|jurisdictions|municipalities|counties|agencies|departments))\b",
    re.IGNORECASE,
)
_SUPERSEDED = re.compile(
    r"\b(?:originally|previously|initially|formerly|no\s+longer|instead\s+of|rather\s+than|not\s+on"
    r"|(?:was|had\s+been)\s+(?:scheduled|planned|set)\s+(?:for|on)"
    r"|(?:postponed|delayed|moved|rescheduled|pushed\s+back|changed)\s+from)\b",
    re.IGNORECASE,
)
_HISTORY = re.compile(
    r"\b(?:(?:currently|already|presently|previously|formerly)\s+(?:\w+\s+){0,2}?"
    r"(?:operat\w*|active|activated|in\s+(?:place|use|effect)|deployed|running|live|participating)"
    r"|(?:has|have|had)\s+been\s+(?:operat\w*|active|activated|in\s+(?:place|use|effect)|deployed"
    r"|running|live|participating)"
    r"|since\s+(?:(?:19|20)\d\d|January|February|March|April|May|June|July|August|September"
    r"|October|November|December))\b[^,;:.()—–]*",
    re.IGNORECASE,
)

# --- dates ---------------------------------------------------------------------------------------

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_WEEKDAY_ABBR = r"(?-i:(?:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?)"
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|(?-i:May)|June?|July?|Aug(?:ust)?"
    r"|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?![a-z])"
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

_EXPLICIT_DATE = re.compile(
    rf"""(?<![\w/.:-])
    (?:(?P<wd>{_WEEKDAY}|{_WEEKDAY_ABBR}),?\s+(?:the\s+)?)?
    (?:
        (?P<mon>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])
            (?:,?\s+(?P<year>(?:19|20)\d\d)(?!\d))?
      | (?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon2>{_MONTH})\.?
            (?:,?\s+(?P<year2>(?:19|20)\d\d)(?!\d))?
      | (?P<m3>\d{{1,2}})/(?P<d3>\d{{1,2}})/(?P<y3>(?:19|20)?\d\d)(?![\d/])
      | (?P<y4>(?:19|20)\d\d)-(?P<m4>\d\d)-(?P<d4>\d\d)(?!\d)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_NOW = re.compile(
    r"\b(?:(?:effective|activated?|active|live|in\s+effect|begins?|starts?|starting|beginning)\s+"
    r"(?:immediately|now|right\s+away)|immediately\s+(?:effective|activated?|active|live)"
    r"|(?:as\s+of|effective|starting|beginning|from)\s+(?:now|today|this\s+(?:morning|afternoon|evening)))\b",
    re.IGNORECASE,
)
_TODAY = re.compile(r"\b(?:today|tonight)\b", re.IGNORECASE)
_TOMORROW = re.compile(r"\btomorrow\b", re.IGNORECASE)
_WEEKDAY_PHRASE = re.compile(
    rf"\b(?:(?P<mod>this\s+coming|this|next|coming)\s+)?(?P<wd>{_WEEKDAY})\b", re.IGNORECASE
)
_TIME = re.compile(
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
    rf"""(?:(?:{_WEEKDAY}|{_WEEKDAY_ABBR}),?\s+)?
    (?:
        (?P<mon>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})
      | (?P<day2>\d{{1,2}})\s+(?P<mon2>{_MONTH})\.?,?\s+(?P<year2>\d{{4}})
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

# --- place words ---------------------------------------------------------------------------------

COMMON_WORD_TOWNS: frozenset[str] = frozenset(
    {
        "Andover", "Ashford", "Avon", "Berlin", "Bethany", "Bethel", "Bethlehem", "Bolton", "Bristol",
        "Brooklyn", "Burlington", "Canaan", "Canterbury", "Canton", "Chester", "Clinton", "Colchester",
        "Columbia", "Cornwall", "Coventry", "Derby", "Durham", "Easton", "Enfield", "Essex", "Fairfield",
        "Franklin", "Goshen", "Granby", "Groton", "Guilford", "Hampton", "Hebron", "Kent", "Lebanon",
        "Lisbon", "Lyme", "Madison", "Manchester", "Mansfield", "Marlborough", "Middletown", "Milford",
        "Monroe", "Morris", "Norfolk", "Orange", "Oxford", "Plymouth", "Portland", "Preston",
        "Prospect", "Putnam", "Roxbury", "Salem", "Scotland", "Sharon", "Sherman", "Somers",
        "Stafford", "Sterling", "Thompson", "Union", "Vernon", "Warren", "Washington", "Waterford",
        "Weston", "Wilton", "Winchester", "Windsor", "Woodstock",
    }
)  # fmt: skip

_STATEWIDE = re.compile(
    r"\b(?:state[\s-]?wide"
    r"|(?:throughout|across|(?:in\s+)?all\s+of|the\s+(?:entire|whole)|every\s+part\s+of)\s+"
    r"(?:the\s+state(?:\s+of\s+(?:Connecticut|CT))?|Connecticut|CT)"
    r"|all\s+(?:(?:\d+|remaining|other)\s+)?(?:Connecticut|CT|state)\s+(?:jurisdictions|towns|cities"
    r"|municipalities|counties|law\s+enforcement\s+agencies|police\s+departments|agencies)"
    r"|(?:all|every)\s+(?:(?:\d+|remaining|other)\s+)?(?:jurisdictions?|towns?|municipalit(?:y|ies)"
    r"|count(?:y|ies)|cities\s+and\s+towns|law\s+enforcement\s+agenc(?:y|ies)|police\s+departments?)"
    r"\s+(?:in|of|across|throughout)\s+(?:the\s+state|Connecticut|CT))\b",
    re.IGNORECASE,
)
_OFFICE_AFTER = re.compile(r"\s+(?:(?:Field|Area|Resident|Satellite|Sub)[\s-]*)?[Oo]ffice\b")
_OFFICE_BEFORE = re.compile(r"\b(?:ICE|ERO|HSI|DHS)\s+$")
_ADDRESS_AFTER = re.compile(r",?\s*(?:(?:CT|Conn\.?|Connecticut),?\s*)?0\d{4}\b")
_TOWN_OF_BEFORE = re.compile(r"\b(?:[Tt]owns?|[Cc]ity|[Cc]ities|[Bb]orough|[Vv]illage)\s+of\s+$")
_STATE_AFTER = re.compile(r",\s*(?:CT|Conn\b\.?|Connecticut)\b")
_POLICE_AFTER = re.compile(r"\s+(?:Police|PD\b|Board\s+of\s+Selectmen|Town\s+Hall)")
_IN_BEFORE = re.compile(r"\bin\s+$")
_WHEN_AFTER = re.compile(
    rf"\s*,?\s*(?:on|as\s+of|beginning|starting|effective|from|this|next|tomorrow|today|immediately"
    rf"|{_WEEKDAY}|{_MONTH})\b",
    re.IGNORECASE,
)
_LIST_SEPARATOR = re.compile(r"\s*(?:[,;&/•·*]|-(?=\s))\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+", re.IGNORECASE)

# --- message structure ---------------------------------------------------------------------------

_FATAL_DEFECTS: tuple[tuple[type[email.errors.MessageDefect], str], ...] = (
    (email.errors.CloseBoundaryNotFoundDefect, "the MIME structure is truncated: a {} part never closes"),
    (
        email.errors.StartBoundaryNotFoundDefect,
        "the MIME structure is broken: a {} part's boundary never appears",
    ),
    (
        email.errors.NoBoundaryInMultipartDefect,
        "the MIME structure is broken: a {} part declares no boundary",
    ),
    (
        email.errors.MultipartInvariantViolationDefect,
        "the MIME structure is broken: a {} part holds no parts",
    ),
)
_BODY_TYPES = ("text/plain", "text/html")
_FORWARD_START = re.compile(
    r"^[ \t]*(?:>[ \t]?)*(?:"
    r"(?P<marker>-{2,}[ \t]*(?:Forwarded[ \t]+message|Original[ \t]+message|Forwarded[ \t]+by\b[^\n]*?)"
    r"[ \t]*-*|Begin[ \t]+forwarded[ \t]+message:)"
    r"|(?P<rule>_{8,})"
    r"|(?P<from>(?-i:\*{0,2}From\*{0,2})[ \t]*:))",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(
    r"\*{0,2}(From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Importance|Attachments)\*{0,2}[ \t]*:[ \t]*(.*)",
    re.IGNORECASE,
)
_MAX_MENTIONS = 50  # dates or times in one sentence; a real notice names a handful
_MAX_HEADER_LINES = 16  # a forwarded header block is short; reading on would make a hostile body slow
_QUOTE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]?)+")
_FORWARD_SUBJECT = re.compile(r"\s*(?:fwd?|fw)\s*:", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<![ap]\.m\.)(?<!\b[A-Z]\.)\s+(?=[\"“‘'(\[]?[A-Z])")
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


# --- entry point ---------------------------------------------------------------------------------


def parse_message(
    raw: bytes,
    *,
    registry: JurisdictionRegistry,
    received_at: datetime,
    programs: Sequence[Program] = PROGRAMS,
) -> Extraction:
    """Read a forwarded notice; raises ``MalformedMessage`` (and nothing else) for bad input."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise MalformedMessage(f"expected the raw message as bytes, got {type(raw).__name__}")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"the message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        return _parse(bytes(raw), registry, received_at, tuple(programs))
    except MalformedMessage:
        raise
    except Exception as exc:  # the email package on hostile input; bad input must not become a 500
        raise MalformedMessage(f"the message could not be read ({type(exc).__name__})") from exc


def _parse(
    raw: bytes, registry: JurisdictionRegistry, received_at: datetime, programs: tuple[Program, ...]
) -> Extraction:
    if not raw.strip():
        raise MalformedMessage("the message is empty")
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    if not message.keys():
        raise MalformedMessage("not an email: it does not begin with headers such as From, Date and Subject")
    if "From" not in message:
        raise MalformedMessage("not an email: it has no From header")
    reader = _Reader()
    layers, text = _read_layers(message, reader, received_at)
    views = [_View.of(layer, programs, container=i < len(layers) - 1) for i, layer in enumerate(layers)]
    innermost_first = views[::-1]
    index = _place_index(registry)
    problems = list(reader.problems)
    program, notes = _search(innermost_first, lambda v: _find_program(v, programs))
    problems += notes + (["no program named"] if program.value is None else [])
    effective_at, notes = _search(innermost_first, _find_effective_at)
    problems += notes + (["no effective date found"] if effective_at.value is None else [])
    places, notes = _search(innermost_first, lambda v: _find_places(v, index))
    problems += notes + (["no Connecticut jurisdiction named"] if places.value is None else [])
    original = layers[-1]
    sender = original.sender
    if len(layers) == 1 and original.subject.value and _FORWARD_SUBJECT.match(original.subject.value):
        problems.append("the subject says it was forwarded, but no forwarded message was found in it")
        sender = Found(sender.value, sender.source, False)
    return Extraction(
        forwarded_by=layers[0].sender.value if len(layers) > 1 else None,
        original_sender=sender,
        original_recipients=original.recipients,
        sent_at=original.sent_at,
        subject=original.subject,
        program=program,
        effective_at=effective_at,
        jurisdictions=places,
        text=text,
        attachments=tuple(reader.attachments),
        problems=tuple(dict.fromkeys(problems)),
    )


def _search(
    views: list[_View], find: Callable[[_View], tuple[Found[T], list[str]]]
) -> tuple[Found[T], list[str]]:
    """The original (innermost) message first; a forwarder's note only when the original names nothing."""
    first_notes: list[str] | None = None
    for rank, view in enumerate(views):
        found, notes = find(view)
        if found.value is not None:
            if rank:
                return Found(found.value, found.source, False), notes
            return found, notes
        if first_notes is None:
            first_notes = notes
    return _missing(), first_notes or []


# --- reading the MIME structure ------------------------------------------------------------------


class _Reader:
    """Walks the MIME tree once: body text in, attachments listed, limits and defects enforced."""

    def __init__(self) -> None:
        self.parts = 0
        self.attachments: list[str] = []
        self.problems: list[str] = []

    def read(self, message: Message, depth: int) -> tuple[str, list[tuple[Message, int]]]:
        texts: list[str] = []
        attached: list[tuple[Message, int]] = []
        self._entity(message, depth, texts, attached)
        return "\n\n".join(t.strip("\n") for t in texts if t.strip()), attached

    def _entity(
        self, part: Message, depth: int, texts: list[str], attached: list[tuple[Message, int]]
    ) -> None:
        self._check(part, depth)
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            children = _children(part)
            chosen = self._alternative(children) if ctype == "multipart/alternative" else None
            for child in children:
                if chosen is None or child is chosen:
                    self._entity(child, depth + 1, texts, attached)
                else:
                    self._skip(child, depth + 1)
            return
        if ctype == "message/rfc822":
            inner = _children(part)
            if inner:
                attached.append((inner[0], depth + 1))
                return
        filename = _filename(part)
        if ctype in _BODY_TYPES and part.get_content_disposition() != "attachment" and filename is None:
            texts.append(self.text(part))
            return
        self.attachments.append(f"{filename or '(no filename)'} ({_safe_type(ctype)})")

    def _skip(self, part: Message, depth: int) -> None:
        """An alternative we do not read still counts towards the limits."""
        self._check(part, depth)
        for child in _children(part):
            self._skip(child, depth + 1)

    def _check(self, part: Message, depth: int) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise MalformedMessage(f"the message has more than {MAX_PARTS} MIME parts")
        if depth > MAX_DEPTH:
            raise MalformedMessage(f"the message's parts are nested more than {MAX_DEPTH} levels deep")
        for defect in part.defects:
            for kind, reason in _FATAL_DEFECTS:
                if isinstance(defect, kind):
                    raise MalformedMessage(reason.format(_safe_type(part.get_content_type())))

    def _alternative(self, children: list[Message]) -> Message | None:
        """Plain text when it says something, else the richest representation (the last one)."""
        for child in children:
            if child.get_content_type() == "text/plain" and self.text(child, quiet=True).strip():
                return child
        for child in reversed(children):
            if child.get_content_type() == "text/html" or child.get_content_maintype() == "multipart":
                return child
        return children[0] if children else None

    def text(self, part: Message, *, quiet: bool = False) -> str:
        payload = part.get_payload(decode=True)
        decoded = self._decode(payload if isinstance(payload, bytes) else b"", part, quiet=quiet)
        if part.get_content_type() == "text/html" or re.match(
            r"\s*(?:<!doctype\s+html|<html\b)", decoded[:500], re.IGNORECASE
        ):
            if len(decoded) > MAX_HTML_CHARS:
                if not quiet:
                    self.problems.append(f"only the first {MAX_HTML_CHARS} characters of the HTML were read")
                decoded = decoded[:MAX_HTML_CHARS]
            return html_to_text(decoded)
        return _clean(decoded)

    def _decode(self, raw: bytes, part: Message, *, quiet: bool) -> str:
        name = (part.get_content_charset() or "").strip().lower()
        if name in ("", "us-ascii", "ascii"):
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("cp1252", errors="replace")
        try:
            codec = codecs.lookup(name).name
            # Mail labelled Latin-1 is almost always Windows-1252 (smart quotes), as browsers assume.
            return raw.decode("cp1252" if codec == "iso8859-1" else codec, errors="replace")
        except (LookupError, UnicodeError):
            if not quiet:
                self.problems.append(
                    f"unknown charset {name[:40]!r}: read as UTF-8 with undecodable bytes replaced"
                )
            return raw.decode("utf-8", errors="replace")


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [child for child in payload if isinstance(child, Message)] if isinstance(payload, list) else []


def _safe_type(ctype: str) -> str:
    """A content type as declared by the sender, reduced to the characters a content type may hold."""
    return re.sub(r"[^a-z0-9.+/-]", "?", ctype)[:80]


def _filename(part: Message) -> str | None:
    name = part.get_filename()
    if not name:
        return None
    return _one_line(str(name))[:200] or None


# --- layers: the forward, and the original inside it ---------------------------------------------


@dataclass(frozen=True)
class _Layer:
    kind: str  # "outer", "attached" (a message/rfc822 part) or "forwarded" (inline)
    sender: Found[str]
    recipients: Found[tuple[str, ...]]
    sent_at: Found[datetime]
    dated: bool  # sent_at is this message's own date, not a fallback
    subject: Found[str]
    body: str


def _read_layers(message: Message, reader: _Reader, received_at: datetime) -> tuple[list[_Layer], str]:
    layers: list[_Layer] = []
    texts: list[str] = []
    fallback: Found[datetime] = Found(received_at, "received_at", False)
    cut = f"the text was cut to its first {MAX_TEXT_CHARS} characters"
    current, depth, kind = message, 0, "outer"
    while True:
        body, attached = reader.read(current, depth)
        headers = {
            name.lower(): (name, value)
            for name in ("From", "To", "Cc", "Date", "Subject")
            if (value := _header(current, name)) is not None
        }
        if len(body) > MAX_TEXT_CHARS:
            reader.problems.append(cut)
            body = body[:MAX_TEXT_CHARS]
        own, inline = _split_forwards(body)
        where = "" if kind == "outer" else " of the attached message"
        layer = _layer_from(kind, headers, own, fallback, ("header {}" + where).format)
        layers.append(layer)
        fallback = layer.sent_at
        for inline_headers, inline_body in inline:
            forwarded = _layer_from(
                "forwarded",
                inline_headers,
                inline_body,
                fallback,
                "'{}:' line of the forwarded message".format,
            )
            layers.append(forwarded)
            fallback = forwarded.sent_at
        texts.append(body if kind == "outer" else _attached_text(headers, body))
        if not attached:
            break
        (current, depth), *others = attached
        for other, _ in others:
            subject = _header(other, "Subject") or "(no subject)"
            reader.attachments.append(f"{subject[:200]} (message/rfc822)")
            reader.problems.append("several messages are attached; only the first was read")
        kind = "attached"
    text = "\n\n".join(t for t in texts if t)
    if len(text) > MAX_TEXT_CHARS:
        reader.problems.append(cut)
        text = text[:MAX_TEXT_CHARS]
    return layers, text


def _attached_text(headers: dict[str, tuple[str, str]], body: str) -> str:
    lines = ["---------- Attached message ----------"]
    lines += [f"{name}: {value}" for name, value in headers.values()]
    return "\n".join(lines) + "\n\n" + body


def _layer_from(
    kind: str,
    headers: dict[str, tuple[str, str]],
    body: str,
    fallback: Found[datetime],
    label: Callable[[str], str],
) -> _Layer:
    sender: Found[str] = _missing()
    if "from" in headers:
        name, value = headers["from"]
        sender = _sender(value, label(name))
    recipients = _recipients(headers, label)
    sent_at: Found[datetime] = Found(
        fallback.value, f"{fallback.source}, since the message has no readable date of its own", False
    )
    dated = False
    if "date" in headers:
        name, value = headers["date"]
        parsed, zone_known = parse_date_text(value)
        if parsed is not None:
            zone_note = "" if zone_known else " (no time zone given; America/New_York assumed)"
            sent_at, dated = Found(parsed, label(name) + zone_note, zone_known), True
    subject: Found[str] = _missing()
    if headers.get("subject", ("", ""))[1]:
        name, value = headers["subject"]
        subject = Found(value, label(name), True)
    return _Layer(kind, sender, recipients, sent_at, dated, subject, body)


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
        text = None if value is None else str(value)
    except Exception:  # the policy's header parser can trip on hostile input; keep the raw text
        text = next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return None if text is None else _one_line(text)[:2000]


def _addresses(value: str) -> list[str]:
    pairs = email.utils.getaddresses([value.replace(";", ",")])
    found = [address.lower() for _, address in pairs if _EMAIL.fullmatch(address)]
    if not found:
        found = [address.lower() for address in _EMAIL.findall(value)]
    return list(dict.fromkeys(found))[:MAX_RECIPIENTS]


def _sender(value: str, source: str) -> Found[str]:
    addresses = _addresses(value)
    if addresses:
        return Found(addresses[0], source, True)
    if value.strip():
        return Found(value.strip()[:200], f"{source} (a name without an address)", False)
    return _missing()


def _recipients(headers: dict[str, tuple[str, str]], label: Callable[[str], str]) -> Found[tuple[str, ...]]:
    named = [headers[key] for key in ("to", "cc") if key in headers]
    if not named:
        return _missing()
    source = " and ".join(label(name) for name, _ in named)
    addresses = _addresses(", ".join(value for _, value in named))
    if not addresses:
        return Found(None, f"{source} name no address", False)
    return Found(tuple(addresses), source, True)


def _split_forwards(body: str) -> tuple[str, list[tuple[dict[str, tuple[str, str]], str]]]:
    """The text before the first forwarded block, then each block's headers and body, outermost first."""
    found = _find_forward(body)
    if found is None:
        return body, []
    own = body[: found[0]]
    blocks: list[tuple[dict[str, tuple[str, str]], str]] = []
    current = body
    while found is not None and len(blocks) < MAX_FORWARDS:
        _, end, headers, quoted = found
        rest = current[end:]
        if quoted:
            rest = re.sub(r"^[ \t]*>[ \t]?", "", rest, flags=re.MULTILINE)
        found = _find_forward(rest)
        blocks.append((headers, rest[: found[0]] if found else rest))
        current = rest
    return own, blocks


def _find_forward(text: str) -> tuple[int, int, dict[str, tuple[str, str]], bool] | None:
    examined = 0  # a "From:" inside a block that did not qualify starts a block that cannot either
    for match in _FORWARD_START.finditer(text):
        if match.group("marker"):
            headers, end, quoted = _header_block(text, match.end())
            return match.start(), end, headers, quoted
        if match.start() < examined:
            continue
        start = match.start() if match.group("from") else match.end()
        headers, end, quoted = _header_block(text, start)
        # Without a marker, only a block that looks like Outlook's counts, so a memo's "From:" does not.
        if "from" in headers and "date" in headers and ("subject" in headers or "to" in headers):
            return match.start(), end, headers, quoted
        examined = end
    return None


def _lines(text: str, start: int, limit: int) -> Iterator[str]:
    position = start
    for _ in range(limit):
        if position >= len(text):
            return
        newline = text.find("\n", position)
        end = len(text) if newline < 0 else newline + 1
        yield text[position:end]
        position = end


def _header_block(text: str, start: int) -> tuple[dict[str, tuple[str, str]], int, bool]:
    headers: dict[str, tuple[str, str]] = {}
    offset, blanks, quoted = start, 0, False
    last: str | None = None
    for line in _lines(text, start, _MAX_HEADER_LINES):
        prefix = _QUOTE_PREFIX.match(line)
        content = (line[prefix.end() :] if prefix else line).rstrip("\n")
        if not content.strip():
            if headers:
                break
            blanks += 1
            if blanks > 3:
                break
        elif len(content) <= 2000 and (match := _HEADER_LINE.fullmatch(content.strip())):
            name = match.group(1)
            key = "date" if name.lower() == "sent" else name.lower()
            headers.setdefault(key, (name, match.group(2).strip()))
            last, quoted = key, quoted or prefix is not None
        elif last in ("to", "cc") and content[:1] in (" ", "\t"):
            name, value = headers[last]
            headers[last] = (name, f"{value} {content.strip()}"[:2000])
        else:
            break
        offset += len(line)
    return headers, offset, quoted


# --- text ----------------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    _HIDDEN = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "math"})
    _HIDDEN |= frozenset({"object", "iframe", "select", "option", "textarea"})
    _PARAGRAPH = frozenset({"p", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre"})
    _PARAGRAPH |= frozenset({"ul", "ol", "dl", "address", "center", "form", "section", "article"})
    _LINE = frozenset({"div", "tr", "dt", "dd", "header", "footer", "caption", "fieldset"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._hidden = 0  # an unclosed <head> must not hide the whole message
        elif tag in self._HIDDEN:
            self._hidden += 1
        else:
            self._open(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._HIDDEN:
            self._open(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.out.append(data if self._pre else _WHITESPACE.sub(" ", data))

    def _open(self, tag: str) -> None:
        if tag == "pre":
            self._pre += 1
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in ("td", "th"):
            self.out.append(" ")
        else:
            self._break(tag)

    def _break(self, tag: str) -> None:
        if tag in self._PARAGRAPH:
            self.out.append("\n\n")
        elif tag in self._LINE:
            self.out.append("\n")


def html_to_text(markup: str) -> str:
    """Readable plain text: tags dropped, scripts and styles with them, entities decoded."""
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.out)
    except Exception:  # HTMLParser on hostile markup; fall back to a blunt strip
        stripped = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", markup, flags=re.IGNORECASE | re.DOTALL)
        text = html.unescape(re.sub(r"<[^>]*>", " ", stripped))
    lines = [line.strip() for line in _clean(text).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _clean(text: str) -> str:
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = (
        text.replace("\r\r\n", "\n")
        .replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    return _CONTROL.sub("", text.translate(_INVISIBLE).replace("\xa0", " "))


def _one_line(text: str) -> str:
    return " ".join(_clean(text).split())


def _snippet(text: str, start: int, end: int, width: int = 50) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    if left:
        left = text.find(" ", left, start) + 1 or left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space > 0 else right
    return ("…" if left else "") + text[left:right].strip() + ("…" if right < len(text) else "")


# --- sentences -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sentence:
    text: str
    label: str  # where it is, for ``Found.source``
    subject: bool
    activation: bool
    program: bool
    scope: bool

    @property
    def about_the_rollout(self) -> bool:
        return self.subject or self.activation or self.program or self.scope


@dataclass(frozen=True)
class _View:
    layer: _Layer
    sentences: tuple[_Sentence, ...]

    @classmethod
    def of(cls, layer: _Layer, programs: Sequence[Program], *, container: bool) -> _View:
        of_what = {
            "outer": "",
            "attached": " of the attached message",
            "forwarded": " of the forwarded message",
        }
        where = of_what[layer.kind]
        body_label = f"forwarder's note{where}" if container else f"body{where}"
        pieces: list[tuple[str, str, bool]] = []
        if layer.subject.value:
            pieces.append((_one_line(layer.subject.value), f"subject{where}", True))
        for paragraph in re.split(r"\n[ \t]*\n", layer.body):
            joined = " ".join(paragraph.split())
            pieces += [(s, body_label, False) for s in _SENTENCE_END.split(joined) if s.strip()]
        sentences = tuple(
            _Sentence(
                text=text,
                label=label,
                subject=is_subject,
                activation=_ACTIVATION.search(text) is not None,
                program=any(p.search(text) for program in programs for p in program.patterns),
                scope=_SCOPE.search(text) is not None,
            )
            for text, label, is_subject in pieces
        )
        return cls(layer, sentences)


def _source(sentence: _Sentence, start: int, end: int) -> str:
    return f"{sentence.label}: '{_snippet(sentence.text, start, end)}'"


# --- program -------------------------------------------------------------------------------------


def _find_program(view: _View, programs: Sequence[Program]) -> tuple[Found[str], list[str]]:
    hits: dict[str, list[tuple[_Sentence, re.Match[str]]]] = {}
    for sentence in view.sentences:
        for program in programs:
            for pattern in program.patterns:
                if match := pattern.search(sentence.text):
                    hits.setdefault(program.slug, []).append((sentence, match))
                    break
    if not hits:
        return _missing(), []
    ranked = sorted(hits.items(), key=lambda item: (not any(s.activation for s, _ in item[1]), -len(item[1])))
    slug, mentions = ranked[0]
    sentence, match = next(((s, m) for s, m in mentions if s.activation), mentions[0])
    found = Found(slug, _source(sentence, match.start(), match.end()), len(hits) == 1)
    notes = [] if len(hits) == 1 else [f"several programs named: {', '.join(hits)}; took {slug}"]
    return found, notes


# --- effective date ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mention:
    value: datetime
    has_time: bool
    phrase: str
    start: int
    end: int
    sentence: _Sentence
    relative: bool
    certain: bool
    note: str | None
    score: int = 0


def _find_effective_at(view: _View) -> tuple[Found[datetime], list[str]]:
    reference = view.layer.sent_at.value
    assert reference is not None  # every layer has its own date or a fallback
    reference = reference.astimezone(NEW_YORK)
    mentions = [m for s in view.sentences for m in _date_mentions(s, reference)]
    if not mentions:
        return _missing(), []
    eligible = [m for m in mentions if (m.sentence.activation or m.sentence.program) and m.score > 0]
    if not eligible:
        named = ", ".join(f"'{m.phrase}'" for m in mentions[:5])
        return _missing(), [f"dates named but none in a sentence about the activation: {named}"]
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
    return Found(chosen.value, _source(chosen.sentence, chosen.start, chosen.end), certain), notes


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
    match = _ACTIVATION.search(chosen.sentence.text)
    return f"tied to '{match.group()}'" if match else "tied to the program's name"


def _date_mentions(sentence: _Sentence, reference: datetime) -> list[_Mention]:
    """Every date the sentence names, each phrase once: explicit dates first, then relative words."""
    text, today = sentence.text, reference.date()
    times = [(m.start(), m.end(), clock) for m in _TIME.finditer(text) if (clock := _clock(m)) is not None]
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
        phrase = _one_line(match.group())
        return _Mention(
            value, has_time, phrase, match.start(), match.end(), sentence, relative, certain, note
        )

    def explicit(match: re.Match[str]) -> _Mention | None:
        day, certain, note = _explicit_date(match, today)
        return make(match, day, relative=False, certain=certain, note=note)

    def weekday(match: re.Match[str]) -> _Mention | None:
        mod = " ".join((match.group("mod") or "").lower().split())
        target = _WEEKDAYS.index(match.group("wd").title())
        clock = _nearest(times, match.start(), match.end())
        day, certain, note = _weekday_date(mod, target, reference, clock)
        return make(match, day, relative=True, certain=certain, note=note)

    def now(match: re.Match[str]) -> _Mention:
        phrase = _one_line(match.group())
        return _Mention(reference, True, phrase, match.start(), match.end(), sentence, True, True, None)

    stages: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], _Mention | None]], ...] = (
        (_EXPLICIT_DATE, explicit),
        (_NOW, now),
        (_TODAY, lambda m: make(m, today, relative=True, moment=reference)),
        (_TOMORROW, lambda m: make(m, today + timedelta(days=1), relative=True)),
        (_WEEKDAY_PHRASE, weekday),
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
        work = _blank_spans(work, spans)
    return [_scored(m, found, reference) for m in sorted(found, key=lambda m: m.start)]


def _blank_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with each span replaced by spaces, so a later pattern cannot match inside it."""
    pieces, last = [], 0
    for start, end in spans:
        pieces += [text[last:start], " " * (end - start)]
        last = end
    return "".join([*pieces, text[last:]])


def _scored(mention: _Mention, all_mentions: list[_Mention], reference: datetime) -> _Mention:
    """Activation words weigh most, nearby ones more; a superseded or already-past date is pushed down."""
    sentence = mention.sentence
    score = 4 * sentence.activation + 2 * sentence.program + sentence.subject
    if _ACTIVATION.search(sentence.text[max(0, mention.start - 40) : mention.end + 40]):
        score += 1  # "statewide on Wednesday" beats "this morning" later in the same sentence
    previous_end = max((m.end for m in all_mentions if m.end <= mention.start), default=0)
    if _SUPERSEDED.search(sentence.text[max(previous_end, mention.start - 40) : mention.start]):
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


def _clock(match: re.Match[str]) -> time | None:
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


def _explicit_date(match: re.Match[str], today: date) -> tuple[date | None, bool, str | None]:
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
    if g["wd"] and g["wd"][:3].title() != _WEEKDAYS[found.weekday()][:3]:
        certain = False
        note = f"'{_one_line(match.group())}': {found.isoformat()} is a {_WEEKDAYS[found.weekday()]}"
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


def _weekday_date(
    mod: str, target: int, reference: datetime, clock: time | None
) -> tuple[date, bool, str | None]:
    today = reference.date()
    name = _WEEKDAYS[target]
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
    name = _WEEKDAYS[target]
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


# --- places --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PlaceIndex:
    names: re.Pattern[str]
    county_list: re.Pattern[str]
    county_base: re.Pattern[str]
    ids: dict[str, tuple[str, JurisdictionKind, str]]  # normalized name → (id, kind, name)


def _words(name: str) -> str:
    return r"\s+".join(re.escape(word) for word in name.split())


@lru_cache(maxsize=8)
def _place_index(registry: JurisdictionRegistry) -> _PlaceIndex:
    """Built once per registry: one alternation, longest names first, so the longest name wins."""
    entries: list[tuple[int, str]] = []
    ids: dict[str, tuple[str, JurisdictionKind, str]] = {}
    county_bases: list[str] = []
    for node in registry.all():
        if node.kind is JurisdictionKind.COUNTY:
            base = node.name.removesuffix(" County")
            county_bases.append(base)
            pattern, key = _words(base) + r"\s+[Cc]ounty", normalize_name(base) + " county"
        elif node.kind is JurisdictionKind.REGION:
            base = node.name.removesuffix(" Planning Region")
            pattern = _words(base) + r"\s+(?:[Pp]lanning\s+)?[Rr]egion"
            key = normalize_name(base) + " region"
        elif node.kind in (JurisdictionKind.TOWN, JurisdictionKind.FACILITY):
            pattern, key = _words(node.name), normalize_name(node.name)
        else:
            continue
        entries.append((len(node.name), pattern))
        ids[key] = (node.id, node.kind, node.name)
    entries.sort(key=lambda entry: -entry[0])
    names = re.compile(r"(?<![\w-])(?:" + "|".join(p for _, p in entries) + r")(?![\w-])")
    bases = "|".join(_words(b) for b in sorted(county_bases, key=len, reverse=True))
    county_list = re.compile(
        rf"(?<![\w-])(?P<names>(?:{bases})(?:\s*,\s*(?:{bases}))*\s*,?\s*(?:and|&)\s+(?:{bases}))\s+[Cc]ounties\b"
    )
    return _PlaceIndex(names, county_list, re.compile(rf"(?:{bases})"), ids)


def _place_key(matched: str) -> str:
    key = normalize_name(matched)
    return key.removesuffix(" planning region") + " region" if key.endswith(" planning region") else key


def _places_in(text: str, index: _PlaceIndex) -> list[tuple[int, int, str, str]]:
    """(start, end, id, name as written) for each place the sentence names, by the rules above."""
    work = _HISTORY.sub(lambda m: " " * len(m.group()), text)
    found = [(m.start(), m.end(), STATE_ID, m.group()) for m in _STATEWIDE.finditer(work)]
    lists = list(index.county_list.finditer(work))
    for match in lists:
        for base in index.county_base.finditer(match.group("names")):
            node_id = index.ids[normalize_name(base.group()) + " county"][0]
            start = match.start("names") + base.start()
            found.append((start, start + len(base.group()), node_id, base.group() + " County"))
    work = _blank_spans(work, [match.span() for match in lists])
    raw = [
        (m, entry)
        for m in index.names.finditer(work)
        if (entry := index.ids.get(_place_key(m.group()))) is not None
    ]
    for i, (match, (node_id, kind, name)) in enumerate(raw):
        if kind is JurisdictionKind.TOWN and not _town_counts(work, match, name, raw, i):
            continue
        found.append((match.start(), match.end(), node_id, match.group()))
    return sorted(found)


def _town_counts(
    text: str,
    match: re.Match[str],
    name: str,
    raw: list[tuple[re.Match[str], tuple[str, JurisdictionKind, str]]],
    i: int,
) -> bool:
    before, after = text[max(0, match.start() - 40) : match.start()], text[match.end() : match.end() + 60]
    if _OFFICE_AFTER.match(after) or _ADDRESS_AFTER.match(after) or _OFFICE_BEFORE.search(before):
        return False
    if name not in COMMON_WORD_TOWNS:
        return True
    return bool(
        _TOWN_OF_BEFORE.search(before)
        or _STATE_AFTER.match(after)
        or _POLICE_AFTER.match(after)
        or (_IN_BEFORE.search(before) and _WHEN_AFTER.match(after))
        or _listed(text, raw, i)
    )


def _listed(text: str, raw: list[tuple[re.Match[str], tuple[str, JurisdictionKind, str]]], i: int) -> bool:
    """Next to another town or county with only a comma, "and", "or" or a bullet between them."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(raw) and raw[j][1][1] in (JurisdictionKind.TOWN, JurisdictionKind.COUNTY):
            first, second = sorted((raw[i][0], raw[j][0]), key=lambda m: m.start())
            gap = text[first.end() : second.start()]
            if len(gap) <= 12 and _LIST_SEPARATOR.fullmatch(gap):
                return True
    return False


def _find_places(view: _View, index: _PlaceIndex) -> tuple[Found[tuple[str, ...]], list[str]]:
    ids: list[str] = []
    source = ""
    elsewhere: list[str] = []
    for sentence in view.sentences:
        places = _places_in(sentence.text, index)
        if not sentence.about_the_rollout:
            elsewhere += [written for _, _, _, written in places]
            continue
        for start, end, node_id, _ in places:
            if not source:
                source = _source(sentence, start, end)
            if node_id not in ids:
                ids.append(node_id)
    if ids:
        return Found(tuple(ids), source, True), []
    if elsewhere:
        named = ", ".join(dict.fromkeys(" ".join(w.split()) for w in elsewhere))
        return _missing(), [f"places named outside the sentences about the activation were not used: {named}"]
    return _missing(), []
