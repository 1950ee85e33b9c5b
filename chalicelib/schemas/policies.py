"""PUT /policies/{event_type} bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chalicelib.domain.errors import FieldError, InvalidInput
from chalicelib.domain.policies import ALL_CHANNELS, Audience, EscalationPolicy, Step, parse_duration
from chalicelib.domain.subscribers import ChannelType, EventType, Role
from chalicelib.schemas.fields import Problems, choice, reject_unknown, require_object, strings_among

MAX_STEPS = 10
MAX_DELAY = timedelta(days=30)


def parse_event_type(raw: str, *, field: str = "event_type") -> EventType:
    """``field`` names where the value came from: the policy routes' path, a query's ``type``."""
    try:
        return EventType(raw)
    except ValueError:
        raise InvalidInput(
            f"unknown event type {raw[:100]!r}",
            [FieldError(field, f"must be one of {', '.join(str(t) for t in EventType)}")],
        ) from None


def parse_policy(body: Any, *, event_type: EventType) -> EscalationPolicy:
    body = require_object(body, "policy")
    problems = Problems()
    reject_unknown(body, {"required_roles", "steps", "event_type"}, problems)
    if "event_type" in body and body["event_type"] != str(event_type):
        problems.add("event_type", f"must match the path ({event_type}) or be left out")
    roles = _roles(body.get("required_roles"), problems)
    steps = _steps(body.get("steps"), problems, event_type=event_type)
    problems.raise_if_any("policy")
    return EscalationPolicy(event_type=event_type, required_roles=roles, steps=steps)


def _roles(value: Any, problems: Problems) -> tuple[Role, ...]:
    allowed = {str(r) for r in Role}
    if not strings_among(value, allowed):
        problems.add("required_roles", f"must be a non-empty list of roles: {', '.join(sorted(allowed))}")
        return ()
    return tuple(Role(r) for r in dict.fromkeys(value))


def _duration(item: Mapping[str, Any], key: str, prefix: str, problems: Problems) -> timedelta | None:
    if key not in item:
        return None
    # Present as null is not absent: a step whose only timing is null would never fall due.
    raw = item[key]
    try:
        value = parse_duration(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None or value > MAX_DELAY:
        problems.add(prefix + key, "must be an ISO 8601 duration of at most 30 days, e.g. PT30M")
    return value


def _steps(value: Any, problems: Problems, *, event_type: EventType) -> tuple[Step, ...]:
    if not isinstance(value, list) or not value or len(value) > MAX_STEPS:
        problems.add("steps", f"must be a list of 1 to {MAX_STEPS} steps")
        return ()
    steps: list[Step] = []
    for i, item in enumerate(value):
        prefix = f"steps[{i}]."
        if not isinstance(item, Mapping):
            problems.add(f"steps[{i}]", "must be an object with notify and after (or before_deadline)")
            continue
        reject_unknown(item, {"notify", "after", "before_deadline", "channels"}, problems, prefix=prefix)
        notify = choice(item, "notify", Audience, problems, prefix=prefix)
        after = _duration(item, "after", prefix, problems)
        before = _duration(item, "before_deadline", prefix, problems)
        if ("after" in item) == ("before_deadline" in item):
            problems.add(f"steps[{i}]", "needs exactly one of after and before_deadline")
        if "before_deadline" in item and event_type is not EventType.DETAINER:
            problems.add(prefix + "before_deadline", "only detainers have a legal deadline")
        channels = _channels(item.get("channels"), prefix, problems)
        if notify is not None:
            steps.append(Step(notify, after=after, before_deadline=before, channels=channels))
    if problems.errors:
        return ()
    first = steps[0]
    if first.notify is not Audience.RECIPIENTS or first.after != timedelta(0):
        problems.add("steps[0]", 'must be {"after": "PT0S", "notify": "recipients"}: the first fan-out')
    _check_order(steps, problems)
    return tuple(steps)


def _channels(value: Any, prefix: str, problems: Problems) -> tuple[ChannelType, ...]:
    if value is None:
        return ALL_CHANNELS
    allowed = {str(c) for c in ChannelType}
    if not strings_among(value, allowed):
        problems.add(prefix + "channels", f"must be a non-empty list of {', '.join(sorted(allowed))}")
        return ALL_CHANNELS
    return tuple(ChannelType(c) for c in dict.fromkeys(value))


def _check_order(steps: list[Step], problems: Problems) -> None:
    """Steps run in list order; a step that could never come after its predecessor is a mistake."""
    last_after = timedelta(0)
    last_before: timedelta | None = None
    for i, step in enumerate(steps):
        if step.after is not None:
            if step.after < last_after:
                problems.add(f"steps[{i}].after", "must not be earlier than the step before it")
            last_after = step.after
        if step.before_deadline is not None:
            if last_before is not None and step.before_deadline > last_before:
                problems.add(
                    f"steps[{i}].before_deadline",
                    "must not be further from the deadline than the step before",
                )
            last_before = step.before_deadline
