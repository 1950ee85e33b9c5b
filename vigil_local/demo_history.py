"""Twelve weeks of past notices for the demo, so that the dashboard's weekly charts have something to show.

Each past notice is made as its own path would have made it: read by the event parser (a detainer
classified and its hold clocks computed by intake's own ``detainer_review``), its recipients found in
the subscription index as routing finds them and its deliveries planned by the same rule
(``plan_deliveries``), its escalation steps taken when its policy says, to the audiences the sweep
would choose, and acknowledged by some of its recipients through their messages. Each notice ends as
the pipeline would end it: acknowledged once every role its policy requires has acknowledged, or,
where it reached nobody of a required role (a coverage gap: under the demo's rollout policy, a town
no local official of the demo covers), open after its last step, with nothing left for the sweep to
take. Its log is the chain those steps write (created,
routed, delivered, escalated, acknowledged), sealed by the log's own rule (``next_entry``), so it
verifies like any other.

It is written in one go rather than replayed through the use cases: the replay costs about a hundred
requests per notice (about a second each on the local stack's moto), the whole history here about fifty
batched requests. Nothing of it is sent: the outbox shows only what happens from now on. Written
before the ticker starts (``runner.py``), it never meets a sweep half-way.

The story the figures tell: the governor's office and the mayors acknowledged rollouts slowly twelve
weeks ago (many climbed to the admins, the last step) and faster week by week since, except in
Torrington, where no local official subscribes: its rollouts climb to the admins and stay open,
waiting for a local official nobody can reach; detainers are acknowledged by
Correction within the hour, except those that arrive on a Friday evening shortly before release, read
on Monday after their last step. Randomness is seeded: the same history every time, placed relative
to now.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from chalicelib.adapters.ack_log import entry_to_item
from chalicelib.adapters.delivery_store import ack_to_item, delivery_to_item
from chalicelib.adapters.dynamodb import batch_write, encode
from chalicelib.adapters.notice_store import notice_to_item
from chalicelib.bootstrap import Deps
from chalicelib.domain.acklog import EntryKind, LogEntry, next_entry
from chalicelib.domain.acknowledgments import Acknowledgment, AckVia
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.notices import Notice, NoticeStatus, fingerprint, notice_id_for
from chalicelib.domain.policies import Audience, EscalationPolicy, is_acknowledged
from chalicelib.domain.routing import (
    Recipient,
    coverage_gaps,
    plan_deliveries,
    reach,
    reach_above,
    recipients_for,
)
from chalicelib.domain.subscribers import ChannelType, EventType, Role
from chalicelib.schemas.events import parse_event
from chalicelib.services.delivery import ADMIN_PREFIX, log_entries
from chalicelib.services.ingest import detainer_review

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

logger = structlog.get_logger()

WEEKS = 12
SEED = 20120217
# Everything of a past notice (its last step, its last acknowledgment) is over this long before now.
SETTLED = timedelta(hours=8)
SUBMITTED_BY = "demo-history"
# How long after receipt a notice is routed and its messages sent, and a sweep takes a due step.
ROUTED_AFTER = timedelta(seconds=2)
SENT_AFTER = timedelta(seconds=5)
SWEPT_AFTER = timedelta(seconds=30)
TOWNS = ("New Haven", "Hartford", "Bridgeport", "Stamford", "Norwalk", "Danbury")
# A town of a county the demo's local officials leave uncovered (Litchfield): its rollouts are gaps.
UNCOVERED_TOWN = "Torrington"
FACILITIES = ("New Haven Correctional Center", "Bridgeport Correctional Center")


@dataclass(frozen=True, slots=True)
class _Ack:
    """Who acknowledges a past notice (a named office, or the first recipient of a role) and when."""

    minutes: float
    role: Role
    office: str | None = None


@dataclass
class History:
    """What was written, for the log line and the tests."""

    notices: dict[str, int] = field(default_factory=dict)
    # Notices that reached nobody of a required role and stay open after their last step.
    left_open: int = 0
    acknowledgments: int = 0
    escalations: int = 0
    requests: int = 0


def seed_history(
    deps: Deps,
    dynamodb: DynamoDBClient,
    offices: Mapping[str, str],
    *,
    now: datetime,
    weeks: int = WEEKS,
    seed: int = SEED,
) -> History:
    """``offices``: the demo subscribers' ids by office (what ``seed_demo`` returns); ``dynamodb``: a
    client of the stack's DynamoDB, for the batched writes. Another ``seed`` gives another history
    beside the first (the benchmarks fill a store with several)."""
    writer = _Writer(deps, offices, settled=now - SETTLED)
    rng = random.Random(seed)  # noqa: S311  # demo data, the same every time: not a secret
    plans = _plans(
        rng,
        now=now,
        weeks=weeks,
        tag=f"{seed}",
        rollout_steps=_last_step(writer.policy(EventType.ROLLOUT)),
    )
    for received_at, body, acks in sorted(plans, key=lambda p: p[0]):
        writer.notice(received_at, body, acks)
    writer.history.requests += writer.write(dynamodb)
    history = writer.history
    logger.info(
        "demo.history_seeded",
        **history.notices,
        left_open=history.left_open,
        acknowledgments=history.acknowledgments,
        escalations=history.escalations,
        requests=history.requests,
    )
    return history


# ---------------------------------------------------------------------------------------------- the plan


def _last_step(policy: EscalationPolicy) -> timedelta:
    """How long after receipt a notice's last step falls due, of the steps timed from receipt."""
    return max((s.after for s in policy.steps if s.after is not None), default=timedelta(0))


