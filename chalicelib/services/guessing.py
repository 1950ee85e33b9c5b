"""Limits on guessing: link tokens by source address, reply codes by phone.

Tokens carry a 160-bit MAC and codes only work from their own phone, so guessing cannot succeed;
the limits keep a guesser from costing anything (texts back, log lines) and tell it to slow down.
They count failures only and never stand between a recipient and a link that is valid: many
people share one address (an office's network, a mail scanner, a webhook platform), and one of
them guessing must not lock the others out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from chalicelib.domain.errors import TooManyRequests
from chalicelib.ports import RateLimiter

logger = structlog.get_logger()

TOKEN_FAILURES = 20  # invalid link tokens per source address ...
TOKEN_WINDOW = timedelta(minutes=10)  # ... in this window
CODE_FAILURES = 5  # unrecognised reply codes per phone ...
CODE_WINDOW = timedelta(hours=1)  # ... in this window


def token_failed(source: str, *, limits: RateLimiter, now: datetime) -> None:
    """Count an invalid link from ``source``; past the limit, say so (429) rather than "not valid"."""
    if limits.add(f"token:{source}", window=TOKEN_WINDOW, now=now) > TOKEN_FAILURES:
        logger.warning("guessing.refused", kind="token")
        raise TooManyRequests("too many invalid links from this address; try again later", retry_after=600)


def codes_blocked(phone: str, *, limits: RateLimiter, now: datetime) -> bool:
    return limits.count(f"code:{phone}", window=CODE_WINDOW, now=now) >= CODE_FAILURES


def code_failed(phone: str, *, limits: RateLimiter, now: datetime) -> None:
    limits.add(f"code:{phone}", window=CODE_WINDOW, now=now)
