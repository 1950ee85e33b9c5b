"""What importing the Lambda entry point loads: every function's cold start pays for all of it.

Not a timing test (those are benchmarks: bench.coldstart, docs/benchmarks.md §2): it pins which
heavy modules stay out of ``import app`` until a request needs them, so a module-level import
cannot quietly bring them back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.services.inbound import MailDesk
from chalicelib.services.sms_replies import Inbox
from chalicelib.services.subscribers import Consent
from tests.fakes import FakeWorld

REPO_ROOT = Path(__file__).resolve().parents[2]

# Loaded on first use only, each by the one path that needs it.
DEFERRED = {
    "phonenumbers": "SMS channels of POST/PATCH /subscribers",
    "email_validator": "email channels of POST/PATCH /subscribers",
    "dns": "email_validator's dependency",
    "chalicelib.domain.inbound_mail": "forwarded email (services.inbound.receive)",
    "chalicelib.domain.classification": "detainer events (facts: parse_event; classify: ingest.accept)",
    "chalicelib.data.regimes": "detainer events",
    "chalicelib.domain.deadlines": "detainer events",
    "holidays": "detainer hold clocks",
    "gettext": "the message catalogue, read when a message in another language than English is rendered",
    # Each route handler and bound use case imports its schema and service modules when it first runs.
    "chalicelib.services.sms_replies": "SMS replies (on_sms_inbound)",
    "chalicelib.services.inbound": "forwarded email",
    "chalicelib.services.dashboard": "the dashboard's routes",
    "chalicelib.services.decisions": "detainer decisions",
    "chalicelib.services.reports": "detainer reports",
    "chalicelib.services.feedback": "SES bounces and complaints",
    "chalicelib.services.escalation": "the sweep",
    "chalicelib.schemas.subscribers": "POST/PATCH /subscribers",
    "chalicelib.schemas.decisions": "detainer decisions",
    "chalicelib.schemas.events": "POST /events",
    "chalicelib.schemas.notices": "GET /notices",
    "chalicelib.schemas.policies": "the policy routes",
    "chalicelib.schemas.reports": "detainer reports",
    "chalicelib.services.acknowledgment": "acknowledgment links and replies",
    "chalicelib.services.audit": "the audit routes",
    "chalicelib.services.guessing": "the throttle on guessed links and codes",
    "chalicelib.services.ingest": "POST /events",
    "chalicelib.services.keys": "the key routes",
    "chalicelib.services.notice_queries": "the notice routes",
    "chalicelib.services.links": "the link pages",
    "chalicelib.services.places": "GET /jurisdictions",
    "chalicelib.services.policies": "the policy routes",
    "chalicelib.services.access": "routes that take a key",
    "chalicelib.schemas.queries": "routes with a limit or a place query",
    "chalicelib.schemas.keys": "POST /keys",
    "chalicelib.services.routing": "the route function",
    "chalicelib.services.subscribers": "the subscriber routes",
    "chalicelib.services.facilities": "the facility routes",
    "chalicelib.schemas.facilities": "POST and PATCH /facilities",
}


@pytest.fixture(scope="module")
def loaded_by_import_app() -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    env |= {
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "packaging-test-link-signing-secret-0123456789",
        "AWS_LAMBDA_FUNCTION_NAME": "vigil-prod-api_handler",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(  # our own interpreter importing our own entry point
        [sys.executable, "-c", "import json, sys; import app; print(json.dumps(sorted(sys.modules)))"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(modules)


@pytest.mark.parametrize("module", sorted(DEFERRED))
def test_import_app_leaves_out_what_only_some_requests_need(
    loaded_by_import_app: set[str], module: str
) -> None:
    assert "app" in loaded_by_import_app
    assert module not in loaded_by_import_app, f"{module} (needed by {DEFERRED[module]}) loads at import"


def test_the_deferred_services_are_still_built_on_demand(world: FakeWorld) -> None:
    deps = bootstrap.deps()
    assert isinstance(deps.desk, MailDesk)
    assert isinstance(deps.inbox, Inbox)
    assert isinstance(deps.consent, Consent)
    assert deps.desk.mail is deps.mail
    assert deps.inbox.limits is deps.limits
    assert deps.consent.links is deps


def test_regime_files_are_read_one_state_at_a_time_and_never_at_import() -> None:
    """Which regime files ``import app`` opens (none), then one California detainer's law (its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    env |= {
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "packaging-test-link-signing-secret-0123456789",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # Opening a file is what an audit hook sees of importlib.resources reading it.
    done = subprocess.run(  # our own interpreter importing our own entry point
        [
            sys.executable,
            "-c",
            """
import json, sys
opened = []
def hook(event, args):
    path = args[0] if event == "open" and isinstance(args[0], str) else ""
    if "/chalicelib/data/regimes/" in path and path.endswith(".json"):
        opened.append(path.rsplit("/", 1)[-1])
sys.addaudithook(hook)
import app
at_import = list(opened)
from chalicelib.data.regimes import state_law
state_law("us-ca/facility/x").clocks
state_law("us-ca/town/y")
print(json.dumps({"import": at_import, "classify": opened[len(at_import):]}))
""",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read == {"import": [], "classify": ["us-ca.json"]}  # once: the second lookup is cached
