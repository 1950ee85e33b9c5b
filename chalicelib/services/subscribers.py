"""Admin management of subscribers, and the consent of the people behind each channel."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from chalicelib.domain.chat import OutgoingChat, chat_note
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, FieldError, InvalidInput, NotFound
from chalicelib.domain.language import words_for
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms, OutgoingWebhook
from chalicelib.domain.sms import fit_text
from chalicelib.domain.subscribers import (
    CHAT_CHANNELS,
    Channel,
    ChannelRef,
    ChannelType,
    Subscriber,
    Subscription,
    subscriber_record,
)
from chalicelib.ports import (
    AckCodeStore,
    AckLog,
    ContactStore,
    Links,
    Page,
    Senders,
    SendFailed,
    SubscriberStore,
)
from chalicelib.schemas.subscribers import SubscriberDraft, SubscriberPatch, new_webhook_secret
from chalicelib.services import audit

logger = structlog.get_logger()

# How long the old webhook secret keeps signing after a rotation, so receivers can switch over.
SECRET_OVERLAP = timedelta(hours=24)


# Returns why a webhook URL may not be used (it reaches a private network), or None.
WebhookGuard = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Saved:
    """A subscriber as stored by a create or an update, and what the admin must be told once."""

    subscriber: Subscriber
    # Channel id → how its owner is asked to confirm it ("email sent", "text sent", ...).
    confirmations: dict[str, str]
    # The channels this change created: the only answer that shows their webhook secrets.
    new_channel_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Consent:
    """What creating or changing a subscriber needs beyond the store."""

    contacts: ContactStore
    codes: AckCodeStore
    senders: Senders
    links: Links
    webhook_guard: WebhookGuard
    ack_log: AckLog


# Reads and reapplications of one change before it gives up: each failure means another writer changed
# the subscriber in the few milliseconds between a read and a write.
CHANGE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Changed:
    before: Subscriber
    after: Subscriber


def change(
    subscriber_id: str, edit: Callable[[Subscriber], Subscriber | None], *, subscribers: SubscriberStore
) -> Changed | None:
    """Apply ``edit`` to the stored subscriber; None when it leaves the subscriber as it is.

    Every writer of a subscriber goes through here: the send, reply and feedback functions and the
    admins change the same record at the same moments, and a write based on an old read would undo the
    other's change (a re-enabled webhook disabled again, an opt-out forgotten). The store refuses such a
    write; the edit is then applied again to what is stored now. ``edit`` may raise to refuse. Raises
    NotFound, or ChangedMeanwhile if the record kept changing.
    """
    for _ in range(CHANGE_ATTEMPTS):
        before = subscribers.get(subscriber_id)
        after = edit(before)
        if after is None or after == before:
            return None
        try:
            subscribers.replace(after)
        except ChangedMeanwhile:
            continue
        return Changed(before, replace(after, revision=after.revision + 1))
    raise ChangedMeanwhile(f"subscriber {subscriber_id!r} kept changing: try again")


def _contact_addresses(channels: Sequence[Channel]) -> list[Channel]:
    return [c for c in channels if c.type in (ChannelType.EMAIL, ChannelType.SMS)]


def _check_webhooks(channels: Sequence[Channel], guard: WebhookGuard, *, field: str = "channels") -> None:
    """The private-network guard on every URL Vigil would POST to: webhooks' and chat channels'."""
    problems = [
        FieldError(f"{field}[{i}].url", reason)
        for i, c in enumerate(channels)
        if c.url is not None and (reason := guard(c.url))
    ]
    if problems:
        raise InvalidInput("a webhook URL is not allowed", problems)


def _claim(subscriber: Subscriber, channels: Sequence[Channel], contacts: ContactStore) -> None:
    """Claim each address for the subscriber; on a clash, give back what was claimed and refuse."""
    claimed: list[Channel] = []
    for channel in _contact_addresses(channels):
        try:
            contacts.claim(channel.address, ChannelRef(subscriber.id, channel.id))
        except Conflict:
            for done in claimed:
                contacts.release(done.address, subscriber.id)
            index = list(subscriber.channels).index(channel) if channel in subscriber.channels else 0
            key = "address" if channel.type is ChannelType.EMAIL else "phone"
            raise Conflict(
                f"{channel.type} {channel.address} already belongs to another subscriber",
                [FieldError(f"channels[{index}].{key}", "already belongs to another subscriber")],
            ) from None
        claimed.append(channel)


def _fresh(channel: Channel) -> Channel:
    """A channel new to its subscriber: email, SMS and chat wait for their owner's confirmation."""
    return replace(channel, verified=channel.type is ChannelType.WEBHOOK, opted_out=False, disabled=False)


