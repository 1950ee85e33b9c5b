"""SQS work queue: JSON bodies sent in batches of ten."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.aws import store_errors, store_failure
from chalicelib.adapters.dynamodb import chunks
from chalicelib.ports import StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

SEND_BATCH = 10  # SendMessageBatch's limit


class QueueUnavailable(StoreUnavailable):
    """SQS refused or did not answer a call after the client's own retries."""


class SqsWorkQueue:
    def __init__(self, queue_name: str, client: SQSClient) -> None:
        self._name = queue_name
        self._client = client
        self._url: str | None = None

    @property
    def url(self) -> str:
        # Resolved once per container rather than configured: names are derived from the stage.
        if self._url is None:
            with store_errors("GetQueueUrl", self._name, kind=QueueUnavailable):
                self._url = self._client.get_queue_url(QueueName=self._name)["QueueUrl"]
        return self._url

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        # Not fatal: the message comes back after the queue's own visibility timeout instead.
        with store_errors("ChangeMessageVisibility", self._name, kind=QueueUnavailable):
            self._client.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_seconds
            )

    def send_many(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        for chunk in chunks(bodies, SEND_BATCH):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": json.dumps(body, sort_keys=True)}
                for i, body in enumerate(chunk)
            ]
            for _ in range(3):
                with store_errors("SendMessageBatch", self._name, kind=QueueUnavailable):
                    response = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
                failed = {f["Id"] for f in response.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            else:
                raise store_failure(
                    "SendMessageBatch",
                    self._name,
                    "Failed",
                    detail=f"{len(entries)} refused",
                    kind=QueueUnavailable,
                )
