"""Send the deliveries of one send invocation's messages, each at most once."""

from __future__ import annotations

import functools
import html
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from chalicelib.domain.acklog import EntryKind, LogConflict
from chalicelib.domain.chat import render_chat
from chalicelib.domain.deliveries import (
    DELIVERIES_PER_CLAIM,
    FINAL_STATUSES,
    WEBHOOK_FAILURE_LIMIT,
    Claim,
    Delivery,
    DeliveryStatus,
    SendMessage,
    attempts_allowed,
    attempts_left,
    carried_deliveries,
    retry_delay,
)
from chalicelib.domain.errors import ChangedMeanwhile, NotFound
from chalicelib.domain.language import DEFAULT_LANGUAGE, Language
from chalicelib.domain.messages import (
    OutgoingEmail,
    render_email,
    render_sms,
    render_webhook,
    unsubscribe_headers,
)
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import (
    CHAT_CHANNELS,
    ENDPOINT_CHANNELS,
    Channel,
    ChannelRef,
    ChannelType,
    Subscriber,
)
from chalicelib.domain.tokens import AckTarget
from chalicelib.ports import (
    AckCodeStore,
    AckLog,
    DeliveryStore,
    Links,
    NoticeReader,
    Senders,
    SendFailed,
    StoreUnavailable,
    SubscriberStore,
    WorkQueue,
)
from chalicelib.services import subscribers as subscriber_service

logger = structlog.get_logger()

# Deliveries of the "admins" escalation step have no subscriber behind them.
ADMIN_PREFIX = "admin-"


class NoticesReadOnce:
    """The notices of one send invocation, each read once: its (up to ten) messages mostly carry
    deliveries of one notice, and what is rendered needs no fresher copy than the first read."""

    def __init__(self, store: NoticeReader) -> None:
        self._store = store
        self._read: dict[str, Notice] = {}

    def get(self, notice_id: str) -> Notice:
        if notice_id not in self._read:
            self._read[notice_id] = self._store.get(notice_id)
        return self._read[notice_id]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int
    # Already sent (or bounced) before this invocation: nothing to do.
    done_before: int
    # Claimed by another invocation that has not finished, or crashed and whose lease has not run out.
    in_flight: tuple[str, ...]
    # Failed in a way that trying again may mend (throttling, a 5xx, a timeout).
    failed: tuple[str, ...]
    # Failed for good (an invalid address, a 4xx): not retried, handed to the dead-letter queue.
    permanent: tuple[str, ...] = ()
    # The longest wait a receiver asked for (Retry-After), in seconds.
    retry_after: float | None = None
    # Log entries the log refused, to be written by a message of their own.
    unlogged: tuple[dict[str, Any], ...] = ()
    # How many times each delivery still to be sent (failed, or in flight) has been attempted.
    attempts: Mapping[str, int] = field(default_factory=dict)

    @property
    def needs_retry(self) -> bool:
        """Keep the message until each of its deliveries is sent: one whose sender crashed is
        claimable again once its lease lapses, and only a retried message can claim it."""
        return bool(self.failed or self.in_flight)


@dataclass(frozen=True, slots=True)
class Delivered:
    """The messages of one send invocation: a report for each message handled, and the ids of
    those a store refused before anything of theirs was sent (retried whole by the queue)."""

    reports: Mapping[str, DeliveryReport]
    unhandled: tuple[str, ...] = ()


