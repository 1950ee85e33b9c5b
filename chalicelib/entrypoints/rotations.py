"""Duty rotations: who of a role at a place is on duty. Admin work, every change audited."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.entrypoints.contract import ADMINS, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.usecases import UseCases

routes = Routes("rotations")


@routes.post("/rotations", roles=ADMINS, status=201, body=True, refuses=(409,), cli="rotations create")
def post_rotation(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.rotations import parse_rotation

    created = vigil.create_rotation(parse_rotation(req.json(), registry=vigil.registry), caller=req.who)
    return json_response(created.as_json(), 201, {"Location": f"rotations/{created.rotation.id}"})


@routes.get("/rotations", roles=ADMINS, cli="rotations list")
def list_rotations(req: Incoming, vigil: UseCases) -> Response:
    return json_response({"items": [r.as_json() for r in vigil.rotations()]})


@routes.get("/rotations/{rotation_id}", roles=ADMINS, cli="rotations show")
def get_rotation(req: Incoming, vigil: UseCases, rotation_id: str) -> Response:
    return json_response(vigil.rotation(rotation_id).as_json())


@routes.patch("/rotations/{rotation_id}", roles=ADMINS, body=True, cli="rotations update")
def patch_rotation(req: Incoming, vigil: UseCases, rotation_id: str) -> Response:
    from chalicelib.schemas.rotations import parse_rotation_patch

    return json_response(
        vigil.update_rotation(rotation_id, parse_rotation_patch(req.json()), caller=req.who).as_json()
    )


@routes.delete("/rotations/{rotation_id}", roles=ADMINS, status=204, answers=(), cli="rotations delete")
def delete_rotation(req: Incoming, vigil: UseCases, rotation_id: str) -> Response:
    vigil.delete_rotation(rotation_id, caller=req.who)
    return Response(body="", status_code=204)
