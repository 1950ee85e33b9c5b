"""SQS work queue: JSON bodies sent in batches of ten."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamodb import chunks, error_code
from chalicelib.ports import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SEND_BATCH = 10  # SendMessageBatch's limit


class QueueUnavailable(StoreUnavailable):
    """SQS refused a send after the client's own retries."""


class SqsWorkQueue:
    def __init__(self, queue_name: str, client: SQSClient) -> None:
        self._name = queue_name
        self._client = client
        self._url: str | None = None

    @property
    def url(self) -> str:
        # Resolved once per container rather than configured: names are derived from the stage.
        if self._url is None:
            try:
                self._url = self._client.get_queue_url(QueueName=self._name)["QueueUrl"]
            except ClientError as exc:
                raise QueueUnavailable(f"queue {self._name}: {error_code(exc)}") from exc
        return self._url

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        try:
            self._client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
            )
        except ClientError as exc:
            # Not fatal: the message comes back after the queue's own visibility timeout instead.
            raise QueueUnavailable(f"change visibility on {self._name}: {error_code(exc)}") from exc

    def send_many(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        for chunk in chunks(bodies, SEND_BATCH):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": json.dumps(body, sort_keys=True)}
                for i, body in enumerate(chunk)
            ]
            for _ in range(3):
                try:
                    response = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
                except ClientError as exc:
                    raise QueueUnavailable(f"send to {self._name}: {error_code(exc)}") from exc
                failed = {f["Id"] for f in response.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            else:
                raise QueueUnavailable(f"send to {self._name}: {len(entries)} messages refused")
