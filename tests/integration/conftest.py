"""Fixtures for tests against moto: an isolated fake AWS per test, the stack from infra/, and the stores
of the store contract modules, as in-memory fakes and as DynamoDB adapters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.bootstrap import Deps, build
from chalicelib.config import Settings
from chalicelib.data import load_registry
from chalicelib.ports import (
    AckCodeStore,
    DeliveryStore,
    FacilityStore,
    KeyStore,
    NoticeStore,
    PolicyStore,
    SubscriberStore,
    SubscriptionIndex,
    TrustedSenderStore,
)
from chalicelib.services.place_graph import PlaceGraph
from tests.fakes import (
    InMemoryAckCodeStore,
    InMemoryDeliveryStore,
    InMemoryFacilityStore,
    InMemoryKeyStore,
    InMemoryNoticeStore,
    InMemoryPolicyStore,
    InMemorySubscriberStore,
    InMemoryTrustedSenderStore,
)
from vigil_local.stack import deploy_template

REGION = "us-east-1"
STAGE = "test"


@dataclass(frozen=True)
class Aws:
    """The fake AWS of one test: a session whose clients all talk to moto's in-process mock."""

    session: boto3.Session
    region: str = REGION

    def client(self, service_name: str) -> Any:
        """A client for the service, in the test region (annotate it with its mypy_boto3 type)."""
        session: Any = self.session  # boto3-stubs types client() per literal service name only
        return session.client(service_name, region_name=self.region)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto's ``mock_aws`` with fake credentials, so nothing can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    with mock_aws():
        yield Aws(session=boto3.Session(region_name=REGION))


@pytest.fixture
def stack(aws: Aws) -> dict[str, str]:
    """The resources of infra/template.yaml for stage ``test``, deployed into moto; its Outputs."""
    return deploy_template(aws.client("cloudformation"), stage=STAGE, s3=aws.client("s3"))


@dataclass
class Stores:
    notices: NoticeStore
    subscribers: SubscriberStore
    index: SubscriptionIndex
    deliveries: DeliveryStore
    keys: KeyStore
    policies: PolicyStore
    codes: AckCodeStore
    trusted: TrustedSenderStore
    facilities: FacilityStore
    # The place graph the subscriber store's index rows are computed with, the facilities in it.
    places: PlaceGraph

    @classmethod
    def of(cls, deps: Deps) -> Stores:
        """The stores a built set of dependencies (``chalicelib.bootstrap.build``) holds."""
        return cls(
            deps.notices,
            deps.subscribers,
            deps.index,
            deps.deliveries,
            deps.keys,
            deps.policies,
            deps.codes,
            deps.trusted_senders,
            deps.facilities,
            deps.places,
        )


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """Each store twice, as its in-memory fake and as its DynamoDB adapter on moto: a case taking
    ``stores`` holds both to the same contract."""
    if request.param == "fake":
        facilities = InMemoryFacilityStore()
        places = PlaceGraph(load_registry(), facilities, clock=lambda: 0.0)
        subscribers = InMemorySubscriberStore(places=places.current)
        yield Stores(
            InMemoryNoticeStore(),
            subscribers,
            subscribers,
            InMemoryDeliveryStore(),
            InMemoryKeyStore(),
            InMemoryPolicyStore(),
            InMemoryAckCodeStore(),
            InMemoryTrustedSenderStore(),
            facilities,
            places,
        )
        return
    aws: Aws = request.getfixturevalue("aws")
    request.getfixturevalue("stack")
    deps = build(Settings.from_env({"VIGIL_STAGE": STAGE}), session=aws.session)
    yield Stores.of(deps)
