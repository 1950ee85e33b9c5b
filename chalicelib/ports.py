"""The interfaces services need. Adapters implement them against AWS; tests implement them as fakes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain.acklog import EntryKind, LogEntry, LogHead
from chalicelib.domain.acknowledgments import Acknowledgment
from chalicelib.domain.auth import ApiKey
from chalicelib.domain.deliveries import Claim, Delivery
from chalicelib.domain.facilities import Facility
from chalicelib.domain.mail_trust import TrustedSender
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms, OutgoingWebhook
from chalicelib.domain.notices import Notice
from chalicelib.domain.policies import EscalationPolicy
from chalicelib.domain.rotations import Rotation
from chalicelib.domain.routing import Reach
from chalicelib.domain.subscribers import ChannelRef, EventType, Subscriber, SubscriptionEntry
from chalicelib.domain.tokens import AckTarget, SigningKeys


@dataclass(frozen=True, slots=True)
class Page[T]:
    items: list[T]
    # Opaque continuation; None when this is the last page.
    cursor: str | None


class NoticeExists(Exception):
    """A notice with this id (hence this idempotency key) is already stored."""

    def __init__(self, existing: Notice) -> None:
        super().__init__(existing.id)
        self.existing = existing


class StoreUnavailable(Exception):
    """The store refused or throttled a request after the client's own retries, or never answered."""


class StoreRefusedInput(StoreUnavailable):
    """The store refused a request as malformed (DynamoDB's ValidationException): an item over the
    size limit, say. Trying again does not help. A StoreUnavailable, so that it is answered as one
    until the HTTP edge answers it as the client's fault."""


