"""What SES publishes when it receives a message for Vigil, for the local stack and the tests.

SES stores the raw message in the inbound-mail bucket (its S3 action) and publishes a "Received"
notification on the inbound-mail topic: ``receipt`` holds its verdicts (``spfVerdict``,
``dkimVerdict``, ``dmarcVerdict``, ``spamVerdict``, ``virusVerdict``, each ``{"status": …}``, and
``dmarcPolicy`` when DMARC failed) and ``action`` where it stored the message; ``mail`` holds the
envelope sender (``source``) and common headers. ``received_notification`` builds one as SES would,
and ``sns_event`` wraps it as Lambda hands it to ``on_inbound_email``.
"""

from __future__ import annotations

import email.policy
import email.utils
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _addresses(value: str | None) -> list[str]:
    return [address for _, address in email.utils.getaddresses([value or ""]) if "@" in address]


def received_notification(
    raw: bytes,
    *,
    bucket: str,
    key: str,
    verdicts: Mapping[str, str],
    stage: str,
    recipient: str = "notices@vigil.example.org",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The notification SES publishes after storing ``raw`` at ``bucket``/``key``. The envelope sender
    is the message's Return-Path, or its From address (what a sending server usually gives)."""
    moment = (
        (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:200_000])
    senders = _addresses(headers.get("Return-Path")) or _addresses(headers.get("From"))
    status = {name: {"status": verdicts.get(name, "NONE").upper()} for name in ("spf", "dkim", "dmarc")}
    receipt: dict[str, Any] = {
        "timestamp": moment,
        "processingTimeMillis": 412,
        "recipients": [recipient],
        "spamVerdict": {"status": verdicts.get("spam", "NONE").upper()},
        "virusVerdict": {"status": verdicts.get("virus", "NONE").upper()},
        "spfVerdict": status["spf"],
        "dkimVerdict": status["dkim"],
        "dmarcVerdict": status["dmarc"],
        "action": {
            "type": "S3",
            "topicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:vigil-{stage}-inbound-mail",
            "bucketName": bucket,
            "objectKeyPrefix": "",
            "objectKey": key,
        },
    }
    if status["dmarc"]["status"] == "FAIL":
        receipt["dmarcPolicy"] = "reject"
    return {
        "notificationType": "Received",
        "receipt": receipt,
        "mail": {
            "timestamp": moment,
            "source": senders[0] if senders else "",
            "messageId": key.rsplit("/", 1)[-1],
            "destination": [recipient],
            "headersTruncated": False,
            "commonHeaders": {
                "from": [str(headers.get("From", ""))],
                "to": [str(headers.get("To", ""))],
                "messageId": str(headers.get("Message-ID", "")),
                "subject": str(headers.get("Subject", "")),
            },
        },
    }


def sns_event(message: str, *, stage: str) -> dict[str, Any]:
    """The event Lambda builds for an SNS notification on the inbound-mail topic."""
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:vigil-{stage}-inbound-mail"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": "Amazon SES Email Receipt Notification",
                    "Message": message,
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "MessageAttributes": {},
                },
            }
        ]
    }
