"""Whether received mail may alarm anyone: SES's receipt verdicts, and who is trusted to send it.

A forwarded notice is only as good as the person who forwarded it. SES checks each message it
receives and says so in its notification (``receipt.spfVerdict``, ``dkimVerdict``, ``dmarcVerdict``,
``spamVerdict``, ``virusVerdict``: each ``PASS``, ``FAIL``, ``GRAY`` or ``PROCESSING_FAILED``), and
admins keep a list of trusted senders. ``assess`` turns both into a decision:

- **Authenticated** is a message whose From address SES could vouch for: DMARC passed; or, where
  the From domain publishes no DMARC policy, SPF passed for an envelope sender of the From domain or
  DKIM passed with a signature by it ("aligned": the same domain, or one inside the other, never a
  bare top-level domain). SPF or DKIM passing for some other domain vouches for that domain only.
- **Held** (never routed; kept in triage with the reasons) is a message that fails DMARC, fails
  SPF and DKIM both, is not authenticated at all, is flagged as spam or a virus, or whose sender is
  neither a trusted sender nor a subscriber's own confirmed address.
- **Trusted** senders are addresses (a forwarder) and domains (an agency's, ``ice.dhs.gov``): a
  domain covers its subdomains. A subscriber's confirmed email address is a trusted forwarder too.
- Inside a forward only the forwarder is verified: the original sender it shows is **claimed**.
  Mail posted to the API by a ``source`` or ``admin`` key is trusted as the key's holder.

Standard library only; no I/O.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from enum import StrEnum
from typing import Any

MAX_SENDER_CHARS = 254
MAX_NOTE_CHARS = 500
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_LOCAL_PART = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}")


class Verdict(StrEnum):
    """SES's verdict on one check; ``NONE`` when the notification did not say."""

    PASS = "PASS"  # noqa: S105  # a verdict, not a password
    FAIL = "FAIL"
    GRAY = "GRAY"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    NONE = "NONE"

    @classmethod
    def read(cls, value: Any) -> Verdict:
        """``{"status": "PASS"}`` as SES writes it, or the bare status; anything else is ``NONE``."""
        status = value.get("status") if isinstance(value, dict) else value
        try:
            return cls(str(status).upper()) if status is not None else cls.NONE
        except ValueError:
            return cls.NONE


@dataclass(frozen=True, slots=True)
class Receipt:
    """What SES said of a received message."""

    spf: Verdict
    dkim: Verdict
    dmarc: Verdict
    spam: Verdict
    virus: Verdict
    # The envelope sender (SMTP MAIL FROM: ``mail.source``), whose domain SPF checked.
    envelope_from: str | None = None
    # The sending domain's DMARC policy (``none``, ``quarantine``, ``reject``); SES gives it on failure.
    dmarc_policy: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "spf": str(self.spf),
            "dkim": str(self.dkim),
            "dmarc": str(self.dmarc),
            "spam": str(self.spam),
            "virus": str(self.virus),
            "envelope_from": self.envelope_from,
            "dmarc_policy": self.dmarc_policy,
        }


class HoldCode(StrEnum):
    """Why a message was held rather than routed (``incomplete``: the reader could not tell what it says)."""

    DMARC_FAILED = "dmarc-failed"
    SPF_AND_DKIM_FAILED = "spf-and-dkim-failed"
    UNAUTHENTICATED = "unauthenticated"
    SPAM = "spam"
    VIRUS = "virus"
    UNTRUSTED_SENDER = "untrusted-sender"
    INCOMPLETE = "incomplete"
    UNRELATED = "unrelated"


@dataclass(frozen=True, slots=True)
class HoldReason:
    code: HoldCode
    text: str

    def as_json(self) -> dict[str, str]:
        return {"code": str(self.code), "text": self.text}


@dataclass(frozen=True, slots=True)
class Assessment:
    """Who reported a message (the verified sender, or the API key's holder) and why it is held."""

    reporter: str
    # The reporter is verified: authenticated by SES, or the holder of the key that posted it.
    verified: bool
    via: str  # "email" (SES) or "api"
    held: tuple[HoldReason, ...]

    @property
    def may_route(self) -> bool:
        return not self.held


class SenderKind(StrEnum):
    DOMAIN = "domain"
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class TrustedSender:
    """An address or a domain admins trust to send or forward notices."""

    sender: str  # lower-case: "ice.dhs.gov" or "desk.sergeant@example.gov"
    kind: SenderKind
    note: str
    added_by: str
    added_at: datetime

    def as_json(self) -> dict[str, str]:
        return {
            "sender": self.sender,
            "kind": str(self.kind),
            "note": self.note,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
        }


def normalise_sender(value: str) -> tuple[str, SenderKind]:
    """A trusted sender as stored: lower-case, an address or a domain of two labels or more; raises
    ValueError saying what is wrong."""
    text = value.strip().lower().rstrip(".")
    if not text or len(text) > MAX_SENDER_CHARS:
        raise ValueError(f"must be an email address or a domain of at most {MAX_SENDER_CHARS} characters")
    local, at, domain = text.rpartition("@")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(
            "must be an email address (desk.sergeant@example.gov) or a domain of two labels or more "
            "(ice.dhs.gov), without wildcards"
        )
    if not at:
        return domain, SenderKind.DOMAIN
    if not _is_local_part(local):
        raise ValueError(f"{value.strip()[:80]!r} is not an email address")
    return f"{local}@{domain}", SenderKind.ADDRESS


