"""What people watch: the dashboard page and its assets, coverage (who a notice anywhere would reach),
and acknowledgment times."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.domain.errors import NotFound
from chalicelib.entrypoints.contract import HTML, JAVASCRIPT, JSON, READERS, Incoming, Routes
from chalicelib.entrypoints.http import asset_response, html_response, json_response
from chalicelib.entrypoints.pages import (
    DASHBOARD_ASSETS,
    DASHBOARD_CSP,
    asset_version,
    dashboard_asset,
    dashboard_page,
)
from chalicelib.usecases import UseCases

routes = Routes("dashboard")


@routes.get("/coverage", roles=READERS, refuses=(400,))
def get_coverage(req: Incoming, vigil: UseCases) -> Response:
    """One state's places (``?state=``, Connecticut's without it: the demo's)."""
    from chalicelib.schemas.queries import parse_state

    return json_response(vigil.coverage(parse_state(req.query("state"), registry=vigil.registry)))


@routes.get("/stats/acknowledgments", roles=READERS, refuses=(400,))
def get_acknowledgment_times(req: Incoming, vigil: UseCases) -> Response:
    from chalicelib.schemas.policies import parse_event_type
    from chalicelib.schemas.queries import parse_limit

    return json_response(
        vigil.acknowledgment_times(
            parse_event_type(req.query("type") or "rollout", field="type"),
            limit=parse_limit(req.query("limit")),
        )
    )


@routes.get("/dashboard", answers=(HTML,), static=True)
def get_dashboard(req: Incoming, vigil: UseCases) -> Response:
    """The page itself holds no data: it asks for an API key and reads the API with it."""
    return html_response(dashboard_page(), csp=DASHBOARD_CSP)


@routes.get("/dashboard/assets/{name}", answers=(JAVASCRIPT, JSON), static=True)
def get_dashboard_asset(req: Incoming, vigil: UseCases, name: str) -> Response:
    """The files the page loads after itself (the charts' and the map's scripts, the map's geometry):
    served by Vigil, never a CDN, so the page's Content-Security-Policy ('self') holds; kept by
    browsers under the version the page names."""
    if name not in DASHBOARD_ASSETS:
        raise NotFound("no such dashboard asset")
    return asset_response(
        dashboard_asset(name), DASHBOARD_ASSETS[name], current=req.query("v") == asset_version(name)
    )
