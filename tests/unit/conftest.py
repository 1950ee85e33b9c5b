from __future__ import annotations

from collections.abc import Iterator

import pytest
from chalice.test import HTTPResponse, TestHTTPClient

from app import app
from chalicelib import bootstrap
from chalicelib.data import load_registry
from chalicelib.domain.auth import ApiRole, new_key
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from tests.builders import NOW
from tests.contract import ResponseContract
from tests.fakes import FakeWorld
from vigil_local.dev_routes import serve_on

# The unit tests stand in for the local stack, whose /dev routes some of them call.
serve_on(app)


@pytest.fixture(scope="module")
def registry() -> JurisdictionRegistry:
    """The jurisdiction registry the service ships."""
    return load_registry()


@pytest.fixture
def world() -> Iterator[FakeWorld]:
    """Every port faked and installed as the app's dependencies for the test."""
    fakes = FakeWorld()
    bootstrap.use(fakes.deps())
    yield fakes
    bootstrap.use(None)


@pytest.fixture
def keys(world: FakeWorld) -> dict[ApiRole, str]:
    """A plaintext API key for each role."""
    plaintexts = {}
    for role in ApiRole:
        key, plaintext = new_key(name=f"test {role}", role=role, now=NOW)
        world.keys.add(key)
        plaintexts[role] = plaintext
    return plaintexts


@pytest.fixture(autouse=True)
def answers_follow_the_openapi_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every answer a unit test gets through Chalice's test client is checked against
    docs/openapi.yaml (tests/contract.py): its status, media type and JSON body."""
    contract = ResponseContract.from_spec()
    original = TestHTTPClient.request

    def checked(
        self: TestHTTPClient, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> HTTPResponse:
        response = original(self, method, path, headers=headers, body=body)
        problems = contract.check(method, path, response.status_code, response.headers, response.body)
        assert not problems, "the answer is not what docs/openapi.yaml says:\n" + "\n".join(problems)
        return response

    monkeypatch.setattr(TestHTTPClient, "request", checked)