def _plans(
    rng: random.Random, *, now: datetime, weeks: int, tag: str, rollout_steps: timedelta
) -> list[tuple[datetime, dict[str, Any], list[_Ack]]]:
    """``rollout_steps``: when a rollout's last step falls due; one nobody can close takes them all."""
    plans: list[tuple[datetime, dict[str, Any], list[_Ack]]] = []
    settled = now - SETTLED
    for age in range(weeks - 1, -1, -1):  # weeks ago, the oldest first
        for n in range(rng.randint(2, 4)):
            received = _weekday(rng, now, age)
            body, acks = _rollout(rng, age, f"{tag}-{age}-{n}")
            if _settled(received, acks, settled, steps=rollout_steps):
                plans.append((received, body, acks))
        for n in range(rng.randint(2, 3)):
            friday_evening = rng.random() < 0.25
            received = _friday_evening(rng, now, age) if friday_evening else _weekday(rng, now, age)
            body, acks = _detainer(rng, received, f"{tag}-{age}-{n}", friday_evening=friday_evening)
            if _settled(received, acks, settled):
                plans.append((received, body, acks))
    return plans


def _settled(
    received: datetime, acks: Sequence[_Ack], settled: datetime, *, steps: timedelta = timedelta(0)
) -> bool:
    """Everything of the notice (its acknowledgments, and its steps timed from receipt) is over
    before ``settled``: nothing of it is left to happen now."""
    return received + max(timedelta(minutes=max(a.minutes for a in acks)), steps) <= settled


def _weekday(rng: random.Random, now: datetime, age: int) -> datetime:
    """A weekday's working hour (9 to 4 in Connecticut) about ``age`` weeks before now."""
    day = now - timedelta(weeks=age, days=rng.randint(0, 6))
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day.replace(hour=rng.randint(14, 20), minute=rng.randint(0, 59), second=0, microsecond=0)


def _friday_evening(rng: random.Random, now: datetime, age: int) -> datetime:
    """The last Friday on or before the day ``age`` weeks ago, after 5 p.m. in Connecticut."""
    day = now - timedelta(weeks=age)
    day -= timedelta(days=(day.weekday() - 4) % 7)
    return day.replace(hour=rng.randint(22, 23), minute=rng.randint(0, 59), second=0, microsecond=0)


def _rollout(rng: random.Random, age: int, tag: str) -> tuple[dict[str, Any], list[_Ack]]:
    place = rng.choice((*TOWNS, *TOWNS, UNCOVERED_TOWN, "Fairfield County", "statewide"))
    # The governor's office: two and a half hours twelve weeks ago, half an hour this week.
    acks = [_Ack((30 + 12 * age) * rng.uniform(0.6, 1.5), Role.STATE_EXECUTIVE)]
    # The place's own officials: an hour and a half twelve weeks ago, a quarter of an hour this week;
    # one mayor in five only after the reminder (the second step, at 15 minutes).
    local = (15 + 6 * age) * rng.uniform(0.5, 1.8)
    if rng.random() >= 0.8:
        local = max(local, 15) + rng.uniform(5, 45)
    if place in TOWNS:
        acks.append(_Ack(local, Role.LOCAL_OFFICIAL, f"Mayor of {place}"))
        if rng.random() < 0.5:
            acks.append(_Ack(rng.uniform(30, 240), Role.LAW_ENFORCEMENT, f"{place} Police Chief"))
    elif place != UNCOVERED_TOWN:
        # A county's or the state's rollout reaches the mayors inside it: the first of them acts.
        acks.append(_Ack(local, Role.LOCAL_OFFICIAL))
    if rng.random() < 0.9:
        acks.append(_Ack(rng.uniform(2, 12), Role.ADVOCATE))
    body = {
        "type": "rollout",
        "external_id": f"demo-history-rollout-{tag}",
        "program": "secure-communities",
        "jurisdiction": place,
        "effective_at": "2026-12-02T00:00:00-05:00",
        "summary": f"Secure Communities activates in {place}",
        "source": {"agency": "ICE", "channel": "email"},
    }
    return body, acks