def request_confirmations(
    subscriber: Subscriber, channels: Sequence[Channel], consent: Consent, now: datetime
) -> dict[str, str]:
    """Send a confirmation to each unverified email, phone and chat channel, in the subscriber's
    language; returns channel id → what happened. A chat channel is confirmed like an email address:
    a link posted to it, which someone who reads the channel opens and confirms."""
    _ = words_for(subscriber.language)
    outcome: dict[str, str] = {}
    for channel in channels:
        if channel.verified:
            continue
        ref = ChannelRef(subscriber.id, channel.id)
        try:
            if channel.type is ChannelType.EMAIL:
                link = consent.links.verify(ref, issued=now)
                who = _("{name} ({organization})", name=subscriber.name, organization=subscriber.organization)
                receives = _("{who} is to receive Vigil alerts at this address.", who=subscriber.name)
                consent.senders.email.send(
                    OutgoingEmail(
                        to=channel.address,
                        subject=_("[Vigil] Confirm this address for alerts"),
                        text=(
                            _("{who} is to receive Vigil alerts at this address.", who=who)
                            + "\n"
                            + _("Confirm it is yours and you want them:")
                            + f"\n{link}\n\n"
                            + _("If this is not you, ignore this message.")
                        ),
                        html=(
                            f"<p>{_escape(receives)}</p>"
                            f"<p><a href='{_escape(link)}'>{_escape(_('Confirm this address'))}</a></p>"
                            f"<p>{_escape(_('If this is not you, ignore this message.'))}</p>"
                        ),
                    )
                )
            elif channel.type in CHAT_CHANNELS and channel.url is not None:
                consent.senders.chat.send(_chat_confirmation(subscriber, channel, channel.url, consent, now))
            else:
                code = consent.codes.issue(channel.address, ref, now=now)
                # Within the texts' segment budget whatever the encoding: the name gives way.
                consent.senders.sms.send(
                    OutgoingSms(
                        to=channel.address,
                        body=fit_text(
                            _("Vigil: reply {code} to confirm this number for alerts to ", code=code),
                            subscriber.name[:60],
                            _(". Reply STOP to opt out."),
                        ),
                    )
                )
            outcome[channel.id] = "confirmation sent"
        except SendFailed as exc:
            logger.warning(
                "channel.confirmation_failed",
                subscriber_id=subscriber.id,
                channel_id=channel.id,
                reason=exc.reason,
            )
            outcome[channel.id] = f"confirmation not sent: {exc.reason}"
    return outcome


def _chat_confirmation(
    subscriber: Subscriber, channel: Channel, url: str, consent: Consent, now: datetime
) -> OutgoingChat:
    """Posted to a new chat channel: whoever reads the channel confirms it with the button."""
    _ = words_for(subscriber.language)
    said = [
        _("{who} is to receive Vigil alerts in this channel.", who=subscriber.name),
        _("Confirm with the button below. If this is not expected here, ignore this message."),
    ]
    return chat_note(
        channel.type,
        url=url,
        text="\n".join(said),
        language=subscriber.language,
        button=_("Confirm this channel"),
        link=consent.links.verify(ChannelRef(subscriber.id, channel.id), issued=now),
    )


def _escape(text: str) -> str:
    import html  # noqa: PLC0415  # only for the confirmation email

    return html.escape(text, quote=True)


def create(
    draft: SubscriberDraft, *, subscribers: SubscriberStore, consent: Consent, actor: str, now: datetime
) -> Saved:
    _check_webhooks(draft.channels, consent.webhook_guard)
    subscriber = Subscriber(
        id=f"sub_{secrets.token_hex(8)}",
        name=draft.name,
        role=draft.role,
        organization=draft.organization,
        ack_required=draft.ack_required,
        escalation_contact=draft.escalation_contact,
        channels=tuple(_fresh(c) for c in draft.channels),
        subscriptions=draft.subscriptions,
        created_at=now,
        language=draft.language,
    )
    _claim(subscriber, subscriber.channels, consent.contacts)
    subscribers.add(subscriber)
    confirmations = request_confirmations(subscriber, subscriber.channels, consent, now)
    audit.record(
        consent.ack_log,
        actor=actor,
        action="subscriber.created",
        target=subscriber.id,
        before=None,
        after=subscriber_record(subscriber),
        now=now,
    )
    logger.info(
        "subscriber.created",
        subscriber_id=subscriber.id,
        role=str(subscriber.role),
        channels=[str(c.type) for c in subscriber.channels],
        subscriptions=len(subscriber.subscriptions),
    )
    return Saved(subscriber, confirmations, frozenset(c.id for c in subscriber.channels))


