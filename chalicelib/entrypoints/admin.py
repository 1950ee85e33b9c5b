"""Running Vigil: liveness, escalation policies, the sweep on demand, and the audit trail."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.entrypoints.contract import ADMINS, READERS, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.views import log_entry_json
from chalicelib.usecases import UseCases

routes = Routes("admin")


@routes.get("/health", static=True, cli="health")
def health(req: Incoming, vigil: UseCases) -> Response:
    return json_response({"status": "ok"})


@routes.get("/policies/{event_type}", roles=READERS, refuses=(400,), cli="policies show")
def get_policy(req: Incoming, vigil: UseCases, event_type: str) -> Response:
    from chalicelib.schemas.policies import parse_event_type

    return json_response(vigil.policy(parse_event_type(event_type)).as_json())


@routes.put("/policies/{event_type}", roles=ADMINS, body=True, cli="policies set")
def put_policy(req: Incoming, vigil: UseCases, event_type: str) -> Response:
    from chalicelib.schemas.policies import parse_event_type, parse_policy

    policy = parse_policy(req.json(), event_type=parse_event_type(event_type))
    return json_response(vigil.replace_policy(policy, caller=req.who).as_json())


@routes.post("/admin/sweep", roles=ADMINS, cli="sweep")
def post_sweep(req: Incoming, vigil: UseCases) -> Response:
    return json_response(vigil.sweep(caller=req.who).as_json())


@routes.get("/audit", roles=ADMINS, refuses=(400,), cli="audit")
def get_audit(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.queries import parse_limit

    trail = vigil.audit_trail(limit=parse_limit(req.query("limit")))
    return json_response(
        {
            "verified": trail.verified,
            "broken_at": trail.broken_at,
            "reason": trail.reason,
            "anchor": trail.anchor.as_json() if trail.anchor else None,
            "digest": trail.digested.as_json() if trail.digested else None,
            "total": trail.total,
            "items": [log_entry_json(e) for e in trail.newest_first],
        }
    )
