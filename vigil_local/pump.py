"""Stand-in for Lambda's SQS event source mapping: poll each queue, invoke its handler, delete what succeeded.

As in AWS with ``ReportBatchItemFailures`` on: the handler gets up to ten messages in one
Lambda-shaped event; the messages it lists in ``batchItemFailures`` stay on the queue and come back
after their visibility timeout (until the redrive policy moves them to the dead-letter queue); the
others are deleted. A handler that raises, or answers with an identifier that is not in the batch,
fails the whole batch, so nothing is deleted.

Each invocation (receive → handle → delete) is one reader of the state lock, so a snapshot of the
local stack never holds a batch received and not yet settled. To keep those readers short, the pump
asks without waiting (a short poll) and, when a queue is empty, waits outside the lock until
``wake()`` (the emulator calls it when a message is sent) or ``IDLE_SECONDS`` (for messages whose
delay or visibility timeout ran out), instead of SQS's long poll held inside the lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from vigil_local.state_lock import StateLock

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

logger = structlog.get_logger()

LambdaHandler = Callable[[dict[str, Any], Any], Any]

BATCH_SIZE = 10
# An empty queue is asked again after this, or at once when wake() says a message was sent.
IDLE_SECONDS = 1.0
# Lambda's own limit for a function; the handlers may read it through the context.
FUNCTION_TIMEOUT_MS = 60_000


class LambdaContext:
    """The parts of Lambda's context object that handlers (and Chalice) read."""

    def __init__(self, function_name: str, *, timeout_ms: int = FUNCTION_TIMEOUT_MS) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True, slots=True)
class QueueBinding:
    """One event source mapping: a queue, its ARN, and the handler Lambda would invoke."""

    name: str
    url: str
    arn: str
    handler: LambdaHandler
    function_name: str


def sqs_event(messages: Sequence[MessageTypeDef], *, arn: str, region: str) -> dict[str, Any]:
    """The event Lambda builds for a batch of SQS messages."""
    return {
        "Records": [
            {
                "messageId": message.get("MessageId", ""),
                "receiptHandle": message.get("ReceiptHandle", ""),
                "body": message.get("Body", ""),
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {
                    name: _message_attribute(value)
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "dataType": value.get("DataType", "String"),
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": list(value.get("BinaryListValues", [])),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = value["BinaryValue"]
    return out


def succeeded(messages: Sequence[MessageTypeDef], response: Any) -> list[MessageTypeDef]:
    """The messages to delete, given what the handler answered (Lambda's partial batch response rules)."""
    if response is None:
        return list(messages)
    if not isinstance(response, Mapping):
        return list(messages)  # no partial batch response: Lambda counts the invocation as a success
    failures = response.get("batchItemFailures")
    if failures is None:
        return list(messages)
    ids = {message.get("MessageId") for message in messages}
    if not isinstance(failures, list):
        return []
    failed: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return []  # an unusable answer fails the whole batch, as in Lambda
        failed.add(identifier)
    return [message for message in messages if message.get("MessageId") not in failed]


class QueuePump:
    """A thread per queue: poll, invoke, delete the successes. ``stop()`` ends within ~1 s."""

    def __init__(
        self,
        sqs: SQSClient,
        bindings: Sequence[QueueBinding],
        *,
        region: str,
        lock: StateLock | None = None,
    ) -> None:
        self._sqs = sqs
        self._bindings = tuple(bindings)
        self._region = region
        self._lock = lock
        self._stop = threading.Event()
        self._wakeups = {binding.name: threading.Event() for binding in self._bindings}
        self._threads: list[threading.Thread] = []

    def wake(self) -> None:
        """A message may be waiting: ask the empty queues again now."""
        for wakeup in self._wakeups.values():
            wakeup.set()

    def start(self) -> QueuePump:
        self._stop.clear()
        for binding in self._bindings:
            thread = threading.Thread(
                target=self._run, args=(binding,), name=f"pump-{binding.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        logger.info("queue_pump.started", queues=[b.name for b in self._bindings])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self._threads.clear()
        logger.info("queue_pump.stopped")

    def poll_once(self, binding: QueueBinding) -> int:
        """Receive one batch and process it; returns how many messages were received."""
        response = self._sqs.receive_message(
            QueueUrl=binding.url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, arn=binding.arn, region=self._region)
        context = LambdaContext(binding.function_name)
        try:
            answer = binding.handler(event, context)
        except Exception:
            logger.exception("queue_batch.failed", queue=binding.name, messages=len(messages))
            return len(messages)
        done = succeeded(messages, answer)
        if done:
            self._delete(binding, done)
        if len(done) < len(messages):
            logger.warning(
                "queue_batch.partially_failed",
                queue=binding.name,
                messages=len(messages),
                failed=len(messages) - len(done),
            )
        return len(messages)

    def _delete(self, binding: QueueBinding, messages: Sequence[MessageTypeDef]) -> None:
        result = self._sqs.delete_message_batch(
            QueueUrl=binding.url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": message.get("ReceiptHandle", "")}
                for i, message in enumerate(messages)
            ],
        )
        if result.get("Failed"):
            logger.warning("queue_messages.not_deleted", queue=binding.name, failed=len(result["Failed"]))

    def _invocation(self) -> AbstractContextManager[None]:
        return self._lock.reading() if self._lock is not None else nullcontext()

    def _run(self, binding: QueueBinding) -> None:
        wakeup = self._wakeups[binding.name]
        while not self._stop.is_set():
            wakeup.clear()  # before the poll: a send during it wakes the wait after it
            try:
                with self._invocation():
                    received = self.poll_once(binding)
            except Exception:
                if self._stop.is_set():
                    return
                logger.exception("queue_poll.failed", queue=binding.name)
                self._stop.wait(1.0)
                continue
            if not received:
                wakeup.wait(IDLE_SECONDS)
