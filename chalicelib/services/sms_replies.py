"""Inbound texts: a reply code acknowledges the delivery it was sent with, from that phone only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from chalicelib.domain.acknowledgments import AckOutcome, AckVia, reply_code_in
from chalicelib.domain.errors import NotFound
from chalicelib.domain.messages import OutgoingSms
from chalicelib.ports import AckCodeStore, AckLog, DeliveryStore, NoticeStore, PolicyStore, SmsSender
from chalicelib.services.acknowledgment import acknowledge

logger = structlog.get_logger()

HELP = (
    "Vigil: that code was not recognised for this number. Reply with the 6-digit code from the alert "
    "you received, or use the link in the email."
)
ANSWERS = {
    AckOutcome.ACKNOWLEDGED: "Vigil: acknowledged. Thank you.",
    AckOutcome.ALREADY: "Vigil: you had already acknowledged this notice. Nothing more is needed.",
    AckOutcome.LATE: "Vigil: recorded. The notice was already closed; your acknowledgment is kept as late.",
}


@dataclass(frozen=True, slots=True)
class ReplyHandled:
    outcome: AckOutcome | None
    answer: str


def handle_reply(
    phone: str,
    body: str,
    *,
    codes: AckCodeStore,
    notices: NoticeStore,
    deliveries: DeliveryStore,
    policies: PolicyStore,
    log: AckLog,
    sms: SmsSender,
    now: datetime,
) -> ReplyHandled:
    code = reply_code_in(body)
    target = codes.lookup(phone, code) if code else None
    outcome: AckOutcome | None = None
    if target is not None:
        try:
            outcome = acknowledge(
                target,
                via=AckVia.SMS,
                notices=notices,
                deliveries=deliveries,
                policies=policies,
                log=log,
                now=now,
            ).outcome
        except NotFound:
            outcome = None
    answer = ANSWERS[outcome] if outcome else HELP
    logger.info("sms_reply.handled", outcome=str(outcome) if outcome else "unrecognised")
    sms.send(OutgoingSms(to=phone, body=answer))
    return ReplyHandled(outcome, answer)
