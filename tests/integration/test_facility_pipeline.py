"""On moto, resources from infra/: an admin adds a Texas jail through the API; a detainer there is
classified "no regime on file for Texas" and reaches the jail's, Harris County's and Texas's
subscribers by email, and nobody elsewhere."""

from __future__ import annotations

import json

import pytest

from chalicelib.domain.notices import NoticeStatus
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
