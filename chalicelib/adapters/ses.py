"""Email through SES v2 SendEmail: one call per message, because each carries its own ack link and headers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import error_code
from chalicelib.domain.messages import OutgoingEmail
from chalicelib.ports import SendFailed

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

_RETRYABLE = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "LimitExceededException", "InternalFailure"}
)


class SesEmailSender:
    def __init__(self, sender: str, client: SESV2Client) -> None:
        self._sender = sender
        self._client = client

    def send(self, message: OutgoingEmail) -> str:
        try:
            response = self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": {
                            "Text": {"Data": message.text, "Charset": "UTF-8"},
                            "Html": {"Data": message.html, "Charset": "UTF-8"},
                        },
                        "Headers": [{"Name": k, "Value": v} for k, v in message.headers.items()],
                    }
                },
            )
        except ClientError as exc:
            code = error_code(exc)
            raise SendFailed(f"ses: {code}", retryable=code in _RETRYABLE) from exc
        return response["MessageId"]
