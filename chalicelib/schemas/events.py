"""POST /events bodies: rollout notices and detainer requests."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, JurisdictionKind
from chalicelib.domain.subscribers import EventType
from chalicelib.schemas.fields import (
    Problems,
    boolean,
    calendar_date,
    choice,
    jurisdiction,
    reject_unknown,
    require_object,
    strings_among,
    text,
    timestamp,
)

if TYPE_CHECKING:
    from chalicelib.domain.classification.facts import DetainerFacts

# After spaces and hyphens are dropped: an A-number as written on the forms ("A-208-417-395",
# "A 208 417 395", "208417395") is stored as A and nine digits.
_A_NUMBER = re.compile(r"^A?(\d{7,9})$", re.IGNORECASE)
_A_NUMBER_SEPARATORS = re.compile(r"[\s\-‐‑–]")
_EMAILISH = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


class DetainerForm(StrEnum):
    I_247 = "I-247"
    I_247D = "I-247D"
    I_247N = "I-247N"
    I_247X = "I-247X"
    I_247A = "I-247A"


@dataclass(frozen=True, slots=True)
class SubmittedEvent:
    """A validated event, ready to become a notice."""

    type: EventType
    idempotency_key: str
    jurisdiction_id: str
    title: str
    event: dict[str, Any]
    # Detainers: the facts the ingest use case classifies and times the hold clocks by; None otherwise.
    detainer: DetainerFacts | None = None
    # What the notice keeps beside the event (an inbound email's raw message, low-key flag, extraction).
    extra: dict[str, Any] = field(default_factory=dict)
    # Other places the words of "jurisdiction" could have meant ("Tolland": the town was chosen, not
    # Tolland County), so the answer can say how to name them.
    also_named: tuple[Jurisdiction, ...] = ()


_COMMON = {"type", "external_id"}
_ROLLOUT = _COMMON | {"program", "jurisdiction", "effective_at", "summary", "title", "source"}
_SOURCE = {"agency", "channel", "sent_at", "original_recipients"}
_DETAINER = _COMMON | {
    "form",
    "issued_at",
    "issuing_office",
    "facility",
    "subject",
    "release_due_at",
    "judicial_warrant",
    "judicial_warrant_signer",
    "convictions",
    "pending_charges",
    "tsdb_match",
    "summary",
    "probable_cause",
    "outstanding_ct_warrant",
    "gang_member",
    "public_safety_risk",
    "counsel_subscriber_ids",
    "confidential",
    "criminal_history_entered",
}
_SUBJECT = {"name", "date_of_birth", "a_number", "citizenship", "sex"}
_CONVICTION = {"statute", "class", "date", "final", "description"}
_PENDING = {"statute", "class", "date", "description", "bond_posted"}
MAX_CONVICTIONS = 100
MAX_CONFIDENTIAL_BYTES = 8192


class ProbableCause(StrEnum):
    """The probable-cause boxes of Form I-247A."""

    FINAL_ORDER = "final-order"
    PENDING_PROCEEDINGS = "pending-proceedings"
    BIOMETRIC_MATCH = "biometric-match"
    STATEMENTS = "statements"


class OffenceClass(StrEnum):
    """Connecticut's classes of offence (General Statutes §§ 53a-25 to 53a-27)."""

    A_FELONY = "A felony"
    B_FELONY = "B felony"
    C_FELONY = "C felony"
    D_FELONY = "D felony"
    E_FELONY = "E felony"
    UNCLASSIFIED_FELONY = "unclassified felony"
    A_MISDEMEANOR = "A misdemeanor"
    B_MISDEMEANOR = "B misdemeanor"
    C_MISDEMEANOR = "C misdemeanor"
    D_MISDEMEANOR = "D misdemeanor"
    UNCLASSIFIED_MISDEMEANOR = "unclassified misdemeanor"
    INFRACTION = "infraction"
    VIOLATION = "violation"


