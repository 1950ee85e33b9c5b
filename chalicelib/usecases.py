"""Every use case of Vigil bound once to its ports and the clock: what entry points call.

An entry point parses a request or an event into values and hands them to one method here; the
method passes them on to one function of ``chalicelib.services`` with the ports it needs and the
current time, and returns what the service returns. Nothing else happens here: no rule, no
branching, no store call (``tests/unit/test_entrypoints.py`` holds every method to that).

``bootstrap.usecases()`` builds one ``UseCases`` per Lambda container. Each method imports its
service module when first called, not at import: every function imports ``app.py`` and each uses a
few of these (cold start, docs/benchmarks.md).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.acknowledgments import AckVia
from chalicelib.domain.auth import ApiKey, ApiRole, Caller
from chalicelib.domain.subscribers import EventType

if TYPE_CHECKING:
    from chalicelib.bootstrap import Deps
    from chalicelib.domain.deliveries import Delivery, SendMessage
    from chalicelib.domain.facilities import Facility, FacilityChange, FacilityDraft
    from chalicelib.domain.jurisdictions import JurisdictionRegistry
    from chalicelib.domain.language import Language
    from chalicelib.domain.mail_trust import TrustedSender
    from chalicelib.domain.notices import Notice
    from chalicelib.domain.places import Jurisdiction
    from chalicelib.domain.policies import EscalationPolicy
    from chalicelib.domain.subscribers import Subscriber
    from chalicelib.ports import Page
    from chalicelib.schemas.decisions import DecisionRequest
    from chalicelib.schemas.events import SubmittedEvent
    from chalicelib.schemas.inbound import SenderEntry, StoredMail
    from chalicelib.schemas.notices import NoticeFilter
    from chalicelib.schemas.rotations import RotationDraft, RotationPatch
    from chalicelib.schemas.subscribers import SubscriberDraft, SubscriberPatch
    from chalicelib.services.acknowledgment import AckResult
    from chalicelib.services.audit import AuditTrail
    from chalicelib.services.digests import DigestWritten
    from chalicelib.services.escalation import SweepReport
    from chalicelib.services.inbound import Inbound
    from chalicelib.services.ingest import Accepted
    from chalicelib.services.notice_queries import NoticeChain, NoticeState
    from chalicelib.services.places import Place
    from chalicelib.services.reports import DetainerReport
    from chalicelib.services.retention import Removed
    from chalicelib.services.rotations import RotationState
    from chalicelib.services.sms_replies import ReplyHandled
    from chalicelib.services.subscribers import Saved


def utcnow() -> datetime:
    return datetime.now(UTC)


class UseCases:
    def __init__(self, deps: Deps, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._deps = deps
        self._clock = clock

    # --- what parsers need to know ----------------------------------------------------------------

    @property
    def registry(self) -> JurisdictionRegistry:
        """Every place a request may name: parsers resolve names with it."""
        return self._deps.registry

    @property
    def max_body_bytes(self) -> int:
        return self._deps.settings.max_body_bytes

    @property
    def allows_local_webhooks(self) -> bool:
        """Plain-http webhooks to this machine (local and test stages only)."""
        return self._deps.settings.allows_local_webhooks

    @property
    def is_local(self) -> bool:
        return self._deps.settings.is_local

    # --- callers -----------------------------------------------------------------------------------

    def authorize(self, authorization: str | None, allowed: frozenset[ApiRole]) -> Caller:
        from chalicelib.services import access

        return access.require(access.authenticate(authorization, keys=self._deps.keys), allowed)

    # --- events and notices ------------------------------------------------------------------------

    def accept_event(self, submitted: SubmittedEvent, *, caller: Caller) -> Accepted:
        from chalicelib.services import ingest

        d = self._deps
        return ingest.accept(
            submitted,
            caller=caller,
            notices=d.notices,
            index=d.index,
            registry=d.registry,
            policies=d.policies,
            route_queue=d.route_queue,
            ack_log=d.ack_log,
            now=self._clock(),
        )

    def receive_mail(self, raw: bytes, *, caller: Caller) -> Inbound:
        from chalicelib.services import inbound

        return inbound.receive(raw, caller=caller, desk=self._deps.desk, now=self._clock())

    def receive_stored_mail(self, stored: StoredMail) -> Inbound | None:
        from chalicelib.services import inbound

        return inbound.receive_stored(
            stored.bucket, stored.key, receipt=stored.receipt, desk=self._deps.desk, now=self._clock()
        )

    def triage_queue(self, *, limit: int, cursor: str | None) -> Page[Notice]:
        from chalicelib.services import triage

        return triage.queue(notices=self._deps.notices, limit=limit, cursor=cursor)

    def complete_triage(self, notice_id: str, body: Any, *, caller: Caller) -> list[Accepted]:
        from chalicelib.services import triage

        return triage.complete(notice_id, body, caller=caller, desk=self._deps.desk, now=self._clock())

    def dismiss_triage(self, notice_id: str, reason: str, *, caller: Caller) -> Notice:
        from chalicelib.services import triage

        d = self._deps
        return triage.dismiss(
            notice_id, reason, caller=caller, notices=d.notices, ack_log=d.ack_log, now=self._clock()
        )

    def trusted_senders(self) -> list[TrustedSender]:
        from chalicelib.services import senders

        return senders.listing(trusted=self._deps.trusted_senders)

    def trust_sender(self, entry: SenderEntry, *, caller: Caller) -> TrustedSender:
        from chalicelib.services import senders

        d = self._deps
        return senders.add(
            entry, trusted=d.trusted_senders, ack_log=d.ack_log, actor=caller.key_id, now=self._clock()
        )

    def distrust_sender(self, sender: str, *, caller: Caller) -> TrustedSender:
        from chalicelib.services import senders

        d = self._deps
        return senders.remove(
            sender, trusted=d.trusted_senders, ack_log=d.ack_log, actor=caller.key_id, now=self._clock()
        )

    def recent_notices(self, wanted: NoticeFilter) -> Page[Notice]:
        from chalicelib.services import notice_queries

        return notice_queries.recent(wanted, notices=self._deps.notices, registry=self._deps.registry)

    def notice_state(self, notice_id: str) -> NoticeState:
        from chalicelib.services import notice_queries

        d = self._deps
        return notice_queries.state(
            notice_id, notices=d.notices, deliveries=d.deliveries, policies=d.policies
        )

    def notice_chain(self, notice_id: str) -> NoticeChain:
        from chalicelib.services import notice_queries

        d = self._deps
        return notice_queries.chain(
            notice_id, notices=d.notices, ack_log=d.ack_log, digests=d.digests, now=self._clock()
        )

    def find_place(self, query: str) -> Place:
        from chalicelib.services import places

        return places.find(query, registry=self._deps.registry)

    # --- correctional facilities -------------------------------------------------------------------

    def facilities(self, state_id: str) -> list[Facility]:
        from chalicelib.services import facilities

        return facilities.listing(state_id, graph=self._deps.places)

    def facility(self, facility_id: str) -> Facility:
        from chalicelib.services import facilities

        return facilities.show(facility_id, keepers=self._deps.keepers)

    def add_facility(self, draft: FacilityDraft, *, caller: Caller) -> Facility:
        from chalicelib.services import facilities

        return facilities.add(draft, keepers=self._deps.keepers, actor=caller.key_id, now=self._clock())

    def change_facility(self, facility_id: str, wanted: FacilityChange, *, caller: Caller) -> Facility:
        from chalicelib.services import facilities

        return facilities.change(
            facility_id, wanted, keepers=self._deps.keepers, actor=caller.key_id, now=self._clock()
        )

    # --- signed links ------------------------------------------------------------------------------

    def open_ack(self, token: str, *, source: str) -> tuple[Notice, Delivery, Language]:
        from chalicelib.services import links

        d = self._deps
        return links.open_ack(
            token,
            source=source,
            keys=d.signing_keys(),
            notices=d.notices,
            deliveries=d.deliveries,
            subscribers=d.subscribers,
            limits=d.limits,
            now=self._clock(),
        )

    def acknowledge(self, token: str, *, via: AckVia, source: str) -> AckResult:
        from chalicelib.services import links

        d = self._deps
        return links.acknowledge(
            token,
            via=via,
            source=source,
            keys=d.signing_keys(),
            notices=d.notices,
            deliveries=d.deliveries,
            subscribers=d.subscribers,
            policies=d.policies,
            ack_log=d.ack_log,
            limits=d.limits,
            now=self._clock(),
        )

    def open_verify(self, token: str, *, source: str) -> Subscriber:
        from chalicelib.services import links

        d = self._deps
        return links.open_verify(
            token,
            source=source,
            keys=d.signing_keys(),
            subscribers=d.subscribers,
            limits=d.limits,
            now=self._clock(),
        )

    def confirm_address(self, token: str, *, source: str) -> Language:
        from chalicelib.services import links

        d = self._deps
        return links.confirm(
            token,
            source=source,
            keys=d.signing_keys(),
            subscribers=d.subscribers,
            ack_log=d.ack_log,
            limits=d.limits,
            now=self._clock(),
        )

    def open_unsubscribe(self, token: str, *, source: str) -> Language:
        from chalicelib.services import links

        d = self._deps
        return links.open_unsubscribe(
            token,
            source=source,
            keys=d.signing_keys(),
            subscribers=d.subscribers,
            limits=d.limits,
            now=self._clock(),
        )

    def unsubscribe(self, token: str, *, source: str) -> Language:
        from chalicelib.services import links

        d = self._deps
        return links.unsubscribe(
            token,
            source=source,
            keys=d.signing_keys(),
            subscribers=d.subscribers,
            senders=d.senders,
            admins=d.admins,
            ack_log=d.ack_log,
            limits=d.limits,
            now=self._clock(),
        )

    # --- detainers and reports ---------------------------------------------------------------------

    def decide(self, notice_id: str, request: DecisionRequest, *, caller: Caller) -> Notice:
        from chalicelib.services import decisions

        d = self._deps
        return decisions.decide(
            notice_id,
            request,
            notices=d.notices,
            index=d.index,
            send_queue=d.send_queue,
            registry=d.registry,
            ack_log=d.ack_log,
            actor=caller.key_id,
            now=self._clock(),
            retention=d.settings.retention,
        )

    def complete_duty(self, notice_id: str, duty_id: str, *, note: str | None, caller: Caller) -> Notice:
        from chalicelib.services import decisions

        return decisions.complete_duty(
            notice_id,
            duty_id,
            note=note,
            notices=self._deps.notices,
            ack_log=self._deps.ack_log,
            actor=caller.key_id,
            now=self._clock(),
        )

    def now(self) -> datetime:
        """The bound clock's time, for parsers whose defaults are relative to today (report windows)."""
        return self._clock()

    def detainer_report(self, start: datetime, end: datetime) -> DetainerReport:
        from chalicelib.services import reports

        return reports.detainer_report(notices=self._deps.notices, start=start, end=end)

    def coverage(self, state: Jurisdiction) -> dict[str, Any]:
        from chalicelib.services import dashboard

        d = self._deps
        return dashboard.coverage_report(
            state=state,
            registry=d.registry,
            subscribers=d.subscribers,
            policies=d.policies,
            rotations=d.rotations,
        )

    def acknowledgment_times(self, event_type: EventType, *, limit: int) -> dict[str, Any]:
        from chalicelib.services import dashboard

        d = self._deps
        return dashboard.acknowledgment_times(
            event_type,
            limit=limit,
            notices=d.notices,
            deliveries=d.deliveries,
            policies=d.policies,
            registry=d.registry,
            now=self._clock(),
        )

    # --- administration ----------------------------------------------------------------------------

    def policy(self, event_type: EventType) -> EscalationPolicy:
        from chalicelib.services import policies

        return policies.current(event_type, policies=self._deps.policies)

    def replace_policy(self, policy: EscalationPolicy, *, caller: Caller) -> EscalationPolicy:
        from chalicelib.services import policies

        d = self._deps
        return policies.replace(
            policy, policies=d.policies, ack_log=d.ack_log, actor=caller.key_id, now=self._clock()
        )

    def sweep(self, *, caller: Caller | None = None) -> SweepReport:
        """The escalation sweep: as the schedule runs it, or run at once by an admin (audited)."""
        from chalicelib.services import escalation

        d = self._deps
        return escalation.escalate_overdue(
            notices=d.notices,
            policies=d.policies,
            index=d.index,
            deliveries=d.deliveries,
            send_queue=d.send_queue,
            registry=d.registry,
            admins=d.admins,
            ack_log=d.ack_log,
            rotations=d.rotations,
            subscribers=d.subscribers,
            now=self._clock(),
            actor=caller.key_id if caller else None,
        )

    def audit_trail(self, *, limit: int) -> AuditTrail:
        from chalicelib.services import audit

        d = self._deps
        return audit.trail(ack_log=d.ack_log, digests=d.digests, limit=limit, now=self._clock())

    def remove_due_personal_data(self) -> Removed:
        """Detainers' personal data whose retention period has run out, removed (the sweep)."""
        from chalicelib.services import retention

        return retention.remove_due(notices=self._deps.notices, ack_log=self._deps.ack_log, now=self._clock())

    def write_digest(self) -> DigestWritten:
        """The day's digest of every chain's head, once a day (the digest schedule)."""
        from chalicelib.services import digests

        return digests.write_daily(ack_log=self._deps.ack_log, digests=self._deps.digests, now=self._clock())

    def create_key(self, name: str, role: ApiRole, *, caller: Caller) -> tuple[ApiKey, str]:
        from chalicelib.services import keys

        return keys.create(
            name,
            role,
            keys=self._deps.keys,
            ack_log=self._deps.ack_log,
            actor=caller.key_id,
            now=self._clock(),
        )

    def api_keys(self) -> list[ApiKey]:
        from chalicelib.services import keys

        return keys.listing(keys=self._deps.keys)

    def revoke_key(self, key_id: str, *, caller: Caller) -> None:
        from chalicelib.services import keys

        keys.revoke(
            key_id, keys=self._deps.keys, ack_log=self._deps.ack_log, actor=caller.key_id, now=self._clock()
        )

    # --- subscribers -------------------------------------------------------------------------------

    def create_subscriber(self, draft: SubscriberDraft, *, caller: Caller) -> Saved:
        from chalicelib.services import subscribers

        d = self._deps
        return subscribers.create(
            draft, subscribers=d.subscribers, consent=d.consent, actor=caller.key_id, now=self._clock()
        )

    def subscribers(self, *, limit: int, cursor: str | None) -> Page[Subscriber]:
        from chalicelib.services import subscribers

        return subscribers.page(limit=limit, cursor=cursor, subscribers=self._deps.subscribers)

    def subscriber(self, subscriber_id: str) -> Subscriber:
        from chalicelib.services import subscribers

        return subscribers.find(subscriber_id, subscribers=self._deps.subscribers)

    def update_subscriber(self, subscriber_id: str, patch: SubscriberPatch, *, caller: Caller) -> Saved:
        from chalicelib.services import subscribers

        d = self._deps
        return subscribers.update(
            subscriber_id,
            patch,
            subscribers=d.subscribers,
            consent=d.consent,
            actor=caller.key_id,
            now=self._clock(),
        )

    def delete_subscriber(self, subscriber_id: str, *, caller: Caller) -> None:
        from chalicelib.services import subscribers

        d = self._deps
        subscribers.delete(
            subscriber_id,
            subscribers=d.subscribers,
            consent=d.consent,
            actor=caller.key_id,
            now=self._clock(),
        )

    def send_test(self, subscriber_id: str, *, caller: Caller) -> list[dict[str, str]]:
        from chalicelib.services import subscribers

        d = self._deps
        return subscribers.send_test(
            subscriber_id,
            subscribers=d.subscribers,
            senders=d.senders,
            ack_log=d.ack_log,
            actor=caller.key_id,
            now=self._clock(),
        )

    def rotate_secret(self, subscriber_id: str, channel_id: str, *, caller: Caller) -> tuple[Subscriber, str]:
        from chalicelib.services import subscribers

        return subscribers.rotate_secret(
            subscriber_id,
            channel_id,
            subscribers=self._deps.subscribers,
            ack_log=self._deps.ack_log,
            actor=caller.key_id,
            now=self._clock(),
        )

    # --- duty rotations ----------------------------------------------------------------------------

    def rotations(self) -> list[RotationState]:
        from chalicelib.services import rotations

        d = self._deps
        return rotations.listing(
            rotations=d.rotations, subscribers=d.subscribers, registry=d.registry, now=self._clock()
        )

    def rotation(self, rotation_id: str) -> RotationState:
        from chalicelib.services import rotations

        d = self._deps
        return rotations.find(
            rotation_id,
            rotations=d.rotations,
            subscribers=d.subscribers,
            registry=d.registry,
            now=self._clock(),
        )

    def create_rotation(self, draft: RotationDraft, *, caller: Caller) -> RotationState:
        from chalicelib.services import rotations

        d = self._deps
        return rotations.create(
            draft,
            rotations=d.rotations,
            subscribers=d.subscribers,
            registry=d.registry,
            ack_log=d.ack_log,
            actor=caller.key_id,
            now=self._clock(),
        )

    def update_rotation(self, rotation_id: str, patch: RotationPatch, *, caller: Caller) -> RotationState:
        from chalicelib.services import rotations

        d = self._deps
        return rotations.update(
            rotation_id,
            patch,
            rotations=d.rotations,
            subscribers=d.subscribers,
            registry=d.registry,
            ack_log=d.ack_log,
            actor=caller.key_id,
            now=self._clock(),
        )

    def delete_rotation(self, rotation_id: str, *, caller: Caller) -> None:
        from chalicelib.services import rotations

        d = self._deps
        rotations.delete(
            rotation_id, rotations=d.rotations, ack_log=d.ack_log, actor=caller.key_id, now=self._clock()
        )

    # --- the pipeline ------------------------------------------------------------------------------

    def route(self, notice_id: str) -> None:
        from chalicelib.services import routing

        d = self._deps
        routing.route(
            notice_id,
            notices=d.notices,
            index=d.index,
            send_queue=d.send_queue,
            registry=d.registry,
            policies=d.policies,
            ack_log=d.ack_log,
            rotations=d.rotations,
            subscribers=d.subscribers,
            now=self._clock(),
        )

    def handle_send_messages(self, messages: Sequence[SendMessage]) -> list[str]:
        from chalicelib.services import delivery

        d = self._deps
        return delivery.handle_send_messages(
            messages,
            notices=d.notices,
            deliveries=d.deliveries,
            subscribers=d.subscribers,
            senders=d.senders,
            codes=d.codes,
            ack_log=d.ack_log,
            links=d,
            admins=d.admins,
            lease=d.settings.send_lease,
            send_queue=d.send_queue,
            dead_letters=d.send_dead_letters,
            retry_scale=d.settings.retry_scale,
            jitter=random.random(),  # noqa: S311  # spreads retries; not a secret
            now=self._clock(),
        )

    def reply_to_text(self, phone: str, text: str) -> ReplyHandled:
        from chalicelib.services import sms_replies

        d = self._deps
        return sms_replies.handle_reply(
            phone, text, inbox=d.inbox, senders=d.senders, admins=d.admins, now=self._clock()
        )

    def handle_ses_feedback(self, notification: Mapping[str, Any]) -> str:
        from chalicelib.services import feedback

        d = self._deps
        return feedback.handle_feedback(
            notification,
            notices=d.notices,
            deliveries=d.deliveries,
            subscribers=d.subscribers,
            send_queue=d.send_queue,
            senders=d.senders,
            admins=d.admins,
            ack_log=d.ack_log,
            now=self._clock(),
        )
