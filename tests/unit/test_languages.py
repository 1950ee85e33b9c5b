"""Every message and page in the subscriber's language: English by default, Spanish when asked.

The language is set through the API (400 naming the field for any other), stored and shown; the notice
email (subject, text, HTML) and text, the link pages (acknowledgment, confirmation, unsubscribe,
expired and invalid links), the confirmation messages and the answers to texts speak it; what each role
may see of a detainer is the same in both languages; English is what it always was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.config import Settings
from chalicelib.domain import language as language_module
from chalicelib.domain.auth import ApiRole
from chalicelib.domain.language import ENGLISH, Language, preferred_language, words_for
from chalicelib.domain.messages import SMS_MAX_SEGMENTS, render_email, render_sms
from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.sms import Encoding, SmsSize, size
from chalicelib.domain.subscribers import Channel, ChannelType, Role
from tests.builders import NOW, detainer_body, rollout_body, subscriber
from tests.fakes import FakeWorld
from tests.unit.test_api import assert_error, call
from tests.unit.test_consent import ADVISER, confirm_email, create
from tests.unit.test_pipeline import ALL_CHANNELS, run, submit

Keys = dict[ApiRole, str]
SPANISH = Language.SPANISH
SPANISH_ADVOCATES = Channel(ChannelType.EMAIL, "defensores@example.org")
PERSONAL = ("Test Person", "A012345678", "1990-01-01")


@pytest.fixture
def client(world: FakeWorld) -> Iterator[Client]:
    bootstrap.use(
        world.deps(
            Settings.from_env({"VIGIL_STAGE": "local", "VIGIL_ADMIN_EMAILS": "ops@vigil.example.gov"})
        ),
        clock=lambda: NOW,
    )
    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def bilingual(world: FakeWorld) -> FakeWorld:
    """The same offices twice over: each role once in English and once in Spanish."""
    world.subscribers.add(subscriber("adviser", Role.STATE_EXECUTIVE, "us-ct", channels=ALL_CHANNELS))
    world.subscribers.add(
        subscriber(
            "asesora",
            Role.STATE_EXECUTIVE,
            "us-ct",
            channels=(
                Channel(ChannelType.EMAIL, "asesora@example.gov"),
                Channel(ChannelType.SMS, "+18605550123"),
            ),
            language=SPANISH,
        )
    )
    world.subscribers.add(
        subscriber(
            "advocates",
            Role.ADVOCATE,
            "us-ct",
            channels=(Channel(ChannelType.EMAIL, "advocates@example.org"),),
        )
    )
    world.subscribers.add(
        subscriber("defensores", Role.ADVOCATE, "us-ct", channels=(SPANISH_ADVOCATES,), language=SPANISH)
    )
    facility = "us-ct/facility/new-haven-correctional-center"
    world.subscribers.add(subscriber("reviewers", Role.CORRECTIONS, facility))
    world.subscribers.add(subscriber("revisores", Role.CORRECTIONS, facility, language=SPANISH))
    return world


def email_to(world: FakeWorld, address: str) -> Any:
    return next(m for m in world.email.sent if m.to == address)


def text_to(world: FakeWorld, phone: str) -> str:
    return next(m.body for m in world.sms.sent if m.to == phone)


def ack_link(email: Any) -> str:
    return "/ack/" + str(email.text).split("/ack/")[1].split()[0]


# ---------------------------------------------------------------- the subscriber's language


def test_a_subscriber_speaks_english_unless_told_otherwise(client: Client, keys: Keys) -> None:
    created = create(client, keys)
    assert created["language"] == "en"
    status, shown = call(client, "GET", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN])
    assert (status, shown["language"]) == (200, "en")


def test_the_language_is_set_at_creation_stored_and_shown(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "language": "es"})
    assert created["language"] == "es"
    assert world.subscribers.get(created["id"]).language is SPANISH
    status, listed = call(client, "GET", "/subscribers", keys[ApiRole.ADMIN])
    assert status == 200
    assert [s["language"] for s in listed["items"]] == ["es"]


def test_the_language_is_changed_by_patch_and_audited(client: Client, keys: Keys, world: FakeWorld) -> None:
    created = create(client, keys)
    status, changed = call(
        client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"language": "es"}
    )
    assert (status, changed["language"]) == (200, "es")
    assert world.subscribers.get(created["id"]).language is SPANISH
    status, trail = call(client, "GET", "/audit", keys[ApiRole.ADMIN])
    assert status == 200
    [entry] = [e for e in trail["items"] if e["data"].get("action") == "subscriber.updated"]
    assert (entry["data"]["before"]["language"], entry["data"]["after"]["language"]) == ("en", "es")


@pytest.mark.parametrize("value", ["fr", "ES", "spanish", "", 1, None, ["es"]])
def test_any_other_language_is_refused_naming_the_field_and_creates_nothing(
    client: Client, keys: Keys, world: FakeWorld, value: Any
) -> None:
    status, body = call(client, "POST", "/subscribers", keys[ApiRole.ADMIN], {**ADVISER, "language": value})
    assert status == 400
    assert_error(body, "invalid_input")
    assert [d["field"] for d in body["details"]] == ["language"]
    assert world.subscribers.subscribers == {}
    assert world.email.sent == []


def test_a_patch_to_another_language_is_refused_and_changes_nothing(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys)
    status, body = call(
        client, "PATCH", f"/subscribers/{created['id']}", keys[ApiRole.ADMIN], {"language": "de"}
    )
    assert status == 400
    assert [d["field"] for d in body["details"]] == ["language"]
    assert world.subscribers.get(created["id"]).language is Language.ENGLISH


# ---------------------------------------------------------------- the notice, by email and text


def test_a_spanish_subscriber_receives_the_rollout_email_in_spanish(bilingual: FakeWorld) -> None:
    submit(bilingual, rollout_body())
    run(bilingual)
    email = email_to(bilingual, "asesora@example.gov")
    assert email.subject == (
        "[Vigil] Aviso de activación: secure-communities entra en vigor en Connecticut el 2012-02-22"
    )
    assert "Jurisdicción: Connecticut" in email.text
    assert "Entra en vigor: 2012-02-22T00:00:00-05:00" in email.text
    assert "Acuse recibo de este aviso para confirmar que lo ha visto:" in email.text
    assert email.html.startswith("<html lang='es'><body>")
    assert "<th align='left'>Jurisdicción</th>" in email.html
    assert ">Acusar recibo de este aviso</a>" in email.html
    # The source's own words stay as the source wrote them.
    assert "Secure Communities activates in all Connecticut jurisdictions" in email.text


def test_the_english_subscriber_of_the_same_notice_receives_what_english_always_said(
    bilingual: FakeWorld,
) -> None:
    submit(bilingual, rollout_body())
    run(bilingual)
    email = email_to(bilingual, "adviser@example.gov")
    assert (
        email.subject
        == "[Vigil] Rollout notice: secure-communities takes effect in Connecticut on 2012-02-22"
    )
    assert "Jurisdiction: Connecticut" in email.text
    assert "Acknowledge that you have seen this notice:" in email.text
    assert email.html.startswith("<html><body><h1>")
    assert text_to(bilingual, "+18605550100").startswith("VIGIL ROLLOUT: Connecticut, 2012-02-22 00:00. Ref ")
    assert text_to(bilingual, "+18605550100").endswith(" Reply 100000 to acknowledge.")


def test_a_spanish_rollout_text_is_ucs2_and_stays_within_two_segments(bilingual: FakeWorld) -> None:
    accepted = submit(bilingual, rollout_body())
    run(bilingual)
    body = text_to(bilingual, "+18605550123")
    ref = accepted.notice.id[-8:]
    # "ACTIVACIÓN" carries an Ó, outside GSM-7: two UCS-2 segments hold 134 characters, and the title
    # gives way (the reply code never does).
    assert body == (
        f"VIGIL ACTIVACIÓN: Connecticut, 2012-02-22 00:00. Ref. {ref}. secure-communities entra en vig..."
        " Responda 100001 para acusar recibo."
    )
    assert size(body) == SmsSize(Encoding.UCS2, 134, SMS_MAX_SEGMENTS)


def test_a_spanish_detainer_text_is_gsm7_and_never_names_the_person(bilingual: FakeWorld) -> None:
    accepted = submit(bilingual, detainer_body())
    run(bilingual)
    [body] = [m.body for m in bilingual.sms.sent if m.to == "+18605550123"]
    ref = accepted.notice.id[-8:]
    assert body == (
        f"VIGIL DETAINER: New Haven Correctional Center, 2026-11-27 17:00. Ref. {ref}. Detainer I-247A en "
        "New Haven Correctional Center Responda 100001 para acusar recibo."
    )
    assert size(body) == SmsSize(Encoding.GSM7, 164, 2)
    assert not any(p in body for p in PERSONAL)


@pytest.mark.parametrize("language", list(Language))
def test_every_text_fits_the_segment_budget_in_either_language(
    bilingual: FakeWorld, language: Language
) -> None:
    submit(bilingual, detainer_body(summary="x" * 1500))
    submit(bilingual, rollout_body(title="Título " * 28))  # UCS-2 from its title alone
    submit(bilingual, rollout_body(external_id="other", title="T" * 200))
    run(bilingual)
    for notice in bilingual.notices.notices.values():
        body = render_sms(notice, to="+1", reply_code="123456", language=language).body
        assert size(body).segments <= SMS_MAX_SEGMENTS
        assert body.endswith("123456 to acknowledge.") or body.endswith("123456 para acusar recibo.")


def test_a_low_key_text_in_spanish_says_so_within_the_budget(bilingual: FakeWorld) -> None:
    accepted = submit(bilingual, rollout_body())
    notice = replace(accepted.notice, extra={**accepted.notice.extra, "low_key": True})
    ref = notice.id[-8:]
    body = render_sms(notice, to="+1", reply_code="123456", language=SPANISH).body
    # In two UCS-2 segments the sentence would leave no room for the title: the word alone says it.
    assert body == (
        f"VIGIL ACTIVACIÓN, BAJO PERFIL. Connecticut, 2012-02-22 00:00. Ref. {ref}. secure-communities..."
        " Responda 123456 para acusar recibo."
    )
    assert size(body) == SmsSize(Encoding.UCS2, 134, 2)
    english = render_sms(notice, to="+1", reply_code="123456").body
    assert english.startswith("VIGIL ROLLOUT, LOW-KEY: the original went only to lower-level staff")


# ---------------------------------------------------------------- who may see what, in both languages


@pytest.mark.parametrize(
    ("advocate", "reviewer"),
    [("advocates@example.org", "reviewers@example.gov"), ("defensores@example.org", "revisores@example.gov")],
)
def test_a_detainer_reaches_each_role_with_what_it_may_see_in_either_language(
    bilingual: FakeWorld, advocate: str, reviewer: str
) -> None:
    submit(bilingual, detainer_body())
    run(bilingual)
    advocate_email = email_to(bilingual, advocate)
    for personal in PERSONAL:
        assert personal not in advocate_email.text + advocate_email.html + advocate_email.subject
    assert "New Haven Correctional Center" in advocate_email.text
    reviewer_email = email_to(bilingual, reviewer)
    assert all(p in reviewer_email.text for p in PERSONAL)


def test_the_spanish_detainer_email_labels_the_persons_identity_and_the_hold_clock_in_spanish(
    bilingual: FakeWorld,
) -> None:
    submit(bilingual, detainer_body())
    run(bilingual)
    email = email_to(bilingual, "revisores@example.gov")
    assert email.subject == (
        "[Vigil] Solicitud de detención migratoria (detainer): "
        "Detainer I-247A en New Haven Correctional Center"
    )
    assert "Nombre: Test Person" in email.text
    assert "Fecha de nacimiento: 1990-01-01" in email.text
    assert "Número A: A012345678" in email.text
    assert "Orden judicial: no" in email.text
    assert (
        "Plazo de retención: Formulario I-247A: la retención termina el 2026-11-29 17:00 EST (48 horas)"
        in email.text
    )
    assert (
        "Sugerencia: puede cooperar según HB 7259 (una sugerencia para quien revisa, nunca una decisión)"
        in email.text
    )
    english = email_to(bilingual, "reviewers@example.gov")
    assert "Hold clock: Form I-247A: hold ends 2026-11-29 17:00 EST (48 hours)" in english.text


def test_the_ack_page_shows_a_detainers_free_text_only_to_those_entitled_in_either_language(
    client: Client, bilingual: FakeWorld
) -> None:
    submit(bilingual, detainer_body(summary="Test Person, held since Friday"))
    run(bilingual)
    for address, entitled in (
        ("advocates@example.org", False),
        ("defensores@example.org", False),
        ("reviewers@example.gov", True),
        ("revisores@example.gov", True),
    ):
        page = client.http.get(ack_link(email_to(bilingual, address)))
        assert page.status_code == 200
        assert ("Test Person" in page.body.decode()) is entitled, address


# ---------------------------------------------------------------- the pages behind the links


def test_the_ack_page_and_its_answer_speak_spanish_to_a_spanish_recipient(
    client: Client, bilingual: FakeWorld
) -> None:
    submit(bilingual, rollout_body())
    run(bilingual)
    link = ack_link(email_to(bilingual, "asesora@example.gov"))
    page = client.http.get(link).body.decode()
    assert page.startswith("<!doctype html><html lang='es'>")
    assert "<title>Vigil: secure-communities entra en vigor en Connecticut el 2012-02-22</title>" in page
    assert "<button type='submit'>He visto este aviso</button>" in page
    assert "<th scope='row'>Jurisdicción</th>" in page
    answer = client.http.post(
        link, headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 200
    assert "Gracias: su acuse de recibo quedó registrado." in answer.body.decode()
    again = client.http.post(
        link, headers={"Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert "Usted ya había acusado recibo de este aviso." in again.body.decode()


def test_the_ack_page_of_an_english_recipient_is_unchanged(client: Client, bilingual: FakeWorld) -> None:
    submit(bilingual, rollout_body())
    run(bilingual)
    page = client.http.get(ack_link(email_to(bilingual, "adviser@example.gov"))).body.decode()
    assert page.startswith("<!doctype html><html lang='en'>")
    assert "<button type='submit'>I have seen this notice</button>" in page


def test_an_expired_ack_link_says_so_in_the_recipients_language(client: Client, bilingual: FakeWorld) -> None:
    accepted = submit(bilingual, rollout_body())
    run(bilingual)
    closed = replace(accepted.notice, status=NoticeStatus.CLOSED, acknowledged_at=NOW)
    bilingual.notices.notices[closed.id] = closed
    bootstrap.use(bilingual.deps(), clock=lambda: NOW + timedelta(days=31))
    page = client.http.get(ack_link(email_to(bilingual, "asesora@example.gov")))
    assert page.status_code == 410
    body = page.body.decode()
    assert "<html lang='es'>" in body
    assert "<h1>Enlace vencido</h1>" in body
    assert "Este aviso se cerró el 17 de febrero de 2012; su enlace de acuse de recibo ha vencido" in body
    english = client.http.get(ack_link(email_to(bilingual, "adviser@example.gov"))).body.decode()
    assert "This notice was closed on 17 February 2012; its acknowledgment link has expired" in english


@pytest.mark.parametrize(
    ("accept_language", "title"),
    [
        (None, "Link not valid"),
        ("es-US,es;q=0.9,en;q=0.8", "Enlace no válido"),
        ("en;q=0.5, es", "Enlace no válido"),
        ("fr", "Link not valid"),
    ],
)
def test_an_invalid_link_speaks_the_language_the_browser_prefers(
    client: Client, world: FakeWorld, accept_language: str | None, title: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    page = client.http.get("/ack/not-a-token", headers=headers)
    assert page.status_code == 404
    assert f"<h1>{title}</h1>" in page.body.decode()


def test_confirmation_messages_and_pages_speak_the_subscribers_language(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    create(client, keys, {**ADVISER, "language": "es", "channels": ADVISER["channels"][:2]})
    email = email_to(world, "adviser@example.gov")
    assert email.subject == "[Vigil] Confirme esta dirección para recibir alertas"
    assert email.text.startswith(
        "Criminal Justice Policy Adviser (Office of the Governor) recibirá alertas de Vigil "
        "en esta dirección.\n"
    )
    text = text_to(world, "+18605550100")
    assert text.startswith("Vigil: responda ")
    assert text.endswith(
        "para confirmar este teléfono para las alertas de Criminal Justice Policy Adviser. "
        "Responda STOP para darse de baja."
    )
    assert size(text).encoding is Encoding.GSM7
    link = "/verify/" + email.text.split("/verify/")[1].split()[0]
    shown = client.http.get(link).body.decode()
    assert "<h1>Confirme las alertas para Criminal Justice Policy Adviser</h1>" in shown
    assert "<button type='submit'>Confirmar esta dirección</button>" in shown
    confirm_email(client, world, "adviser@example.gov")
    done = client.http.post(link, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "Gracias: esta dirección recibirá las alertas de Vigil." in done.body.decode()


def test_the_unsubscribe_pages_speak_the_subscribers_language(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "language": "es", "channels": ADVISER["channels"][:1]})
    confirm_email(client, world, "adviser@example.gov")
    channel_id = created["channels"][0]["id"]
    from chalicelib.domain.subscribers import ChannelRef  # noqa: PLC0415  # only here

    link = "/" + world.deps().unsubscribe(ChannelRef(created["id"], channel_id)).split("/", 3)[3]
    assert "<button type='submit'>Darse de baja</button>" in client.http.get(link).body.decode()
    done = client.http.post(link, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "<h1>Baja confirmada</h1>" in done.body.decode()


# ---------------------------------------------------------------- answers to texts


def reply(client: Client, phone: str, body: str) -> dict[str, Any]:
    status, answer = call(client, "POST", "/dev/sms/inbound", None, {"from": phone, "body": body})
    assert status == 200
    assert isinstance(answer, dict)
    return answer


def test_help_and_stop_are_answered_in_the_owners_language(
    client: Client, keys: Keys, world: FakeWorld
) -> None:
    created = create(client, keys, {**ADVISER, "language": "es", "channels": ADVISER["channels"][1:2]})
    code = text_to(world, "+18605550100").split()[2]  # "Vigil: responda 123456 para confirmar …"
    assert reply(client, "+18605550100", code)["outcome"] == "confirmed"
    assert world.sms.sent[-1].body.startswith("Vigil: este teléfono queda confirmado para las alertas.")
    assert reply(client, "+18605550100", "HELP")["outcome"] == "help"
    assert world.sms.sent[-1].body.startswith("Vigil avisa de medidas de control migratorio.")
    assert reply(client, "+18605550100", "STOP")["outcome"] == "stopped"
    assert world.sms.sent[-1].body == "Vigil: ya no le enviaremos mensajes. Responda START para reanudarlos."
    assert world.subscribers.get(created["id"]).channels[0].opted_out


@pytest.mark.parametrize(("word", "outcome"), [("AYUDA", "help"), ("parar", "stopped"), ("Baja", "stopped")])
def test_spanish_keywords_work_and_are_answered_in_spanish_from_an_unknown_number(
    client: Client, world: FakeWorld, word: str, outcome: str
) -> None:
    assert reply(client, "+18605550199", word)["outcome"] == outcome
    assert size(world.sms.sent[-1].body).segments <= SMS_MAX_SEGMENTS
    assert "Responda" in world.sms.sent[-1].body or "Vigil avisa" in world.sms.sent[-1].body


def test_an_unknown_number_writing_english_is_answered_in_english(client: Client, world: FakeWorld) -> None:
    assert reply(client, "+18605550199", "help")["outcome"] == "help"
    assert world.sms.sent[-1].body.startswith("Vigil alerts on immigration enforcement notices.")


def test_every_spanish_answer_to_a_text_fits_the_segment_budget() -> None:
    from chalicelib.services.sms_replies import ANSWERS  # noqa: PLC0415  # only here

    spanish = words_for(SPANISH)
    for reply_kind, english in ANSWERS.items():
        said = spanish(english)
        assert said != english, reply_kind
        assert size(said).segments <= SMS_MAX_SEGMENTS, (reply_kind, size(said))


# ---------------------------------------------------------------- the catalogue and its loading


def test_english_reads_no_catalogue_and_spanish_reads_its_own_once() -> None:
    language_module._loaded.cache_clear()
    notice = replace_notice()
    render_email(notice, to="a@example.gov", role=Role.ADVOCATE, ack_url="https://x/ack/t")
    assert words_for(Language.ENGLISH) is ENGLISH
    assert language_module._loaded.cache_info().currsize == 0
    render_email(notice, to="a@example.gov", role=Role.ADVOCATE, ack_url="https://x/ack/t", language=SPANISH)
    render_sms(notice, to="+1", language=SPANISH)
    info = language_module._loaded.cache_info()
    assert (info.currsize, info.misses) == (1, 1)


def replace_notice() -> Any:
    world = FakeWorld()
    return submit(world, rollout_body()).notice


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, Language.ENGLISH),
        ("", Language.ENGLISH),
        ("es", SPANISH),
        ("es-MX", SPANISH),
        ("en-US,en;q=0.9,es;q=0.8", Language.ENGLISH),
        ("es;q=0.2, en;q=0.1", SPANISH),
        ("es;q=0, en", Language.ENGLISH),
        ("fr-CA, es;q=0.5", SPANISH),
        ("de, fr", Language.ENGLISH),
        ("es;q=nonsense, en;q=0.1", Language.ENGLISH),
    ],
)
def test_the_browsers_preferred_language_is_read_from_accept_language(
    header: str | None, expected: Language
) -> None:
    assert preferred_language(header) is expected


def test_words_fill_their_values_after_translating_never_reading_a_value_as_a_template() -> None:
    spanish = words_for(SPANISH)
    assert spanish("Vigil: {title}", title="{place} {0}") == "Vigil: {place} {0}"
    assert spanish.day(NOW.date()) == "17 de febrero de 2012"
    assert ENGLISH.moment(NOW.replace(hour=16, minute=5)) == "Fri 17 Feb 2012, 4:05 PM UTC"
    assert spanish.moment(NOW.replace(hour=16, minute=5)) == "vie. 17 feb. 2012, 4:05 p. m. UTC"


def test_a_states_hold_clocks_are_said_again_in_spanish_from_what_the_notice_keeps() -> None:
    from datetime import UTC, datetime  # noqa: PLC0415  # this test only

    from chalicelib.domain.deadlines import (  # noqa: PLC0415  # this test only
        CONNECTICUT,
        StateClocks,
        describe_kept,
        hold_deadlines,
        kept_hold,
    )

    issued = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    released = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    texas = StateClocks("Texas", (), on_file=False)
    kept = kept_hold(hold_deadlines("I-247A", issued, released, texas), texas)
    assert kept["explained"][1] == "Texas: no detainer regime on file, so no state clock applies"
    spanish = describe_kept(kept, words_for(SPANISH))
    assert spanish[1] == (
        "Texas: Vigil no tiene el régimen de detainers de este estado, "
        "así que no se aplica ningún plazo de retención estatal"
    )
    assert spanish[0].startswith("Formulario I-247A: la retención termina el")
    # A notice kept before its hold named a state is Connecticut's, and said as such.
    old = kept_hold(hold_deadlines("I-247A", issued, released, CONNECTICUT), CONNECTICUT)
    for key in ("state", "state_on_file", "state_sets_clock"):
        del old[key]
    assert describe_kept(old, words_for(SPANISH))[1] == (
        "Connecticut HB 7259 (desde 2025-10-01): sin plazo de retención propio; rige el del formulario"
    )