def deliver(
    messages: Sequence[SendMessage],
    *,
    notices: NoticeReader,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    senders: Senders,
    codes: AckCodeStore,
    links: Links,
    admins: Sequence[Channel],
    lease: timedelta,
    now: datetime,
) -> Delivered:
    """Send the deliveries of one invocation's messages, each at most once.

    The messages are taken in batches of whole messages (up to ``DELIVERIES_PER_CLAIM`` deliveries):
    one read of the batch's subscribers, one claim, one reply-code write for its texts, then the
    sends and one record of the outcomes. A store that refuses a batch's read or claim costs only
    that batch's messages, which come back whole; nothing of theirs was claimed. The log entries
    are left in the reports (``unlogged``) for ``write_log`` to write once for the invocation."""
    reading = notices if isinstance(notices, NoticesReadOnce) else NoticesReadOnce(notices)
    unhandled: list[str] = []
    planned: list[tuple[SendMessage, list[Delivery]]] = []
    for message in messages:
        try:
            reading.get(message.body["notice_id"])
            wanted = carried_deliveries(message.body)
            if wanted is None:  # names its deliveries only: a redrive from the dead-letter queue
                wanted = deliveries.get_many(message.body["notice_id"], message.body["delivery_ids"])
        except Exception:  # this message's failure must not fail the others: logged, retried
            logger.exception("send_message.unreadable", message_id=message.message_id)
            unhandled.append(message.message_id)
            continue
        planned.append((message, wanted))
    reports: dict[str, DeliveryReport] = {}
    for batch in _batches(planned):
        ids = [m.message_id for m, _ in batch]
        try:
            done = _deliver_batch(
                batch,
                notices=reading,
                deliveries=deliveries,
                subscribers=subscribers,
                senders=senders,
                codes=codes,
                links=links,
                admins=admins,
                lease=lease,
                now=now,
            )
        except Exception:  # one batch's store failure must not fail the others: logged, retried
            logger.exception("send_batch.unhandled", messages=len(ids))
            unhandled += ids
            continue
        reports.update(done)
    return Delivered(reports=reports, unhandled=tuple(unhandled))


def _batches(
    planned: Sequence[tuple[SendMessage, list[Delivery]]],
) -> Iterator[list[tuple[SendMessage, list[Delivery]]]]:
    """Whole messages, in order, up to ``DELIVERIES_PER_CLAIM`` deliveries a batch: a refusal of a
    batch's read or claim then concerns exactly its messages."""
    batch: list[tuple[SendMessage, list[Delivery]]] = []
    size = 0
    for message, wanted in planned:
        if batch and size + len(wanted) > DELIVERIES_PER_CLAIM:
            yield batch
            batch, size = [], 0
        batch.append((message, wanted))
        size += len(wanted)
    if batch:
        yield batch


def _deliver_batch(
    batch: Sequence[tuple[SendMessage, list[Delivery]]],
    *,
    notices: NoticesReadOnce,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    senders: Senders,
    codes: AckCodeStore,
    links: Links,
    admins: Sequence[Channel],
    lease: timedelta,
    now: datetime,
) -> dict[str, DeliveryReport]:
    wanted = [d for _, ds in batch for d in ds]
    # Read before the claim, so a refused read leaves nothing claimed; read at send time all the
    # same: a channel opted out or switched off since routing gets nothing more.
    people = {d.subscriber_id for d in wanted if not d.subscriber_id.startswith(ADMIN_PREFIX)}
    owners = subscribers.get_many(sorted(people)) if people else {}
    # Only what this invocation claims is sent: a redelivered message finds its deliveries already
    # sent (or claimed by a live invocation) and sends nothing.
    claim = deliveries.claim(wanted, now=now, lease=lease) if wanted else Claim((), ())
    outcomes: list[Delivery] = []
    failures: dict[tuple[str, str], SendFailed] = {}
    sendable: list[tuple[Delivery, Channel, Language]] = []
    for delivery in claim.claimed:
        owner = owners.get(delivery.subscriber_id)
        channel = owner.channel(delivery.channel_id) if owner else None
        if delivery.subscriber_id.startswith(ADMIN_PREFIX):
            channel = Channel(delivery.channel_type, delivery.address)
        if channel is None or not channel.active:
            reason = f"channel {channel.state if channel else 'removed'} before sending"
            outcomes.append(delivery.cancelled(reason=reason))
            logger.info(
                "delivery.cancelled",
                notice_id=delivery.notice_id,
                delivery_id=delivery.delivery_id,
                reason=reason,
            )
            continue
        # The admins' deliveries have no subscriber behind them: English.
        sendable.append((delivery, channel, owner.language if owner else DEFAULT_LANGUAGE))
    reply_codes = _issue_reply_codes([d for d, _, _ in sendable], codes=codes, now=now)
    for delivery, channel, language in sendable:
        try:
            provider_id = _send(
                notices.get(delivery.notice_id),
                delivery,
                channel,
                language=language,
                senders=senders,
                reply_code=reply_codes.get(_key(delivery)),
                links=links,
                now=now,
            )
        except Exception as exc:  # one delivery's failure must not lose the outcomes of the others
            failure = exc if isinstance(exc, SendFailed) else SendFailed(type(exc).__name__, retryable=True)
            outcomes.append(delivery.failed(error=failure.reason))
            failures[_key(delivery)] = failure
            logger.warning(
                "delivery.failed",
                notice_id=delivery.notice_id,
                delivery_id=delivery.delivery_id,
                channel=str(delivery.channel_type),
                reason=failure.reason,
                retryable=failure.retryable,
            )
            continue
        outcomes.append(delivery.sent(provider_message_id=provider_id, now=now))
        logger.info(
            "delivery.sent",
            notice_id=delivery.notice_id,
            delivery_id=delivery.delivery_id,
            channel=str(delivery.channel_type),
        )
    deliveries.record(outcomes)
    _track_webhook_health(outcomes, owners, subscribers=subscribers, senders=senders, admins=admins, now=now)
    # A delivery two messages carry (a notice routed again) is reported, and logged, by the first.
    reports: dict[str, DeliveryReport] = {}
    taken: set[tuple[str, str]] = set()
    for message, ds in batch:
        own = [d for d in ds if _key(d) not in taken]
        taken.update(_key(d) for d in own)
        reports[message.message_id] = _report(own, outcomes, claim.refused, failures, now=now)
    return reports