def parse_event(
    body: Any, *, idempotency_header: str | None, registry: JurisdictionRegistry
) -> SubmittedEvent:
    body = require_object(body, "event")
    problems = Problems()
    event_type = choice(body, "type", EventType, problems)
    key = _idempotency_key(body, idempotency_header, problems)
    also_named: tuple[Jurisdiction, ...] = ()
    result: tuple[str, str, dict[str, Any]] | None = None
    if event_type is EventType.ROLLOUT:
        rollout = _rollout(body, problems, registry)
        if rollout is not None:
            place_id, title, rollout_event, also_named = rollout
            result = (place_id, title, rollout_event)
    elif event_type is EventType.DETAINER:
        result = _detainer(body, problems, registry)
    problems.raise_if_any("event")
    assert event_type is not None and key is not None and result is not None  # noqa: PT018  # narrowed by raise_if_any
    jurisdiction_id, title, event = result
    event["type"] = str(event_type)
    event["external_id"] = key
    detainer = None
    if event_type is EventType.DETAINER:
        # Imported here, not at module level: only detainers need the classification package, and
        # POST /events of a rollout loads this module too (cold start, docs/benchmarks.md §2).
        from chalicelib.domain.classification.facts import facts_from_event  # noqa: PLC0415  # detainers only

        # Read back from the event as stored: the facts classified are those the stored event gives.
        detainer = facts_from_event(event)
    return SubmittedEvent(
        type=event_type,
        idempotency_key=key,
        jurisdiction_id=jurisdiction_id,
        title=title,
        event=event,
        detainer=detainer,
        also_named=also_named,
    )


def _idempotency_key(body: Mapping[str, Any], header: str | None, problems: Problems) -> str | None:
    external_id = text(body, "external_id", problems, required=False, max_len=200, single_line=True)
    header = header.strip() if header else None
    if header and len(header) > 200:
        problems.add("Idempotency-Key", "must be at most 200 characters")
        return None
    if header and any(ord(c) < 32 or c in "\x7f\x85\u2028\u2029" for c in header):
        problems.add("Idempotency-Key", "must not contain control characters or line breaks")
        return None
    if external_id and header and external_id != header:
        problems.add("external_id", "differs from the Idempotency-Key header; send one or make them equal")
        return None
    key = external_id or header
    if not key and "external_id" not in {e.field for e in problems.errors}:
        problems.add("external_id", "is required (or send an Idempotency-Key header)")
    return key


def _rollout(
    body: Mapping[str, Any], problems: Problems, registry: JurisdictionRegistry
) -> tuple[str, str, dict[str, Any], tuple[Jurisdiction, ...]] | None:
    reject_unknown(body, _ROLLOUT, problems)
    program = text(body, "program", problems, max_len=100, single_line=True)
    named = text(body, "jurisdiction", problems, max_len=200)
    place = jurisdiction(registry, named, "jurisdiction", problems)
    effective_at = timestamp(body, "effective_at", problems)
    summary = text(body, "summary", problems, max_len=2000)
    title = text(body, "title", problems, required=False, max_len=200, single_line=True)
    source = _source(body.get("source"), problems)
    if problems.errors or place is None or effective_at is None:
        return None
    title = title or f"{program} takes effect in {place.full_name} on {effective_at.date().isoformat()}"
    event: dict[str, Any] = {
        "program": program,
        "jurisdiction_id": place.id,
        "jurisdiction_name": place.full_name,
        "effective_at": effective_at.isoformat(),
        "summary": summary,
        "title": title,
    }
    if source:
        event["source"] = source
    return place.id, title, event, registry.also_named(named or "", place)


def _source(value: Any, problems: Problems) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add("source", "must be an object")
        return None
    reject_unknown(value, _SOURCE, problems, prefix="source.")
    out: dict[str, Any] = {}
    for key in ("agency", "channel"):
        found = text(value, key, problems, required=False, max_len=100, prefix="source.")
        if found:
            out[key] = found
    sent_at = timestamp(value, "sent_at", problems, required=False, prefix="source.")
    if sent_at:
        out["sent_at"] = sent_at.isoformat()
    recipients = value.get("original_recipients")
    if recipients is not None:
        if not isinstance(recipients, list) or len(recipients) > 200:
            problems.add("source.original_recipients", "must be a list of at most 200 email addresses")
        else:
            for i, address in enumerate(recipients):
                if not isinstance(address, str) or not _EMAILISH.fullmatch(address) or len(address) > 254:
                    problems.add(f"source.original_recipients[{i}]", "must be an email address")
            out["original_recipients"] = [a.lower() for a in recipients if isinstance(a, str)]
    return out


