"""The sweep: perform each due escalation step of each unacknowledged notice, exactly once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from chalicelib.domain.acklog import EntryKind
from chalicelib.domain.deliveries import Delivery
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.notices import Notice
from chalicelib.domain.policies import Audience, Step, policy_for
from chalicelib.domain.rotations import Roster, audience, rostered
from chalicelib.domain.routing import Recipient, plan_deliveries, reach, reach_above, recipients_for
from chalicelib.domain.subscribers import Channel, ChannelType, EventType, Role
from chalicelib.ports import (
    AckLog,
    DeliveryStore,
    NoticeStore,
    PolicyStore,
    RotationStore,
    SubscriberStore,
    SubscriptionIndex,
    WorkQueue,
)
from chalicelib.services import audit
from chalicelib.services.delivery import ADMIN_PREFIX
from chalicelib.services.rotations import roster
from chalicelib.services.routing import dispatch

logger = structlog.get_logger()

SWEEP_BATCH = 100
# The steps that name people of the rotations, and who each names.
DUTY_AUDIENCES: dict[Audience, Callable[[Roster], tuple[str, ...]]] = {
    Audience.ON_DUTY: Roster.on_duty,
    Audience.NEXT_ON_DUTY: Roster.next_on_duty,
    Audience.ROTATION: Roster.everyone,
}
# The steps whose audience depends on who is on duty: the rotations are read only for these.
ROSTERED = frozenset(
    {Audience.RECIPIENTS, Audience.UNACKNOWLEDGED, Audience.ON_DUTY, Audience.NEXT_ON_DUTY, Audience.ROTATION}
)


@dataclass(frozen=True, slots=True)
class Escalated:
    notice_id: str
    step: int
    audience: Audience
    recipients: int


@dataclass(frozen=True, slots=True)
class SweepReport:
    escalated: list[Escalated] = field(default_factory=list)
    # Due notices another sweep got to first, or that were acknowledged meanwhile.
    skipped: int = 0
    # Notices whose policy's last step was just performed, still unacknowledged: the alarm's metric.
    past_last_step: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "escalated": [
                {
                    "notice_id": e.notice_id,
                    "step": e.step,
                    "notify": str(e.audience),
                    "recipients": e.recipients,
                }
                for e in self.escalated
            ],
            "skipped": self.skipped,
            "past_last_step": self.past_last_step,
        }


def escalate_overdue(
    *,
    notices: NoticeStore,
    policies: PolicyStore,
    index: SubscriptionIndex,
    deliveries: DeliveryStore,
    send_queue: WorkQueue,
    registry: JurisdictionRegistry,
    admins: Sequence[Channel],
    ack_log: AckLog,
    rotations: RotationStore,
    subscribers: SubscriberStore,
    now: datetime,
    actor: str | None = None,
) -> SweepReport:
    """``actor``: the admin's key when an admin runs the sweep at once (``POST /admin/sweep``), which
    the audit trail records with what the sweep did; None for the schedule.

    Two sweeps may overlap: each step's deliveries have the same ids in both (their ids carry the
    step) and the deliver step claims each before sending, so nobody is messaged twice; the conditional
    advance of the notice's step decides which sweep records the step in the log."""
    escalated: list[Escalated] = []
    skipped = past_last_step = 0
    for notice in notices.due(now, limit=SWEEP_BATCH):
        policy = policy_for(policies.get(notice.type), low_key=notice.low_key)
        step_due = policy.next_step(
            after_step=notice.step, received_at=notice.received_at, deadline=notice.deadline
        )
        if step_due is None or step_due[1] > now:
            # The policy changed under the notice: reschedule by its current steps.
            notices.advance_step(
                notice.id,
                from_step=notice.step,
                to_step=notice.step,
                next_step_at=step_due[1] if step_due else None,
            )
            continue
        index_of_step, _ = step_due
        step = policy.steps[index_of_step]
        on_duty = (
            roster(
                notice.jurisdiction_id,
                rotations=rotations,
                subscribers=subscribers,
                registry=registry,
                now=now,
            )
            if step.notify in ROSTERED
            else Roster()
        )
        targets = _audience(
            notice,
            step,
            on_duty,
            index=index,
            deliveries=deliveries,
            registry=registry,
            admins=admins,
        )
        planned = _planned(notice, targets, step, index_of_step, now)
        dispatch(planned, send_queue=send_queue)
        following = policy.next_step(
            after_step=index_of_step, received_at=notice.received_at, deadline=notice.deadline
        )
        won = notices.advance_step(
            notice.id,
            from_step=notice.step,
            to_step=index_of_step,
            next_step_at=following[1] if following else None,
        )
        if not won:
            skipped += 1
            continue
        ack_log.append(
            notice.id,
            EntryKind.ESCALATED,
            at=now,
            actor="system",
            data={
                "step": index_of_step,
                "notify": str(step.notify),
                "channels": [str(c) for c in step.channels],
                "recipients": sorted(t.subscriber_id for t in targets),
                "deliveries": len(planned),
                "next_step_at": following[1].isoformat() if following else None,
                **({"on_duty": on_duty.log_json()} if on_duty.watches else {}),
            },
        )
        logger.info(
            "notice.escalated",
            notice_id=notice.id,
            step=index_of_step,
            notify=str(step.notify),
            recipients=len(targets),
        )
        escalated.append(Escalated(notice.id, index_of_step, step.notify, len(targets)))
        past_last_step += following is None
    report = SweepReport(escalated, skipped, past_last_step)
    if actor is not None:
        audit.record(
            ack_log,
            actor=actor,
            action="sweep.run",
            target="notices",
            before=None,
            after=report.as_json(),
            now=now,
        )
    return report


def _audience(
    notice: Notice,
    step: Step,
    on_duty: Roster,
    *,
    index: SubscriptionIndex,
    deliveries: DeliveryStore,
    registry: JurisdictionRegistry,
    admins: Sequence[Channel],
) -> list[Recipient]:
    if step.notify is Audience.ADMINS:
        return [
            Recipient(
                f"{ADMIN_PREFIX}{c.id}", "Vigil administrators", Role.OTHER, "Vigil", False, (c,), ("admins",)
            )
            for c in admins
        ]
    if step.notify is Audience.ESCALATION_CONTACTS:
        # Up the tree from the notice's parents to the state: the people to climb to are escalation
        # contacts there whose subscriptions cover the place, whichever event types they take routinely.
        return recipients_for(
            e
            for event_type in EventType
            for e in index.covering(reach_above(registry, notice.jurisdiction_id, event_type))
            if e.escalation_contact
        )
    named = DUTY_AUDIENCES.get(step.notify)
    if named is not None:
        return audience(named(on_duty), on_duty)
    # Re-read, as the route step reads them, with whoever is on duty when the step is performed.
    recipients = rostered(
        recipients_for(index.covering(reach(registry, notice.jurisdiction_id, notice.type))), on_duty
    )
    if step.notify is Audience.RECIPIENTS:
        return recipients
    acknowledged = {a.subscriber_id for a in deliveries.acknowledgments(notice.id)}
    return [r for r in recipients if r.ack_required and r.subscriber_id not in acknowledged]


def _planned(
    notice: Notice, targets: list[Recipient], step: Step, index_of_step: int, now: datetime
) -> list[Delivery]:
    allowed: set[ChannelType] = set(step.channels)
    narrowed = [
        Recipient(r.subscriber_id, r.name, r.role, r.organization, r.ack_required, kept, r.via)
        for r in targets
        if (kept := tuple(c for c in r.channels if c.type in allowed))
    ]
    return plan_deliveries(notice, narrowed, step=index_of_step, now=now)