def _report(
    wanted: Sequence[Delivery],
    outcomes: Sequence[Delivery],
    refused: Sequence[Delivery],
    failures: Mapping[tuple[str, str], SendFailed],
    *,
    now: datetime,
) -> DeliveryReport:
    """One message's share of its batch's outcomes."""
    keys = {_key(d) for d in wanted}
    mine = [d for d in outcomes if _key(d) in keys]
    unclaimed = [d for d in refused if _key(d) in keys]
    mine_failed = [d for d in mine if _key(d) in failures]
    failed = [d for d in mine_failed if failures[_key(d)].retryable]
    permanent = [d.delivery_id for d in mine_failed if not failures[_key(d)].retryable]
    in_flight = [d for d in unclaimed if d.status not in FINAL_STATUSES]
    waits = [f.retry_after for k, f in failures.items() if k in keys and f.retry_after is not None]
    return DeliveryReport(
        sent=sum(d.status is DeliveryStatus.SENT for d in mine),
        done_before=sum(d.status in FINAL_STATUSES for d in unclaimed),
        in_flight=tuple(d.delivery_id for d in in_flight),
        failed=tuple(d.delivery_id for d in failed),
        permanent=tuple(permanent),
        retry_after=max(waits) if waits else None,
        unlogged=tuple(log_entries(mine, now)),
        attempts={d.delivery_id: d.attempts for d in (*failed, *in_flight)},
    )


def _key(d: Delivery) -> tuple[str, str]:
    """A delivery's identity: its id is unique within its notice only."""
    return (d.notice_id, d.delivery_id)


