from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.domain.auth import ApiRole, new_key
from tests.builders import NOW
from tests.fakes import FakeWorld


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
