"""The conformance level: Schemathesis drives a local stack of its own from docs/openapi.yaml.

The stack is ``python -m vigil_local`` served under ``/api`` (as API Gateway's stage path serves a
deployed one), with the admin key of ``launched_stack``, the demo's subscribers, no ticker sweeps,
and sockets that reach this machine only (``loopback_stack.py``: the fuzzer's webhooks point
anywhere). Schemathesis's command line runs against it as an outside fuzzer would, from the
document alone: every phase (the document's examples, the coverage of each rule's edges, random
fuzzing, and stateful sequences that follow the document's ``links``), with the admin key on every
request, and every check Schemathesis has but those ``EXCLUDED_CHECKS`` names.
How much it generates (deterministically: the same cases every run) and the test data it draws
(places the registry knows, phone numbers, webhooks on this machine) are in ``schemathesis.toml``.
It must find nothing: no server error, no answer outside its documented statuses, media types,
headers or schema, no request the document calls invalid accepted.

Nothing is left out silently. ``EXCLUDED_OPERATIONS`` and ``EXCLUDED_CHECKS`` say what is not fuzzed
or checked and why, and the tests below hold them to what the run did; ``tests/fuzz/hooks.py`` says
which one request is altered (never dropped) and why.

Run alone: ``.venv/bin/python -m pytest -m fuzz`` (docs/api.md, "How the document is checked").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import ADMIN_KEY, REPO_ROOT, StackNotReady, launched_stack

pytestmark = pytest.mark.fuzz

DOCUMENT = REPO_ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
BASE_PATH = "/api"
CONFIG = Path(__file__).with_name("schemathesis.toml")
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# The whole run's bound: well over what it takes (docs/api.md), short of hanging the suite.
TIMEOUT_SECONDS = 1500

# operationId → why it is not fuzzed. Empty: the stack is local, so the /dev routes exist and
# nothing it sends leaves this machine (POST /subscribers/{id}/test and every notice's deliveries go
# to moto's SES and SNS, and to webhooks that can reach loopback only).
EXCLUDED_OPERATIONS: dict[str, str] = {}

# Schemathesis check → why it is not run.
EXCLUDED_CHECKS: dict[str, str] = {
    "positive_data_acceptance": (
        "a schema-valid request may rightly be refused for what the document cannot state as a schema: "
        "a place the registry does not know, a cursor the service did not issue, bytes that are not "
        "readable mail, a phone number no carrier has, a webhook host that does not resolve, dates in "
        "the wrong order (a date of birth after the detainer, a report window over ten years), "
        "a rotate-secret for a channel that is not a webhook; each is a documented 400"
    ),
    "object_level_authorization": (
        "it compares what two users of the same role may reach, and needs their credentials as peers; "
        "Vigil's keys are roles, not owners, and the level calls with one admin key (who may call "
        "what is tested by tests/unit/test_access.py and the unit tests of each route)"
    ),
}


# Operations whose declared links the stateful phase cannot follow, and why.
LINK_SOURCES_NOT_STARTED: dict[str, str] = {
    "POST /events": (
        "Schemathesis starts no sequence there: its dependency analysis reads external_id and "
        "counsel_subscriber_ids as references to resources no operation makes (External, "
        "CounselSubscriber), and so takes POST /events for an operation random data cannot pass "
        "(the fuzzing phase sends it as many cases as any other)"
    ),
}


@dataclass
class FuzzRun:
    returncode: int
    output: str
    # operation label ("POST /events") → the phases that sent it at least one case
    phases_by_operation: dict[str, set[str]] = field(default_factory=dict)
    checks_run: set[str] = field(default_factory=set)
    failed_checks: list[str] = field(default_factory=list)
    links_followed: set[str] = field(default_factory=set)
    # operation label → the statuses it answered in the stateful phase: why a link was not followed
    stateful_statuses: dict[str, list[int]] = field(default_factory=dict)
    cases: int = 0


def documented_operations() -> dict[str, str]:
    """operationId → "METHOD /path", for every operation of the document."""
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return {
        operation["operationId"]: f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def declared_links() -> set[str]:
    """The links the document declares, as Schemathesis names a followed one:
    "POST /keys -> [201] DeleteKey -> DELETE /keys/{key_id}"."""
    document = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    labels = documented_operations()
    found = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    target = labels[link["operationId"]]
                    found.add(f"{method.upper()} {path} -> [{status}] {name} -> {target}")
    return found


def all_checks() -> set[str]:
    from schemathesis.checks import CHECKS, load_all_checks  # noqa: PLC0415  # only this module needs it

    load_all_checks()
    return set(CHECKS.get_all_names())


def checks_to_run() -> list[str]:
    return sorted(all_checks() - set(EXCLUDED_CHECKS))


def read_report(run: FuzzRun, ndjson: Path) -> None:
    """What the run did, from Schemathesis's NDJSON event stream."""
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is None:
            continue
        recorder = finished["recorder"]
        for case_id, case in recorder.get("cases", {}).items():
            value = case["value"]
            label = f"{value['method'].upper()} {value['path']}"
            run.phases_by_operation.setdefault(label, set()).add(finished["phase"])
            run.cases += 1
            transition = case.get("transition")
            if transition and not transition.get("is_inferred"):
                run.links_followed.add(transition["id"])
            response = recorder.get("interactions", {}).get(case_id, {}).get("response")
            if finished["phase"] == "stateful" and response:
                run.stateful_statuses.setdefault(label, []).append(response["status_code"])
            for check in recorder.get("checks", {}).get(case_id, []):
                run.checks_run.add(check["name"])
                if check["status"] == "failure":
                    info = check.get("failure_info", {}).get("failure", {})
                    run.failed_checks.append(f"{label}: {check['name']}: {info.get('title', '')}")


