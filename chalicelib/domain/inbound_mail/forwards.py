"""The layers of a message: the forward, and the original inside it (a message/rfc822 attachment, an
inline block after "---------- Forwarded message ---------" and the like, or the ``>``-quoted text
under "On …, X wrote:"), each with its own sender, recipients, date and subject (**Forwards.** in the
package docstring).

Separate because unwrapping is about message structure only: it turns a parsed message into layers
of plain text, and the steps after it read those layers without knowing how they were found.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message

from chalicelib.domain.inbound_mail.dates import find_date_text, parse_date_text
from chalicelib.domain.inbound_mail.mime import MimeReader
from chalicelib.domain.inbound_mail.results import Found, missing
from chalicelib.domain.inbound_mail.text import one_line

MAX_FORWARDS = 10
MAX_TEXT_CHARS = 200_000
MAX_RECIPIENTS = 200
MAX_QUOTED_LINES = 20_000  # a quotation is read line by line; the text is already cut to MAX_TEXT_CHARS

_FORWARD_START = re.compile(
    r"^[ \t]*(?:>[ \t]?)*(?:"
    r"(?P<marker>-{2,}[ \t]*(?:Forwarded[ \t]+message|Original[ \t]+message|Forwarded[ \t]+by\b[^\n]*?"
    r"|Mensaje[ \t]+(?:reenviado|original))"
    r"[ \t]*-*|Begin[ \t]+forwarded[ \t]+message:)"
    r"|(?P<rule>_{8,})"
    r"|(?P<from>(?-i:\*{0,2}From\*{0,2})[ \t]*:))",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(
    r"\*{0,2}(From|Sent|Date|To|Cc|Bcc|Subject|Reply-To|Importance|Attachments"
    r"|De|Enviado(?:[ \t]+el)?|Fecha|Para|CC|CCO|Asunto)\*{0,2}[ \t]*:[ \t]*(.*)",
    re.IGNORECASE,
)
# Header lines by what they mean: Outlook's "Sent", and Spanish mail clients' names.
_HEADER_KEYS = {
    "sent": "date",
    "de": "from",
    "enviado": "date",
    "enviado el": "date",
    "fecha": "date",
    "para": "to",
    "cco": "bcc",
    "asunto": "subject",
}
_MAX_HEADER_LINES = 16  # a forwarded header block is short; reading on would make a hostile body slow
_QUOTE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]?)+")
FORWARD_SUBJECT = re.compile(r"\s*(?:fwd?|fw|rv|reenv)\s*:", re.IGNORECASE)
# "On Fri, Feb 17, 2012 at 4:05 PM, ICE ERO <ero@example.gov> wrote:" (Gmail, Apple Mail, Thunderbird),
# which mail clients may wrap over two or three lines; what it introduces is the ">"-quoted text below.
_WROTE = re.compile(
    r"^[ \t]*(?:>[ \t]?)*On[ \t]+(?P<attribution>[^\n]{4,300}?(?:\n[ \t]*(?:>[ \t]?)*[^\n]{1,200}?){0,2})"
    r"[ \t]+wrote[ \t]*:[ \t]*$",
    re.MULTILINE,
)
_QUOTED_LINE = re.compile(r"[ \t]*>")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Layer:
    # "outer", "attached" (a message/rfc822 part), "forwarded" (inline) or "quoted" ("On … wrote:")
    kind: str
    sender: Found[str]
    recipients: Found[tuple[str, ...]]
    sent_at: Found[datetime]
    dated: bool  # sent_at is this message's own date, not a fallback
    subject: Found[str]
    body: str
    # The Message-ID header, when the layer came with its own headers (the outer or an attached message).
    message_id: str | None = None


@dataclass(frozen=True)
class _Block:
    """A forwarded or quoted message found inside a body: where it starts, its header lines, and its
    own text (unquoted one level when it was quoted)."""

    start: int
    kind: str
    headers: dict[str, tuple[str, str]]
    inner: str


def read_layers(message: Message, reader: MimeReader, received_at: datetime) -> tuple[list[Layer], str]:
    layers: list[Layer] = []
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
        layer = replace(layer, message_id=_message_id(current))
        layers.append(layer)
        fallback = layer.sent_at
        for block_kind, inline_headers, inline_body in inline:
            forwarded = _layer_from(
                block_kind,
                inline_headers,
                inline_body,
                fallback,
                f"'{{}}:' line of the {block_kind} message".format,
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
) -> Layer:
    sender: Found[str] = missing()
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
    subject: Found[str] = missing()
    if headers.get("subject", ("", ""))[1]:
        name, value = headers["subject"]
        subject = Found(value, label(name), True)
    return Layer(kind, sender, recipients, sent_at, dated, subject, body)


def _message_id(message: Message) -> str | None:
    """The Message-ID without its angle brackets, lower-cased (ids are compared, never shown as sent)."""
    value = _header(message, "Message-ID")
    if not value:
        return None
    match = re.search(r"<([^<>\s]{1,400})>", value)
    found = match.group(1) if match else value.strip().split()[0][:400]
    return found.lower() or None


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
        text = None if value is None else str(value)
    except Exception:  # the policy's header parser can trip on hostile input; keep the raw text
        text = next((str(v) for k, v in message.raw_items() if k.lower() == name.lower()), None)
    return None if text is None else one_line(text)[:2000]


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
    return missing()


def _recipients(headers: dict[str, tuple[str, str]], label: Callable[[str], str]) -> Found[tuple[str, ...]]:
    named = [headers[key] for key in ("to", "cc") if key in headers]
    if not named:
        return missing()
    source = " and ".join(label(name) for name, _ in named)
    addresses = _addresses(", ".join(value for _, value in named))
    if not addresses:
        return Found(None, f"{source} name no address", False)
    return Found(tuple(addresses), source, True)


def _split_forwards(body: str) -> tuple[str, list[tuple[str, dict[str, tuple[str, str]], str]]]:
    """The text before the first forwarded or quoted block, then each block's kind, headers and body,
    outermost first."""
    found = _find_block(body)
    if found is None:
        return body, []
    own = body[: found.start]
    blocks: list[tuple[str, dict[str, tuple[str, str]], str]] = []
    while found is not None and len(blocks) < MAX_FORWARDS:
        rest = found.inner
        following = _find_block(rest)
        blocks.append((found.kind, found.headers, rest[: following.start] if following else rest))
        found = following
    return own, blocks


def _find_block(text: str) -> _Block | None:
    """The first forwarded block or "On … wrote:" quotation of the text, whichever comes first."""
    forward = _find_forward(text)
    quote = _find_quotation(text, before=forward.start if forward else len(text))
    return quote or forward


def _find_forward(text: str) -> _Block | None:
    examined = 0  # a "From:" inside a block that did not qualify starts a block that cannot either
    for match in _FORWARD_START.finditer(text):
        if match.group("marker"):
            headers, end, quoted = _header_block(text, match.end())
            return _Block(match.start(), "forwarded", headers, _unquote(text[end:]) if quoted else text[end:])
        if match.start() < examined:
            continue
        start = match.start() if match.group("from") else match.end()
        headers, end, quoted = _header_block(text, start)
        # Without a marker, only a block that looks like Outlook's counts, so a memo's "From:" does not.
        if "from" in headers and "date" in headers and ("subject" in headers or "to" in headers):
            return _Block(match.start(), "forwarded", headers, _unquote(text[end:]) if quoted else text[end:])
        examined = end
    return None


def _unquote(text: str) -> str:
    return re.sub(r"^[ \t]*>[ \t]?", "", text, flags=re.MULTILINE)


def _find_quotation(text: str, *, before: int) -> _Block | None:
    """ "On <date>, <sender> wrote:" followed by ">"-quoted lines: the quoted message, its sender and
    date from the attribution line, its text the quoted lines (one level of ">" removed)."""
    for match in _WROTE.finditer(text, 0, min(len(text), before + 2000)):
        if match.start() >= before:
            return None
        quoted, end = [], match.end()
        for line in _lines(text, end + 1 if text[end : end + 1] == "\n" else end, MAX_QUOTED_LINES):
            if _QUOTED_LINE.match(line):
                quoted.append(line)
            elif line.strip() and quoted:
                break
            elif line.strip():
                quoted = []
                break
            else:
                quoted.append(line)
        inner = _unquote("".join(quoted)).strip("\n")
        if not inner.strip():
            continue  # a sentence that happens to end in "wrote:", not a quotation
        return _Block(match.start(), "quoted", _attribution(match.group("attribution")), inner + "\n")
    return None


def _attribution(text: str) -> dict[str, tuple[str, str]]:
    """The date and sender of "On Fri, Feb 17, 2012 at 4:05 PM, ICE ERO <ero@example.gov> wrote:"."""
    # Apple Mail writes "Feb 17, 2012, at 4:05 PM": the comma before "at" would part date and time.
    text = re.sub(r",\s+at\s+", " at ", one_line(_unquote(text)))
    label = "On … wrote"
    dated = find_date_text(text)
    if dated is None:
        return {"from": (label, text.strip(" ,"))}
    sender = (text[dated.end() :] or text[: dated.start()]).strip(" ,")
    headers = {"date": (label, dated.group().strip(" ,"))}
    if sender:
        headers["from"] = (label, sender)
    return headers


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
            key = _HEADER_KEYS.get(" ".join(name.lower().split()), name.lower())
            headers.setdefault(key, (name, match.group(2).strip()))
            last, quoted = key, quoted or prefix is not None
        elif last in ("to", "cc") and content[:1] in (" ", "\t"):
            name, value = headers[last]
            headers[last] = (name, f"{value} {content.strip()}"[:2000])
        else:
            break
        offset += len(line)
    return headers, offset, quoted
