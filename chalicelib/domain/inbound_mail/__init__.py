"""Forwarded notices: reading an email someone forwarded to Vigil, and finding what it announces.

The notice that started this project arrived as a quiet email to lower-level officers (README),
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
original names nothing, and then the value is marked uncertain. A reply's quotation ("On …, X
wrote:" followed by ``>``-quoted lines, as Gmail and Apple Mail write it) counts as a forward of the
quoted message: its sender and date come from that line, its text from the quoted lines, and a
quotation inside it ("``>>``") is unwrapped in turn. Outlook's "-----Original Message-----" blocks
nest the same way. The senders of the layers around the original are the ``forwarders``, outermost
first.

**Copies of one original.** ``original_id`` names the original, not the copy: its sender, the
minute it was sent (UTC) and its own words (up to a signature delimiter or a footer such as a
server's disclaimer; letters and digits only, case-folded), so the same message forwarded by two
officers, forwarded inline and attached, or sent to Vigil directly and forwarded as well, has one
id; two messages differing in sender, minute or words have two. A date the original does not give
is left out of it.

**Evidence.** Each value read from the text keeps the whole sentences it was read from
(``Found.sentences``), as written with line breaks joined, so those told of a notice can read the
words themselves.

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
missing; ``looks_unrelated`` when all three are (a newsletter that mentions fingerprints). A value
that was found but is uncertain is still returned, with ``certain=False`` and a
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

**Layout.** A module per step, each importing only those named before it here: ``results``,
``text``, ``vocabulary`` and ``dates`` (calendar reading; it uses ``text``) come first; ``mime`` →
``forwards`` → ``sentences`` turn the message into layers and sentences; ``identity`` names the
original a layer is; ``programs``, ``effective_date`` and ``places`` each find one field in those
sentences; this module runs them.

Standard library only; no I/O and no clock.
"""

from __future__ import annotations

import email.policy
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from email.parser import BytesParser

from chalicelib.domain.inbound_mail.dates import NEW_YORK, parse_date_text
from chalicelib.domain.inbound_mail.effective_date import find_effective_at
from chalicelib.domain.inbound_mail.forwards import FORWARD_SUBJECT, MAX_TEXT_CHARS, read_layers
from chalicelib.domain.inbound_mail.identity import original_id
from chalicelib.domain.inbound_mail.mime import MAX_DEPTH, MAX_PARTS, MimeReader
from chalicelib.domain.inbound_mail.places import COMMON_WORD_TOWNS, find_places, place_index
from chalicelib.domain.inbound_mail.programs import PROGRAMS, Program, find_program
from chalicelib.domain.inbound_mail.results import (
    NOT_FOUND,
    Extraction,
    Found,
    MalformedMessage,
    MessageTooLarge,
    looks_unrelated,
    missing,
    needs_triage,
)
from chalicelib.domain.inbound_mail.sentences import View
from chalicelib.domain.inbound_mail.text import html_to_text
from chalicelib.domain.jurisdictions import JurisdictionRegistry

__all__ = [
    "COMMON_WORD_TOWNS",
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "MAX_PARTS",
    "MAX_TEXT_CHARS",
    "NEW_YORK",
    "NOT_FOUND",
    "PROGRAMS",
    "Extraction",
    "Found",
    "MalformedMessage",
    "MessageTooLarge",
    "Program",
    "html_to_text",
    "looks_unrelated",
    "needs_triage",
    "parse_date_text",
    "parse_message",
]

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


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
    reader = MimeReader()
    layers, text = read_layers(message, reader, received_at)
    names = tuple(pattern for program in programs for pattern in program.patterns)
    views = [View.of(layer, names, container=i < len(layers) - 1) for i, layer in enumerate(layers)]
    innermost_first = views[::-1]
    index = place_index(registry)
    problems = list(reader.problems)
    program, notes = _search(innermost_first, lambda v: find_program(v, programs))
    problems += notes + (["no program named"] if program.value is None else [])
    effective_at, notes = _search(innermost_first, find_effective_at)
    problems += notes + (["no effective date found"] if effective_at.value is None else [])
    places, notes = _search(innermost_first, lambda v: find_places(v, index))
    problems += notes + (["no Connecticut jurisdiction named"] if places.value is None else [])
    original = layers[-1]
    sender = original.sender
    if len(layers) == 1 and original.subject.value and FORWARD_SUBJECT.match(original.subject.value):
        problems.append("the subject says it was forwarded, but no forwarded message was found in it")
        sender = replace(sender, certain=False)
    return Extraction(
        forwarded_by=layers[0].sender.value if len(layers) > 1 else None,
        forwarders=tuple(layer.sender.value or "(no sender)" for layer in layers[:-1]),
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
        message_id=original.message_id,
        original_id=original_id(original),
    )


def _search[T](
    views: list[View], find: Callable[[View], tuple[Found[T], list[str]]]
) -> tuple[Found[T], list[str]]:
    """The original (innermost) message first; a forwarder's note only when the original names nothing."""
    first_notes: list[str] | None = None
    for rank, view in enumerate(views):
        found, notes = find(view)
        if found.value is not None:
            if rank:
                return replace(found, certain=False), notes
            return found, notes
        if first_notes is None:
            first_notes = notes
    return missing(), first_notes or []
