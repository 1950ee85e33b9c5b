"""Demo data from the story: the offices that must hear of a rollout or a detainer in Connecticut.

Every subscriber is an office with example addresses (example.gov, example.org, 555-01xx numbers),
never a real person. They are created through the HTTP API (``POST /subscribers``) so that the demo
walks the same path an admin would, and so is the demo's rollout policy (``PUT /policies/rollout``):
a rollout must be acknowledged by the governor's office and by the place's own officials, so the
places no local official of the demo covers show as coverage gaps.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import structlog

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.policies import DEFAULT_POLICIES, EscalationPolicy
from chalicelib.domain.subscribers import (
    Channel,
    ChannelType,
    EventType,
    Role,
    Subscriber,
    Subscription,
    default_ack_required,
)
from vigil_local.receiver import WebhookReceiver

logger = structlog.get_logger()

ROLLOUT = ("rollout",)
DETAINER = ("detainer",)
BOTH = ("rollout", "detainer")


@dataclass(frozen=True, slots=True)
class DemoSubscriber:
    office: str
    organization: str
    role: str
    jurisdictions: tuple[str, ...]
    event_types: tuple[str, ...]
    email: str
    phone: str | None = None
    # Path on the demo webhook receiver; the subscriber gets a webhook channel to it.
    webhook_path: str | None = None
    escalation_contact: bool = False

    def body(self, receiver_url: str | None) -> dict[str, Any]:
        channels: list[dict[str, str]] = [{"type": "email", "address": self.email}]
        if self.phone:
            channels.append({"type": "sms", "phone": self.phone})
        if self.webhook_path and receiver_url:
            channels.append({"type": "webhook", "url": receiver_url + self.webhook_path})
        return {
            "name": self.office,
            "role": self.role,
            "organization": self.organization,
            "escalation_contact": self.escalation_contact,
            "channels": channels,
            "subscriptions": [
                {"jurisdiction": place, "event_types": list(self.event_types)} for place in self.jurisdictions
            ],
        }


def _town(
    town: str, domain: str, phone_mayor: str | None = None, phone_chief: str | None = None
) -> list[DemoSubscriber]:
    return [
        DemoSubscriber(
            office=f"Mayor of {town}",
            organization=f"City of {town}",
            role="local-official",
            jurisdictions=(town,),
            event_types=ROLLOUT,
            email=f"mayor@{domain}.example.gov",
            phone=phone_mayor,
        ),
        DemoSubscriber(
            office=f"{town} Police Chief",
            organization=f"{town} Police Department",
            role="law-enforcement",
            jurisdictions=(town,),
            event_types=ROLLOUT,
            email=f"chief@police.{domain}.example.gov",
            phone=phone_chief,
        ),
    ]


ADVOCATE_WEBHOOK_PATH = "/hooks/immigrant-rights"
# The webhook secret of ``demo_records``' webhook channel: those records fill stores on this machine only.
RECORD_SECRET = "whsec_ZGVtbw=="  # noqa: S105  # an example value, never a deployed stage's

DEMO_SUBSCRIBERS: tuple[DemoSubscriber, ...] = (
    DemoSubscriber(
        office="Governor's Criminal Justice Policy Adviser",
        organization="Office of the Governor",
        role="state-executive",
        jurisdictions=("statewide",),
        event_types=BOTH,
        email="cj.adviser@governor.example.gov",
        phone="+18605550100",
        escalation_contact=True,
    ),
    DemoSubscriber(
        office="Corrections Commissioner",
        organization="Department of Correction",
        role="corrections",
        jurisdictions=("statewide",),
        event_types=BOTH,
        email="commissioner@doc.example.gov",
        phone="+18605550101",
        escalation_contact=True,
    ),
    DemoSubscriber(
        office="Detainer Review Unit",
        organization="Department of Correction",
        role="corrections",
        jurisdictions=("New Haven Correctional Center", "Bridgeport Correctional Center"),
        event_types=DETAINER,
        email="detainer.review@doc.example.gov",
    ),
    *_town("New Haven", "newhaven", phone_chief="+12035550110"),
    *_town("Hartford", "hartford", phone_chief="+18605550120"),
    *_town("Bridgeport", "bridgeport"),
    *_town("Stamford", "stamford"),
    *_town("Norwalk", "norwalk"),
    *_town("Danbury", "danbury"),
    DemoSubscriber(
        office="Fairfield County Public Safety Coordinator",
        organization="Fairfield County Public Safety Office",
        role="law-enforcement",
        jurisdictions=("Fairfield County",),
        event_types=BOTH,
        email="public.safety@fairfieldcounty.example.gov",
    ),
    DemoSubscriber(
        office="New Haven County Public Defender",
        organization="New Haven County Public Defender's Office",
        role="legal",
        jurisdictions=("New Haven County",),
        event_types=BOTH,
        email="public.defender@newhavencounty.example.gov",
    ),
    DemoSubscriber(
        office="South Central Regional Council of Governments",
        organization="South Central Connecticut Planning Region",
        role="local-official",
        jurisdictions=("South Central Connecticut Planning Region",),
        event_types=ROLLOUT,
        email="director@southcentral-cog.example.gov",
    ),
    DemoSubscriber(
        office="Immigrant Rights Advocacy Coalition",
        organization="Immigrant Rights Advocacy Coalition",
        role="advocate",
        jurisdictions=("statewide",),
        event_types=BOTH,
        email="alerts@immigrant-rights.example.org",
        webhook_path=ADVOCATE_WEBHOOK_PATH,
    ),
)


# The story's lesson, as an admin of the demo's state sets it: a rollout sent quietly to low-level
# staff is closed only once the governor's office and the place's own officials have seen it. The
# shipped default asks for the governor's office alone (a stage may have no local official yet);
# the steps are the default's.
DEMO_ROLLOUT_POLICY: EscalationPolicy = replace(
    DEFAULT_POLICIES[EventType.ROLLOUT], required_roles=(Role.STATE_EXECUTIVE, Role.LOCAL_OFFICIAL)
)


def demo_records(
    registry: JurisdictionRegistry, *, now: datetime, receiver_url: str = "https://hooks.example.org"
) -> list[Subscriber]:
    """The demo's offices as ``seed_demo`` leaves them (every channel confirmed), as records to store
    directly: for the benchmarks and tests that want the demo's store without the HTTP stack."""
    records = []
    for n, office in enumerate(DEMO_SUBSCRIBERS):
        channels = [Channel(ChannelType.EMAIL, office.email)]
        if office.phone:
            channels.append(Channel(ChannelType.SMS, office.phone))
        if office.webhook_path:
            channels.append(
                Channel(ChannelType.WEBHOOK, receiver_url + office.webhook_path, secret=RECORD_SECRET)
            )
        role = Role(office.role)
        records.append(
            Subscriber(
                id=f"sub_demo{n:02d}",
                name=office.office,
                role=role,
                organization=office.organization,
                ack_required=default_ack_required(role),
                channels=tuple(channels),
                subscriptions=tuple(
                    Subscription(
                        registry.resolve(place).id, frozenset(EventType(t) for t in office.event_types)
                    )
                    for place in office.jurisdictions
                ),
                created_at=now,
                escalation_contact=office.escalation_contact,
            )
        )
    return records


