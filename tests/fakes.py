"""In-memory fakes of the ports: inspectable, deterministic, no AWS."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.rate_limits import window_key
from chalicelib.bootstrap import Deps
from chalicelib.config import Settings
from chalicelib.data import load_registry
from chalicelib.domain.acknowledgments import Acknowledgment
from chalicelib.domain.auth import ApiKey
from chalicelib.domain.deliveries import DELIVERIES_PER_CLAIM, Claim, Delivery, DeliveryStatus
from chalicelib.domain.digests import day_of
from chalicelib.domain.errors import ChangedMeanwhile, Conflict, FieldError, InvalidInput, NotFound
from chalicelib.domain.facilities import Facility
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.mail_trust import TrustedSender
from chalicelib.domain.messages import OutgoingEmail, OutgoingSms, OutgoingWebhook
from chalicelib.domain.notices import MAX_REPORTS_KEPT, Notice, NoticeStatus
from chalicelib.domain.policies import DEFAULT_POLICIES, EscalationPolicy
from chalicelib.domain.rotations import Rotation
from chalicelib.domain.routing import Reach
from chalicelib.domain.subscribers import ChannelRef, EventType, Subscriber, SubscriptionEntry, index_entries
from chalicelib.domain.tokens import AckTarget
from chalicelib.ports import (
    NoticeExists,
    Page,
    Reindexed,
    Senders,
    SendFailed,
    StoredDigest,
    StoreUnavailable,
)
from chalicelib.services.place_graph import PlaceGraph
from tests.builders import UNIT_SECRET
from tests.fake_acklog import InMemoryAckLog


@dataclass
class InMemoryNoticeStore:
    notices: dict[str, Notice] = field(default_factory=dict)
    report_ids: dict[str, set[str]] = field(default_factory=dict)
    # The retention index: decided notices whose personal data is still kept.
    retention_due: set[str] = field(default_factory=set)

    def add(self, notice: Notice) -> None:
        if notice.id in self.notices:
            raise NoticeExists(self.notices[notice.id])
        self.notices[notice.id] = notice

    def get(self, notice_id: str) -> Notice:
        if notice_id not in self.notices:
            raise NotFound(f"no notice {notice_id!r}")
        return self.notices[notice_id]

    def save_routing(self, notice: Notice) -> None:
        stored = self.get(notice.id)
        routed = replace(
            stored,
            recipients=notice.recipients,
            coverage_gaps=notice.coverage_gaps,
            routed_at=notice.routed_at,
        )
        # Like the adapter: a re-route never pulls a later step's schedule back.
        if notice.next_step_at is not None and stored.step == 0 and stored.status is NoticeStatus.OPEN:
            routed = replace(routed, next_step_at=notice.next_step_at)
        self.notices[notice.id] = routed

    def recent(self, event_type: EventType, *, limit: int, cursor: str | None) -> Page[Notice]:
        ordered = sorted(
            (n for n in self.notices.values() if n.type == event_type),
            key=lambda n: (n.received_at, n.id),
            reverse=True,
        )
        start = next((i + 1 for i, n in enumerate(ordered) if n.id == cursor), None) if cursor else 0
        if start is None:  # as the table's store: a cursor it did not issue is the caller's mistake
            raise InvalidInput(
                "cursor is invalid", [FieldError("cursor", "is not a cursor this API returned")]
            )
        chunk = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return Page(items=chunk, cursor=chunk[-1].id if more and chunk else None)

    def cursor_after(self, notice: Notice) -> str:
        return notice.id

    def received_between(
        self, event_type: EventType, start: datetime, end: datetime, *, newest_first: bool = False
    ) -> Iterator[Notice]:
        yield from sorted(
            (n for n in self.notices.values() if n.type == event_type and start <= n.received_at < end),
            key=lambda n: n.received_at,
            reverse=newest_first,
        )

    def due(self, now: datetime, *, limit: int) -> list[Notice]:
        due = [
            n
            for n in self.notices.values()
            if n.status is NoticeStatus.OPEN and n.next_step_at is not None and n.next_step_at <= now
        ]
        return sorted(due, key=lambda n: n.next_step_at or now)[:limit]

    def advance_step(
        self, notice_id: str, *, from_step: int, to_step: int, next_step_at: datetime | None
    ) -> bool:
        notice = self.notices.get(notice_id)
        if notice is None or notice.step != from_step or notice.status is not NoticeStatus.OPEN:
            return False
        self.notices[notice_id] = replace(notice, step=to_step, next_step_at=next_step_at)
        return True

    def record_decision(
        self,
        notice_id: str,
        *,
        decision: dict[str, Any],
        duties: list[dict[str, Any]],
        at: datetime,
        personal_data_due: datetime | None = None,
    ) -> bool:
        notice = self.notices.get(notice_id)
        if notice is None or notice.decision is not None or notice.status is NoticeStatus.CLOSED:
            return False
        self.notices[notice_id] = replace(
            notice,
            decision=decision,
            duties=tuple(duties),
            status=NoticeStatus.CLOSED,
            next_step_at=None,
            personal_data_due_at=personal_data_due,
        )
        if personal_data_due is not None:
            self.retention_due.add(notice_id)
        return True

    def personal_data_due(self, now: datetime, *, limit: int) -> list[str]:
        due = [self.notices[i] for i in self.retention_due]
        ordered = sorted(
            (n for n in due if n.personal_data_due_at is not None and n.personal_data_due_at <= now),
            key=lambda n: (n.personal_data_due_at or now, n.id),
        )
        return [n.id for n in ordered[:limit]]

    def remove_personal_data(
        self, notice_id: str, *, event: dict[str, Any], fields: list[str], at: datetime
    ) -> bool:
        notice = self.notices.get(notice_id)
        if notice is None or notice_id not in self.retention_due or notice.personal_data_removed_at:
            return False
        self.notices[notice_id] = replace(
            notice, event=dict(event), personal_data_removed_at=at, personal_data_removed=tuple(fields)
        )
        return True

    def schedule_personal_data_removal(self, notice_id: str, *, due: datetime) -> bool:
        notice = self.get(notice_id)
        if notice.decision is None or notice.personal_data_due_at or notice.personal_data_removed_at:
            return False
        self.notices[notice_id] = replace(notice, personal_data_due_at=due)
        self.retention_due.add(notice_id)
        return True

    def retention_done(self, notice_id: str) -> None:
        if self.notices[notice_id].personal_data_removed_at is not None:
            self.retention_due.discard(notice_id)

    def save_duties(self, notice_id: str, duties: list[dict[str, Any]]) -> None:
        self.notices[notice_id] = replace(self.get(notice_id), duties=tuple(duties))

    def close_triage(self, notice_id: str, *, routed_as: str, at: datetime) -> bool:
        notice = self.notices.get(notice_id)
        if notice is None or notice.status is not NoticeStatus.TRIAGE:
            return False
        extra = {**notice.extra, "routed_as": routed_as, "triaged_at": at.isoformat()}
        self.notices[notice_id] = replace(notice, status=NoticeStatus.CLOSED, extra=extra)
        return True

    def dismiss_triage(self, notice_id: str, *, reason: str, by: str, at: datetime) -> bool:
        notice = self.notices.get(notice_id)
        if notice is None or notice.status is not NoticeStatus.TRIAGE:
            return False
        dismissed = {"reason": reason, "by": by, "at": at.isoformat()}
        self.notices[notice_id] = replace(
            notice, status=NoticeStatus.CLOSED, extra={**notice.extra, "dismissed": dismissed}
        )
        return True

    def held(self, *, limit: int, cursor: str | None) -> Page[Notice]:
        ordered = sorted(
            (n for n in self.notices.values() if n.status is NoticeStatus.TRIAGE),
            key=lambda n: (n.received_at, n.id),
        )
        # The queue's cursors name their list, as DynamoDB's hold the index's keys: another list's
        # cursor is refused.
        after = cursor.removeprefix("triage-") if cursor else None
        if cursor and (after == cursor or after not in self.notices):
            raise InvalidInput(
                "cursor is invalid", [FieldError("cursor", "is not a cursor this API returned")]
            )
        start = next((i + 1 for i, n in enumerate(ordered) if n.id == after), 0) if after else 0
        chunk = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return Page(items=chunk, cursor=f"triage-{chunk[-1].id}" if more and chunk else None)

    def add_report(self, notice_id: str, report: Mapping[str, Any]) -> bool:
        notice = self.get(notice_id)
        seen = self.report_ids.setdefault(notice_id, set())
        if report["id"] in seen:
            return False
        seen.add(report["id"])
        kept = notice.reports + ((dict(report),) if len(notice.reports) < MAX_REPORTS_KEPT else ())
        self.notices[notice_id] = replace(notice, reports=kept, report_count=notice.report_count + 1)
        return True

    def mark_acknowledged(self, notice_id: str, *, at: datetime) -> bool:
        notice = self.notices.get(notice_id)
        if notice is None or notice.status is not NoticeStatus.OPEN:
            return False
        self.notices[notice_id] = replace(
            notice, status=NoticeStatus.ACKNOWLEDGED, acknowledged_at=at, next_step_at=None
        )
        return True


@dataclass
class InMemorySubscriberStore:
    """Both SubscriberStore and SubscriptionIndex, like the DynamoDB adapter.

    The index rows are those ``index_entries`` gives for the stored subscribers, read place by place
    as the adapter's key conditions read them.
    """

    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    # The places read, one per Query the adapter would make.
    queries: list[str] = field(default_factory=list)
    # The graph the index rows are computed with: the world's, with its facilities.
    places: Callable[[], JurisdictionRegistry] = load_registry

    def add(self, subscriber: Subscriber) -> None:
        if subscriber.id in self.subscribers:
            raise Conflict(f"subscriber {subscriber.id!r} exists")
        self.subscribers[subscriber.id] = subscriber

    def replace(self, subscriber: Subscriber) -> None:
        if self.get(subscriber.id).revision != subscriber.revision:
            raise ChangedMeanwhile(f"subscriber {subscriber.id!r} changed since it was read")
        self.subscribers[subscriber.id] = dataclasses.replace(subscriber, revision=subscriber.revision + 1)

    def get(self, subscriber_id: str) -> Subscriber:
        if subscriber_id not in self.subscribers:
            raise NotFound(f"no subscriber {subscriber_id!r}")
        return self.subscribers[subscriber_id]

    def get_many(self, subscriber_ids: Sequence[str]) -> dict[str, Subscriber]:
        return {i: self.subscribers[i] for i in subscriber_ids if i in self.subscribers}

    def list(self, *, limit: int, cursor: str | None) -> Page[Subscriber]:
        ordered = sorted(self.subscribers)
        if cursor and cursor not in ordered:
            raise InvalidInput(
                "cursor is invalid", [FieldError("cursor", "is not a cursor this API returned")]
            )
        start = ordered.index(cursor) + 1 if cursor else 0
        chunk = ordered[start : start + limit]
        more = start + limit < len(ordered)
        return Page(items=[self.subscribers[i] for i in chunk], cursor=chunk[-1] if more and chunk else None)

    def delete(self, subscriber_id: str) -> None:
        self.get(subscriber_id)
        del self.subscribers[subscriber_id]

    def reindex(self, subscriber_id: str) -> Reindexed:
        # Rows are derived from the subscribers on every read, so there is never a stale one.
        return Reindexed(written=len(index_entries(self.get(subscriber_id), self.places())), removed=0)

    def covering(self, reach: Reach) -> Iterator[SubscriptionEntry]:
        reads = [(reach.place, False)] if reach.place is not None else []
        for place, only_covering_below in [*reads, *((above, True) for above in reach.above)]:
            self.queries.append(place)
            for subscriber in self.subscribers.values():
                for entry in index_entries(subscriber, self.places()):
                    if entry.jurisdiction_id != place or entry.event_type is not reach.event_type:
                        continue
                    if only_covering_below and not entry.covers_below:
                        continue
                    yield entry


@dataclass
class InMemoryDeliveryStore:
    deliveries: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    leases: dict[tuple[str, str], datetime] = field(default_factory=dict)
    acks: dict[tuple[str, str], Acknowledgment] = field(default_factory=dict)

    def get_many(self, notice_id: str, delivery_ids: Sequence[str]) -> list[Delivery]:
        return [self.deliveries[(notice_id, i)] for i in delivery_ids if (notice_id, i) in self.deliveries]

    def claim(self, deliveries: Sequence[Delivery], *, now: datetime, lease: timedelta) -> Claim:
        unique = {(d.notice_id, d.delivery_id): d for d in deliveries}
        assert len(unique) <= DELIVERIES_PER_CLAIM, "one write claims 100"
        claimed, refused = [], []
        for d in unique.values():
            key = (d.notice_id, d.delivery_id)
            stored = self.deliveries.get(key, d)
            expired = stored.status is DeliveryStatus.SENDING and self.leases.get(key, now) < now
            if stored.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED) or expired:
                self.deliveries[key] = replace(stored, status=DeliveryStatus.SENDING)
                self.leases[key] = now + lease
                claimed.append(self.deliveries[key])
            else:
                refused.append(stored)
        return Claim(claimed=tuple(claimed), refused=tuple(refused))

    def record(self, deliveries: Sequence[Delivery]) -> None:
        for d in deliveries:
            self.deliveries[(d.notice_id, d.delivery_id)] = d

    def for_notice(self, notice_id: str) -> list[Delivery]:
        return sorted(
            (d for (n, _), d in self.deliveries.items() if n == notice_id), key=lambda d: d.delivery_id
        )

    def record_ack(self, ack: Acknowledgment) -> bool:
        key = (ack.notice_id, ack.subscriber_id)
        if key in self.acks:
            return False
        self.acks[key] = ack
        return True

    def acknowledgments(self, notice_id: str) -> list[Acknowledgment]:
        return sorted((a for (n, _), a in self.acks.items() if n == notice_id), key=lambda a: a.subscriber_id)


@dataclass
class InMemoryAckCodeStore:
    codes: dict[tuple[str, str], AckTarget | ChannelRef] = field(default_factory=dict)

    issue_calls: int = 0
    fail_next: int = 0
    # What a refusal raises: the adapter's StoreUnavailable, or what escapes it (a botocore timeout).
    failure: type[Exception] = StoreUnavailable

    def issue(self, phone: str, target: AckTarget | ChannelRef, *, now: datetime) -> str:
        return self.issue_many([(phone, target)], now=now)[0]

    def issue_many(self, wanted: Sequence[tuple[str, AckTarget | ChannelRef]], *, now: datetime) -> list[str]:
        self.issue_calls += 1
        if self.fail_next:
            self.fail_next -= 1
            raise self.failure("reply codes: throttled")
        issued = []
        for phone, target in wanted:
            code = f"{len(self.codes) + 100000:06d}"
            self.codes[(phone, code)] = target
            issued.append(code)
        return issued

    def lookup(self, phone: str, code: str, *, now: datetime | None = None) -> AckTarget | ChannelRef | None:
        return self.codes.get((phone, code))


@dataclass
class InMemoryContactStore:
    owners: dict[str, ChannelRef] = field(default_factory=dict)

    def claim(self, address: str, ref: ChannelRef) -> None:
        owner = self.owners.get(address)
        if owner is not None and owner.subscriber_id != ref.subscriber_id:
            raise Conflict("this address already belongs to another subscriber")
        self.owners[address] = ref

    def release(self, address: str, subscriber_id: str) -> None:
        if address in self.owners and self.owners[address].subscriber_id == subscriber_id:
            del self.owners[address]

    def owner(self, address: str) -> ChannelRef | None:
        return self.owners.get(address)


@dataclass
class InMemoryMailStore:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, raw: bytes) -> str:
        self.objects[key] = raw
        return f"s3://fake-bucket/{key}"

    def get(self, key: str) -> bytes:
        if key not in self.objects:
            raise NotFound(f"no stored message {key!r}")
        return self.objects[key]


@dataclass
class InMemoryDigestStore:
    """The digest bucket: each key written once, as the bucket's Object Lock and policy keep it.
    Tests may put an object directly in ``objects`` to play whoever can write the bucket."""

    objects: dict[str, bytes] = field(default_factory=dict)

    def newest(self) -> StoredDigest | None:
        dated = [(day, key) for key in self.objects if (day := day_of(key)) is not None]
        if not dated:
            return None
        _, key = max(dated)
        return StoredDigest(key, self.objects[key])

    def put_new(self, key: str, body: bytes) -> bool:
        if key in self.objects:
            return False
        self.objects[key] = body
        return True


@dataclass
class InMemoryFacilityStore:
    facilities: dict[str, Facility] = field(default_factory=dict)
    # How many times every row was read, as the graph's Scans read them.
    listed: int = 0

    def add(self, facility: Facility) -> None:
        if facility.id in self.facilities:
            raise Conflict(f"a facility with the id {facility.id} exists")
        self.facilities[facility.id] = facility

    def get(self, facility_id: str) -> Facility:
        if facility_id not in self.facilities:
            raise NotFound(f"no facility {facility_id!r}")
        return self.facilities[facility_id]

    def replace(self, facility: Facility) -> None:
        if self.get(facility.id).revision != facility.revision:
            raise ChangedMeanwhile(f"facility {facility.id!r} changed since it was read")
        self.facilities[facility.id] = dataclasses.replace(facility, revision=facility.revision + 1)

    def list(self) -> list[Facility]:
        self.listed += 1
        return sorted(self.facilities.values(), key=lambda facility: facility.id)


@dataclass
class InMemoryTrustedSenderStore:
    senders: dict[str, TrustedSender] = field(default_factory=dict)

    def add(self, entry: TrustedSender) -> None:
        if entry.sender in self.senders:
            raise Conflict(f"{entry.sender} is a trusted sender already")
        self.senders[entry.sender] = entry

    def remove(self, sender: str) -> TrustedSender:
        if sender not in self.senders:
            raise NotFound(f"{sender!r} is not a trusted sender")
        return self.senders.pop(sender)

    def find(self, senders: Sequence[str]) -> list[TrustedSender]:
        return [self.senders[s] for s in dict.fromkeys(senders) if s in self.senders]

    def list(self) -> list[TrustedSender]:
        return sorted(self.senders.values(), key=lambda entry: entry.sender)


@dataclass
class InMemoryRotationStore:
    rotations: dict[str, Rotation] = field(default_factory=dict)
    # The places read, each call's: one BatchGetItem of the adapter.
    reads: list[tuple[str, ...]] = field(default_factory=list)

    def add(self, rotation: Rotation) -> None:
        if rotation.id in self.rotations:
            raise Conflict(
                f"{rotation.jurisdiction_id} has a rotation of {rotation.role} already: {rotation.id}"
            )
        self.rotations[rotation.id] = rotation

    def get(self, rotation_id: str) -> Rotation:
        if rotation_id not in self.rotations:
            raise NotFound(f"no rotation {rotation_id!r}")
        return self.rotations[rotation_id]

    def replace(self, rotation: Rotation) -> None:
        self.get(rotation.id)
        self.rotations[rotation.id] = rotation

    def remove(self, rotation_id: str) -> Rotation:
        return self.rotations.pop(self.get(rotation_id).id)

    def at(self, places: Sequence[str]) -> list[Rotation]:
        self.reads.append(tuple(places))
        order = {place: i for i, place in enumerate(places)}
        found = [r for r in self.rotations.values() if r.jurisdiction_id in order]
        return sorted(found, key=lambda r: (order[r.jurisdiction_id], r.role))

    def list(self) -> list[Rotation]:
        return sorted(self.rotations.values(), key=lambda r: (r.jurisdiction_id, r.role))


@dataclass
class InMemoryRateLimiter:
    hits: dict[str, int] = field(default_factory=dict)

    def count(self, key: str, *, window: timedelta, now: datetime) -> int:
        return self.hits.get(window_key(key, window, now)[0], 0)

    def add(self, key: str, *, window: timedelta, now: datetime) -> int:
        bucket = window_key(key, window, now)[0]
        self.hits[bucket] = self.hits.get(bucket, 0) + 1
        return self.hits[bucket]


@dataclass
class InMemoryPolicyStore:
    policies: dict[EventType, EscalationPolicy] = field(default_factory=dict)

    def get(self, event_type: EventType) -> EscalationPolicy:
        return self.policies.get(event_type, DEFAULT_POLICIES[event_type])

    def put(self, policy: EscalationPolicy) -> None:
        self.policies[policy.event_type] = policy


@dataclass
class RecordingQueue:
    sent: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    delays: list[tuple[str, int]] = field(default_factory=list)

    def retry_later(self, receipt_handle: str, delay_seconds: int) -> None:
        self.delays.append((receipt_handle, delay_seconds))

    def send_many(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        self.calls += 1
        self.sent.extend(copy.deepcopy(dict(b)) for b in bodies)

    def take(self) -> list[dict[str, Any]]:
        taken, self.sent = self.sent, []
        return taken


@dataclass
class RecordingEmailSender:
    sent: list[OutgoingEmail] = field(default_factory=list)
    fail_for: set[str] = field(default_factory=set)

    def send(self, message: OutgoingEmail) -> str:
        if message.to in self.fail_for:
            raise SendFailed("ses: Throttling", retryable=True)
        self.sent.append(message)
        return f"email-{len(self.sent)}"


@dataclass
class RecordingSmsSender:
    sent: list[OutgoingSms] = field(default_factory=list)

    def send(self, message: OutgoingSms) -> str:
        self.sent.append(message)
        return f"sms-{len(self.sent)}"


@dataclass
class RecordingWebhookSender:
    sent: list[tuple[OutgoingWebhook, tuple[str, ...]]] = field(default_factory=list)

    def send(self, message: OutgoingWebhook, *, secrets: Sequence[str], now: datetime) -> str:
        self.sent.append((message, tuple(secrets)))
        return "204"


@dataclass
class InMemoryKeyStore:
    keys: dict[str, ApiKey] = field(default_factory=dict)

    def add(self, key: ApiKey) -> None:
        if key.id in self.keys:
            raise Conflict(f"API key {key.id!r} exists")
        self.keys[key.id] = key

    def get(self, key_id: str) -> ApiKey | None:
        return self.keys.get(key_id)

    def list(self) -> list[ApiKey]:
        return sorted(self.keys.values(), key=lambda k: k.created_at)

    def revoke(self, key_id: str, *, now: datetime) -> None:
        if key_id not in self.keys:
            raise NotFound(f"no API key {key_id!r}")
        key = self.keys[key_id]
        self.keys[key_id] = replace(key, revoked_at=key.revoked_at or now)


@dataclass
class FakeWorld:
    """Every fake, wired as bootstrap.Deps for app-level tests."""

    notices: InMemoryNoticeStore = field(default_factory=InMemoryNoticeStore)
    subscribers: InMemorySubscriberStore = field(default_factory=InMemorySubscriberStore)
    deliveries: InMemoryDeliveryStore = field(default_factory=InMemoryDeliveryStore)
    keys: InMemoryKeyStore = field(default_factory=InMemoryKeyStore)
    route_queue: RecordingQueue = field(default_factory=RecordingQueue)
    send_queue: RecordingQueue = field(default_factory=RecordingQueue)
    send_dead_letters: RecordingQueue = field(default_factory=RecordingQueue)
    email: RecordingEmailSender = field(default_factory=RecordingEmailSender)
    sms: RecordingSmsSender = field(default_factory=RecordingSmsSender)
    webhooks: RecordingWebhookSender = field(default_factory=RecordingWebhookSender)
    ack_log: InMemoryAckLog = field(default_factory=InMemoryAckLog)
    policies: InMemoryPolicyStore = field(default_factory=InMemoryPolicyStore)
    codes: InMemoryAckCodeStore = field(default_factory=InMemoryAckCodeStore)
    contacts: InMemoryContactStore = field(default_factory=InMemoryContactStore)
    limits: InMemoryRateLimiter = field(default_factory=InMemoryRateLimiter)
    mail: InMemoryMailStore = field(default_factory=InMemoryMailStore)
    trusted_senders: InMemoryTrustedSenderStore = field(default_factory=InMemoryTrustedSenderStore)
    digests: InMemoryDigestStore = field(default_factory=InMemoryDigestStore)
    facilities: InMemoryFacilityStore = field(default_factory=InMemoryFacilityStore)
    # The graph's clock (seconds): tests move it past the facilities' lifetime.
    ticks: list[float] = field(default_factory=lambda: [0.0])
    places: PlaceGraph = field(init=False)
    rotations: InMemoryRotationStore = field(default_factory=InMemoryRotationStore)
    # A deployed stage by default, so the unit tests see production rules (https-only webhooks, no
    # /dev routes); tests of the local stage's routes set their own.
    settings: Settings = field(
        default_factory=lambda: Settings.from_env({"VIGIL_STAGE": "dev", "VIGIL_ACK_SECRET": UNIT_SECRET})
    )

    def __post_init__(self) -> None:
        self.places = PlaceGraph(load_registry(), self.facilities, clock=lambda: self.ticks[0])
        self.subscribers.places = self.places.current

    def deps(self, settings: Settings | None = None) -> Deps:
        if settings is not None:
            self.settings = settings
        return Deps(
            settings=self.settings,
            places=self.places,
            notices=self.notices,
            subscribers=self.subscribers,
            index=self.subscribers,
            deliveries=self.deliveries,
            keys=self.keys,
            route_queue=self.route_queue,
            send_queue=self.send_queue,
            send_dead_letters=self.send_dead_letters,
            senders=Senders(email=self.email, sms=self.sms, webhook=self.webhooks),
            ack_log=self.ack_log,
            policies=self.policies,
            codes=self.codes,
            contacts=self.contacts,
            limits=self.limits,
            mail=self.mail,
            trusted_senders=self.trusted_senders,
            digests=self.digests,
            facilities=self.facilities,
            rotations=self.rotations,
            webhook_guard=lambda url: (
                "resolves to 127.0.0.1, a loopback address" if "localhost" in url else None
            ),
        )
