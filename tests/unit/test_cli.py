"""The ``vigil`` command line against a real local HTTP server that records what it is sent: output,
key and URL, refusals and failures, the client on its own and the module entry point. What each
command sends is in test_cli_commands.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.recording_api import (
    EVENT,
    KEY,
    NO_PROXY_ENV,
    REFUSAL,
    FakeApi,
    json_file,
    recording_api,
    vigil,
)
from vigil_cli.client import ApiError, VigilClient
from vigil_cli.main import cli

# The server of recording_api.py, answering as each test tells it.
api = pytest.fixture(name="api")(recording_api)


# --- output, key and URL ----------------------------------------------------------------------


def test_health_gets_health_and_prints_the_answer_as_indented_json(api: FakeApi) -> None:
    api.answer(200, {"status": "ok"})

    result = vigil(api.url, "health")

    assert result.exit_code == 0
    assert (api.only.method, api.only.path) == ("GET", "/health")
    assert result.stdout == '{\n  "status": "ok"\n}\n'
    assert result.stderr == ""


def test_compact_prints_the_answer_on_one_line(api: FakeApi) -> None:
    api.answer(200, {"status": "ok", "note": "…"})

    result = vigil(api.url, "--compact", "health")

    assert result.exit_code == 0
    assert result.stdout == '{"status": "ok", "note": "…"}\n'


def test_every_request_carries_the_key_as_a_bearer_token_and_asks_for_json(api: FakeApi) -> None:
    result = vigil(api.url, "keys", "list")

    assert result.exit_code == 0
    assert api.only.headers["authorization"] == f"Bearer {KEY}"
    assert api.only.headers["accept"] == "application/json"
    assert api.only.headers["user-agent"].startswith("vigil-cli/")


def test_a_request_without_a_body_sends_no_content_type(api: FakeApi) -> None:
    vigil(api.url, "keys", "list")

    assert "content-type" not in api.only.headers
    assert api.only.body == b""


def test_url_and_key_options_override_the_environment(api: FakeApi) -> None:
    result = vigil("http://127.0.0.1:9/unused", "--url", api.url, "--key", "vk_k2_other", "sweep")

    assert result.exit_code == 0
    assert api.only.headers["authorization"] == "Bearer vk_k2_other"


def test_url_default_is_the_local_stack() -> None:
    result = CliRunner().invoke(cli, ["--help"], env={"VIGIL_URL": None})

    assert result.exit_code == 0
    assert "http://127.0.0.1:8000" in result.stdout
    assert "VIGIL_URL" in result.stdout
    assert "VIGIL_KEY" in result.stdout


def test_url_with_a_stage_path_keeps_the_prefix(api: FakeApi) -> None:
    result = vigil(api.url + "/api/", "notices", "show", "n1")

    assert result.exit_code == 0
    assert api.only.path == "/api/notices/n1"


def test_without_a_key_no_authorization_is_sent_and_a_401_says_how_to_give_one(api: FakeApi) -> None:
    api.answer(401, {"error": "unauthorized", "message": "a valid API key is required", "details": []})

    result = vigil(api.url, "keys", "list", key=None)

    assert result.exit_code == 1
    assert "authorization" not in api.only.headers
    assert "set VIGIL_KEY or pass --key" in result.stderr


def test_a_url_that_is_not_http_is_a_usage_error() -> None:
    result = vigil("ftp://example.org", "health")

    assert result.exit_code == 2
    assert "not an http(s) URL" in result.stderr


def test_sending_the_key_over_plain_http_to_a_remote_host_warns() -> None:
    # The group warns before the subcommand's options are parsed: the missing --role stops it there.
    result = vigil("http://vigil.example.org", "keys", "create", "--name", "n")

    assert result.exit_code == 2
    assert "warning: sending the API key over plain http to vigil.example.org" in result.stderr


# --- refusals and failures --------------------------------------------------------------------


def test_api_refusal_prints_the_error_json_on_stderr_and_exits_1(api: FakeApi, tmp_path: Path) -> None:
    api.answer(400, REFUSAL)

    result = vigil(api.url, "events", "submit", "--file", json_file(tmp_path, EVENT))

    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(result.stderr) == REFUSAL


def test_a_server_error_that_is_not_json_is_reported_in_the_error_shape(api: FakeApi) -> None:
    api.answer(502, raw=b"<html>Bad Gateway</html>")

    result = vigil(api.url, "--compact", "sweep")

    assert result.exit_code == 1
    error = json.loads(result.stderr)
    assert error["error"] == "http_error"
    assert "502" in error["message"]


def test_a_redirect_is_not_followed_so_the_key_never_leaves_for_another_host(api: FakeApi) -> None:
    api.answer(302, {}, Location="http://127.0.0.1:9/stolen")

    result = vigil(api.url, "keys", "list")

    assert result.exit_code == 1
    assert len(api.requests) == 1


def test_a_success_that_is_not_json_exits_1_saying_so(api: FakeApi) -> None:
    api.answer(200, raw=b"<html>a login page</html>")

    result = vigil(api.url, "health")

    assert result.exit_code == 1
    assert "not JSON" in result.stderr


def test_connection_refused_prints_one_line_and_exits_3() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused
        url = f"http://127.0.0.1:{unused.getsockname()[1]}"

        result = vigil(url, "health")

    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == f"vigil: cannot reach {url}: Connection refused\n"


def test_no_answer_within_the_timeout_exits_3() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts the connection, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"

        result = vigil(url, "health", extra=["--timeout", "0.2"])

    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "within 0.2s" in result.stderr


# --- the client on its own, and the module entry point ----------------------------------------


def test_client_request_returns_the_status_and_the_decoded_json(api: FakeApi) -> None:
    api.answer(201, {"id": "s1"})

    status, body = VigilClient(api.url, KEY).request("POST", "/subscribers", {"name": "x"}, query={"a": 1})

    assert (status, body) == (201, {"id": "s1"})
    assert api.only.query == {"a": ["1"]}


def test_client_answers_none_for_an_empty_body(api: FakeApi) -> None:
    api.answer(204)

    assert VigilClient(api.url, KEY).request("DELETE", "/keys/k1") == (204, None)


def test_client_raises_api_error_with_the_status_and_the_body(api: FakeApi) -> None:
    api.answer(403, {"error": "forbidden", "message": "admin only", "details": []})

    with pytest.raises(ApiError) as raised:
        VigilClient(api.url, KEY).request("GET", "/keys")

    assert raised.value.status == 403
    assert raised.value.body == {"error": "forbidden", "message": "admin only", "details": []}


def test_module_runs_as_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vigil_cli", "--help"], capture_output=True, text=True, check=False, timeout=60
    )

    assert done.returncode == 0
    assert "Usage: vigil" in done.stdout


def test_without_vigil_url_the_local_stack_is_found_on_vigil_port(api: FakeApi) -> None:
    port = api.url.rsplit(":", 1)[1]
    env = {**NO_PROXY_ENV, "VIGIL_URL": None, "VIGIL_PORT": port, "VIGIL_KEY": KEY}

    result = CliRunner().invoke(cli, ["health"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    assert api.only.path == "/health"


def test_vigil_url_wins_over_vigil_port(api: FakeApi) -> None:
    env = {**NO_PROXY_ENV, "VIGIL_URL": api.url, "VIGIL_PORT": "9", "VIGIL_KEY": KEY}

    result = CliRunner().invoke(cli, ["health"], env=env, catch_exceptions=False)

    assert result.exit_code == 0, result.stderr
    assert api.only.path == "/health"


@pytest.mark.parametrize("port", ["eighty", "0", "70000"])
def test_a_vigil_port_that_is_not_a_port_is_a_usage_error(port: str) -> None:
    result = CliRunner().invoke(cli, ["health"], env={"VIGIL_URL": None, "VIGIL_PORT": port})

    assert result.exit_code == 2
    assert "VIGIL_PORT must be a port from 1 to 65535" in result.stderr


def test_the_help_says_where_the_url_comes_from() -> None:
    result = CliRunner().invoke(cli, ["--help"], env={"VIGIL_URL": None, "VIGIL_PORT": None})

    assert "VIGIL_PORT" in result.stdout
