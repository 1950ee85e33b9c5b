"""The demo's twelve weeks of past notices, written into the stack of infra/template.yaml under the
demo's rollout policy: every notice acknowledged by the roles its policy requires, or, where it reached
nobody of one of them, open after its last step; none still due, every log verifying, in a few dozen
batched requests; spread over the weeks the dashboard charts, with rollouts climbing to their last step
more often long ago than lately."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench.counting import AwsCallCounter
from chalicelib.bootstrap import Deps, build
from chalicelib.config import Settings
from chalicelib.domain.acklog import verify_chain
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.subscribers import EventType, Role
from chalicelib.services import dashboard
from tests.integration.conftest import STAGE, Aws
from vigil_local.demo import DEMO_ROLLOUT_POLICY, demo_records
from vigil_local.demo_history import WEEKS, History, seed_history

pytestmark = pytest.mark.integration

# A Thursday afternoon in New York.
NOW = datetime(2026, 12, 3, 19, 30, tzinfo=UTC)


def demo_offices(deps: Deps) -> dict[str, str]:
    """The demo's subscribers and rollout policy stored as the demo leaves them; their ids by office."""
    deps.policies.put(DEMO_ROLLOUT_POLICY)
    offices = {}
    for record in demo_records(deps.registry, now=NOW):
        deps.subscribers.add(record)
        offices[record.name] = record.id
    return offices


@pytest.fixture
def seeded(aws: Aws, stack: dict[str, str]) -> tuple[Deps, History, int]:
    counter = AwsCallCounter().attach(aws.session)
    settings = Settings.from_env({"VIGIL_STAGE": STAGE, "VIGIL_ADMIN_EMAILS": "ops@vigil.example.gov"})
    deps = build(settings, session=aws.session)
    offices = demo_offices(deps)
    before = counter.snapshot()
    history = seed_history(deps, aws.client("dynamodb"), offices, now=NOW)
    return deps, history, (counter.snapshot() - before).requests("dynamodb")


def test_every_past_notice_ends_acknowledged_or_open_after_its_last_step_with_a_log_that_verifies(
    seeded: tuple[Deps, History, int],
) -> None:
    deps, history, _ = seeded
    assert history.notices["rollout"] >= 2 * WEEKS - 2
    assert history.notices["detainer"] >= 2 * WEEKS - 2
    left_open = []
    for kind in EventType:
        policy = deps.policies.get(kind)
        for notice in deps.notices.received_between(kind, datetime(2000, 1, 1, tzinfo=UTC), NOW):
            entries = deps.ack_log.entries(notice.id)
            assert verify_chain(notice.id, entries).verified, notice.title
            assert entries[0].kind == "created"
            assert notice.next_step_at is None
            acknowledged = {a.role for a in deps.deliveries.acknowledgments(notice.id)}
            if notice.coverage_gaps:
                # It reached nobody of a required role: the pipeline never closes it, the sweep
                # took every step (the admins last), and the roles it did reach acknowledged.
                left_open.append(notice)
                assert notice.status is NoticeStatus.OPEN
                assert notice.acknowledged_at is None
                assert notice.step == len(policy.steps) - 1
                assert entries[-1].kind in {"escalated", "delivered", "acknowledged"}
                assert Role.STATE_EXECUTIVE in acknowledged
                assert not set(policy.required_roles) <= acknowledged
            else:
                assert notice.status is NoticeStatus.ACKNOWLEDGED
                assert notice.acknowledged_at is not None
                assert notice.acknowledged_at <= NOW
                assert acknowledged >= set(policy.required_roles)
    assert left_open, "the demo's history has no notice in a place without a local official"
    assert len(left_open) == history.left_open
    assert {n.jurisdiction_id for n in left_open} == {"us-ct/town/torrington"}
    assert all(n.coverage_gaps == ("local-official",) for n in left_open)
    assert deps.notices.due(NOW, limit=10) == []  # nothing for a sweep to take


def test_the_weeks_are_filled_and_rollouts_climbed_to_the_last_step_more_often_long_ago(
    seeded: tuple[Deps, History, int],
) -> None:
    deps, _, _ = seeded
    answer = dashboard.acknowledgment_times(
        EventType.ROLLOUT,
        limit=50,
        notices=deps.notices,
        deliveries=deps.deliveries,
        policies=deps.policies,
        registry=deps.registry,
        now=NOW,
    )
    weeks = answer["weekly"]["all"]
    assert all(w["notices"] >= 1 and w["count"] >= 1 for w in weeks)
    early = sum(w["reached_last_step"] for w in weeks[:4]) / sum(w["notices"] for w in weeks[:4])
    late = sum(w["reached_last_step"] for w in weeks[-4:]) / sum(w["notices"] for w in weeks[-4:])
    assert early > late
    assert weeks[0]["median_minutes"] > weeks[-1]["median_minutes"]
    roles = {r["role"] for r in answer["weekly"]["by_role"]}
    assert {"state-executive", "local-official", "advocate"} <= roles
