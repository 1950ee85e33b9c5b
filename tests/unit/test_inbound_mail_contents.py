"""Requirements for reading what a forwarded notice says: its dates (resolved against the message's
date, in New York), the program being activated, and the places it names (read from the activation
sentence, not from history clauses, addresses or offices)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.domain.inbound_mail import needs_triage, parse_message
from tests.unit.mail_builders import FRIDAY, REGISTRY, assert_instant, message, parse

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
    assert_instant(x.effective_at.value, expected)


def test_without_a_date_header_received_at_is_the_reference_and_the_date_is_uncertain() -> None:
    received = datetime(2012, 2, 17, 21, 30, tzinfo=UTC)  # Friday 16:30 in Hartford
    x = parse(message("Secure Communities will be activated statewide on Wednesday.", date=None), received)
    assert_instant(x.effective_at.value, "2012-02-22T00:00:00-05:00")
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
