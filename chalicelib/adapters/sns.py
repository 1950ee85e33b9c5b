"""SMS through SNS Publish to a phone number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.aws import send_errors
from chalicelib.domain.messages import OutgoingSms

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

_RETRYABLE = frozenset(
    {
        "Throttled",
        "Throttling",
        "ThrottlingException",
        "KMSThrottling",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
    }
)


class SnsSmsSender:
    def __init__(self, client: SNSClient, *, sender_id: str = "VIGIL") -> None:
        self._client = client
        self._sender_id = sender_id

    def send(self, message: OutgoingSms) -> str:
        with send_errors("sns", _RETRYABLE):
            response = self._client.publish(
                PhoneNumber=message.to,
                Message=message.body,
                MessageAttributes={
                    # Alerts must not be filtered as marketing or delayed for cost.
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
                },
            )
        return response["MessageId"]
