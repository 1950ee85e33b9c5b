"""Correctional facilities: admins add, change and retire them; readers list and show them."""

from __future__ import annotations

from urllib.parse import unquote

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


# A facility id holds slashes: the path carries it escaped (us-tx%2Ffacility%2Fharris-county-jail).
@routes.get("/facilities/{facility_id}", roles=READERS, refuses=(400,), cli="facilities show")
def get_facility(req: Incoming, vigil: UseCases, facility_id: str) -> Response:
    from chalicelib.schemas.facilities import parse_facility_id

    found = vigil.facility(parse_facility_id(unquote(facility_id)))
    return json_response(facility_json(found, vigil.registry))


@routes.patch("/facilities/{facility_id}", roles=ADMINS, body=True, refuses=(409,), cli="facilities change")
def patch_facility(req: Incoming, vigil: UseCases, facility_id: str) -> Response:
    from chalicelib.schemas.facilities import parse_facility_change, parse_facility_id

    wanted = parse_facility_change(req.json(), registry=vigil.registry)
    changed = vigil.change_facility(parse_facility_id(unquote(facility_id)), wanted, caller=req.who)
    return json_response(facility_json(changed, vigil.registry))
