"""The queue, topic and schedule handlers' work: read each event, hand it to a use case, report back.

``app.py`` declares the Lambda functions (which queue, topic or schedule each one takes) and calls
these. An SQS batch answers with the messages that failed (partial batch response), so the queue
retries only those; an unreadable SNS message is logged and dropped, since retrying cannot mend it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog
from chalice.app import SNSEvent, SQSEvent, SQSRecord

from chalicelib import logs
from chalicelib.domain.deliveries import SendMessage
from chalicelib.usecases import UseCases

if TYPE_CHECKING:
    from chalicelib.services.inbound import Inbound

logger = structlog.get_logger()

# What a carrier delivers: the sender's number in E.164 form, and a text of at most ten segments.
E164 = re.compile(r"\+[1-9]\d{6,14}")
MAX_TEXT = 1600


def each_record(event: SQSEvent, handle: Callable[[dict[str, Any], SQSRecord], bool]) -> dict[str, Any]:
    """Run ``handle`` per message; report the failures so SQS retries only those (partial batch response)."""
    failures = []
    for record in event:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(message_id=record.to_dict().get("messageId"))
        try:
            ok = handle(json.loads(record.body), record)
        except Exception:
            logger.exception("message.failed")
            ok = False
        if not ok:
            failures.append({"itemIdentifier": record.to_dict()["messageId"]})
    return {"batchItemFailures": failures}


def route_batch(event: SQSEvent, vigil: UseCases) -> dict[str, Any]:
    def route(body: dict[str, Any], _: SQSRecord) -> bool:
        vigil.route(body["notice_id"])
        return True

    return each_record(event, route)


def send_batch(event: SQSEvent, vigil: UseCases) -> dict[str, Any]:
    """The whole batch goes to one use case, which reads, claims and records for all its messages
    together; a message that is not JSON is reported failed at once, the others still handled."""
    messages: list[SendMessage] = []
    failures = []
    for record in event:
        raw = record.to_dict()
        try:
            body = json.loads(record.body)
        except ValueError:
            logger.warning("message.unreadable", message_id=raw.get("messageId"))
            failures.append({"itemIdentifier": raw["messageId"]})
            continue
        receives = int(raw.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        messages.append(SendMessage(raw["messageId"], body, receives, record.receipt_handle))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(message_ids=[m.message_id for m in messages])
    try:
        failed = vigil.handle_send_messages(messages)
    except Exception:  # whatever went wrong, every message goes back to SQS to be retried
        logger.exception("message.failed")
        failed = [m.message_id for m in messages]
    return {"batchItemFailures": failures + [{"itemIdentifier": i} for i in failed]}


def sweep_tick(vigil: UseCases, *, stage: str) -> dict[str, Any]:
    """Escalate what is due, then remove the personal data whose retention period has run out."""
    report = vigil.sweep()
    logs.metric(
        "NoticesPastLastStep", report.past_last_step, stage=stage, at_ms=int(vigil.now().timestamp() * 1000)
    )
    removed = vigil.remove_due_personal_data()
    return report.as_json() | removed.as_json()


def digest_tick(vigil: UseCases) -> dict[str, Any]:
    return vigil.write_digest().as_json()


def sms_received(event: SNSEvent, vigil: UseCases) -> None:
    """AWS End User Messaging publishes each inbound text as JSON."""
    try:
        message = json.loads(event.message)
        phone, text = str(message["originationNumber"]), str(message["messageBody"])
    except (ValueError, KeyError, TypeError):
        logger.warning("sms_reply.unreadable")
        return
    if not E164.fullmatch(phone):
        logger.warning("sms_reply.unreadable_number")
        return
    vigil.reply_to_text(phone, text[:MAX_TEXT])


def ses_feedback(event: SNSEvent, vigil: UseCases) -> None:
    """Bounces and complaints of tagged messages (the configuration set's destination)."""
    try:
        notification = json.loads(event.message)
    except ValueError:
        logger.warning("ses_feedback.unreadable")
        return
    logger.info("ses_feedback.handled", outcome=vigil.handle_ses_feedback(notification))


def mail_received(event: SNSEvent, vigil: UseCases) -> Inbound | None:
    """SES received a message, stored it in the inbound-mail bucket and announced it with its verdicts."""
    from chalicelib.schemas.inbound import parse_ses_notification

    try:
        stored = parse_ses_notification(json.loads(event.message))
    except ValueError:
        logger.warning("inbound_mail.unreadable_notification")
        return None
    result = vigil.receive_stored_mail(stored)
    if result is not None:
        logger.info(
            "inbound_mail.handled",
            notices=len(result.notices),
            reported=len(result.reported),
            triage=result.triage is not None,
        )
    return result
