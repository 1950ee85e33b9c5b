"""Requirements for reading a notice someone forwarded to Vigil by email.

The corpus under tests/corpus/mail holds hand-written messages, each with the extraction a careful
reader would make of it; the targeted tests below (forwards, replies and copies of one original),
in test_inbound_mail_contents.py (dates, programs, places) and in test_inbound_mail_form.py (HTML,
attachments, encodings, safety) pin the rules in inbound_mail's docstring.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.inbound_mail import (
    NEW_YORK,
    NOT_FOUND,
    Extraction,
    Found,
    MalformedMessage,
    looks_unrelated,
    needs_triage,
)
from tests.unit.mail_builders import CORPUS, assert_instant, message, parse

# --- the corpus ----------------------------------------------------------------------------------


def corpus() -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in sorted(CORPUS.glob("*.eml"))]


def test_the_corpus_covers_at_least_twelve_messages_each_with_its_expected_extraction() -> None:
    messages = {p.stem for p in CORPUS.glob("*.eml")}
    expectations = {p.name.removesuffix(".expected.json") for p in CORPUS.glob("*.expected.json")}
    assert len(messages) >= 12
    assert messages == expectations


@pytest.mark.parametrize("path", corpus())
def test_corpus_message_is_extracted_as_written_by_hand(path: Path) -> None:
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    raw = path.read_bytes()
    if "error" in expected:
        with pytest.raises(MalformedMessage) as refused:
            parse(raw)
        assert expected["reason_includes"] in refused.value.reason
        return
    x = parse(raw)
    _check_who_and_when(x, expected)
    _check_what_where_and_from_when(x, expected)
    _check_copies_and_evidence(x, expected)
    assert needs_triage(x) is expected["needs_triage"]
    if "unrelated" in expected:
        assert looks_unrelated(x) is expected["unrelated"]
    for field, certain in expected.get("certain", {}).items():
        assert getattr(x, field).certain is certain, field
    if "problems" in expected:
        assert list(x.problems) == expected["problems"]
    for wanted in expected.get("problems_include", []):
        assert any(wanted in problem for problem in x.problems), (wanted, x.problems)
    if "attachments" in expected:
        assert list(x.attachments) == expected["attachments"]
    assert all(wanted in x.text for wanted in expected.get("text_includes", []))
    assert not [unwanted for unwanted in expected.get("text_excludes", []) if unwanted in x.text]


def _check_who_and_when(x: Extraction, expected: dict[str, Any]) -> None:
    if "forwarded_by" in expected:
        assert x.forwarded_by == expected["forwarded_by"]
    for field in ("original_sender", "subject"):
        if field in expected:
            assert getattr(x, field).value == expected[field], field
    if "original_recipients" in expected:
        want = expected["original_recipients"]
        assert x.original_recipients.value == (tuple(want) if want is not None else None)
    if "sent_at" in expected:
        assert_instant(x.sent_at.value, expected["sent_at"])


def _check_copies_and_evidence(x: Extraction, expected: dict[str, Any]) -> None:
    if "forwarders" in expected:
        assert list(x.forwarders) == expected["forwarders"]
    if "message_id" in expected:
        assert x.message_id == expected["message_id"]
    assert x.original_id.startswith("mail:")
    for other in [expected.get("same_original_as")] if expected.get("same_original_as") else []:
        assert parse((CORPUS / f"{other}.eml").read_bytes()).original_id == x.original_id, other
    for other in expected.get("different_original_from", []):
        assert parse((CORPUS / f"{other}.eml").read_bytes()).original_id != x.original_id, other
    for field, sentence in expected.get("evidence_includes", {}).items():
        found: Found[Any] = getattr(x, field)
        assert any(sentence in s for s in found.sentences), (field, found.sentences)


def _check_what_where_and_from_when(x: Extraction, expected: dict[str, Any]) -> None:
    if "program" in expected:
        assert x.program.value == expected["program"]
    if "jurisdictions" in expected:
        want = expected["jurisdictions"]
        assert x.jurisdictions.value == (tuple(want) if want is not None else None)
    if "effective_at" in expected:
        assert_instant(x.effective_at.value, expected["effective_at"])
        if x.effective_at.value is not None:
            assert x.effective_at.value.isoformat() == expected["effective_at"]
            assert x.effective_at.value.tzinfo == NEW_YORK


@pytest.mark.parametrize("path", [p for p in corpus() if "malformed" not in p.id])
def test_every_value_found_says_where_it_came_from(path: Path) -> None:
    x = parse(path.read_bytes())
    fields: list[Found[Any]] = [
        x.original_sender,
        x.original_recipients,
        x.sent_at,
        x.subject,
        x.program,
        x.effective_at,
        x.jurisdictions,
    ]
    for found in fields:
        if found.value is not None:
            assert found.source
            assert found.source != NOT_FOUND
        else:
            assert not found.certain
    for found in (x.program, x.effective_at, x.jurisdictions):
        if found.value is not None:  # read from the text: the sentence it was read from is its evidence
            assert found.sentences
            assert all(sentence.strip() == sentence and "\n" not in sentence for sentence in found.sentences)


# --- forwards ------------------------------------------------------------------------------------

_GMAIL_FORWARD = """FYI, found this in the shared inbox this morning.

