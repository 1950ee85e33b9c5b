"""structlog set-up (JSON in Lambda, console locally) and the personal-data scrubbing processor.

Personal data is never meant to be logged; ``scrub_personal_data`` is the safety net that catches
what slips through: keys that hold personal data are masked whole, and values that look like an
email address, a phone number or an A-number are masked wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"

PERSONAL_KEYS = frozenset(
    {
        "subject",
        "subject_name",
        "date_of_birth",
        "dob",
        "a_number",
        "alien_number",
        "phone",
        "email",
        "address",
        "to",
        "from",
        "recipient_address",
        "authorization",
        "secret",
        "api_key",
        "token",
    }
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d{8,15}\b")
_A_NUMBER = re.compile(r"\bA[- ]?\d{3}[- ]?\d{3}[- ]?\d{1,3}\b", re.IGNORECASE)


MAX_LOGGED_CHARS = 2000


def scrub_text(text: str) -> str:
    # Truncated first: log lines are not for megabytes, and the patterns must stay linear in practice.
    if len(text) > MAX_LOGGED_CHARS:
        text = text[:MAX_LOGGED_CHARS] + "…[truncated]"
    for pattern in (_EMAIL, _PHONE, _A_NUMBER):
        text = pattern.sub(REDACTED, text)
    return text


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if str(k).lower() in PERSONAL_KEYS else _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    return value


def scrub_personal_data(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask personal data in every field of every log line."""
    for key in list(event_dict):
        if key.lower() in PERSONAL_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _current_stdout(*_: Any) -> structlog.PrintLogger:
    # Looked up per logger, not at configure time, so a replaced sys.stdout (pytest's capture) is honoured.
    return structlog.PrintLogger(sys.stdout)


def configure(*, level: str = "INFO", json: bool = True) -> None:
    """Idempotent: safe to call from every entry point and every test."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            scrub_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=_current_stdout,
        cache_logger_on_first_use=False,
    )


def metric(name: str, value: float, *, stage: str, unit: str = "Count", at_ms: int) -> None:
    """A CloudWatch metric by the embedded metric format: one log line, no API call."""
    structlog.get_logger().info(
        "metric.emitted",
        _aws={
            "Timestamp": at_ms,
            "CloudWatchMetrics": [
                {"Namespace": "Vigil", "Dimensions": [["Stage"]], "Metrics": [{"Name": name, "Unit": unit}]}
            ],
        },
        Stage=stage,
        **{name: value},
    )