def _detainer(
    rng: random.Random, issued: datetime, tag: str, *, friday_evening: bool
) -> tuple[dict[str, Any], list[_Ack]]:
    """Correction's review unit acknowledges within the hour, except a detainer that arrives on a
    Friday evening three hours before release: nobody reads it until Monday morning, after the last
    step (four hours before its hold deadline) has fallen due."""
    facility = rng.choice(FACILITIES)
    if friday_evening:
        release = issued + timedelta(hours=3)
        monday = (issued + timedelta(days=3)).replace(hour=13, minute=rng.randint(30, 59))
        acks = [_Ack((monday - issued).total_seconds() / 60, Role.CORRECTIONS, "Detainer Review Unit")]
    else:
        release = issued + timedelta(hours=rng.randint(30, 70))
        acks = [_Ack(rng.uniform(8, 75), Role.CORRECTIONS, "Detainer Review Unit")]
        if rng.random() < 0.5:
            acks.append(_Ack(rng.uniform(40, 300), Role.CORRECTIONS, "Corrections Commissioner"))
    if facility.startswith("New Haven") and rng.random() < 0.6:
        acks.append(_Ack(rng.uniform(60, 600), Role.LEGAL))
    if rng.random() < 0.8:
        acks.append(_Ack(rng.uniform(2, 15), Role.ADVOCATE))
    body = {
        "type": "detainer",
        "external_id": f"I247A-demo-history-{tag}",
        "form": "I-247A",
        "issued_at": issued.astimezone(UTC).isoformat(timespec="seconds"),
        "facility": facility,
        "subject": {"name": "Example Person", "date_of_birth": "1990-01-01"},
        "release_due_at": release.astimezone(UTC).isoformat(timespec="seconds"),
        "judicial_warrant": False,
        "convictions": [{"statute": "53a-125b", "class": "A misdemeanor", "date": "2020-05-01"}],
        "criminal_history_entered": True,
    }
    return body, acks


# ---------------------------------------------------------------------------------------------- the records


