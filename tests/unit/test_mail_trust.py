"""Whether received mail may alarm anyone (chalicelib/domain/mail_trust.py): SES's verdicts read as
documented, alignment with the From domain, trusted senders, and the decision on the corpus's forged
and story messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.domain.mail_trust import (
    HoldCode,
    Receipt,
    SenderKind,
    Verdict,
    aligned,
    assess,
    authentication,
    dkim_domains,
    normalise_sender,
    sender_address,
    trust_candidates,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "mail"
P, F, G, E, N = Verdict.PASS, Verdict.FAIL, Verdict.GRAY, Verdict.PROCESSING_FAILED, Verdict.NONE


def receipt(
    spf: Verdict = P,
    dkim: Verdict = P,
    dmarc: Verdict = P,
    spam: Verdict = P,
    virus: Verdict = P,
    envelope_from: str | None = "desk.sergeant@example.gov",
) -> Receipt:
    return Receipt(spf, dkim, dmarc, spam, virus, envelope_from=envelope_from)


def held(r: Receipt, sender: str = "desk.sergeant@example.gov", signers: tuple[str, ...] = ()) -> list[str]:
    return [str(reason.code) for reason in authentication(r, sender, signers)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"status": "PASS"}, P),
        ({"status": "fail"}, F),
        ({"status": "GRAY"}, G),
        ({"status": "PROCESSING_FAILED"}, E),
        ("PASS", P),
        ({"status": "DISABLED"}, N),
        ({}, N),
        (None, N),
        (["PASS"], N),
    ],
)
def test_verdicts_are_read_as_ses_writes_them(value: object, expected: Verdict) -> None:
    assert Verdict.read(value) is expected


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (receipt(), []),
        (receipt(dmarc=F), ["dmarc-failed"]),
        (
            receipt(spf=P, dkim=P, dmarc=F),
            ["dmarc-failed"],
        ),  # DMARC fails: SPF and DKIM were for another domain
        (receipt(spf=F, dkim=F, dmarc=G), ["spf-and-dkim-failed"]),
        (receipt(spf=F, dkim=F, dmarc=P), ["spf-and-dkim-failed"]),
        (receipt(spf=P, dkim=G, dmarc=G), []),  # no DMARC policy: SPF passed for the From domain
        (receipt(spf=P, dkim=G, dmarc=G, envelope_from="bounce@bulk.example.net"), ["unauthenticated"]),
        (receipt(spf=G, dkim=G, dmarc=G), ["unauthenticated"]),
        (receipt(spf=E, dkim=E, dmarc=E), ["unauthenticated"]),
        (receipt(spf=N, dkim=N, dmarc=N), ["unauthenticated"]),
    ],
)
def test_a_message_is_authenticated_by_dmarc_or_by_spf_or_dkim_aligned_with_its_from_domain(
    verdicts: Receipt, expected: list[str]
) -> None:
    assert held(verdicts) == expected


def test_a_dkim_pass_counts_only_when_every_signature_is_by_the_from_domain() -> None:
    no_dmarc = receipt(spf=G, dkim=P, dmarc=G, envelope_from=None)
    assert held(no_dmarc, signers=("example.gov",)) == []
    assert held(no_dmarc, signers=("mail.example.gov",)) == []
    assert held(no_dmarc, signers=("attacker.example.net",)) == ["unauthenticated"]
    # SES does not say which signature passed: a forged one beside a valid foreign one proves nothing.
    assert held(no_dmarc, signers=("example.gov", "attacker.example.net")) == ["unauthenticated"]
    assert held(no_dmarc, signers=()) == ["unauthenticated"]


@pytest.mark.parametrize(
    ("one", "other", "expected"),
    [
        ("example.gov", "example.gov", True),
        ("mail.example.gov", "example.gov", True),
        ("example.gov", "bounces.police.example.gov", True),
        ("example.gov", "otherexample.gov", False),
        ("example.gov", "gov", False),  # a bare top-level domain aligns with nothing
        ("example.gov", None, False),
    ],
)
def test_alignment_is_the_same_domain_or_one_inside_the_other(
    one: str, other: str | None, expected: bool
) -> None:
    assert aligned(one, other) is expected


def test_the_trusted_list_is_searched_for_the_address_and_every_domain_it_is_in() -> None:
    assert trust_candidates("Desk.Sergeant@Police.Example.gov") == [
        "desk.sergeant@police.example.gov",
        "police.example.gov",
        "example.gov",
    ]
    assert trust_candidates("not an address") == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ICE.DHS.gov", ("ice.dhs.gov", SenderKind.DOMAIN)),
        (" ice.dhs.gov. ", ("ice.dhs.gov", SenderKind.DOMAIN)),
        ("Desk.Sergeant@Example.gov", ("desk.sergeant@example.gov", SenderKind.ADDRESS)),
    ],
)
def test_trusted_senders_are_stored_lower_case_as_an_address_or_a_domain(
    value: str, expected: tuple[str, SenderKind]
) -> None:
    assert normalise_sender(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "gov", "*.dhs.gov", "ice .dhs.gov", "@", "a@gov", "..a@example.gov", "-x.example.gov", "x" * 300],
)
def test_a_trusted_sender_that_is_neither_an_address_nor_a_domain_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"must be|not an email address"):
        normalise_sender(value)


def test_dkim_signing_domains_are_read_from_the_headers() -> None:
    raw = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=Example.gov; s=s1; h=from:to; bh=x; b=y\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; s=s2;\r\n d=amazonses.com; h=from; bh=x; b=y\r\n"
        b"From: desk.sergeant@example.gov\r\n\r\nbody"
    )
    assert dkim_domains(raw) == ("example.gov", "amazonses.com")
    assert dkim_domains(b"\xff\xfe not headers") == ()


def test_mail_posted_with_a_key_is_trusted_as_the_keys_holder() -> None:
    decision = assess(receipt=None, from_address=None, signers=(), trusted=False, key_id="k1")
    assert decision.may_route
    assert (decision.reporter, decision.verified, decision.via) == ("API key k1", True, "api")


def test_spam_a_virus_and_an_untrusted_sender_each_hold_the_message_with_its_reason() -> None:
    decision = assess(
        receipt=receipt(spam=F, virus=F),
        from_address="desk.sergeant@example.gov",
        signers=(),
        trusted=False,
        key_id="ses-inbound",
    )
    assert not decision.may_route
    assert decision.verified  # authenticated, but that is not enough
    assert [r.code for r in decision.held] == [HoldCode.SPAM, HoldCode.VIRUS, HoldCode.UNTRUSTED_SENDER]
    assert "desk.sergeant@example.gov is neither a trusted sender" in decision.held[-1].text


def test_a_trusted_authenticated_sender_may_alarm_people() -> None:
    decision = assess(
        receipt=receipt(spam=G, virus=G),  # "could not tell" is not a flag
        from_address="desk.sergeant@example.gov",
        signers=(),
        trusted=True,
        key_id="ses-inbound",
    )
    assert decision.may_route
    assert (decision.reporter, decision.verified, decision.via) == (
        "desk.sergeant@example.gov",
        True,
        "email",
    )


def _from(name: str) -> str | None:
    raw = (CORPUS / f"{name}.eml").read_bytes()
    header = next(line for line in raw.decode().splitlines() if line.startswith("From:"))
    return sender_address(header.removeprefix("From:"))


def test_the_story_s_forged_copy_claiming_ice_fails_dmarc_and_is_held_even_from_a_trusted_domain() -> None:
    sender = _from("story-forged-ice")
    assert sender == "ero.hartford@example.gov"
    decision = assess(
        receipt=receipt(spf=F, dkim=G, dmarc=F, envelope_from="bounce-8812@bulk-mailer.example.net"),
        from_address=sender,
        signers=dkim_domains((CORPUS / "story-forged-ice.eml").read_bytes()),
        trusted=True,  # the agency's domain is trusted: its name on a forged message is not enough
        key_id="ses-inbound",
    )
    assert [r.code for r in decision.held] == [HoldCode.DMARC_FAILED]
    assert not decision.verified
    assert "DMARC FAIL" in decision.held[0].text


def test_a_display_name_claiming_ice_on_a_free_mail_address_is_held_as_untrusted() -> None:
    sender = _from("forged-display-name")
    assert sender == "ice.hartford.notices@freemail.example.com"
    decision = assess(
        receipt=receipt(envelope_from=sender), from_address=sender, signers=(), trusted=False, key_id="x"
    )
    assert [r.code for r in decision.held] == [HoldCode.UNTRUSTED_SENDER]
    assert decision.verified
