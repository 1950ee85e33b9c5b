"""What importing the Lambda entry point loads: every function's cold start pays for all of it.

Not a timing test (those are benchmarks: bench.coldstart, docs/benchmarks.md §2): it pins which
heavy modules stay out of ``import app`` until a request needs them, so a module-level import
cannot quietly bring them back.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.lazy import LazyModule
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
    # app.py's LazyModule names (chalicelib/lazy.py): each function loads the few it runs.
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
    "chalicelib.services.notice_list": "GET /notices",
    "chalicelib.services.routing": "the route function",
    "chalicelib.services.subscribers": "the subscriber routes",
}


@pytest.fixture(scope="module")
def loaded_by_import_app() -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    env |= {
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "test-secret",
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


def test_a_lazy_module_imports_on_the_first_attribute_read_and_forwards_reads_to_the_module() -> None:
    code = (
        "import sys; from chalicelib.lazy import LazyModule; "
        "m = LazyModule('chalicelib.services.reports'); "
        "before = 'chalicelib.services.reports' in sys.modules; "
        "f = m.detainer_report; "
        "import chalicelib.services.reports as real; "
        "print(before, 'chalicelib.services.reports' in sys.modules, f is real.detainer_report)"
    )
    # A fresh interpreter: this one may have imported the module already.
    done = subprocess.run(  # noqa: S603  # our own interpreter running our own code
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True", "True"]
    reports = LazyModule("chalicelib.services.reports")
    assert "chalicelib.services.reports" in repr(reports)
    with pytest.raises(AttributeError):
        _ = reports.no_such_function
    with pytest.raises(ModuleNotFoundError):
        _ = LazyModule("chalicelib.services.no_such_module").anything


def test_apps_lazy_names_are_the_modules_mypy_checks_them_as() -> None:
    """app.py names each lazy module twice: imported for mypy under TYPE_CHECKING, a LazyModule at
    run time. mypy checks only the first, so the two must name the same modules."""
    tree = ast.parse((REPO_ROOT / "app.py").read_text(encoding="utf-8"))
    [block] = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    checked = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    at_run_time = {
        target.id: node.value.args[0].value
        for node in block.orelse
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.args[0], ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert at_run_time == checked
    assert len(checked) == 21
