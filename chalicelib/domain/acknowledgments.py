"""Acknowledgments: a recipient saying "I have seen this", by link, SMS reply code or webhook ack_url."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from chalicelib.domain.subscribers import Role


class AckVia(StrEnum):
    """How a recipient acknowledged."""

    LINK = "link"  # the button of the page an emailed link opens
    LINK_JSON = "link-json"  # a JSON post to the link (a script, curl), not through the page
    SMS = "sms"  # a reply code by text
    WEBHOOK = "webhook"  # the ack_url of a webhook payload, posted by the subscriber's system


class AckOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already-acknowledged"
    LATE = "acknowledged-late"


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """One per subscriber and notice: the first counts, repeats are no-ops that say so."""

    notice_id: str
    subscriber_id: str
    role: Role
    delivery_id: str
    via: AckVia
    at: datetime
    # Recorded after the notice closed: kept as evidence, never lost, but it changes nothing.
    late: bool = False


REPLY_CODE_DIGITS = 6


def new_reply_code() -> str:
    """Six digits: easy to type on a phone; tied to the sender's number, so guessing one is useless
    without also sending from a subscriber's phone."""
    return f"{secrets.randbelow(10**REPLY_CODE_DIGITS):0{REPLY_CODE_DIGITS}d}"


def reply_code_in(body: str) -> str | None:
    """The code in an SMS reply ("482913", "ack 482913", "482 913"), or None."""
    digits = "".join(c for c in body if c in "0123456789")
    return digits if len(digits) == REPLY_CODE_DIGITS else None
