"""On moto, resources from infra/: an admin adds a Texas jail through the API; a detainer there is
classified "no regime on file for Texas" and reaches the jail's, Harris County's and Texas's
subscribers by email, and nobody elsewhere."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.notices import NoticeStatus
from chalicelib.domain.routing import reach
from chalicelib.domain.subscribers import EventType
from tests.builders import detainer_body
from tests.integration.test_handlers import (  # noqa: F401  # pipeline: the handlers' fixture, shared
    Pipeline,
    pipeline,
    sent_emails,
    subscriber_body,
)

pytestmark = pytest.mark.integration


def test_an_admin_adds_a_texas_jail_and_a_detainer_there_reaches_harris_county_and_texas(
    pipeline: Pipeline,  # noqa: F811  # the fixture imported above
) -> None:
    status, jail = pipeline.post(
        "/facilities",
        {"name": "Harris County Jail", "place": "Harris County, TX", "kind": "jail"},
        pipeline.admin,
    )
    assert (status, jail["id"]) == (201, "us-tx/facility/harris-county-jail")
    assert pipeline.deps.facilities.get(jail["id"]).place_id == "us-tx/county/harris"
    for name, place in (
        ("Harris County Sheriff", "Harris County, TX"),
        ("Texas Governor", "Texas"),
        ("Travis County Sheriff", "Travis County, TX"),
        ("Connecticut Governor", "statewide"),
    ):
        email = name.lower().replace(" ", ".") + "@example.gov"
        status, _ = pipeline.post(
            "/subscribers",
            subscriber_body(name, "corrections", place, [{"type": "email", "address": email}]),
            pipeline.admin,
        )
        assert status == 201
    status, accepted = pipeline.post(
        "/events", detainer_body(facility="Harris County Jail, TX"), pipeline.source
    )
    assert (status, accepted["jurisdiction_id"], accepted["recipients"]) == (202, jail["id"], 2)
    pipeline.drain()
    told = sorted(address for m in sent_emails() for address in m.destinations["ToAddresses"])
    assert told == ["harris.county.sheriff@example.gov", "texas.governor@example.gov"]
    notice = pipeline.deps.notices.get(accepted["notice_id"])
    assert notice.status is NoticeStatus.OPEN
    classification = notice.event["classification"]
    assert classification["suggestion"] == "needs-judgment"
    assert "no regime on file for Texas" in classification["explanation"][0]
    assert "Connecticut" not in json.dumps(classification)


def test_a_moved_jail_s_subscribers_are_read_under_its_new_county_and_no_longer_its_old(
    pipeline: Pipeline,  # noqa: F811  # the fixture imported above
) -> None:
    body = {"name": "Harris County Jail", "place": "us-tx/county/harris", "kind": "jail"}
    assert pipeline.post("/facilities", body, pipeline.admin)[0] == 201
    jail = "us-tx/facility/harris-county-jail"
    chaplain = subscriber_body(
        "Chaplain", "advocate", jail, [{"type": "email", "address": "chaplain@example.gov"}]
    )
    assert pipeline.post("/subscribers", chaplain, pipeline.admin)[0] == 201

    def readers(place: str) -> list[str]:
        found = pipeline.deps.index.covering(reach(pipeline.deps.registry, place, EventType.ROLLOUT))
        return sorted(e.name for e in found)

    assert (readers("us-tx/county/harris"), readers("us-tx/county/fort-bend")) == (["Chaplain"], [])
    response = pipeline.client.http.patch(
        "/facilities/us-tx/facility/harris-county-jail",
        headers={"Authorization": f"Bearer {pipeline.admin}", "Content-Type": "application/json"},
        body=json.dumps({"place": "Fort Bend County, TX"}),
    )
    assert response.status_code == 200, response.body
    assert (readers("us-tx/county/harris"), readers("us-tx/county/fort-bend")) == ([], ["Chaplain"])
    assert readers("us-tx") == ["Chaplain"]
