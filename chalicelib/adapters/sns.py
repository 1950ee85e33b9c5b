"""SMS through SNS Publish to a phone number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dynamodb import error_code, transient
from chalicelib.domain.messages import OutgoingSms
from chalicelib.ports import SendFailed

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
        try:
            response = self._client.publish(
                PhoneNumber=message.to,
                Message=message.body,
                MessageAttributes={
                    # Alerts must not be filtered as marketing or delayed for cost.
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
                },
            )
        except ClientError as exc:
            raise SendFailed(f"sns: {error_code(exc)}", retryable=transient(exc, _RETRYABLE)) from exc
        except BotoCoreError as exc:  # no answer (connection, timeout): the text may go through later
            raise SendFailed(f"sns: {type(exc).__name__}", retryable=True) from exc
        return response["MessageId"]