def _track_webhook_health(
    outcomes: Sequence[Delivery],
    owners: Mapping[str, Subscriber],
    *,
    subscribers: SubscriberStore,
    senders: Senders,
    admins: Sequence[Channel],
    now: datetime,
) -> None:
    """Keep each webhook and chat endpoint's record of failures (since when, how many in a row); one
    that has failed every attempt of a whole retry schedule is switched off and the admins told,
    rather than retried into the dead-letter queue for ever."""
    for d in outcomes:
        owner = owners.get(d.subscriber_id)
        channel = owner.channel(d.channel_id) if owner else None
        if owner is None or channel is None or d.channel_type not in ENDPOINT_CHANNELS:
            continue
        if d.status not in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
            continue
        ok = d.status is DeliveryStatus.SENT
        # The copy read when the batch was claimed answers the common case (a healthy endpoint that
        # answered) without a read; any change is made on the stored record, which an admin or
        # another invocation may have changed since.
        if channel.after_send(ok=ok, now=now, limit=WEBHOOK_FAILURE_LIMIT) == channel:
            continue
        try:
            changed = subscriber_service.change_channel(
                ChannelRef(d.subscriber_id, d.channel_id),
                functools.partial(Channel.after_send, ok=ok, now=now, limit=WEBHOOK_FAILURE_LIMIT),
                subscribers=subscribers,
            )
        except NotFound:  # deleted meanwhile, channel and all
            continue
        except ChangedMeanwhile:
            # The sends are done and must not be repeated for a bookkeeping write: this attempt goes
            # uncounted, and the endpoint's next attempt is counted as usual.
            logger.warning(
                "webhook.health_unrecorded", subscriber_id=d.subscriber_id, channel_id=d.channel_id
            )
            continue
        if changed and changed.after.disabled and not changed.before.disabled:
            logger.warning("webhook.disabled", subscriber_id=d.subscriber_id, channel_id=d.channel_id)
            _tell_admins(changed.subscriber, changed.after, senders=senders, admins=admins)


def _tell_admins(
    subscriber: Subscriber, channel: Channel, *, senders: Senders, admins: Sequence[Channel]
) -> None:
    since = channel.failing_since.isoformat() if channel.failing_since else "more than a day ago"
    kind = "webhook" if channel.type is ChannelType.WEBHOOK else f"{str(channel.type).capitalize()} channel"
    text = (
        f"The {kind} endpoint of {subscriber.name} ({subscriber.organization}) has failed "
        f"{channel.consecutive_failures} attempts in a row since {since} and is now disabled.\n"
        f"Channel {channel.id}, subscriber {subscriber.id}. Fix the receiver, then re-enable it with\n"
        f'PATCH /subscribers/{subscriber.id} {{"enable_channels": ["{channel.id}"]}}\n'
    )
    for admin in admins:
        try:
            senders.email.send(
                OutgoingEmail(
                    to=admin.address,
                    subject=f"[Vigil] {kind[:1].upper()}{kind[1:]} of {subscriber.name} disabled after "
                    f"{channel.consecutive_failures} failed attempts in a row",
                    text=text,
                    html="<pre>" + html.escape(text) + "</pre>",
                )
            )
        except SendFailed as exc:
            logger.error("admin_alert.failed", reason=exc.reason)


def log_entries(outcomes: Sequence[Delivery], now: datetime) -> list[dict[str, Any]]:
    """One entry per outcome kind per message (not per delivery): the chain of a notice sent to
    thousands stays short, and each entry still names every delivery it covers."""
    entries = []
    for kind, status in (
        (EntryKind.DELIVERED, DeliveryStatus.SENT),
        (EntryKind.FAILED, DeliveryStatus.FAILED),
    ):
        these = [d for d in outcomes if d.status is status]
        if these:
            deliveries = [
                {
                    "delivery_id": d.delivery_id,
                    "subscriber_id": d.subscriber_id,
                    "channel": str(d.channel_type),
                    "step": d.step,
                    "error": d.last_error,
                }
                for d in these
            ]
            entries.append(
                {
                    "notice_id": these[0].notice_id,
                    "kind": str(kind),
                    "at": now.isoformat(),
                    "data": {"deliveries": deliveries},
                }
            )
    return entries


def append_entries(entries: Sequence[Mapping[str, Any]], *, ack_log: AckLog) -> None:
    for entry in entries:
        ack_log.append(
            entry["notice_id"],
            EntryKind(entry["kind"]),
            at=datetime.fromisoformat(entry["at"]),
            actor="system",
            data=entry["data"],
        )


