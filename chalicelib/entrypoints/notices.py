"""Events and notices: submitting rollouts and detainers, reading notices and their logs, and finding
places (forwarded mail and its triage: ``inbound.py``)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.domain.auth import ApiRole
from chalicelib.entrypoints.contract import READERS, SOURCES, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.views import jurisdiction_json, log_entry_json, notice_detail_json, notice_json
from chalicelib.usecases import UseCases

routes = Routes("notices")

# API keys that see a detainer's whole record (the reviewers who decide, and admins); other keys see
# what any recipient may.
FULL_RECORD_ROLES = frozenset({ApiRole.REVIEWER, ApiRole.ADMIN})


@routes.post("/events", roles=SOURCES, status=202, body=True, refuses=(409,), cli="events submit")
def post_event(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.events import parse_event

    submitted = parse_event(
        req.json(), idempotency_header=req.header("idempotency-key"), registry=vigil.registry
    )
    return json_response(vigil.accept_event(submitted, caller=req.who).as_json(), 202)


@routes.get("/notices", roles=READERS, refuses=(400,))
def list_notices(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.notices import parse_notice_filter

    wanted = parse_notice_filter(
        {k: req.query(k) for k in ("type", "status", "jurisdiction", "limit", "cursor")},
        registry=vigil.registry,
    )
    page = vigil.recent_notices(wanted)
    full = req.who.role in FULL_RECORD_ROLES
    return json_response({"items": [notice_json(n, full=full) for n in page.items], "cursor": page.cursor})


@routes.get("/notices/{notice_id}", roles=READERS, cli="notices show")
def get_notice(req: Incoming, vigil: UseCases, notice_id: str) -> Response:
    state = vigil.notice_state(notice_id)
    return json_response(
        notice_detail_json(
            state.notice,
            state.deliveries,
            state.acknowledgments,
            state.policy,
            now=vigil.now(),
            full=req.who.role in FULL_RECORD_ROLES,
        )
    )


@routes.get("/notices/{notice_id}/log", roles=READERS, cli="notices log")
def get_notice_log(req: Incoming, vigil: UseCases, notice_id: str) -> Response:
    chain = vigil.notice_chain(notice_id)
    return json_response(
        {
            "notice_id": notice_id,
            "verified": chain.verification.verified,
            "broken_at": chain.verification.broken_at,
            "reason": chain.verification.reason,
            "entry_count": chain.verification.entries,
            "anchor": chain.anchor.as_json() if chain.anchor else None,
            "digest": chain.digested.as_json() if chain.digested else None,
            "entries": [log_entry_json(e) for e in chain.entries],
        }
    )


@routes.get("/jurisdictions", roles=READERS, refuses=(400, 404), cli="jurisdictions find")
def find_jurisdiction(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.queries import parse_place_query

    place = vigil.find_place(parse_place_query(req.query("q")))
    return json_response(
        {
            "jurisdiction": jurisdiction_json(place.jurisdiction),
            "ancestors": [j.id for j in place.ancestors],
            "also_named": [j.as_alternative() for j in place.also_named],
        }
    )
