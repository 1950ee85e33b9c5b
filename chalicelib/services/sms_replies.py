"""Inbound texts: opt-out keywords, confirmation codes, and acknowledgment reply codes.

A code only works from the phone it was sent to, so a guessed code from another number does nothing.

Every answer is in the language of the number's owner; a number Vigil does not know is answered in
Spanish when its text was a Spanish keyword (AYUDA, PARAR), and otherwise in English.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from chalicelib.domain.acknowledgments import AckOutcome, AckVia, reply_code_in
from chalicelib.domain.errors import NotFound
from chalicelib.domain.language import N_, Language, words_for
from chalicelib.domain.messages import OutgoingSms
from chalicelib.domain.subscribers import Channel, ChannelRef
from chalicelib.ports import (
    AckCodeStore,
    AckLog,
    ContactStore,
    DeliveryStore,
    NoticeStore,
    PolicyStore,
    RateLimiter,
    Senders,
    SendFailed,
    SubscriberStore,
)
from chalicelib.services import guessing
from chalicelib.services import subscribers as subscriber_service
from chalicelib.services.acknowledgment import acknowledge

logger = structlog.get_logger()

# The keywords US carriers and CTIA guidelines expect (and AWS End User Messaging recognises), and
# their Spanish counterparts, which Vigil honours itself (a carrier may not).
SPANISH_STOP_WORDS = frozenset({"PARAR", "ALTO", "BAJA"})
SPANISH_START_WORDS = frozenset({"REANUDAR"})
SPANISH_HELP_WORDS = frozenset({"AYUDA"})
STOP_WORDS = (
    frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
    | SPANISH_STOP_WORDS
)
START_WORDS = frozenset({"START", "UNSTOP", "YES"}) | SPANISH_START_WORDS
HELP_WORDS = frozenset({"HELP", "INFO"}) | SPANISH_HELP_WORDS
_SPANISH_WORDS = SPANISH_STOP_WORDS | SPANISH_START_WORDS | SPANISH_HELP_WORDS


class Reply(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY = "already-acknowledged"
    LATE = "acknowledged-late"
    CONFIRMED = "confirmed"
    STOPPED = "stopped"
    STARTED = "started"
    HELP = "help"
    UNRECOGNISED = "unrecognised"
    TOO_MANY = "too-many-attempts"


# In English; each is sent in the language of whoever replied (``_answer``).
ANSWERS = {
    Reply.ACKNOWLEDGED: N_("Vigil: acknowledged. Thank you."),
    Reply.ALREADY: N_("Vigil: you had already acknowledged this notice. Nothing more is needed."),
    Reply.LATE: N_("Vigil: recorded. The notice was already closed; your acknowledgment is kept as late."),
    Reply.CONFIRMED: N_("Vigil: this number is confirmed for alerts. Reply STOP to opt out, HELP for help."),
    Reply.STOPPED: N_("Vigil: you will get no more texts from Vigil. Reply START to resume."),
    Reply.STARTED: N_("Vigil: texts resumed. Reply STOP to stop, HELP for help."),
    Reply.HELP: N_(
        "Vigil alerts on immigration enforcement notices. Reply with the 6-digit code of an alert "
        "to acknowledge it. STOP to stop texts, START to resume."
    ),
    Reply.TOO_MANY: N_(
        "Vigil: too many unrecognised codes from this number. Please use the link in the email."
    ),
    Reply.UNRECOGNISED: N_(
        "Vigil: that code was not recognised for this number. Reply with the 6-digit code from "
        "the alert you received, or use the link in the email."
    ),
}
_ACK_REPLIES = {
    AckOutcome.ACKNOWLEDGED: Reply.ACKNOWLEDGED,
    AckOutcome.ALREADY: Reply.ALREADY,
    AckOutcome.LATE: Reply.LATE,
}


@dataclass(frozen=True, slots=True)
class ReplyHandled:
    reply: Reply
    answer: str


@dataclass(frozen=True, slots=True)
class Inbox:
    """The stores an inbound text may touch."""

    codes: AckCodeStore
    contacts: ContactStore
    notices: NoticeStore
    deliveries: DeliveryStore
    subscribers: SubscriberStore
    policies: PolicyStore
    ack_log: AckLog
    limits: RateLimiter


def handle_reply(
    phone: str, body: str, *, inbox: Inbox, senders: Senders, admins: Sequence[Channel], now: datetime
) -> ReplyHandled:
    word = body.strip().upper()
    if word in STOP_WORDS or word in START_WORDS:
        reply = _opt(phone, stop=word in STOP_WORDS, inbox=inbox, senders=senders, admins=admins, now=now)
    elif word in HELP_WORDS:
        reply = Reply.HELP
    else:
        reply = _code(phone, body, inbox=inbox, now=now)
    logger.info("sms_reply.handled", reply=str(reply))
    answer = words_for(_language(phone, word, inbox))(ANSWERS[reply])
    # The answer to STOP is the one text a number that opted out still gets, as carriers require.
    # What the reply did is recorded whether or not the answer goes out: a provider's refusal must
    # not undo an acknowledgment or a STOP (and the carrier retries nothing).
    try:
        senders.sms.send(OutgoingSms(to=phone, body=answer))
    except SendFailed as exc:
        logger.warning("sms_reply.answer_not_sent", reason=exc.reason)
    return ReplyHandled(reply, answer)


def _language(phone: str, word: str, inbox: Inbox) -> Language:
    """The language of the number's owner; for a number Vigil does not know (or no longer), Spanish
    if it wrote a Spanish keyword, otherwise English."""
    ref = inbox.contacts.owner(phone)
    if ref is not None:
        with contextlib.suppress(NotFound):
            return inbox.subscribers.get(ref.subscriber_id).language
    return Language.SPANISH if word in _SPANISH_WORDS else Language.ENGLISH


def _opt(
    phone: str, *, stop: bool, inbox: Inbox, senders: Senders, admins: Sequence[Channel], now: datetime
) -> Reply:
    ref = inbox.contacts.owner(phone)
    if ref is not None:
        with contextlib.suppress(NotFound):  # the subscriber or channel is gone: nothing left to stop
            subscriber_service.set_opted_out(
                ref,
                stop,
                subscribers=inbox.subscribers,
                senders=senders,
                admins=admins,
                ack_log=inbox.ack_log,
                now=now,
            )
    return Reply.STOPPED if stop else Reply.STARTED


def _code(phone: str, body: str, *, inbox: Inbox, now: datetime) -> Reply:
    if guessing.codes_blocked(phone, limits=inbox.limits, now=now):
        return Reply.TOO_MANY
    reply = _matched_code(phone, body, inbox=inbox, now=now)
    if reply is Reply.UNRECOGNISED:
        guessing.code_failed(phone, limits=inbox.limits, now=now)
    return reply


def _matched_code(phone: str, body: str, *, inbox: Inbox, now: datetime) -> Reply:
    code = reply_code_in(body)
    target = inbox.codes.lookup(phone, code) if code else None
    try:
        if isinstance(target, ChannelRef):
            subscriber_service.confirm_channel(
                target, subscribers=inbox.subscribers, ack_log=inbox.ack_log, now=now
            )
            return Reply.CONFIRMED
        if target is not None:
            result = acknowledge(
                target,
                via=AckVia.SMS,
                notices=inbox.notices,
                deliveries=inbox.deliveries,
                policies=inbox.policies,
                ack_log=inbox.ack_log,
                now=now,
            )
            return _ACK_REPLIES[result.outcome]
    except NotFound:
        pass
    return Reply.UNRECOGNISED