def write_log(entries: Sequence[Mapping[str, Any]], *, ack_log: AckLog, later: WorkQueue) -> None:
    """The log entries of a whole invocation, merged per notice and kind, appended once each.

    Entries the log refuses go back on the send queue as a message of their own, written when the
    log accepts them: the outcomes are already recorded, so nothing is sent again and nothing lost."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        key = (entry["notice_id"], entry["kind"])
        if key in merged:
            merged[key]["data"]["deliveries"] += entry["data"]["deliveries"]
        else:
            merged[key] = {**entry, "data": {"deliveries": list(entry["data"]["deliveries"])}}
    refused: dict[str, list[dict[str, Any]]] = {}
    for entry in merged.values():
        if entry["notice_id"] in refused:  # keep a notice's entries in order behind the first refusal
            refused[entry["notice_id"]].append(entry)
            continue
        try:
            append_entries([entry], ack_log=ack_log)
        except (StoreUnavailable, LogConflict):
            logger.warning("delivery_log.deferred", notice_id=entry["notice_id"])
            refused[entry["notice_id"]] = [entry]
    if refused:
        later.send_many([{"notice_id": n, "log_entries": e} for n, e in refused.items()])


def _issue_reply_codes(
    deliveries: Sequence[Delivery], *, codes: AckCodeStore, now: datetime
) -> dict[tuple[str, str], str]:
    """The reply codes of a batch's texts, issued together (one write, not one per text); a
    store that refuses leaves them without, and each text fails to be retried."""
    texts = [d for d in deliveries if d.channel_type is ChannelType.SMS]
    if not texts:
        return {}
    try:
        issued = codes.issue_many(
            [(d.address, AckTarget(d.notice_id, d.delivery_id)) for d in texts], now=now
        )
    except Exception as exc:  # refused, or no answer at all (a botocore timeout): each text fails retryable
        logger.warning("reply_codes.unavailable", count=len(texts), reason=f"{type(exc).__name__}: {exc}")
        return {}
    return {_key(d): code for d, code in zip(texts, issued, strict=True)}


def _send(
    notice: Notice,
    delivery: Delivery,
    channel: Channel,
    *,
    language: Language,
    senders: Senders,
    reply_code: str | None,
    links: Links,
    now: datetime,
) -> str:
    """One delivery, rendered in its recipient's language (webhooks carry data, not prose); a chat
    message's button is the acknowledgment link a person opens, as an email's is."""
    link = links.ack(AckTarget(notice.id, delivery.delivery_id))
    if delivery.channel_type is ChannelType.EMAIL:
        unsubscribe = links.unsubscribe(ChannelRef(delivery.subscriber_id, delivery.channel_id))
        email = render_email(
            notice,
            to=delivery.address,
            role=delivery.role,
            ack_url=link,
            subscriber_id=delivery.subscriber_id,
            language=language,
        )
        tags = {
            "notice": notice.id,
            "delivery": delivery.delivery_id,
            "subscriber": delivery.subscriber_id,
            "channel": delivery.channel_id,
        }
        return senders.email.send(
            replace(email, headers={**email.headers, **unsubscribe_headers(unsubscribe)}, tags=tags)
        )
    if delivery.channel_type is ChannelType.SMS:
        if reply_code is None:
            raise SendFailed("sms: no reply code could be issued", retryable=True)
        return senders.sms.send(
            render_sms(notice, to=delivery.address, reply_code=reply_code, language=language)
        )
    if delivery.channel_type in CHAT_CHANNELS:
        if channel.url is None:
            raise SendFailed(f"{delivery.channel_type}: the channel has no URL", retryable=False)
        chat = render_chat(
            notice,
            delivery.channel_type,
            url=channel.url,
            role=delivery.role,
            ack_url=link,
            unsubscribe_url=links.unsubscribe(ChannelRef(delivery.subscriber_id, delivery.channel_id)),
            subscriber_id=delivery.subscriber_id,
            language=language,
        )
        return senders.chat.send(chat)
    signing = channel.signing_secrets(now)
    if not signing:
        raise SendFailed("webhook: the channel has no secret", retryable=False)
    message = render_webhook(
        notice,
        url=delivery.address,
        role=delivery.role,
        delivery_id=delivery.delivery_id,
        # Marked, so an acknowledgment through it is recorded as the webhook's (not a person's click).
        ack_url=f"{link}?via=webhook",
        now=now,
        subscriber_id=delivery.subscriber_id,
    )
    return senders.webhook.send(message, secrets=signing, now=now)


def settle(
    report: DeliveryReport,
    message: Mapping[str, Any],
    *,
    receives: int,
    dead_letters: WorkQueue,
    retry_scale: float,
    jitter: float,
) -> int | None:
    """After a send message received ``receives`` times: hand deliveries that failed for good, and
    those that failed every attempt of their channel's schedule, to the dead-letter queue (where the
    alarm sees them and a redrive can retry them once mended), and say how long to wait before the
    message comes back (the schedule's next wait for its least-tried delivery), or None when it is
    done."""
    channel = ChannelType(message["channel"])

    def tried(delivery_id: str) -> int:  # unknown: the message's receives stand in for its attempts
        return min(report.attempts.get(delivery_id, receives), receives)

    spent = [i for i in report.failed if not attempts_left(channel, attempts=tried(i), receives=receives)]
    if report.permanent:
        _dead_letter(
            dead_letters,
            message,
            report.permanent,
            reason="failed permanently; redrive after mending the channel",
        )
    if spent:
        _dead_letter(
            dead_letters,
            message,
            spent,
            reason=f"failed all {attempts_allowed(channel)} attempts of the {channel} retry schedule; "
            "redrive after mending the channel",
        )
    waiting = [i for i in (*report.failed, *report.in_flight) if i not in spent]
    if not waiting:
        return None
    return retry_delay(
        channel,
        min(tried(i) for i in waiting),
        retry_after=report.retry_after,
        jitter=jitter,
        scale=retry_scale,
    )


def _dead_letter(
    dead_letters: WorkQueue, message: Mapping[str, Any], delivery_ids: Sequence[str], *, reason: str
) -> None:
    dead_letters.send_many(
        [
            {
                "notice_id": message["notice_id"],
                "channel": message["channel"],
                "delivery_ids": list(delivery_ids),
                "reason": reason,
            }
        ]
    )
    logger.warning(
        "deliveries.dead_lettered", notice_id=message["notice_id"], count=len(delivery_ids), reason=reason
    )


def handle_send_messages(
    messages: Sequence[SendMessage],
    *,
    notices: NoticeReader,
    deliveries: DeliveryStore,
    subscribers: SubscriberStore,
    senders: Senders,
    codes: AckCodeStore,
    ack_log: AckLog,
    links: Links,
    admins: Sequence[Channel],
    lease: timedelta,
    send_queue: WorkQueue,
    dead_letters: WorkQueue,
    retry_scale: float,
    jitter: float,
    now: datetime,
) -> list[str]:
    """The messages of one send invocation; returns the ids of those the queue is to bring back
    (after the delay set on each: the retry schedule of its channel), the others being done. The
    log entries of every message are written together at the end, once per notice and kind."""
    deferred = [m for m in messages if "log_entries" in m.body]
    failed: list[str] = []
    for message in deferred:  # entries a refusing log deferred: written now, retried by SQS until they are
        try:
            append_entries(message.body["log_entries"], ack_log=ack_log)
        except Exception:  # this message's failure must not fail the others: logged, retried
            logger.exception("delivery_log.still_refused", message_id=message.message_id)
            failed.append(message.message_id)
    sending = [m for m in messages if "log_entries" not in m.body]
    delivered = deliver(
        sending,
        notices=notices,
        deliveries=deliveries,
        subscribers=subscribers,
        senders=senders,
        codes=codes,
        links=links,
        admins=admins,
        lease=lease,
        now=now,
    )
    failed += delivered.unhandled
    unlogged: list[dict[str, Any]] = []
    for message in sending:
        report = delivered.reports.get(message.message_id)
        if report is None:
            continue
        unlogged.extend(report.unlogged)
        delay = settle(
            report,
            message.body,
            receives=message.receives,
            dead_letters=dead_letters,
            retry_scale=retry_scale,
            jitter=jitter,
        )
        if delay is None:
            continue
        failed.append(message.message_id)
        try:
            send_queue.retry_later(message.receipt_handle, delay)
        except StoreUnavailable:
            # It comes back after the queue's own visibility timeout.
            logger.warning("message.backoff_not_set", delay=delay)
    write_log(unlogged, ack_log=ack_log, later=send_queue)
    return failed
