"""Who may alarm people by email: the trusted-senders list admins keep (every change audited), and
the decision on each received message (``judge``; the rules are ``domain/mail_trust.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.domain.auth import Caller
from chalicelib.domain.errors import NotFound
from chalicelib.domain.mail_trust import (
    Assessment,
    Receipt,
    TrustedSender,
    assess,
    dkim_domains,
    domain_of,
    trust_candidates,
)
from chalicelib.domain.subscribers import ChannelType
from chalicelib.ports import AckLog, ContactStore, SubscriberStore, TrustedSenderStore
from chalicelib.services import audit

if TYPE_CHECKING:
    from chalicelib.domain.inbound_mail import Extraction
    from chalicelib.schemas.inbound import SenderEntry


def listing(*, trusted: TrustedSenderStore) -> list[TrustedSender]:
    return trusted.list()


def add(
    entry: SenderEntry, *, trusted: TrustedSenderStore, ack_log: AckLog, actor: str, now: datetime
) -> TrustedSender:
    """Raises Conflict when the sender is listed already."""
    added = TrustedSender(entry.sender, entry.kind, entry.note, added_by=actor, added_at=now)
    trusted.add(added)
    audit.record(
        ack_log,
        actor=actor,
        action="sender.trusted",
        target=added.sender,
        before=None,
        after=added.as_json(),
        now=now,
    )
    return added


def remove(
    sender: str, *, trusted: TrustedSenderStore, ack_log: AckLog, actor: str, now: datetime
) -> TrustedSender:
    """Raises NotFound when the sender is not listed."""
    removed = trusted.remove(sender)
    audit.record(
        ack_log,
        actor=actor,
        action="sender.untrusted",
        target=removed.sender,
        before=removed.as_json(),
        after=None,
        now=now,
    )
    return removed


def is_trusted(
    address: str | None,
    *,
    trusted: TrustedSenderStore,
    contacts: ContactStore,
    subscribers: SubscriberStore,
) -> bool:
    """A listed address, a listed domain it is in, or a subscriber's own confirmed email address."""
    if not address or domain_of(address) is None:
        return False
    if trusted.find(trust_candidates(address)):
        return True
    owner = contacts.owner(address)
    if owner is None:
        return False
    try:
        subscriber = subscribers.get(owner.subscriber_id)
    except NotFound:
        return False
    return any(
        c.type is ChannelType.EMAIL and c.verified and c.address.lower() == address.lower()
        for c in subscriber.channels
    )


def judge(
    x: Extraction,
    raw: bytes,
    *,
    receipt: Receipt | None,
    caller: Caller,
    trusted: TrustedSenderStore,
    contacts: ContactStore,
    subscribers: SubscriberStore,
) -> Assessment:
    """May this message alarm anyone? ``receipt`` is SES's (None: posted to the API with a key)."""
    if receipt is None:
        return assess(receipt=None, from_address=None, signers=(), trusted=True, key_id=caller.key_id)
    # The message's own From: the outermost forwarder's, or the original's when it came directly.
    sender = x.forwarders[0] if x.forwarders else x.original_sender.value
    address = sender if domain_of(sender) else None
    return assess(
        receipt=receipt,
        from_address=address,
        signers=dkim_domains(raw),
        trusted=is_trusted(address, trusted=trusted, contacts=contacts, subscribers=subscribers),
        key_id=caller.key_id,
    )
