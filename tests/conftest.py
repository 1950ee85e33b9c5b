"""Fixtures shared across test levels."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import running_local_stack

# One local stack per test session, shared by the e2e and the browser tests (it is started only
# when a test asks for it).
local_stack = pytest.fixture(scope="session", name="local_stack")(running_local_stack)
