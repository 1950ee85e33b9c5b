"""Email through SES v2 SendEmail: one call per message, because each carries its own ack link and headers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.aws import send_errors
from chalicelib.domain.messages import OutgoingEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sesv2.type_defs import MessageTagTypeDef

_TAG_SAFE = re.compile(r"[^A-Za-z0-9_.@-]")


def _tag_value(value: str) -> str:
    """SES tag values allow letters, digits, _ - . @ only; '#' in delivery ids becomes '.'."""
    return _TAG_SAFE.sub(".", value)[:256]


_RETRYABLE = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "LimitExceededException",
        "InternalFailure",
        "ServiceUnavailable",
    }
)


class SesEmailSender:
    def __init__(self, sender: str, client: SESV2Client, *, configuration_set: str | None = None) -> None:
        self._sender = sender
        self._client = client
        # The configuration set publishes bounces and complaints to the feedback topic.
        self._extra: dict[str, Any] = {"ConfigurationSetName": configuration_set} if configuration_set else {}

    def send(self, message: OutgoingEmail) -> str:
        tags: list[MessageTagTypeDef] = [{"Name": k, "Value": _tag_value(v)} for k, v in message.tags.items()]
        with send_errors("ses", _RETRYABLE):
            response = self._client.send_email(
                **self._extra,
                EmailTags=tags,
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        # Folded to one line whatever the caller built: a line break in a subject is an
                        # injected header.
                        "Subject": {"Data": " ".join(message.subject.split()), "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": message.text, "Charset": "UTF-8"},
                            "Html": {"Data": message.html, "Charset": "UTF-8"},
                        },
                        "Headers": [{"Name": k, "Value": v} for k, v in message.headers.items()],
                    }
                },
            )
        return response["MessageId"]
