"""The packaged template: what Lambda's event sources need that Chalice does not write."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.package import PARTIAL_BATCH, cache_name, is_bytecode, lambda_python, package

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package("prod", tmp_path_factory.mktemp("package"))


def sqs_sources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{name}.{event_name}": event["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event_name, event in resource["Properties"].get("Events", {}).items()
        if event["Type"] == "SQS"
    }


def test_every_sqs_trigger_reports_partial_batch_failures(packaged: Path) -> None:
    sources = sqs_sources(yaml.safe_load(packaged.read_text()))
    assert set(sources) == {
        "OnRouteMessage.OnRouteMessageSqsEventSource",
        "OnSendMessage.OnSendMessageSqsEventSource",
    }
    assert all(props["FunctionResponseTypes"] == [PARTIAL_BATCH] for props in sources.values())


def test_triggers_point_at_the_stage_queues_of_the_template(packaged: Path) -> None:
    """By reference, not by ARN string: the queue is then created before the mapping that reads it."""
    template = yaml.safe_load(packaged.read_text())
    queues = {props["Queue"]["Fn::GetAtt"][0] for props in sqs_sources(template).values()}
    assert queues == {"RouteQueue", "SendQueue"}
    assert {"RouteQueue", "SendQueue", "NoticesTable"} <= set(template["Resources"])


def test_the_gateways_own_refusals_come_in_the_apis_error_shape(packaged: Path) -> None:
    [api] = [
        r
        for r in yaml.safe_load(packaged.read_text())["Resources"].values()
        if r["Type"] == "AWS::Serverless::Api"
    ]
    responses = api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    statuses = {kind: response.get("statusCode") for kind, response in responses.items()}
    assert statuses == {
        "MISSING_AUTHENTICATION_TOKEN": "404",  # an unknown path: not the gateway's 403
        "REQUEST_TOO_LARGE": "413",
        "THROTTLED": "429",
        "DEFAULT_4XX": None,  # the gateway's own status, our shape
        "DEFAULT_5XX": "503",
    }
    codes = {}
    for kind, response in responses.items():
        template = response["responseTemplates"]["application/json"]
        assert "$context" not in template  # the gateway's message can quote the caller's key
        body = json.loads(template)
        assert set(body) == {"error", "message", "details"}
        assert body["details"] == []
        codes[kind] = body["error"]
    assert codes["MISSING_AUTHENTICATION_TOKEN"] == "not_found"
    assert codes["REQUEST_TOO_LARGE"] == "too_large"
    assert codes["DEFAULT_5XX"] == "unavailable"


def test_packaged_template_passes_cfn_lint_with_no_rule_ignored(packaged: Path) -> None:
    result = subprocess.run(  # noqa: S603  # our own virtualenv's cfn-lint on our own file
        [str(Path(sys.executable).with_name("cfn-lint")), "--", str(packaged)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_runs_on_python_3_13_on_arm64(packaged: Path) -> None:
    template = yaml.safe_load(packaged.read_text())
    assert lambda_python(template) == (3, 13)
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 8
    assert all(f["Properties"]["Architectures"] == ["arm64"] for f in functions)


def test_every_function_is_told_the_buckets(packaged: Path) -> None:
    template = yaml.safe_load(packaged.read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert functions
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["VIGIL_INBOUND_MAIL_BUCKET"] == {"Ref": "InboundMailBucket"}
        assert variables["VIGIL_DIGEST_BUCKET"] == {"Ref": "LogDigestBucket"}
        assert function["Properties"]["Architectures"] == ["arm64"]


# --- the deployment zip (infra.package.ship_bytecode) ---------------------------------------------


def zip_names(packaged: Path) -> list[str]:
    with zipfile.ZipFile(packaged.with_name("deployment.zip")) as archive:
        return archive.namelist()


def test_every_module_ships_its_bytecode_and_nothing_else_is_compiled(packaged: Path) -> None:
    runtime = lambda_python(yaml.safe_load(packaged.read_text()))
    assert runtime == sys.version_info[:2], "the package is built by the runtime's Python"
    names = zip_names(packaged)
    sources = {n for n in names if n.endswith(".py")}
    compiled = {n for n in names if is_bytecode(n)}
    assert {"app.py", "chalicelib/bootstrap.py"} <= sources
    # Exactly one .pyc per module, for the runtime's Python, and none from the work tree's __pycache__.
    assert compiled == {cache_name(n, runtime) for n in sources}
    with zipfile.ZipFile(packaged.with_name("deployment.zip")) as archive:
        for name in (cache_name("app.py", runtime), cache_name("chalicelib/bootstrap.py", runtime)):
            header = archive.read(name)[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, unchecked (PEP 552)


def test_phone_numbers_ship_without_geocoder_carrier_or_time_zone_data(packaged: Path) -> None:
    names = zip_names(packaged)
    assert "phonenumbers/phonenumberutil.py" in names
    assert not [n for n in names if n.startswith(("phonenumbers/geodata/", "phonenumbers/carrierdata/"))]
    assert not [n for n in names if n.startswith("phonenumbers/tzdata/")]


def test_the_unpacked_package_imports_without_compiling_anything(packaged: Path, tmp_path: Path) -> None:
    """As in Lambda: /var/task is read-only and nothing is written, so what is not shipped compiled
    would be compiled again on every cold start."""
    with zipfile.ZipFile(packaged.with_name("deployment.zip")) as archive:
        archive.extractall(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    env |= {
        "PYTHONPATH": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "packaging-test-link-signing-secret-0123456789",
        "AWS_LAMBDA_FUNCTION_NAME": "vigil-prod-api_handler",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(  # our own interpreter importing the package just built
        [sys.executable, "-v", "-c", "import app"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # -v says "code object from '<pyc>'" for bytecode and "code object from <source>.py" for a compile.
    loaded = [line for line in done.stderr.splitlines() if line.startswith("# code object from")]
    from_package = [line for line in loaded if str(tmp_path) in line]
    assert len(from_package) > 50
    assert [line for line in from_package if not line.endswith(".pyc'")] == []


def test_the_same_sources_package_into_the_same_zip(packaged: Path, tmp_path: Path) -> None:
    again = package("prod", tmp_path)
    assert again.with_name("deployment.zip").read_bytes() == packaged.with_name("deployment.zip").read_bytes()


def test_the_bundle_carries_the_service_only_not_the_local_stack_or_its_dev_routes(
    packaged: Path, tmp_path: Path
) -> None:
    """The emulator, the local stack and its /dev routes, tests, benchmarks and tools stay out of
    Lambda: a deployed stage has no /dev route to reach and no moto to import."""
    names = zip_names(packaged)
    top = {n.split("/", 1)[0] for n in names}
    assert {"app.py", "chalicelib"} <= top
    assert not top & {"vigil_local", "vigil_cli", "tests", "bench", "tools", "infra", "moto", "docs"}
    with zipfile.ZipFile(packaged.with_name("deployment.zip")) as archive:
        archive.extractall(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    env |= {
        "PYTHONPATH": str(tmp_path),
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "packaging-test-link-signing-secret-0123456789",
    }
    done = subprocess.run(  # our own interpreter listing the packaged app's routes
        [sys.executable, "-c", "import json, app; print(json.dumps(sorted(app.app.routes)))"],
        cwd=tmp_path,
        env=env | {"AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        check=True,
    )
    routes = json.loads(done.stdout.strip().splitlines()[-1])
    assert "/events" in routes
    assert not [r for r in routes if r.startswith("/dev")]


def test_the_bundle_ships_the_compiled_spanish_catalogue_and_speaks_spanish_from_it(
    packaged: Path, tmp_path: Path
) -> None:
    """The .mo is what the functions read (the .po is the translator's source): a Spanish message
    rendered by the unpacked package comes from the shipped catalogue, read only when asked for."""
    names = zip_names(packaged)
    assert "chalicelib/locale/es/LC_MESSAGES/vigil.mo" in names
    with zipfile.ZipFile(packaged.with_name("deployment.zip")) as archive:
        archive.extractall(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIGIL_", "PYTHON"))}
    env |= {
        "PYTHONPATH": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "VIGIL_STAGE": "prod",
        "VIGIL_ACK_SECRET": "packaging-test-link-signing-secret-0123456789",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    script = (
        "import json, app\n"
        "from chalicelib.domain import language\n"
        "before = language._loaded.cache_info().currsize\n"
        "said = language.words_for('es')('I have seen this notice')\n"
        "print(json.dumps([before, said, str(language.LOCALE_DIR)]))\n"
    )
    done = subprocess.run(  # noqa: S603  # our own interpreter running our own package and script
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    before, said, locale_dir = json.loads(done.stdout.strip().splitlines()[-1])
    assert before == 0  # importing the app reads no catalogue
    assert said == "He visto este aviso"
    assert locale_dir.startswith(str(tmp_path))