class SendFailed(Exception):
    """A provider did not accept a message. ``retryable`` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        # Seconds the receiver asked us to wait (an HTTP Retry-After), if it said.
        self.retry_after = retry_after


class NoticeReader(Protocol):
    def get(self, notice_id: str) -> Notice:
        """Raises NotFound."""


class NoticeStore(Protocol):
    def add(self, notice: Notice) -> None:
        """Store a new notice; raises NoticeExists if its id is taken."""

    def get(self, notice_id: str) -> Notice:
        """Raises NotFound."""

    def save_routing(self, notice: Notice) -> None:
        """Record recipients, coverage gaps, routed_at and when the next escalation step falls due."""

    def recent(self, event_type: EventType, *, limit: int, cursor: str | None) -> Page[Notice]:
        """Notices of one type, newest first (an index query)."""

    def cursor_after(self, notice: Notice) -> str:
        """A cursor that resumes ``recent`` just after ``notice`` (one ``recent`` returned)."""
        ...

    def received_between(
        self, event_type: EventType, start: datetime, end: datetime, *, newest_first: bool = False
    ) -> Iterator[Notice]:
        """Every notice of a type received in [start, end), oldest first (or newest first), read a
        page at a time as the iterator is consumed."""

    def due(self, now: datetime, *, limit: int) -> list[Notice]:
        """Open notices whose next escalation step is due, most overdue first (an index query, no scan)."""

    def advance_step(
        self, notice_id: str, *, from_step: int, to_step: int, next_step_at: datetime | None
    ) -> bool:
        """Move an open notice from one step to another; False if it was not open at ``from_step``
        (another sweep took the step, or the notice was acknowledged meanwhile)."""

    def record_decision(
        self,
        notice_id: str,
        *,
        decision: dict[str, Any],
        duties: list[dict[str, Any]],
        at: datetime,
        personal_data_due: datetime | None = None,
    ) -> bool:
        """Store a detainer's decision and close the notice; False if it was already decided or closed.
        ``personal_data_due``: when its personal data falls due for removal (a sparse index's key)."""

    def personal_data_due(self, now: datetime, *, limit: int) -> list[str]:
        """Ids of the notices whose personal data fell due by ``now``, longest due first (an index
        query, never a scan)."""

    def remove_personal_data(
        self, notice_id: str, *, event: dict[str, Any], fields: list[str], at: datetime
    ) -> bool:
        """Replace a due notice's event with ``event`` (without the personal data) and record which
        ``fields`` went and when, once; False if that was done before. It stays due until
        ``retention_done``."""

    def retention_done(self, notice_id: str) -> None:
        """Take a notice whose personal data is removed off the retention index."""

    def schedule_personal_data_removal(self, notice_id: str, *, due: datetime) -> bool:
        """Put a decided notice that has no due time yet on the retention index (one decided before
        the index existed); False if it has one, or its data is removed, or it is undecided."""

    def save_duties(self, notice_id: str, duties: list[dict[str, Any]]) -> None: ...

    def close_triage(self, notice_id: str, *, routed_as: str, at: datetime) -> bool:
        """Close a notice in triage once an admin has completed it; False if it was not in triage."""

    def dismiss_triage(self, notice_id: str, *, reason: str, by: str, at: datetime) -> bool:
        """Close a notice in triage without routing it; False if it was not in triage."""

    def held(self, *, limit: int, cursor: str | None) -> Page[Notice]:
        """Notices in triage, oldest first (their own partition of an index, never a scan)."""

    def add_report(self, notice_id: str, report: Mapping[str, Any]) -> bool:
        """Count another copy of the notice's original message, keeping the first ``MAX_REPORTS_KEPT``
        in full; False when ``report["id"]`` was counted before. Raises NotFound."""

    def mark_acknowledged(self, notice_id: str, *, at: datetime) -> bool:
        """Open → acknowledged, and off the escalation index; False if it was not open."""


class SubscriberStore(Protocol):
    def add(self, subscriber: Subscriber) -> None:
        """Store the subscriber and its rows in the jurisdiction index."""

    def get(self, subscriber_id: str) -> Subscriber:
        """Raises NotFound."""

    def replace(self, subscriber: Subscriber) -> None:
        """Write a changed subscriber and bring its index rows in line; the stored revision becomes
        ``subscriber.revision + 1``. Raises NotFound, or ChangedMeanwhile (writing nothing) if the
        stored revision is not ``subscriber.revision``: write through services.subscribers.change."""

    def get_many(self, subscriber_ids: Sequence[str]) -> dict[str, Subscriber]: ...

    def list(self, *, limit: int, cursor: str | None) -> Page[Subscriber]: ...

    def delete(self, subscriber_id: str) -> None:
        """Remove the subscriber and its index rows; raises NotFound."""

    def reindex(self, subscriber_id: str) -> Reindexed:
        """Write the index rows the stored subscriber should have and remove any other row of it
        (rows of an older layout or of changed place data). Idempotent; raises NotFound."""


@dataclass(frozen=True, slots=True)
class Reindexed:
    written: int
    removed: int


class SubscriptionIndex(Protocol):
    def covering(self, reach: Reach) -> Iterator[SubscriptionEntry]:
        """Index rows of the subscriptions that cover a notice (``routing.reach``): one Query per
        place of the reach, each one key condition, never a scan."""


class DeliveryStore(Protocol):
    def get_many(self, notice_id: str, delivery_ids: Sequence[str]) -> list[Delivery]: ...

    def claim(self, deliveries: Sequence[Delivery], *, now: datetime, lease: timedelta) -> Claim:
        """Move each delivery to sending under a lease, creating its row if it has none, when it is
        new, pending, failed or its lease has run out: at most ``DELIVERIES_PER_CLAIM``, in one write.

        Pass them as planned or as read: a stored row's attempts are kept whatever is passed.
        Raises StoreUnavailable, having claimed none, when the store refuses.
        """

    def record(self, deliveries: Sequence[Delivery]) -> None:
        """Write outcomes of claimed deliveries."""

    def for_notice(self, notice_id: str) -> list[Delivery]: ...

    def record_ack(self, ack: Acknowledgment) -> bool:
        """Store the subscriber's acknowledgment of the notice; False if one was already stored."""

    def acknowledgments(self, notice_id: str) -> list[Acknowledgment]: ...


class AckCodeStore(Protocol):
    def issue(self, phone: str, target: AckTarget | ChannelRef, *, now: datetime) -> str:
        """A reply code for this phone, unique among its live codes, bound to one delivery
        (acknowledgment) or one channel (confirmation of the number)."""

    def issue_many(self, wanted: Sequence[tuple[str, AckTarget | ChannelRef]], *, now: datetime) -> list[str]:
        """``issue`` for many (phone, target) pairs at once, the codes in the same order. Raises
        StoreUnavailable unless every one is issued (those that were simply go unused)."""

    def lookup(self, phone: str, code: str) -> AckTarget | ChannelRef | None: ...


class ContactStore(Protocol):
    def claim(self, address: str, ref: ChannelRef) -> None:
        """Raises Conflict if another subscriber has this email address or phone number."""

    def release(self, address: str, subscriber_id: str) -> None: ...

    def owner(self, address: str) -> ChannelRef | None: ...


class WorkQueue(Protocol):
    def send_many(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        """Enqueue JSON bodies, in batches of ten."""

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        """Make a received message visible again only after the delay (a retry's backoff)."""


class EmailSender(Protocol):
    def send(self, message: OutgoingEmail) -> str:
        """Returns the provider's message id; raises SendFailed."""


class SmsSender(Protocol):
    def send(self, message: OutgoingSms) -> str: ...


class WebhookSender(Protocol):
    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        """POST the payload signed with each secret; returns the HTTP status as text; raises SendFailed."""


@dataclass(frozen=True, slots=True)
class Senders:
    """One sender per channel type: what delivering a message needs."""

    email: EmailSender
    sms: SmsSender
    webhook: WebhookSender


class AckLog(Protocol):
    def append(
        self, notice_id: str, kind: EntryKind, *, at: datetime, actor: str, data: Mapping[str, Any]
    ) -> LogEntry:
        """Chain a new entry after the newest, never overwriting one, and keep it as the chain's head
        outside the chain in the same write; LogConflict after too many races. NotFound for the log
        of a notice that does not exist."""

    def entries(self, notice_id: str) -> list[LogEntry]: ...

    def head(self, notice_id: str) -> LogHead | None:
        """The head kept outside the chain (the newest entry's seq and hash); None for a chain whose
        entries all predate heads, or that has none."""

    def heads(self) -> Iterator[tuple[str, LogHead]]:
        """Every chain's head: the audit trail's and each notice's (for the daily digest)."""


@dataclass(frozen=True, slots=True)
class StoredDigest:
    """A daily digest as stored: where, and its bytes exactly (its hash is over them)."""

    key: str
    body: bytes


class DigestStore(Protocol):
    """The daily digests of the chains' heads, in a bucket whose objects nobody can change or delete."""

    def newest(self) -> StoredDigest | None:
        """The digest of the latest date; None before the first."""

    def put_new(self, key: str, body: bytes) -> bool:
        """Store a digest where none is; False (and nothing written) when that key already holds one."""


class PolicyStore(Protocol):
    def get(self, event_type: EventType) -> EscalationPolicy:
        """The stored policy, or the shipped default."""

    def put(self, policy: EscalationPolicy) -> None: ...


class RateLimiter(Protocol):
    def count(self, key: str, *, window: timedelta, now: datetime) -> int:
        """Failures counted for ``key`` in the current window."""

    def add(self, key: str, *, window: timedelta, now: datetime) -> int:
        """Count one more failure; returns the window's total."""


class MailStore(Protocol):
    def put(self, key: str, raw: bytes) -> str:
        """Keep a raw message; returns where (an s3:// URI)."""

    def get(self, key: str) -> bytes: ...


class TrustedSenderStore(Protocol):
    """The addresses and domains admins trust to send or forward notices (dozens of rows)."""

    def add(self, entry: TrustedSender) -> None:
        """Raises Conflict if the sender is listed already."""

    def remove(self, sender: str) -> TrustedSender:
        """Unlist the sender, returning what was listed; raises NotFound."""

    def find(self, senders: Sequence[str]) -> list[TrustedSender]:
        """Those of ``senders`` that are listed (one batch read, never a scan)."""

    def list(self) -> list[TrustedSender]:
        """Every trusted sender, by name."""


class FacilityStore(Protocol):
    """The correctional facilities admins add (hundreds to a few thousand rows, every state's)."""

    def add(self, facility: Facility) -> None:
        """Raises Conflict if its id is taken."""

    def get(self, facility_id: str) -> Facility:
        """Raises NotFound."""

    def replace(self, facility: Facility) -> None:
        """Write a changed facility; the stored revision becomes ``facility.revision + 1``. Raises
        NotFound, or ChangedMeanwhile (writing nothing) if the stored revision is not
        ``facility.revision``: write through services.facilities.change."""

    def list(self) -> list[Facility]:
        """Every facility of every state, by id (a Scan: the graph wants every row)."""


class RotationStore(Protocol):
    """Duty rotations: at most one per role and place (dozens of rows)."""

    def add(self, rotation: Rotation) -> None:
        """Raises Conflict if the role has a rotation at the place already (the same id)."""

    def get(self, rotation_id: str) -> Rotation:
        """Raises NotFound."""

    def replace(self, rotation: Rotation) -> None:
        """Write a changed rotation; raises NotFound if it is not stored."""

    def remove(self, rotation_id: str) -> Rotation:
        """Delete it, returning what the store held; raises NotFound."""

    def at(self, places: Sequence[str]) -> list[Rotation]:
        """The rotations of these places, nearest first: read by the ids their roles would give them
        (``rotation_id_for``), never a query or a scan."""

    def list(self) -> list[Rotation]:
        """Every rotation, by place and role."""


class Links(Protocol):
    """Absolute URLs of the signed links that messages carry."""

    def ack(self, target: AckTarget) -> str: ...

    def verify(self, ref: ChannelRef, *, issued: datetime) -> str: ...

    def unsubscribe(self, ref: ChannelRef) -> str: ...


class LinkSecrets(Protocol):
    def keys(self) -> SigningKeys:
        """The secret links are signed with now, and those still accepted."""
        ...


class KeyStore(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def revoke(self, key_id: str, *, now: datetime) -> None: ...

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones included (an admin listing; keys number in the dozens)."""