def _merge_subscriptions(
    current: tuple[Subscription, ...], patch: SubscriberPatch
) -> tuple[Subscription, ...]:
    merged = {
        s.jurisdiction_id: s for s in (patch.subscriptions if patch.subscriptions is not None else current)
    }
    for s in patch.add_subscriptions:
        known = merged.get(s.jurisdiction_id)
        if known is None:
            merged[s.jurisdiction_id] = s
            continue
        # Adding event types to a place keeps its scope unless the entry names another.
        scope = s.scope if s.jurisdiction_id in patch.add_scopes_named else known.scope
        merged[s.jurisdiction_id] = Subscription(s.jurisdiction_id, known.event_types | s.event_types, scope)
    for jurisdiction_id in patch.remove_subscriptions:
        merged.pop(jurisdiction_id, None)
    return tuple(merged[j] for j in sorted(merged))


def find(subscriber_id: str, *, subscribers: SubscriberStore) -> Subscriber:
    return subscribers.get(subscriber_id)


def page(*, limit: int, cursor: str | None, subscribers: SubscriberStore) -> Page[Subscriber]:
    """The admin's list: a paginated Scan, the one Scan in Vigil (routing never scans)."""
    return subscribers.list(limit=limit, cursor=cursor)


def _patched(before: Subscriber, patch: SubscriberPatch, guard: WebhookGuard) -> Subscriber:
    channels = before.channels
    if patch.channels is not None:
        _check_webhooks(patch.channels, guard)
        kept = {c.id: c for c in before.channels}
        channels = tuple(kept.get(c.id) or _fresh(c) for c in patch.channels)
    unknown = [i for i in patch.enable_channels if i not in {c.id for c in channels}]
    if unknown:
        raise InvalidInput(
            "enable_channels names a channel the subscriber does not have",
            [FieldError("enable_channels", f"no channel {i!r}") for i in unknown],
        )
    # Re-enabled, an endpoint starts with a clean record: it is switched off again only after failing
    # a whole retry schedule anew.
    channels = tuple(
        replace(c.healthy(), disabled=False) if c.id in patch.enable_channels else c for c in channels
    )
    subscriptions = _merge_subscriptions(before.subscriptions, patch)
    if not subscriptions:
        raise InvalidInput(
            "a subscriber needs at least one subscription", [FieldError("subscriptions", "would leave none")]
        )
    return replace(
        before,
        name=patch.name if patch.name is not None else before.name,
        role=patch.role or before.role,
        organization=patch.organization if patch.organization is not None else before.organization,
        ack_required=patch.ack_required if patch.ack_required is not None else before.ack_required,
        escalation_contact=(
            patch.escalation_contact if patch.escalation_contact is not None else before.escalation_contact
        ),
        channels=channels,
        subscriptions=subscriptions,
        language=patch.language or before.language,
    )


def _added(before: Subscriber, after: Subscriber) -> list[Channel]:
    known = {c.id for c in before.channels}
    return [c for c in after.channels if c.id not in known]


def update(
    subscriber_id: str,
    patch: SubscriberPatch,
    *,
    subscribers: SubscriberStore,
    consent: Consent,
    actor: str,
    now: datetime,
) -> Saved:
    def apply(before: Subscriber) -> Subscriber:
        after = _patched(before, patch, consent.webhook_guard)
        # Claiming again on a second attempt is harmless: the same subscriber may re-claim.
        _claim(after, _added(before, after), consent.contacts)
        return after

    changed = change(subscriber_id, apply, subscribers=subscribers)
    if changed is None:
        return Saved(subscribers.get(subscriber_id), {}, frozenset())
    before, after = changed.before, changed.after
    added = _added(before, after)
    kept = {c.id for c in after.channels}
    for gone in _contact_addresses([c for c in before.channels if c.id not in kept]):
        consent.contacts.release(gone.address, before.id)
    confirmations = request_confirmations(after, added, consent, now)
    audit.record(
        consent.ack_log,
        actor=actor,
        action="subscriber.updated",
        target=subscriber_id,
        before=subscriber_record(before),
        after=subscriber_record(after),
        now=now,
    )
    logger.info("subscriber.updated", subscriber_id=subscriber_id, channels_added=len(added))
    return Saved(after, confirmations, frozenset(c.id for c in added))