def _detainer(
    body: Mapping[str, Any], problems: Problems, registry: JurisdictionRegistry
) -> tuple[str, str, dict[str, Any]] | None:
    reject_unknown(body, _DETAINER, problems)
    form = choice(body, "form", DetainerForm, problems)
    issued_at = timestamp(body, "issued_at", problems)
    release_due_at = timestamp(body, "release_due_at", problems, required=False)
    issuing_office = text(body, "issuing_office", problems, required=False, max_len=200, single_line=True)
    facility = jurisdiction(registry, text(body, "facility", problems, max_len=200), "facility", problems)
    if facility is not None and facility.kind is not JurisdictionKind.FACILITY:
        problems.add("facility", f"{facility.name!r} is a {facility.kind}, not a correctional facility")
    elif facility is not None and facility.retired:
        problems.add("facility", f"{facility.full_name} ({facility.id}) is retired: no new detainer names it")
    subject = _subject(body.get("subject"), problems)
    judicial_warrant = boolean(body, "judicial_warrant", problems, default=False)
    signer = text(body, "judicial_warrant_signer", problems, required=False, max_len=200)
    tsdb_match = boolean(body, "tsdb_match", problems, default=False)
    summary = text(body, "summary", problems, required=False, max_len=2000)
    convictions = _records(body, "convictions", _CONVICTION, problems)
    pending = _records(body, "pending_charges", _PENDING, problems)
    causes = _probable_cause(body.get("probable_cause", []), problems)
    flags = {
        name: boolean(body, name, problems, default=False)
        for name in ("outstanding_ct_warrant", "gang_member", "public_safety_risk")
    }
    # Whether the state record was looked up: an empty conviction list then means "none", not "unknown".
    flags["criminal_history_entered"] = boolean(
        body, "criminal_history_entered", problems, default=bool(convictions)
    )
    counsel = _ids(body.get("counsel_subscriber_ids", []), "counsel_subscriber_ids", problems)
    confidential = _confidential(body.get("confidential"), problems)
    if issued_at and release_due_at and release_due_at < issued_at:
        problems.add("release_due_at", "must not be before issued_at")
    _dates_before(issued_at, subject, convictions, pending, problems)
    if problems.errors or facility is None or issued_at is None or form is None:
        return None
    title = f"{form} detainer request at {facility.name}"
    event: dict[str, Any] = {
        "form": str(form),
        "issued_at": issued_at.isoformat(),
        "issuing_office": issuing_office,
        "facility_id": facility.id,
        "facility_name": facility.name,
        "jurisdiction_id": facility.id,
        "jurisdiction_name": facility.name,
        "release_due_at": release_due_at.isoformat() if release_due_at else None,
        "judicial_warrant": judicial_warrant,
        "judicial_warrant_signer": signer,
        "tsdb_match": tsdb_match,
        "convictions": convictions,
        "pending_charges": pending,
        "probable_cause": [str(c) for c in causes],
        **flags,
        "subject": subject,
        "counsel_subscriber_ids": counsel,
        "summary": summary or title,
        "title": title,
    }
    if confidential is not None:
        # Kept as evidence for the record; never rendered, sent or shown (see messages.py, views.py).
        event["confidential"] = confidential
    return facility.id, title, event


