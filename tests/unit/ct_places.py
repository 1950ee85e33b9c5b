"""What the jurisdiction registry's tests share: the Connecticut places they name and how they read
the registry's answers (``ids``, ``in_connecticut``). The ``registry`` fixture is in conftest.py."""

from __future__ import annotations

from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.places import Jurisdiction, JurisdictionKind

NEW_HAVEN = "us-ct/town/new-haven"
NEW_HAVEN_COUNTY = "us-ct/county/new-haven"
SOUTH_CENTRAL = "us-ct/region/south-central-connecticut"
FAIRFIELD_COUNTY = "us-ct/county/fairfield"
STATE = "us-ct"


def ids(nodes: tuple[Jurisdiction, ...]) -> list[str]:
    return [node.id for node in nodes]


def in_connecticut(registry: JurisdictionRegistry, kind: JurisdictionKind) -> tuple[Jurisdiction, ...]:
    return tuple(node for node in registry.within(STATE) if node.kind is kind)
