"""What the inbound mail tests share: the corpus of hand-written messages, a message built around a
body (``message``), its reading with the registry (``parse``), and the check of an instant found."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from chalicelib.data import load_registry
from chalicelib.domain.inbound_mail import Extraction, parse_message

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
RECEIVED_AT = datetime(2012, 2, 27, 17, 0, tzinfo=UTC)
REGISTRY = load_registry()
FRIDAY = "Fri, 17 Feb 2012 16:05:00 -0500"


def parse(raw: bytes, received_at: datetime = RECEIVED_AT) -> Extraction:
    return parse_message(raw, registry=REGISTRY, received_at=received_at)


def message(
    body: str,
    *,
    subject: str = "Notice",
    date: str | None = FRIDAY,
    sender: str = "ICE ERO Hartford <ero.hartford@example.gov>",
    content_type: str = 'text/plain; charset="utf-8"',
) -> bytes:
    headers = [f"From: {sender}", "To: Desk Officers <desk.officers@example.gov>", f"Subject: {subject}"]
    if date is not None:
        headers.append(f"Date: {date}")
    headers += ["MIME-Version: 1.0", f"Content-Type: {content_type}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode(
        "utf-8"
    )


def assert_instant(value: datetime | None, expected: str | None) -> None:
    if expected is None:
        assert value is None
        return
    assert value is not None
    assert value == datetime.fromisoformat(expected)