---------- Forwarded message ---------
From: ICE ERO Hartford <ero.hartford@example.gov>
Date: Fri, Feb 17, 2012 at 4:05 PM
Subject: Secure Communities - Connecticut
To: <desk.sergeant@example.gov>

Secure Communities will be activated statewide on Wednesday.
"""


def test_weekday_is_resolved_against_the_forwarded_messages_date_not_the_forward() -> None:
    raw = message(
        _GMAIL_FORWARD,
        subject="Fwd: Secure Communities - Connecticut",
        date="Thu, 23 Feb 2012 09:00:00 -0500",  # resolved against this, "Wednesday" would be the 29th
        sender="Desk Sergeant <desk.sergeant@example.gov>",
    )
    x = parse(raw)
    assert x.forwarded_by == "desk.sergeant@example.gov"
    assert x.original_sender.value == "ero.hartford@example.gov"
    assert x.effective_at.value is not None
    assert x.effective_at.value.isoformat() == "2012-02-22T00:00:00-05:00"
    assert x.effective_at.certain
    assert x.effective_at.source.startswith("body of the forwarded message:")


def test_an_attached_message_holding_an_inline_forward_yields_the_innermost_original() -> None:
    inner = message(
        _GMAIL_FORWARD,
        subject="Fwd: Secure Communities - Connecticut",
        date="Sat, 18 Feb 2012 08:00:00 -0500",
        sender="Desk Sergeant <desk.sergeant@example.gov>",
    ).decode()
    raw = message(
        "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        f"--b1\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--b1--\r\n",
        subject="FW: Fwd: Secure Communities - Connecticut",
        date="Mon, 20 Feb 2012 08:00:00 -0500",
        sender="Patrol Lieutenant <patrol.lieutenant@example.gov>",
        content_type='multipart/mixed; boundary="b1"',
    )
    x = parse(raw)
    assert x.forwarded_by == "patrol.lieutenant@example.gov"
    assert x.original_sender.value == "ero.hartford@example.gov"
    assert x.original_recipients.value == ("desk.sergeant@example.gov",)
    assert_instant(x.sent_at.value, "2012-02-17T16:05:00-05:00")
    assert_instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")
    assert x.jurisdictions.value == ("us-ct",)


def test_a_forward_whose_original_has_no_readable_date_uses_the_forwards_date_and_is_uncertain() -> None:
    body = _GMAIL_FORWARD.replace("Date: Fri, Feb 17, 2012 at 4:05 PM\n", "")
    x = parse(message(body, date="Fri, 17 Feb 2012 17:00:00 -0500"))
    assert_instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")
    assert not x.effective_at.certain
    assert not x.sent_at.certain
    assert "header Date" in x.sent_at.source


def test_a_subject_saying_forwarded_without_a_forwarded_block_is_flagged() -> None:
    x = parse(message("Secure Communities will be activated statewide on Wednesday.", subject="Fwd: notice"))
    assert x.forwarded_by is None
    assert x.original_sender.value == "ero.hartford@example.gov"
    assert not x.original_sender.certain
    assert any("no forwarded message was found" in p for p in x.problems)


def test_the_forwarders_note_is_used_only_when_the_original_names_nothing_and_then_uncertainly() -> None:
    body = (
        _GMAIL_FORWARD.replace(
            "Secure Communities will be activated statewide on Wednesday.", "See the call."
        )
        .replace("Subject: Secure Communities - Connecticut", "Subject: Conference call")
        .replace("FYI, found this", "ICE says S-Comm goes statewide on Wednesday; found this")
    )
    x = parse(message(body, subject="Fwd: notice", sender="Desk Sergeant <desk.sergeant@example.gov>"))
    assert x.original_sender.value == "ero.hartford@example.gov"
    assert x.program.value == "secure-communities"
    assert not x.program.certain
    assert x.program.source.startswith("forwarder's note:")
    assert_instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")  # from the forward's own Friday date
    assert not x.effective_at.certain


def test_a_reply_quotation_is_unwrapped_like_a_forward_and_apple_writes_its_time_after_a_comma() -> None:
    body = (
        "Passing this on.\n\n"
        "On Feb 17, 2012, at 4:05 PM, ICE ERO Hartford <ero.hartford@example.gov> wrote:\n\n"
        "> Secure Communities will be activated statewide on Wednesday.\n"
        ">\n"
        "> ICE ERO Hartford\n\n"
        "Sent from my phone\n"
    )
    x = parse(message(body, subject="Re: notice", sender="Desk Sergeant <desk.sergeant@example.gov>"))
    assert x.forwarders == ("desk.sergeant@example.gov",)
    assert x.original_sender.value == "ero.hartford@example.gov"
    assert x.original_sender.source == "'On … wrote:' line of the quoted message"
    assert_instant(x.sent_at.value, "2012-02-17T16:05:00-05:00")
    assert x.effective_at.source.startswith("body of the quoted message:")
    assert "Sent from my phone" not in x.effective_at.sentences[0]


@pytest.mark.parametrize(
    "body",
    [
        "The chief wrote:\nSecure Communities will be activated statewide on Wednesday.",
        "On Monday the chief wrote:\n\nSecure Communities will be activated statewide on Wednesday.",
    ],
)
def test_wrote_without_quoted_lines_below_is_only_a_sentence(body: str) -> None:
    x = parse(message(body))
    assert x.forwarded_by is None
    assert x.original_sender.value == "ero.hartford@example.gov"
    assert x.jurisdictions.value == ("us-ct",)


def test_an_attached_original_keeps_its_message_id_and_an_inline_one_has_none() -> None:
    inner = message(
        "Secure Communities will be activated statewide on Wednesday.",
        subject="Secure Communities - Connecticut",
    ).replace(b"MIME-Version", b"Message-ID: <Orig.42@Example.gov>\r\nMIME-Version")
    attached = message(
        "--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        f"--b1\r\nContent-Type: message/rfc822\r\n\r\n{inner.decode()}\r\n--b1--\r\n",
        subject="FW: Secure Communities - Connecticut",
        sender="Records Unit <records.unit@example.gov>",
        content_type='multipart/mixed; boundary="b1"',
    )
    assert parse(attached).message_id == "orig.42@example.gov"
    assert parse(inner).message_id == "orig.42@example.gov"
    assert parse(attached).original_id == parse(inner).original_id
    assert parse(message(_GMAIL_FORWARD)).message_id is None


# --- copies of one original ------------------------------------------------------------------------

_ORIGINAL = "Secure Communities will be activated statewide on Wednesday.\n\nICE ERO Hartford\n"


def _forward_of(original: str, *, date: str = "Fri, Feb 17, 2012 at 4:05 PM", note: str = "FYI.") -> bytes:
    return message(
        f"{note}\n\n---------- Forwarded message ---------\n"
        f"From: ICE ERO Hartford <ero.hartford@example.gov>\nDate: {date}\n"
        f"Subject: Secure Communities\nTo: <desk.sergeant@example.gov>\n\n{original}",
        subject="Fwd: Secure Communities",
        date="Sat, 18 Feb 2012 08:00:00 -0500",
        sender="Desk Sergeant <desk.sergeant@example.gov>",
    )


def test_copies_of_one_original_have_one_id_however_they_were_forwarded_or_quoted() -> None:
    direct = parse(message(_ORIGINAL, date="Fri, 17 Feb 2012 16:05:37 -0500")).original_id
    rewrapped = _ORIGINAL.replace("activated statewide", "activated\nstatewide").replace(
        "Wednesday.", "Wednesday. "
    )
    attribution = "On Fri, Feb 17, 2012 at 4:05 PM, ICE ERO Hartford <ero.hartford@example.gov> wrote:"
    quoted = message(
        f"Passing it on.\n\n{attribution}\n" + "".join(f"> {line}\n" for line in _ORIGINAL.splitlines()),
        sender="Patrol Supervisors <patrol.supervisors@example.gov>",
    )
    assert parse(_forward_of(_ORIGINAL)).original_id == direct
    assert parse(_forward_of(rewrapped, note="Another officer's note.")).original_id == direct
    assert parse(quoted).original_id == direct
    footer = "\nThis e-mail may contain confidential information intended for the addressee only.\n"
    assert parse(_forward_of(_ORIGINAL + footer)).original_id == direct  # a server's footer at the end
    assert parse(_forward_of(_ORIGINAL + "\n-- \nDesk Sergeant\n")).original_id == direct


@pytest.mark.parametrize(
    "changed",
    [
        {"date": "Fri, Feb 17, 2012 at 4:06 PM"},  # another minute: another message
        {"original": _ORIGINAL.replace("statewide", "in Fairfield County")},  # other words
    ],
)
def test_two_different_messages_have_two_ids(changed: dict[str, str]) -> None:
    first = parse(_forward_of(_ORIGINAL)).original_id
    other = _forward_of(
        changed.get("original", _ORIGINAL), date=changed.get("date", "Fri, Feb 17, 2012 at 4:05 PM")
    )
    assert parse(other).original_id != first


def test_an_original_without_a_date_of_its_own_is_named_by_its_sender_and_words() -> None:
    undated = _GMAIL_FORWARD.replace("Date: Fri, Feb 17, 2012 at 4:05 PM\n", "")
    on_saturday = parse(message(undated, date="Sat, 18 Feb 2012 08:00:00 -0500"))
    on_monday = parse(message(undated, date="Mon, 20 Feb 2012 08:00:00 -0500"))
    assert on_saturday.original_id == on_monday.original_id