def delete(
    subscriber_id: str, *, subscribers: SubscriberStore, consent: Consent, actor: str, now: datetime
) -> None:
    before = subscribers.get(subscriber_id)
    subscribers.delete(subscriber_id)
    for channel in _contact_addresses(before.channels):
        consent.contacts.release(channel.address, subscriber_id)
    audit.record(
        consent.ack_log,
        actor=actor,
        action="subscriber.deleted",
        target=subscriber_id,
        before=subscriber_record(before),
        after=None,
        now=now,
    )
    logger.info("subscriber.deleted", subscriber_id=subscriber_id)


@dataclass(frozen=True, slots=True)
class Reindexing:
    subscribers: int
    rows_written: int
    rows_removed: int

    def as_json(self) -> dict[str, int]:
        return {
            "subscribers": self.subscribers,
            "rows_written": self.rows_written,
            "rows_removed": self.rows_removed,
        }


def reindex_all(
    *, subscribers: SubscriberStore, ack_log: AckLog, actor: str, now: datetime, page_size: int = 100
) -> Reindexing:
    """Rewrite every subscriber's index rows from the stored subscriber (infra/reindex.py): after a
    change of the index layout or of the places above a subscribed place. Safe to run again, and
    while notices are routed: each subscriber's new rows are written before its stale ones go."""
    count = written = removed = 0
    cursor: str | None = None
    while True:
        page = subscribers.list(limit=page_size, cursor=cursor)
        for subscriber in page.items:
            done = subscribers.reindex(subscriber.id)
            count, written, removed = count + 1, written + done.written, removed + done.removed
        cursor = page.cursor
        if cursor is None:
            break
    report = Reindexing(count, written, removed)
    audit.record(
        ack_log,
        actor=actor,
        action="subscriptions.reindexed",
        target="subscriptions",
        before=None,
        after=report.as_json(),
        now=now,
    )
    logger.info("subscriptions.reindexed", **report.as_json())
    return report


def channel_of(subscriber: Subscriber, channel_id: str) -> Channel:
    channel = subscriber.channel(channel_id)
    if channel is None:
        raise NotFound("that channel no longer exists")
    return channel


@dataclass(frozen=True, slots=True)
class ChannelChanged:
    subscriber: Subscriber  # as stored after the change
    before: Channel
    after: Channel


def change_channel(
    ref: ChannelRef, edit: Callable[[Channel], Channel], *, subscribers: SubscriberStore
) -> ChannelChanged | None:
    """Change one channel of a subscriber (through ``change``); None if the edit changed nothing."""
    changed = change(
        ref.subscriber_id,
        lambda subscriber: subscriber.with_channel(edit(channel_of(subscriber, ref.channel_id))),
        subscribers=subscribers,
    )
    if changed is None:
        return None
    return ChannelChanged(
        changed.after,
        channel_of(changed.before, ref.channel_id),
        channel_of(changed.after, ref.channel_id),
    )


def confirm_channel(ref: ChannelRef, *, subscribers: SubscriberStore, ack_log: AckLog, now: datetime) -> bool:
    """The owner confirmed the address; False if it was already confirmed."""
    done = change_channel(ref, lambda c: replace(c, verified=True), subscribers=subscribers)
    if done is None:
        return False
    audit.record(
        ack_log,
        actor=ref.subscriber_id,
        action="channel.confirmed",
        target=f"{ref.subscriber_id}/{ref.channel_id}",
        before={"state": done.before.state},
        after={"state": "active"},
        now=now,
    )
    logger.info("channel.confirmed", subscriber_id=ref.subscriber_id, channel_id=ref.channel_id)
    return True


def set_opted_out(
    ref: ChannelRef,
    opted_out: bool,
    *,
    subscribers: SubscriberStore,
    senders: Senders,
    admins: Sequence[Channel],
    ack_log: AckLog,
    now: datetime,
) -> bool:
    """Opt a channel out (or back in); False if nothing changed. A required recipient never just
    vanishes: admins are told, with what is left to reach them."""
    done = change_channel(ref, lambda c: replace(c, opted_out=opted_out), subscribers=subscribers)
    if done is None:
        return False
    action = "channel.opted_out" if opted_out else "channel.opted_in"
    audit.record(
        ack_log,
        actor=ref.subscriber_id,
        action=action,
        target=f"{ref.subscriber_id}/{ref.channel_id}",
        before={"state": done.before.state},
        after={"state": done.after.state},
        now=now,
    )
    logger.info(action, subscriber_id=ref.subscriber_id, channel=str(done.after.type))
    if opted_out and done.subscriber.ack_required:
        tell_admins_unreachable(done.subscriber, done.after, senders=senders, admins=admins)
    return True


