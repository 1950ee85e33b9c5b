"""Reading the MIME structure: one walk of the tree that collects the body text, lists attachments
without opening them, and enforces the limits on parts, nesting and HTML (**Safety.** in the package
docstring).

Separate because it is the only step that handles the email package's parts and defects; every
step after it reads plain text.
"""

from __future__ import annotations

import codecs
import email.errors
import re
from email.message import Message

from chalicelib.domain.inbound_mail.results import MalformedMessage
from chalicelib.domain.inbound_mail.text import clean, html_to_text, one_line

MAX_PARTS = 200
MAX_DEPTH = 10
MAX_HTML_CHARS = 1_000_000  # Python's HTML parser reads about half a megabyte a second

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


class MimeReader:
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
        return clean(decoded)

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
    return one_line(str(name))[:200] or None
