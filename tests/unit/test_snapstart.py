"""SnapStart: imports go into the snapshot; clients, credentials and random state never do."""

from __future__ import annotations

import random
import sys
import types
from collections.abc import Callable, Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.entrypoints import snapstart
from tests.fakes import FakeWorld


@pytest.fixture
def runtime_hooks() -> Iterator[dict[str, list[Callable[[], None]]]]:
    """A stand-in for Lambda's snapshot_restore_py, recording what is registered."""
    registered: dict[str, list[Callable[[], None]]] = {"before": [], "after": []}
    module = types.ModuleType("snapshot_restore_py")
    module.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]  # a stand-in module
    module.register_after_restore = registered["after"].append  # type: ignore[attr-defined]  # as above
    sys.modules["snapshot_restore_py"] = module
    yield registered
    del sys.modules["snapshot_restore_py"]


def test_without_lambdas_runtime_nothing_is_registered() -> None:
    assert "snapshot_restore_py" not in sys.modules
    assert snapstart.register() is False


def test_in_lambdas_runtime_both_hooks_are_registered(
    runtime_hooks: dict[str, list[Callable[[], None]]],
) -> None:
    assert snapstart.register() is True
    assert runtime_hooks == {"before": [snapstart.before_snapshot], "after": [snapstart.after_restore]}


def test_the_snapshot_holds_the_services_but_no_client() -> None:
    snapstart.before_snapshot()
    assert all(name in sys.modules for name in snapstart.WARM_MODULES)


def test_a_restored_container_makes_its_own_clients_after_the_restore(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = bootstrap.deps()
    afresh = world.deps()
    monkeypatch.setattr(bootstrap, "build", lambda _settings: afresh)
    snapstart.after_restore()
    assert bootstrap.deps() is afresh is not before


def test_a_restored_container_does_not_replay_the_snapshots_random_numbers(world: FakeWorld) -> None:
    random.seed(7)
    frozen = random.random()
    random.seed(7)  # the state a snapshot would carry into every container restored from it
    snapstart.after_restore()
    assert random.random() != frozen
    bootstrap.use(world.deps())