class _Writer:
    """Makes each past notice's records and keeps them until ``write``."""

    def __init__(self, deps: Deps, offices: Mapping[str, str], *, settled: datetime) -> None:
        self.deps = deps
        self.offices = offices
        # A notice nobody can close takes its steps up to here (``_plans`` keeps them all before it).
        self.settled = settled
        self.history = History()
        self.notices: list[Notice] = []
        self.deliveries: list[Delivery] = []
        self.acks: list[Acknowledgment] = []
        self.entries: list[LogEntry] = []
        self._policies: dict[EventType, EscalationPolicy] = {}
        self._reached: dict[tuple[str, EventType, bool], list[Recipient]] = {}

    def policy(self, event_type: EventType) -> EscalationPolicy:
        if event_type not in self._policies:
            self._policies[event_type] = self.deps.policies.get(event_type)
        return self._policies[event_type]

    def recipients(self, place: str, event_type: EventType, *, above: bool = False) -> list[Recipient]:
        """Who a notice there reaches (``above``: the escalation contacts above it), read once a place."""
        key = (place, event_type, above)
        if key not in self._reached:
            registry, index = self.deps.registry, self.deps.index
            if above:
                found = recipients_for(
                    e
                    for kind in EventType
                    for e in index.covering(reach_above(registry, place, kind))
                    if e.escalation_contact
                )
            else:
                found = recipients_for(index.covering(reach(registry, place, event_type)))
            self._reached[key] = found
        return self._reached[key]

    def notice(self, received: datetime, body: dict[str, Any], acks: list[_Ack]) -> None:
        submitted = parse_event(body, idempotency_header=None, registry=self.deps.registry)
        event, deadline = submitted.event, None
        if submitted.detainer is not None:
            review, deadline = detainer_review(submitted.detainer, submitted.jurisdiction_id)
            event = {**event, **review}
        policy = self.policy(submitted.type)
        recipients = self.recipients(submitted.jurisdiction_id, submitted.type)
        notice = Notice(
            id=notice_id_for(submitted.type, submitted.idempotency_key),
            type=submitted.type,
            status=NoticeStatus.OPEN,
            idempotency_key=submitted.idempotency_key,
            fingerprint=fingerprint(event),
            jurisdiction_id=submitted.jurisdiction_id,
            title=submitted.title,
            received_at=received,
            event=event,
            submitted_by=SUBMITTED_BY,
            recipients=len(recipients),
            coverage_gaps=tuple(str(g) for g in coverage_gaps(policy.required_roles, recipients)),
            deadline=deadline,
        )
        chain = _Chain(notice.id)
        chain.add(EntryKind.CREATED, received, SUBMITTED_BY, _created(notice))
        routed_at = received + ROUTED_AFTER
        following = policy.next_step(after_step=0, received_at=received, deadline=deadline)
        first = self._send(notice, recipients, step=0, at=routed_at)
        chain.add(
            EntryKind.ROUTED,
            routed_at,
            "system",
            {
                "recipients": len(recipients),
                "deliveries": len(first),
                "roles": sorted({str(r.role) for r in recipients}),
                "coverage_gaps": list(notice.coverage_gaps),
                "next_step_at": following[1].isoformat() if following else None,
            },
        )
        self._log_sent(chain, first)
        step, done = self._acknowledge(notice, policy, first, acks, chain)
        kind = str(notice.type)
        self.history.notices[kind] = self.history.notices.get(kind, 0) + 1
        # Open, as the sweep leaves a notice nobody of a required role acknowledged: off its
        # schedule once the last step is taken.
        left = None if done else policy.next_step(after_step=step, received_at=received, deadline=deadline)
        self.history.left_open += done is None
        self.notices.append(
            replace(
                notice,
                status=NoticeStatus.ACKNOWLEDGED if done else NoticeStatus.OPEN,
                routed_at=routed_at,
                step=step,
                next_step_at=left[1] if left else None,
                acknowledged_at=done,
            )
        )
        self.entries += chain.entries

    def _acknowledge(
        self,
        notice: Notice,
        policy: EscalationPolicy,
        first: list[Delivery],
        acks: list[_Ack],
        chain: _Chain,
    ) -> tuple[int, datetime | None]:
        """The acknowledgments in time order, each preceded by the steps that fell due before it;
        the last step taken and when the required roles had all acknowledged (None: they never did,
        and every step due before ``settled`` is taken)."""
        step, done = 0, None
        acked: list[Acknowledgment] = []
        for planned in sorted(acks, key=lambda a: a.minutes):
            at = notice.received_at + timedelta(minutes=planned.minutes)
            if done is None:
                step = self._escalate(notice, policy, step, until=at, acked=acked, chain=chain)
            delivery = self._delivery_for(first, planned)
            if delivery is None:
                continue
            ack = Acknowledgment(
                notice_id=notice.id,
                subscriber_id=delivery.subscriber_id,
                role=delivery.role,
                delivery_id=delivery.delivery_id,
                via=AckVia.WEBHOOK if delivery.channel_type is ChannelType.WEBHOOK else AckVia.LINK,
                at=at,
            )
            acked.append(ack)
            completed = done is None and is_acknowledged(policy.required_roles, {a.role for a in acked})
            if completed:
                done = at
            chain.add(
                EntryKind.ACKNOWLEDGED,
                at,
                delivery.subscriber_id,
                {
                    "role": str(ack.role),
                    "via": str(ack.via),
                    "delivery_id": ack.delivery_id,
                    "late": False,
                    "notice_acknowledged": completed,
                },
            )
        if done is None:
            step = self._escalate(notice, policy, step, until=self.settled, acked=acked, chain=chain)
        self.acks += acked
        self.history.acknowledgments += len(acked)
        return step, done

    def _escalate(
        self,
        notice: Notice,
        policy: EscalationPolicy,
        step: int,
        *,
        until: datetime,
        acked: Sequence[Acknowledgment],
        chain: _Chain,
    ) -> int:
        """Each step that falls due before ``until``, taken by the sweep half a minute later."""
        while (
            due := policy.next_step(after_step=step, received_at=notice.received_at, deadline=notice.deadline)
        ) and due[1] < until:
            step, at = due[0], due[1] + SWEPT_AFTER
            taken = policy.steps[step]
            targets = self._audience(notice, taken.notify, acked)
            allowed = set(taken.channels)
            narrowed = [
                Recipient(r.subscriber_id, r.name, r.role, r.organization, r.ack_required, kept, r.via)
                for r in targets
                if (kept := tuple(c for c in r.channels if c.type in allowed))
            ]
            sent = self._send(notice, narrowed, step=step, at=at)
            following = policy.next_step(
                after_step=step, received_at=notice.received_at, deadline=notice.deadline
            )
            chain.add(
                EntryKind.ESCALATED,
                at,
                "system",
                {
                    "step": step,
                    "notify": str(taken.notify),
                    "channels": [str(c) for c in taken.channels],
                    "recipients": sorted(t.subscriber_id for t in targets),
                    "deliveries": len(sent),
                    "next_step_at": following[1].isoformat() if following else None,
                },
            )
            self._log_sent(chain, sent)
            self.history.escalations += 1
        return step

    def _audience(self, notice: Notice, notify: Audience, acked: Sequence[Acknowledgment]) -> list[Recipient]:
        """Whom the sweep would send a step to (``services/escalation``'s rule)."""
        if notify is Audience.ADMINS:
            return [
                Recipient(
                    f"{ADMIN_PREFIX}{c.id}",
                    "Vigil administrators",
                    Role.OTHER,
                    "Vigil",
                    False,
                    (c,),
                    ("admins",),
                )
                for c in self.deps.admins
            ]
        if notify is Audience.ESCALATION_CONTACTS:
            return self.recipients(notice.jurisdiction_id, notice.type, above=True)
        recipients = self.recipients(notice.jurisdiction_id, notice.type)
        if notify is Audience.RECIPIENTS:
            return recipients
        done = {a.subscriber_id for a in acked}
        return [r for r in recipients if r.ack_required and r.subscriber_id not in done]

    def _send(
        self, notice: Notice, recipients: Sequence[Recipient], *, step: int, at: datetime
    ) -> list[Delivery]:
        """The step's deliveries, planned when it is taken and sent a few seconds later."""
        planned = plan_deliveries(notice, recipients, step=step, now=at)
        sent = [d.sent(provider_message_id=SUBMITTED_BY, now=at + SENT_AFTER - ROUTED_AFTER) for d in planned]
        self.deliveries += sent
        return sent

    def _log_sent(self, chain: _Chain, sent: Sequence[Delivery]) -> None:
        if not sent:
            return
        for entry in log_entries(sent, sent[0].sent_at or sent[0].created_at):
            chain.add(EntryKind(entry["kind"]), datetime.fromisoformat(entry["at"]), "system", entry["data"])

    def _delivery_for(self, sent: Sequence[Delivery], ack: _Ack) -> Delivery | None:
        """The first message with a link to the office named, or to the first recipient of the role."""
        wanted = self.offices.get(ack.office) if ack.office else None
        for d in sent:
            if d.channel_type is ChannelType.SMS:
                continue
            if (wanted is not None and d.subscriber_id == wanted) or (
                ack.office is None and d.role is ack.role
            ):
                return d
        return None

    def write(self, dynamodb: DynamoDBClient) -> int:
        """Everything in batches of 25; the number of requests."""
        settings = self.deps.settings

        def puts(items: Sequence[dict[str, Any]]) -> list[WriteRequestTypeDef]:
            return [{"PutRequest": {"Item": encode(item)}} for item in items]

        return (
            batch_write(
                dynamodb, settings.resource("notices"), puts([notice_to_item(n) for n in self.notices])
            )
            + batch_write(
                dynamodb,
                settings.resource("deliveries"),
                puts([delivery_to_item(d) for d in self.deliveries] + [ack_to_item(a) for a in self.acks]),
            )
            + batch_write(
                dynamodb, settings.resource("ack-log"), puts([entry_to_item(e) for e in self.entries])
            )
        )


class _Chain:
    """One notice's log, sealed entry by entry as the log would seal it."""

    def __init__(self, notice_id: str) -> None:
        self.notice_id = notice_id
        self.entries: list[LogEntry] = []

    def add(self, kind: EntryKind, at: datetime, actor: str, data: Mapping[str, Any]) -> None:
        previous = self.entries[-1] if self.entries else None
        self.entries.append(
            next_entry(previous, notice_id=self.notice_id, kind=kind, at=at, actor=actor, data=data)
        )


def _created(notice: Notice) -> dict[str, Any]:
    """The first entry's facts, as intake writes them."""
    return {
        "type": str(notice.type),
        "title": notice.title,
        "jurisdiction_id": notice.jurisdiction_id,
        "idempotency_key": notice.idempotency_key,
        "fingerprint": notice.fingerprint,
        "deadline": notice.deadline.isoformat() if notice.deadline else None,
        "coverage_gaps": list(notice.coverage_gaps),
        "low_key": notice.low_key,
        "raw": None,
    }
