"""On the local stack: a subscriber created with "language": "es" confirms their address and number
in Spanish, then receives a rollout's email and text in Spanish and acknowledges it on a Spanish page."""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import RunningStack, wait_for
from tests.e2e.test_local_stack import DELIVERY_TIMEOUT_SECONDS, rollout, submit

pytestmark = pytest.mark.e2e

FORM = {"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}


def outbox_to(stack: RunningStack, address: str) -> dict[str, Any]:
    answer = stack.call("GET", "/dev/outbox?" + urllib.parse.urlencode({"to": address}), key=None)
    assert answer.status == 200, answer
    assert isinstance(answer.body, dict)
    return answer.body


def latest(stack: RunningStack, address: str, kind: str, needle: str) -> dict[str, Any]:
    found = wait_for(
        lambda: [m for m in outbox_to(stack, address)[kind] if needle in str(m)],
        bool,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        what=f"{kind} to {address} saying {needle!r}",
    )
    message: dict[str, Any] = found[-1]
    return message


@pytest.fixture
def spanish_office(local_stack: RunningStack) -> Iterator[tuple[str, str, str]]:
    """A Spanish-speaking office subscribed to exactly Windham (no other test's notices reach it),
    deleted afterwards: the stack is shared."""
    suffix = uuid.uuid4().hex[:8]
    address, phone = f"oficina-{suffix}@windham.example.org", f"+1860555{int(suffix, 16) % 10000:04d}"
    created = local_stack.call(
        "POST",
        "/subscribers",
        {
            "name": "Oficina de Derechos de Inmigrantes de Windham",
            "role": "advocate",
            "language": "es",
            "channels": [{"type": "email", "address": address}, {"type": "sms", "phone": phone}],
            "subscriptions": [{"jurisdiction": "Windham", "event_types": ["rollout"], "scope": "exact"}],
        },
    )
    assert created.status == 201, created
    assert created.body["language"] == "es"
    yield str(created.body["id"]), address, phone
    assert local_stack.call("DELETE", f"/subscribers/{created.body['id']}").status == 204


def test_a_spanish_subscriber_confirms_receives_and_acknowledges_in_spanish(
    local_stack: RunningStack, spanish_office: tuple[str, str, str]
) -> None:
    subscriber_id, address, phone = spanish_office
    confirmation = latest(local_stack, address, "emails", "/verify/")
    assert confirmation["subject"] == "[Vigil] Confirme esta dirección para recibir alertas"
    token = str(confirmation["text"]).split("/verify/")[1].split()[0]
    shown = local_stack.call("GET", f"/verify/{token}", key=None, headers={"Accept": "text/html"})
    assert shown.status == 200
    assert "<button type='submit'>Confirmar esta dirección</button>" in shown.body
    confirmed = local_stack.call("POST", f"/verify/{token}", key=None, headers=FORM)
    assert "Gracias: esta dirección recibirá las alertas de Vigil." in confirmed.body
    code = str(latest(local_stack, phone, "sms", "para confirmar")["body"]).split()[2]
    answered = local_stack.call("POST", "/dev/sms/inbound", {"from": phone, "body": code}, key=None)
    assert answered.status == 200, answered
    assert answered.body["outcome"] == "confirmed"
    assert local_stack.call("GET", f"/subscribers/{subscriber_id}").body["channels"][1]["state"] == "active"

    notice_id = submit(local_stack, rollout("Windham"))
    email = latest(local_stack, address, "emails", notice_id)
    assert email["subject"].startswith(
        "[Vigil] Aviso de activación: secure-communities entra en vigor en Windham"
    )
    assert "Jurisdicción: Windham" in email["text"]
    assert "<html lang='es'>" in email["html"]
    text = str(latest(local_stack, phone, "sms", f"Ref. {notice_id[-8:]}")["body"])
    assert text.startswith("VIGIL ACTIVACIÓN: Windham, 2026-12-02 00:00.")
    assert " para acusar recibo." in text
    assert len(text) <= 134  # UCS-2 (the Ó): two segments

    link = f"{local_stack.api_url}/ack/" + str(email["text"]).split("/ack/")[1].split()[0]
    page = local_stack.call("GET", link, key=None, headers={"Accept": "text/html"}, base="")
    assert page.status == 200
    assert "<html lang='es'>" in page.body
    assert "He visto este aviso" in page.body
    clicked = local_stack.call("POST", link, key=None, headers=FORM, base="")
    assert clicked.status == 200
    assert "Gracias: su acuse de recibo quedó registrado." in clicked.body
    detail = local_stack.call("GET", f"/notices/{notice_id}").body
    assert [
        r["acknowledged_via"] for r in detail["recipients_detail"] if r["subscriber_id"] == subscriber_id
    ] == ["link"]