def _dates_before(
    issued_at: datetime | None,
    subject: dict[str, Any] | None,
    convictions: list[dict[str, Any]],
    pending: list[dict[str, Any]],
    problems: Problems,
) -> None:
    """Dates of birth, convictions and charges cannot come after the request that cites them."""
    if issued_at is None:
        return
    issued = issued_at.date().isoformat()
    if subject and subject.get("date_of_birth") and subject["date_of_birth"] >= issued:
        problems.add("subject.date_of_birth", "must be before issued_at")
    for key, records in (("convictions", convictions), ("pending_charges", pending)):
        for i, record in enumerate(records):
            if record.get("date") and record["date"] > issued:
                problems.add(f"{key}[{i}].date", "must not be after issued_at")


def _probable_cause(value: Any, problems: Problems) -> list[ProbableCause]:
    allowed = [str(c) for c in ProbableCause]
    if value != [] and not strings_among(value, allowed):
        problems.add("probable_cause", f"must be a list of {', '.join(allowed)}")
        return []
    return [ProbableCause(v) for v in dict.fromkeys(value)]


def _ids(value: Any, field: str, problems: Problems) -> list[str]:
    if (
        not isinstance(value, list)
        or len(value) > 10
        or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
    ):
        problems.add(field, "must be a list of at most 10 subscriber ids")
        return []
    return list(dict.fromkeys(value))


def _confidential(value: Any, problems: Problems) -> dict[str, Any] | None:
    """Information the TRUST Act keeps confidential (sexual orientation, victim or witness status,
    public assistance, tax records): accepted so a source can attach it, never sent onward."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(json.dumps(value, default=str)) > MAX_CONFIDENTIAL_BYTES:
        problems.add("confidential", f"must be an object of at most {MAX_CONFIDENTIAL_BYTES} bytes")
        return None
    return dict(value)


def _subject(value: Any, problems: Problems) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        problems.add("subject", "is required: an object with name, date_of_birth and a_number")
        return None
    reject_unknown(value, _SUBJECT, problems, prefix="subject.")
    name = text(value, "name", problems, max_len=200, prefix="subject.")
    born = calendar_date(value, "date_of_birth", problems, required=False, prefix="subject.")
    a_number = text(value, "a_number", problems, required=False, max_len=16, prefix="subject.")
    normalized = None
    if a_number is not None:
        match = _A_NUMBER.match(_A_NUMBER_SEPARATORS.sub("", a_number))
        if match is None:
            problems.add("subject.a_number", "must be an A-number of 7 to 9 digits, e.g. A012345678")
        else:
            normalized = "A" + match.group(1).zfill(9)
    citizenship = text(value, "citizenship", problems, required=False, max_len=100, prefix="subject.")
    sex = text(value, "sex", problems, required=False, max_len=20, prefix="subject.")
    return {
        "name": name,
        "date_of_birth": born.isoformat() if born else None,
        "a_number": normalized,
        "citizenship": citizenship,
        "sex": sex,
    }


def _records(body: Mapping[str, Any], key: str, fields: set[str], problems: Problems) -> list[dict[str, Any]]:
    """Convictions and pending charges, as entered from state records."""
    value = body.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_CONVICTIONS:
        problems.add(key, f"must be a list of at most {MAX_CONVICTIONS} records")
        return []
    out = []
    for i, item in enumerate(value):
        prefix = f"{key}[{i}]."
        if not isinstance(item, Mapping):
            problems.add(f"{key}[{i}]", "must be an object with statute, class and date")
            continue
        reject_unknown(item, fields, problems, prefix=prefix)
        on = calendar_date(item, "date", problems, required=False, prefix=prefix)
        record: dict[str, Any] = {
            "statute": text(item, "statute", problems, max_len=50, prefix=prefix),
            "class": str(choice(item, "class", OffenceClass, problems, prefix=prefix))
            if "class" in item
            else None,
            "description": text(item, "description", problems, required=False, max_len=200, prefix=prefix),
            "date": on.isoformat() if on else None,
        }
        if "final" in fields:
            # "Convicted" means a final judgment of guilt, notwithstanding a pending appeal.
            record["final"] = boolean(item, "final", problems, default=True, prefix=prefix)
        if "bond_posted" in fields:
            record["bond_posted"] = boolean(item, "bond_posted", problems, default=False, prefix=prefix)
        out.append(record)
    return out
