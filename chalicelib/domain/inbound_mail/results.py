"""What reading a forwarded notice returns (``Extraction`` of ``Found`` values) and what it raises.

At the bottom of the package: every step returns ``Found`` values and raises ``MalformedMessage``,
and ``services.inbound`` handles the results, so they depend on nothing else here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

NOT_FOUND = "not found"

T = TypeVar("T")


class MalformedMessage(ValueError):
    """Bytes that are not a readable email; ``reason`` is a sentence the sender can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MessageTooLarge(MalformedMessage):
    """Refused before parsing, so an oversized upload costs nothing beyond its bytes."""


@dataclass(frozen=True)
class Found[T]:
    """An extracted value with where it came from, so an admin can check it against the message."""

    value: T | None
    source: str
    certain: bool
    # The sentences the value was read from, whole and as written (line breaks joined): the evidence
    # shown to the people a notice reaches. Empty for values read from headers.
    sentences: tuple[str, ...] = ()


def missing(source: str = NOT_FOUND) -> Found[Any]:
    return Found(None, source, False)


@dataclass(frozen=True)
class Extraction:
    """What a forwarded notice says, field by field, with the reasons a person should look at it."""

    forwarded_by: str | None
    # The sender of each message around the original, outermost first (the forwarders; the first is
    # ``forwarded_by``); empty when the message is the original itself.
    forwarders: tuple[str, ...]
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
    # The original's Message-ID, when it came with its own headers (sent directly or attached).
    message_id: str | None = None
    # Which original message this is, whoever forwarded it (``identity.original_id``).
    original_id: str = ""


def needs_triage(x: Extraction) -> bool:
    """A notice without a program, an effective date or a place cannot be routed; admins decide."""
    return x.program.value is None or x.effective_at.value is None or not x.jurisdictions.value


def looks_unrelated(x: Extraction) -> bool:
    """Nothing of a rollout at all (no program, no activation date, no place of one): a newsletter
    about fingerprint cards, say. Still held, never dropped, but no admin is emailed about it."""
    return x.program.value is None and x.effective_at.value is None and not x.jurisdictions.value
