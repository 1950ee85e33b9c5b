"""Correctional facilities: admins add, change and retire them; readers list and show them."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.entrypoints.contract import ADMINS, READERS, Incoming, Routes
from chalicelib.entrypoints.http import json_response
from chalicelib.entrypoints.views import facility_json
from chalicelib.usecases import UseCases

routes = Routes("facilities")


@routes.get("/facilities", roles=READERS, refuses=(400,), cli="facilities list")
def list_facilities(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.queries import parse_state

    state = parse_state(req.query("state"), registry=vigil.registry)
    found = vigil.facilities(state.id)
    return json_response(
        {
            "state": {"id": state.id, "name": state.name},
            "items": [facility_json(f, vigil.registry) for f in found],
        }
    )


@routes.post("/facilities", roles=ADMINS, status=201, body=True, refuses=(409,), cli="facilities add")
def post_facility(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.facilities import parse_facility

    added = vigil.add_facility(parse_facility(req.json(), registry=vigil.registry), caller=req.who)
    return json_response(facility_json(added, vigil.registry), status=201)


# A facility's address is /facilities/ and its id (us-tx/facility/harris-county-jail), each part of
# the id a path segment of its own: API Gateway refuses a slash escaped inside one (%2F).
@routes.get("/facilities/{state_id}/facility/{slug}", roles=READERS, refuses=(400,), cli="facilities show")
def get_facility(req: Incoming, vigil: UseCases, state_id: str, slug: str) -> Response:
    from chalicelib.schemas.facilities import parse_facility_id

    found = vigil.facility(parse_facility_id(state_id, slug))
    return json_response(facility_json(found, vigil.registry))


@routes.patch(
    "/facilities/{state_id}/facility/{slug}", roles=ADMINS, body=True, refuses=(409,), cli="facilities change"
)
def patch_facility(req: Incoming, vigil: UseCases, state_id: str, slug: str) -> Response:
    from chalicelib.schemas.facilities import parse_facility_change, parse_facility_id

    facility_id = parse_facility_id(state_id, slug)
    wanted = parse_facility_change(req.json(), registry=vigil.registry)
    changed = vigil.change_facility(facility_id, wanted, caller=req.who)
    return json_response(facility_json(changed, vigil.registry))