class DemoSeedFailed(RuntimeError):
    """The API refused a demo subscriber: the demo data and the API's rules disagree."""


def seed_demo(
    api_url: str,
    admin_key: str,
    receiver: WebhookReceiver | None,
    *,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create the demo subscribers through ``POST /subscribers`` and store the demo's rollout policy
    through ``PUT /policies/rollout``; returns the subscribers' ids by office.

    The webhook secret the API returns (once) is registered with the demo receiver, so the receiver
    can verify what Vigil signs. ``headers`` go with every request (the local stack's startup token:
    the API serves only the stack itself until the demo is in).
    """
    created: dict[str, str] = {}
    receiver_url = receiver.url if receiver else None
    http = _Http(dict(headers or {}))
    for subscriber in DEMO_SUBSCRIBERS:
        answer = http.send_json("POST", f"{api_url}/subscribers", subscriber.body(receiver_url), admin_key)
        created[subscriber.office] = str(answer["id"])
        _confirm_channels(http, api_url, answer)
        if receiver is not None:
            for channel in answer.get("channels", []):
                if channel.get("type") == "webhook" and channel.get("secret"):
                    receiver.register(str(channel["url"]), str(channel["secret"]))
    http.send_json("PUT", f"{api_url}/policies/rollout", DEMO_ROLLOUT_POLICY.as_json(), admin_key)
    logger.info(
        "demo.seeded",
        subscribers=len(created),
        rollout_required_roles=[str(r) for r in DEMO_ROLLOUT_POLICY.required_roles],
    )
    return created


def _confirm_channels(http: _Http, api_url: str, subscriber: dict[str, Any]) -> None:
    """Confirm each new address as its owner would: click the emailed link, reply the texted code."""
    for channel in subscriber.get("channels", []):
        if channel.get("state") != "unverified":
            continue
        address = str(channel.get("address") or channel.get("phone"))
        sent = http.get_json(f"{api_url}/dev/outbox?{urllib.parse.urlencode({'to': address})}")
        if channel["type"] == "email":
            links = [
                e["text"].split("/verify/")[1].split()[0] for e in sent["emails"] if "/verify/" in e["text"]
            ]
            if not links:
                raise DemoSeedFailed(f"no confirmation email reached {address}")
            http.post_form(f"{api_url}/verify/{links[-1]}")
        else:
            codes = [
                t["body"].split("reply ")[1].split()[0]
                for t in sent["sms"]
                if "to confirm this number" in t["body"]
            ]
            if not codes:
                raise DemoSeedFailed(f"no confirmation text reached {address}")
            http.send_json("POST", f"{api_url}/dev/sms/inbound", {"from": address, "body": codes[-1]}, None)


class _Http:
    """The demo's requests to the local stack's own http URL, each with the same extra headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def get_json(self, url: str) -> dict[str, Any]:
        request = urllib.request.Request(url, headers=self._headers)  # noqa: S310  # the stack's own http URL
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # as above
            answer = json.loads(response.read())
        if not isinstance(answer, dict):
            raise DemoSeedFailed(f"GET {url} answered {answer!r}, not an object")
        return answer

    def post_form(self, url: str) -> None:
        request = urllib.request.Request(  # noqa: S310  # as above
            url,
            data=b"",
            headers={**self._headers, "Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30):  # noqa: S310  # as above
                return
        except urllib.error.HTTPError as exc:
            raise DemoSeedFailed(f"POST {url} answered {exc.code}") from exc

    def send_json(self, method: str, url: str, body: dict[str, Any], api_key: str | None) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310  # as above
            url,
            data=json.dumps(body).encode(),
            headers={
                **self._headers,
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {api_key}"} if api_key else {}),
            },
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # as above
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")[:2000]
            raise DemoSeedFailed(f"{method} {url} answered {exc.code}: {detail}") from exc
        if not isinstance(answer, dict):
            raise DemoSeedFailed(f"{method} {url} answered {answer!r}, not an object")
        return answer
