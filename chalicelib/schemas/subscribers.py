"""POST /subscribers bodies. Email addresses via email-validator, phone numbers via phonenumbers (E.164).

Both libraries are imported by the functions that use them, not at module level: together with
dnspython they cost about a quarter of the Lambda entry point's import time (their regular
expressions and metadata are built at import), and only the subscriber routes need them
(cold start, docs/benchmarks.md §2).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.chat import chat_endpoint, chat_url_problem
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.language import DEFAULT_LANGUAGE, Language
from chalicelib.domain.subscribers import (
    CHAT_CHANNELS,
    Channel,
    ChannelType,
    EventType,
    Role,
    Scope,
    Subscription,
    default_ack_required,
)
from chalicelib.schemas.fields import (
    Problems,
    boolean,
    choice,
    jurisdiction,
    reject_unknown,
    require_object,
    strings_among,
    text,
)

MAX_CHANNELS = 10
MAX_SUBSCRIPTIONS = 200
_FIELDS = {
    "name",
    "role",
    "organization",
    "ack_required",
    "escalation_contact",
    "language",
    "channels",
    "subscriptions",
}


@dataclass(frozen=True, slots=True)
class SubscriberDraft:
    name: str
    role: Role
    organization: str
    ack_required: bool
    escalation_contact: bool
    channels: tuple[Channel, ...]
    subscriptions: tuple[Subscription, ...]
    language: Language = DEFAULT_LANGUAGE


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def parse_subscriber(body: Any, *, registry: JurisdictionRegistry, allow_plain_http: bool) -> SubscriberDraft:
    body = require_object(body, "subscriber")
    problems = Problems()
    reject_unknown(body, _FIELDS, problems)
    name = text(body, "name", problems, max_len=200, single_line=True)
    role = choice(body, "role", Role, problems)
    organization = text(body, "organization", problems, required=False, max_len=200, single_line=True) or ""
    ack_required = boolean(
        body, "ack_required", problems, default=default_ack_required(role) if role else True
    )
    escalation_contact = boolean(body, "escalation_contact", problems, default=False)
    language = choice(body, "language", Language, problems) if "language" in body else DEFAULT_LANGUAGE
    channels = parse_channels(body.get("channels"), problems, allow_plain_http=allow_plain_http)
    subscriptions = parse_subscriptions(body.get("subscriptions"), problems, registry)
    problems.raise_if_any("subscriber")
    assert name is not None and role is not None and language is not None  # noqa: PT018  # raise_if_any
    return SubscriberDraft(
        name=name,
        role=role,
        organization=organization,
        ack_required=ack_required,
        escalation_contact=escalation_contact,
        channels=channels,
        subscriptions=subscriptions,
        language=language,
    )


def parse_channels(value: Any, problems: Problems, *, allow_plain_http: bool) -> tuple[Channel, ...]:
    if not isinstance(value, list) or not value:
        problems.add(
            "channels", "is required: a list of at least one email, sms, webhook, slack or teams channel"
        )
        return ()
    if len(value) > MAX_CHANNELS:
        problems.add("channels", f"must hold at most {MAX_CHANNELS} channels")
        return ()
    channels: dict[str, Channel] = {}
    for i, item in enumerate(value):
        prefix = f"channels[{i}]."
        if not isinstance(item, Mapping):
            problems.add(f"channels[{i}]", "must be an object with a type")
            continue
        kind = choice(item, "type", ChannelType, problems, prefix=prefix)
        channel = None
        if kind is ChannelType.EMAIL:
            reject_unknown(item, {"type", "address"}, problems, prefix=prefix)
            channel = _email(text(item, "address", problems, max_len=254, prefix=prefix), prefix, problems)
        elif kind is ChannelType.SMS:
            reject_unknown(item, {"type", "phone"}, problems, prefix=prefix)
            channel = _phone(text(item, "phone", problems, max_len=32, prefix=prefix), prefix, problems)
        elif kind is ChannelType.WEBHOOK:
            reject_unknown(item, {"type", "url"}, problems, prefix=prefix)
            url = text(item, "url", problems, max_len=2000, prefix=prefix)
            channel = _webhook(url, prefix, problems, allow_plain_http=allow_plain_http)
        elif kind in CHAT_CHANNELS:
            reject_unknown(item, {"type", "url"}, problems, prefix=prefix)
            url = text(item, "url", problems, max_len=2000, prefix=prefix)
            channel = _chat(kind, url, prefix, problems, allow_plain_http=allow_plain_http)
        if channel is not None:
            if channel.id in channels:
                problems.add(f"channels[{i}]", "repeats an earlier channel")
            channels[channel.id] = channel
    return tuple(channels.values())


def _email(address: str | None, prefix: str, problems: Problems) -> Channel | None:
    if address is None:
        return None
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415  # cold start

    try:
        normalized = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        problems.add(prefix + "address", f"is not a valid email address: {exc}")
        return None
    return Channel(ChannelType.EMAIL, normalized)


def _phone(raw: str | None, prefix: str, problems: Problems) -> Channel | None:
    if raw is None:
        return None
    import phonenumbers  # noqa: PLC0415  # cold start: see the module docstring

    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        problems.add(prefix + "phone", "is not a valid phone number; use E.164, e.g. +18605550100")
        return None
    return Channel(ChannelType.SMS, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _webhook(url: str | None, prefix: str, problems: Problems, *, allow_plain_http: bool) -> Channel | None:
    if url is None:
        return None
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_plain_http else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        problems.add(prefix + "url", f"must be an absolute {' or '.join(sorted(schemes))} URL")
        return None
    if parts.username or parts.password:
        problems.add(prefix + "url", "must not carry credentials; the signature authenticates Vigil")
        return None
    return Channel(ChannelType.WEBHOOK, url, secret=new_webhook_secret())


def _chat(
    kind: ChannelType, url: str | None, prefix: str, problems: Problems, *, allow_plain_http: bool
) -> Channel | None:
    """A Slack or Teams channel: the URL is kept as the channel's secret (whoever holds it can post
    to the channel), and the channel is named by its endpoint. The local and test stages, whose
    receivers are on this machine, take any host (``allow_plain_http``)."""
    if url is None:
        return None
    problem = chat_url_problem(kind, url, any_host=allow_plain_http)
    if problem is not None:
        problems.add(prefix + "url", problem)
        return None
    return Channel(kind, chat_endpoint(url), secret=url)


def parse_subscriptions(
    value: Any, problems: Problems, registry: JurisdictionRegistry, *, field: str = "subscriptions"
) -> tuple[Subscription, ...]:
    return _subscriptions(value, problems, registry, field=field)[0]


def _subscriptions(
    value: Any, problems: Problems, registry: JurisdictionRegistry, *, field: str
) -> tuple[tuple[Subscription, ...], frozenset[str]]:
    """The subscriptions, one per place, and the places whose entry named a scope."""
    if not isinstance(value, list) or not value:
        problems.add(field, "is required: a list of {jurisdiction, event_types, scope}")
        return (), frozenset()
    if len(value) > MAX_SUBSCRIPTIONS:
        problems.add(field, f"must hold at most {MAX_SUBSCRIPTIONS} subscriptions")
        return (), frozenset()
    found: dict[str, set[EventType]] = {}
    scopes: dict[str, Scope] = {}
    named: set[str] = set()
    allowed = {str(t) for t in EventType}
    for i, item in enumerate(value):
        prefix = f"{field}[{i}]."
        if not isinstance(item, Mapping):
            problems.add(f"{field}[{i}]", "must be an object with jurisdiction and event_types")
            continue
        reject_unknown(item, {"jurisdiction", "event_types", "scope"}, problems, prefix=prefix)
        name = text(item, "jurisdiction", problems, max_len=200, prefix=prefix)
        types = item.get("event_types", sorted(allowed))
        if not strings_among(types, allowed):
            problems.add(prefix + "event_types", f"must be a non-empty list of {', '.join(sorted(allowed))}")
            continue
        scope = choice(item, "scope", Scope, problems, prefix=prefix) if "scope" in item else Scope.CONTAINED
        place = jurisdiction(registry, name, prefix + "jurisdiction", problems)
        if place is None or scope is None:
            continue
        if scopes.setdefault(place.id, scope) is not scope:
            # One scope per place: which of two the admin meant cannot be guessed.
            problems.add(prefix + "scope", f"differs from an earlier subscription to {place.name}")
            continue
        found.setdefault(place.id, set()).update(EventType(t) for t in types)
        if "scope" in item:
            named.add(place.id)
    subscriptions = tuple(Subscription(j, frozenset(t), scopes[j]) for j, t in sorted(found.items()))
    return subscriptions, frozenset(named)


@dataclass(frozen=True, slots=True)
class SubscriberPatch:
    """PATCH /subscribers/{id}: only the fields given change."""

    name: str | None = None
    role: Role | None = None
    organization: str | None = None
    ack_required: bool | None = None
    escalation_contact: bool | None = None
    language: Language | None = None
    # A full replacement list; channels whose address stays keep their state and secret.
    channels: tuple[Channel, ...] | None = None
    subscriptions: tuple[Subscription, ...] | None = None
    # Event types added to a place; its scope changes only if the entry names one.
    add_subscriptions: tuple[Subscription, ...] = ()
    add_scopes_named: frozenset[str] = frozenset()
    # Jurisdiction ids whose subscriptions are dropped (all event types).
    remove_subscriptions: tuple[str, ...] = ()
    # Channel ids of disabled webhooks to switch back on.
    enable_channels: tuple[str, ...] = ()


_PATCH_FIELDS = _FIELDS | {"add_subscriptions", "remove_subscriptions", "enable_channels"}


def parse_patch(body: Any, *, registry: JurisdictionRegistry, allow_plain_http: bool) -> SubscriberPatch:
    body = require_object(body, "subscriber change")
    problems = Problems()
    reject_unknown(body, _PATCH_FIELDS, problems)
    if not body:
        problems.add("body", "names no field to change")
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = text(body, "name", problems, max_len=200, single_line=True)
    if "role" in body:
        values["role"] = choice(body, "role", Role, problems)
    if "organization" in body:
        values["organization"] = (
            text(body, "organization", problems, required=False, max_len=200, single_line=True) or ""
        )
    if "language" in body:
        values["language"] = choice(body, "language", Language, problems)
    for flag in ("ack_required", "escalation_contact"):
        if flag in body:
            values[flag] = boolean(body, flag, problems, default=False)
    values |= _patch_lists(body, problems, registry=registry, allow_plain_http=allow_plain_http)
    problems.raise_if_any("subscriber change")
    return SubscriberPatch(**values)


def _patch_lists(
    body: Mapping[str, Any], problems: Problems, *, registry: JurisdictionRegistry, allow_plain_http: bool
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "channels" in body:
        values["channels"] = parse_channels(body["channels"], problems, allow_plain_http=allow_plain_http)
    if "subscriptions" in body:
        values["subscriptions"] = parse_subscriptions(body["subscriptions"], problems, registry)
    if "add_subscriptions" in body:
        added, named = _subscriptions(
            body["add_subscriptions"], problems, registry, field="add_subscriptions"
        )
        values |= {"add_subscriptions": added, "add_scopes_named": named}
    if "remove_subscriptions" in body:
        values["remove_subscriptions"] = _jurisdiction_ids(body["remove_subscriptions"], problems, registry)
    if "enable_channels" in body:
        ids = body["enable_channels"]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.add("enable_channels", "must be a list of channel ids")
        else:
            values["enable_channels"] = tuple(ids)
    return values


def _jurisdiction_ids(value: Any, problems: Problems, registry: JurisdictionRegistry) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or len(value) > MAX_SUBSCRIPTIONS
        or not all(isinstance(v, str) for v in value)
    ):
        problems.add("remove_subscriptions", f"must be a list of at most {MAX_SUBSCRIPTIONS} jurisdictions")
        return ()
    found = [jurisdiction(registry, v, f"remove_subscriptions[{i}]", problems) for i, v in enumerate(value)]
    return tuple(j.id for j in found if j is not None)
