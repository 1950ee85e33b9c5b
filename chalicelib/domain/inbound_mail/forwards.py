"""The layers of a message: the forward, and the original inside it (a message/rfc822 attachment or
an inline block after "---------- Forwarded message ---------" and the like), each with its own
sender, recipients, date and subject (**Forwards.** in the package docstring).

Separate because unwrapping is about message structure only: it turns a parsed message into layers
of plain text, and the steps after it read those layers without knowing how they were found.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from chalicelib.domain.inbound_mail.dates import parse_date_text
from chalicelib.domain.inbound_mail.mime import MimeReader
from chalicelib.domain.inbound_mail.results import Found, missing
from chalicelib.domain.inbound_mail.text import one_line

MAX_FORWARDS = 10
MAX_TEXT_CHARS = 200_000
MAX_RECIPIENTS = 200

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
_MAX_HEADER_LINES = 16  # a forwarded header block is short; reading on would make a hostile body slow
_QUOTE_PREFIX = re.compile(r"[ \t]*(?:>[ \t]?)+")
FORWARD_SUBJECT = re.compile(r"\s*(?:fwd?|fw)\s*:", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Layer:
    kind: str  # "outer", "attached" (a message/rfc822 part) or "forwarded" (inline)
    sender: Found[str]
    recipients: Found[tuple[str, ...]]
    sent_at: Found[datetime]
    dated: bool  # sent_at is this message's own date, not a fallback
    subject: Found[str]
    body: str


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
