"""Detainer review: the reviewer's decision on each detainer, the duties that follow it, and the
detainer report (as JSON or CSV)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.entrypoints.contract import CSV, JSON, READERS, REVIEWERS, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.views import notice_json
from chalicelib.usecases import UseCases

routes = Routes("detainers")


@routes.post(
    "/detainers/{notice_id}/decision",
    roles=REVIEWERS,
    status=201,
    body=True,
    refuses=(409,),
    api_only="a reviewer decides case by case with the whole record in front of them (the dashboard)",
)
def post_decision(req: Incoming, vigil: UseCases, notice_id: str) -> Response:
    from chalicelib.schemas.decisions import parse_decision

    decided = vigil.decide(notice_id, parse_decision(req.json()), caller=req.who)
    return json_response(notice_json(decided, full=True), 201)


@routes.post(
    "/detainers/{notice_id}/duties/{duty_id}",
    roles=REVIEWERS,
    body=True,
    api_only="duties are marked done by the reviewer who carried them out, beside the decision",
)
def post_duty(req: Incoming, vigil: UseCases, notice_id: str, duty_id: str) -> Response:
    from chalicelib.schemas.decisions import parse_duty_update

    _, note = parse_duty_update(req.json(max_bytes=4096))
    return json_response(
        notice_json(vigil.complete_duty(notice_id, duty_id, note=note, caller=req.who), full=True)
    )


@routes.get("/reports/detainers", roles=READERS, refuses=(400,), answers=(JSON, CSV))
def get_detainer_report(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.reports import NEW_YORK, parse_report_window

    start, end, fmt = parse_report_window(
        {k: req.query(k) for k in ("from", "to", "format")}, today=vigil.now().astimezone(NEW_YORK).date()
    )
    report = vigil.detainer_report(start, end)
    if fmt == "csv":
        return Response(
            body=report.as_csv(),
            status_code=200,
            headers={"Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store"},
        )
    return json_response(report.as_json())
