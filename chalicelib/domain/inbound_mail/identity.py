"""Which original message a copy is (**Copies of one original.** in the package docstring): the same
original forwarded by several people, or sent to Vigil directly and forwarded too, has one id.

Separate because it is the one rule about copies rather than about what a message says; the
services key notices by it so that later copies become further reports of one notice.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC

from chalicelib.domain.inbound_mail.forwards import Layer

# Letters and digits of the original's text that are compared: far more than tells two notices apart.
TEXT_CHARS = 4000
_NOT_A_LETTER_OR_DIGIT = re.compile(r"[\W_]+")
# Where the words of a message end and what mail servers and clients add begins: a signature
# delimiter ("-- "), or the first line of a footer such as the disclaimer a forwarder's server appends
# after everything, quoted original included.
_TAIL = re.compile(
    r"^[ \t]*(?:--[ \t]*$|_{5,}[ \t]*$"
    r"|(?:confidentiality|disclaimer|privileged|notice)\b[^\n]{0,40}:"
    r"|this\s+(?:e-?mail|message|communication|transmission)\b[^\n]{0,80}"
    r"\b(?:confidential|privileged|intended|may\s+contain|is\s+for)"
    r"|sent\s+from\s+my\b)",
    re.IGNORECASE | re.MULTILINE,
)


def normalised_text(text: str) -> str:
    """Letters and digits only, case-folded: what survives quoting (">"), re-wrapping, HTML and
    plain-text renderings, smart quotes and non-breaking spaces of the same words."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_A_LETTER_OR_DIGIT.sub("", folded)


def own_words(body: str) -> str:
    """The body up to its signature delimiter or the first line of a footer (``_TAIL``)."""
    tail = _TAIL.search(body)
    return body[: tail.start()] if tail else body


def original_id(original: Layer) -> str:
    """``mail:`` and 32 hex digits over the original's sender, the minute it was sent and its own
    words (``own_words``, normalised), so a footer one copy picked up on the way does not part it
    from the others.

    The minute, in UTC: a forward shows "Fri, Feb 17, 2012 at 4:05 PM" where the original said
    "16:05:00 -0500". A date that is not the original's own (none could be read, so the forward's
    was used) is left out, so that two forwards of it made on different days still agree. The
    Message-ID, which only a copy sent directly or attached keeps, is not part of it: such a copy
    holds the original's own headers and text, so its sender, minute and text are the original's
    exactly, while an inline forward of the same message has no Message-ID to compare.
    """
    sender = (original.sender.value or "").strip().lower()
    sent = ""
    if original.dated and original.sent_at.value is not None:
        sent = original.sent_at.value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    text = normalised_text(own_words(original.body))[:TEXT_CHARS]
    digest = hashlib.sha256("\x00".join((sender, sent, text)).encode()).hexdigest()
    return f"mail:{digest[:32]}"