def _is_local_part(local: str) -> bool:
    return bool(_LOCAL_PART.fullmatch(local)) and not local.startswith(".") and ".." not in local


def domain_of(address: str | None) -> str | None:
    if not address or "@" not in address:
        return None
    domain = address.rpartition("@")[2].strip().strip(">").lower().rstrip(".")
    return domain if _DOMAIN.fullmatch(domain) else None


def trust_candidates(address: str) -> list[str]:
    """What the trusted-senders list is searched for: the address, its domain and the domains it is in
    (never a bare top-level domain)."""
    domain = domain_of(address)
    if domain is None:
        return []
    labels = domain.split(".")
    return [address.lower(), *(".".join(labels[i:]) for i in range(len(labels) - 1))]


def aligned(one: str | None, other: str | None) -> bool:
    """Relaxed DMARC alignment, without the public suffix list: the same domain, or one a subdomain of
    the other, the shorter having at least two labels."""
    if not one or not other:
        return False
    shorter, longer = sorted((one.lower(), other.lower()), key=len)
    return shorter.count(".") >= 1 and (longer == shorter or longer.endswith("." + shorter))


def dkim_domains(raw: bytes) -> tuple[str, ...]:
    """The ``d=`` domains of the message's DKIM-Signature headers (which of them SES verified, it does
    not say: a DKIM pass counts for the From domain only when every signature is by it)."""
    try:
        headers = BytesHeaderParser().parsebytes(raw[:200_000])
        values = headers.get_all("DKIM-Signature") or []
    except Exception:  # hostile headers: no signature to speak of
        return ()
    found = []
    for value in values[:20]:
        match = re.search(r"(?:^|;)\s*d\s*=\s*([A-Za-z0-9.-]{1,253})", str(value))
        if match:
            found.append(match.group(1).lower().rstrip("."))
    return tuple(dict.fromkeys(found))


def authentication(receipt: Receipt, from_address: str | None, signers: Sequence[str]) -> list[HoldReason]:
    """Why the From address cannot be taken as the sender (empty when SES vouches for it)."""
    verdicts = f"SPF {receipt.spf}, DKIM {receipt.dkim}, DMARC {receipt.dmarc}" + (
        f" (policy {receipt.dmarc_policy})" if receipt.dmarc_policy else ""
    )
    sender = from_address or "(no address)"
    if receipt.dmarc is Verdict.FAIL:
        return [
            HoldReason(
                HoldCode.DMARC_FAILED,
                f"fails DMARC: its From address {sender} is not vouched for by its own domain ({verdicts})",
            )
        ]
    if receipt.spf is Verdict.FAIL and receipt.dkim is Verdict.FAIL:
        return [HoldReason(HoldCode.SPF_AND_DKIM_FAILED, f"fails SPF and DKIM ({verdicts})")]
    if receipt.dmarc is Verdict.PASS:
        return []
    domain = domain_of(from_address)
    spf_ok = receipt.spf is Verdict.PASS and aligned(domain_of(receipt.envelope_from), domain)
    dkim_ok = receipt.dkim is Verdict.PASS and bool(signers) and all(aligned(d, domain) for d in signers)
    if spf_ok or dkim_ok:
        return []
    return [
        HoldReason(
            HoldCode.UNAUTHENTICATED,
            f"nothing vouches that {sender} sent it: no DMARC pass, and no SPF or DKIM pass for its "
            f"domain ({verdicts})",
        )
    ]


def content_checks(receipt: Receipt) -> list[HoldReason]:
    reasons = []
    if receipt.spam is Verdict.FAIL:
        reasons.append(HoldReason(HoldCode.SPAM, "SES flagged it as spam"))
    if receipt.virus is Verdict.FAIL:
        reasons.append(HoldReason(HoldCode.VIRUS, "SES found a virus in it"))
    return reasons


def untrusted(address: str | None) -> HoldReason:
    return HoldReason(
        HoldCode.UNTRUSTED_SENDER,
        f"{address or 'the sender'} is neither a trusted sender nor a subscriber's confirmed address",
    )


def sender_address(value: str | None) -> str | None:
    """The address in a From value (``Name <a@b>`` or ``a@b``), lower-case; None without one."""
    if not value:
        return None
    _, address = email.utils.parseaddr(value)
    address = address.strip().lower()
    return address if domain_of(address) else None


def assess(
    *,
    receipt: Receipt | None,
    from_address: str | None,
    signers: Sequence[str],
    trusted: bool,
    key_id: str,
) -> Assessment:
    """The decision on one received message. ``receipt`` None: posted to the API by the key ``key_id``,
    whose holder vouches for it. ``trusted``: whether ``from_address`` is a trusted sender or a
    subscriber's confirmed address."""
    if receipt is None:
        return Assessment(reporter=f"API key {key_id}", verified=True, via="api", held=())
    unauthenticated = authentication(receipt, from_address, signers)
    held = [*unauthenticated, *content_checks(receipt)]
    if not trusted:
        held.append(untrusted(from_address))
    return Assessment(
        reporter=from_address or "(no address)", verified=not unauthenticated, via="email", held=tuple(held)
    )