def fuzz(api_url: str, report_dir: Path) -> FuzzRun:
    ndjson = report_dir / "events.ndjson"
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        str(DOCUMENT),
        "--url",
        api_url,
        "--header",
        f"Authorization: Bearer {ADMIN_KEY}",
        "--phases",
        ",".join(PHASES),
        "--checks",
        ",".join(checks_to_run()),
        "--workers",
        "1",
        # A request's own bound: far over any answer's time on an idle machine (well under a second),
        # so only a hang fails it, not a machine busy with other work.
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(ndjson),
    ]
    for operation_id in EXCLUDED_OPERATIONS:
        command += ["--exclude-operation-id", operation_id]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks",
        "VIGIL_FUZZ_KEY_ID": ADMIN_KEY.split("_")[1],
    }
    finished = subprocess.run(  # noqa: S603  # the venv's own schemathesis, arguments built here
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    run = FuzzRun(returncode=finished.returncode, output=finished.stdout + finished.stderr)
    if ndjson.exists():
        read_report(run, ndjson)
    return run


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzRun]:
    where = tmp_path_factory.mktemp("fuzz")
    try:
        with launched_stack(
            where / "stack.log",
            command=[sys.executable, "-m", "tests.fuzz.loopback_stack"],
            env={"VIGIL_TICK_SECONDS": "86400"},
            base_path=BASE_PATH,
        ) as stack:
            yield fuzz(stack.api_url, where)
    except StackNotReady as exc:
        pytest.fail(str(exc))


def test_the_fuzzer_finds_nothing(fuzz_run: FuzzRun) -> None:
    """No server error, and every answer is documented: its status, media type, headers and schema."""
    assert fuzz_run.cases > 0, fuzz_run.output[-5000:]
    assert not fuzz_run.failed_checks, (
        "\n".join(fuzz_run.failed_checks[:50]) + "\n\n" + fuzz_run.output[-20000:]
    )
    assert fuzz_run.returncode == 0, fuzz_run.output[-20000:]


def test_every_operation_but_the_excluded_ones_is_fuzzed_in_every_phase(fuzz_run: FuzzRun) -> None:
    documented = documented_operations()
    excluded = {documented[operation_id] for operation_id in EXCLUDED_OPERATIONS}
    fuzzed = {
        label for label, phases in fuzz_run.phases_by_operation.items() if {"coverage", "fuzzing"} <= phases
    }
    assert fuzzed == set(documented.values()) - excluded
    assert not excluded & set(fuzz_run.phases_by_operation), "an excluded operation was sent"


def test_the_checks_run_are_every_check_but_the_excluded_ones(fuzz_run: FuzzRun) -> None:
    assert fuzz_run.checks_run == set(checks_to_run())


def test_the_stateful_phase_follows_the_links_the_document_declares(fuzz_run: FuzzRun) -> None:
    """Sequences start at the operations that make things, and follow the document's links from each
    of them (only those: inference is off in schemathesis.toml), except where the list below says."""
    followed_from = {link.split(" -> ")[0] for link in fuzz_run.links_followed}
    sources = {link.split(" -> ")[0] for link in declared_links()}
    assert fuzz_run.links_followed <= declared_links()
    unfollowed = sources - set(LINK_SOURCES_NOT_STARTED) - followed_from
    assert followed_from == sources - set(LINK_SOURCES_NOT_STARTED), (
        sorted(fuzz_run.links_followed),
        {source: sorted(fuzz_run.stateful_statuses.get(source, [])) for source in sorted(unfollowed)},
    )


def test_the_exclusions_name_operations_and_checks_that_exist() -> None:
    """A renamed operation or check would otherwise be excluded by nothing, and say so nowhere."""
    assert set(EXCLUDED_OPERATIONS) <= set(documented_operations())
    assert set(LINK_SOURCES_NOT_STARTED) <= {link.split(" -> ")[0] for link in declared_links()}
    assert set(EXCLUDED_CHECKS) <= all_checks()
    reasons = [*EXCLUDED_OPERATIONS.values(), *EXCLUDED_CHECKS.values(), *LINK_SOURCES_NOT_STARTED.values()]
    assert all(reason.strip() for reason in reasons)


def test_the_fuzzed_stack_reaches_nothing_off_this_machine() -> None:
    """What loopback_stack.py promises: names other than localhost do not resolve, and a connection
    to an address off this machine is refused before a packet leaves (192.0.2.1: TEST-NET-1)."""
    probe = (
        "import socket\n"
        "from tests.fuzz.loopback_stack import confine_to_loopback\n"
        "confine_to_loopback()\n"
        "try:\n"
        "    socket.getaddrinfo('example.org', 443)\n"
        "except socket.gaierror:\n"
        "    print('no name')\n"
        "try:\n"
        "    socket.create_connection(('192.0.2.1', 443), timeout=1)\n"
        "except ConnectionRefusedError:\n"
        "    print('refused')\n"
        "print(socket.getaddrinfo('localhost', 80)[0][4][0])\n"
    )
    done = subprocess.run(  # noqa: S603  # our own interpreter and probe
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=True
    )
    *said, localhost = done.stdout.split()
    assert said == ["no", "name", "refused"]
    assert localhost in {"127.0.0.1", "::1"}