def tell_admins_unreachable(
    subscriber: Subscriber, channel: Channel, *, senders: Senders, admins: Sequence[Channel]
) -> None:
    """A required recipient lost a channel (opted out, bounced): tell the admins what is left."""
    remaining = [str(c.type) for c in subscriber.channels if c.active]
    left = (
        ", ".join(remaining) if remaining else "NO channel: this required recipient can no longer be reached"
    )
    for admin in admins:
        try:
            senders.email.send(
                OutgoingEmail(
                    to=admin.address,
                    subject=f"[Vigil] {subscriber.name} can no longer be reached by {channel.type}",
                    text=(
                        f"{subscriber.name} ({subscriber.role}, {subscriber.organization}), whose "
                        f"acknowledgment is required, can no longer be reached by {channel.type} "
                        f"({channel.state}).\n"
                        f"Notices now reach them by: {left}.\n"
                        f"Subscriber id: {subscriber.id}\n"
                    ),
                    html=(
                        f"<p>{_escape(subscriber.name)} ({_escape(str(subscriber.role))}), whose "
                        "acknowledgment is required, can no longer be reached by "
                        f"{_escape(str(channel.type))}.</p>"
                        f"<p>Notices now reach them by: {_escape(left)}.</p>"
                    ),
                )
            )
        except SendFailed as exc:
            logger.error("admin_alert.failed", reason=exc.reason)


def rotate_secret(
    subscriber_id: str,
    channel_id: str,
    *,
    subscribers: SubscriberStore,
    ack_log: AckLog,
    actor: str,
    now: datetime,
) -> tuple[Subscriber, str]:
    secret = new_webhook_secret()
    until = now + SECRET_OVERLAP

    def rotate(channel: Channel) -> Channel:
        if channel.type is not ChannelType.WEBHOOK:
            raise InvalidInput(
                "only webhook channels have a secret", [FieldError("channel_id", "is not a webhook")]
            )
        return replace(channel, secret=secret, previous_secret=channel.secret, previous_secret_until=until)

    done = change_channel(ChannelRef(subscriber_id, channel_id), rotate, subscribers=subscribers)
    assert done is not None  # a fresh secret always differs from the stored one
    audit.record(
        ack_log,
        actor=actor,
        action="webhook.secret_rotated",
        target=f"{subscriber_id}/{channel_id}",
        before=None,
        after={"previous_secret_until": until.isoformat()},
        now=now,
    )
    logger.info("webhook.secret_rotated", subscriber_id=subscriber_id, channel_id=channel_id)
    return done.subscriber, secret


def send_test(
    subscriber_id: str,
    *,
    subscribers: SubscriberStore,
    senders: Senders,
    ack_log: AckLog,
    actor: str,
    now: datetime,
) -> list[dict[str, str]]:
    """A test message to each active channel, so an admin can see a subscriber is reachable."""
    subscriber = subscribers.get(subscriber_id)
    _ = words_for(subscriber.language)
    text = _("Vigil test message for {name}. No action is needed.", name=subscriber.name)
    results: list[dict[str, str]] = []
    for channel in subscriber.channels:
        result = {"channel_id": channel.id, "type": str(channel.type)}
        if not channel.active:
            results.append({**result, "status": f"not sent: channel {channel.state}"})
            continue
        try:
            if channel.type is ChannelType.EMAIL:
                senders.email.send(
                    OutgoingEmail(
                        to=channel.address,
                        subject=_("[Vigil] Test message"),
                        text=text,
                        html=f"<p>{_escape(text)}</p>",
                    )
                )
            elif channel.type is ChannelType.SMS:
                senders.sms.send(OutgoingSms(to=channel.address, body=fit_text("", text, "")))
            elif channel.type in CHAT_CHANNELS and channel.url is not None:
                senders.chat.send(
                    chat_note(channel.type, url=channel.url, text=text, language=subscriber.language)
                )
            else:
                message = OutgoingWebhook(
                    url=channel.address,
                    message_id=f"msg_test_{secrets.token_hex(8)}",
                    payload={
                        "type": "test",
                        "timestamp": now.isoformat(),
                        "data": {"subscriber_id": subscriber.id},
                    },
                )
                senders.webhook.send(message, secrets=channel.signing_secrets(now), now=now)
            results.append({**result, "status": "sent"})
        except SendFailed as exc:
            results.append({**result, "status": f"failed: {exc.reason}"})
    audit.record(
        ack_log,
        actor=actor,
        action="subscriber.tested",
        target=subscriber_id,
        before=None,
        after={"results": results},
        now=now,
    )
    return results
