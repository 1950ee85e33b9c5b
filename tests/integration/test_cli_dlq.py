"""``vigil dlq list|redrive|purge`` against the template's queues deployed into moto."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tests.integration.conftest import STAGE, Aws
from vigil_cli import dlq
from vigil_cli.main import cli

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

pytestmark = pytest.mark.integration

SEND_DLQ = f"vigil-{STAGE}-send-dlq"
SEND = f"vigil-{STAGE}-send"


def vigil(*args: str, env: dict[str, str | None] | None = None, compact: bool = False) -> Result:
    options = ["--compact"] if compact else []
    return CliRunner().invoke(cli, [*options, "dlq", *args], env=env, catch_exceptions=False)


def dead_letter(i: int) -> dict[str, Any]:
    return {
        "notice_id": f"ntc_{i:04d}",
        "channel": "webhook",
        "delivery_ids": [f"dlv_{i:04d}_a", f"dlv_{i:04d}_b"],
        "reason": "failed permanently; redrive after mending the channel",
    }


@pytest.fixture
def sqs(aws: Aws, stack: dict[str, str]) -> SQSClient:
    client: SQSClient = aws.client("sqs")
    return client


def url(sqs: SQSClient, name: str) -> str:
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def fill(sqs: SQSClient, name: str, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url(sqs, name), MessageBody=json.dumps(body, sort_keys=True))


def depth(sqs: SQSClient, name: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url(sqs, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def drain(sqs: SQSClient, name: str) -> list[str]:
    bodies: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url(sqs, name), MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        bodies.extend(m["Body"] for m in messages)
    return bodies


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


# --- list -------------------------------------------------------------------------------------


def test_list_prints_every_dead_letter_as_a_json_line_and_leaves_them_in_the_queue(sqs: SQSClient) -> None:
    bodies = [dead_letter(i) for i in range(23)]  # more than one receive's worth
    fill(sqs, SEND_DLQ, bodies)

    result = vigil("list", "--stage", STAGE)

    assert result.exit_code == 0, result.stderr
    listed = lines(result)
    assert sorted((m["body"] for m in listed), key=lambda b: b["notice_id"]) == bodies
    assert len({m["message_id"] for m in listed}) == 23
    first = listed[0]
    assert set(first) >= {"message_id", "sent_at", "receive_count", "body"}
    assert first["sent_at"].endswith("+00:00")
    assert first["receive_count"] >= 1
    assert f"{SEND_DLQ}: listed 23; about 23 messages waiting" in result.stderr
    assert depth(sqs, SEND_DLQ) == (23, 0)  # nothing consumed, nothing left hidden


def test_list_stops_at_max_and_says_there_is_more(sqs: SQSClient) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(i) for i in range(12)])

    result = vigil("list", "--stage", STAGE, "--max", "5")

    assert result.exit_code == 0, result.stderr
    assert len(lines(result)) == 5
    assert "raise --max" in result.stderr
    assert depth(sqs, SEND_DLQ) == (12, 0)


def test_list_of_the_route_queue_and_of_an_empty_queue(sqs: SQSClient) -> None:
    fill(sqs, f"vigil-{STAGE}-route-dlq", [{"notice_id": "ntc_r"}])

    route = vigil("list", "--stage", STAGE, "--queue", "route")
    empty = vigil("list", "--stage", STAGE)

    assert route.exit_code == 0, route.stderr
    assert [m["body"] for m in lines(route)] == [{"notice_id": "ntc_r"}]
    assert empty.exit_code == 0, empty.stderr
    assert empty.stdout == ""
    assert f"{SEND_DLQ}: listed 0; about 0 messages waiting" in empty.stderr


# --- redrive ----------------------------------------------------------------------------------


def test_redrive_on_moto_copies_every_message_back_unchanged_and_empties_the_dlq(sqs: SQSClient) -> None:
    bodies = [dead_letter(i) for i in range(23)]
    fill(sqs, SEND_DLQ, bodies)

    result = vigil("redrive", "--stage", STAGE)

    assert result.exit_code == 0, result.stderr
    assert "does not support StartMessageMoveTask" in result.stderr
    report = json.loads(result.stdout)
    assert report == {
        "method": "copy",
        "source": SEND_DLQ,
        "destination": SEND,
        "moved": 23,
        "not_sent": 0,
        "sent_not_deleted": 0,
    }
    assert depth(sqs, SEND_DLQ) == (0, 0)
    assert Counter(drain(sqs, SEND)) == Counter(json.dumps(b, sort_keys=True) for b in bodies)


def test_redrive_max_moves_only_that_many(sqs: SQSClient) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(i) for i in range(12)])

    result = vigil("redrive", "--stage", STAGE, "--max", "4", compact=True)

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["moved"] == 4
    assert result.stdout.count("\n") == 1  # --compact: one line
    assert depth(sqs, SEND_DLQ) == (8, 0)
    assert len(drain(sqs, SEND)) == 4


def test_redrive_prefers_sqs_own_message_move_task(sqs: SQSClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(1)])
    started: list[dict[str, Any]] = []

    def with_move_task(region: str | None, endpoint_url: str | None) -> SQSClient:
        client = dlq.default_sqs_client(region, endpoint_url)

        def start_message_move_task(**kwargs: Any) -> dict[str, Any]:
            started.append(kwargs)
            return {"TaskHandle": "task-handle-1"}

        monkeypatch.setattr(client, "start_message_move_task", start_message_move_task)
        return client

    monkeypatch.setattr(dlq, "sqs_client_factory", with_move_task)

    result = vigil("redrive", "--stage", STAGE, "--rate", "20")

    assert result.exit_code == 0, result.stderr
    assert started == [
        {
            "SourceArn": f"arn:aws:sqs:us-east-1:123456789012:{SEND_DLQ}",
            "DestinationArn": f"arn:aws:sqs:us-east-1:123456789012:{SEND}",
            "MaxNumberOfMessagesPerSecond": 20,
        }
    ]
    report = json.loads(result.stdout)
    assert (report["method"], report["task_handle"]) == ("move-task", "task-handle-1")
    assert "aws sqs list-message-move-tasks" in result.stderr
    assert depth(sqs, SEND_DLQ) == (1, 0)  # the (pretend) task moves them, not vigil


def test_redrive_method_move_task_fails_where_it_is_not_supported(sqs: SQSClient) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(1)])

    result = vigil("redrive", "--stage", STAGE, "--method", "move-task")

    assert result.exit_code == 1
    assert "does not support StartMessageMoveTask" in result.stderr
    assert depth(sqs, SEND_DLQ) == (1, 0)


def test_redrive_max_with_the_move_task_is_a_usage_error(sqs: SQSClient) -> None:
    result = vigil("redrive", "--stage", STAGE, "--method", "move-task", "--max", "3")

    assert result.exit_code == 2
    assert "--max" in result.stderr


def test_redrive_deletes_only_what_was_sent(sqs: SQSClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(i) for i in range(3)])

    def refusing_one(region: str | None, endpoint_url: str | None) -> SQSClient:
        client = dlq.default_sqs_client(region, endpoint_url)
        send = client.send_message_batch

        def send_message_batch(**kwargs: Any) -> Any:
            refused, *rest = kwargs["Entries"]
            answer = send(**{**kwargs, "Entries": rest})
            answer["Failed"] = [
                {"Id": refused["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            ]
            return answer

        monkeypatch.setattr(client, "send_message_batch", send_message_batch)
        return client

    monkeypatch.setattr(dlq, "sqs_client_factory", refusing_one)

    result = vigil("redrive", "--stage", STAGE, "--method", "copy")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["moved"], report["not_sent"]) == (2, 1)
    assert "could not be sent" in result.stderr
    assert depth(sqs, SEND_DLQ) == (0, 1)  # still there, hidden until its hold runs out
    assert len(drain(sqs, SEND)) == 2


def test_redrive_help_says_it_is_safe() -> None:
    result = vigil("redrive", "--help")

    assert result.exit_code == 0
    assert "safe by design" in result.stdout
    assert "never sent again" in result.stdout


# --- purge ------------------------------------------------------------------------------------


def test_purge_refuses_without_yes_and_empties_the_dlq_with_it(sqs: SQSClient) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(i) for i in range(3)])

    refused = vigil("purge", "--stage", STAGE)

    assert refused.exit_code == 2
    assert "without --yes" in refused.stderr
    assert "record of the failed deliveries" in refused.stderr
    assert depth(sqs, SEND_DLQ) == (3, 0)

    purged = vigil("purge", "--stage", STAGE, "--yes")

    assert purged.exit_code == 0, purged.stderr
    assert json.loads(purged.stdout) == {"purged": SEND_DLQ, "approximate_messages": 3}
    assert depth(sqs, SEND_DLQ) == (0, 0)
    assert depth(sqs, SEND) == (0, 0)


# --- failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [["list"], ["redrive"], ["purge", "--yes"]])
def test_an_unknown_stage_exits_1_naming_the_missing_queue(sqs: SQSClient, command: list[str]) -> None:
    result = vigil(*command, "--stage", "nope")

    assert result.exit_code == 1
    assert "there is no queue vigil-nope-send-dlq in region us-east-1" in result.stderr
    assert "is the stage 'nope' deployed" in result.stderr


def test_the_stage_comes_from_vigil_stage(sqs: SQSClient) -> None:
    fill(sqs, SEND_DLQ, [dead_letter(1)])

    result = vigil("list", env={"VIGIL_STAGE": STAGE})

    assert result.exit_code == 0, result.stderr
    assert len(lines(result)) == 1


def test_an_endpoint_that_cannot_be_reached_exits_3(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = vigil(
        "list", "--stage", STAGE, "--region", "us-east-1", "--endpoint-url", f"http://127.0.0.1:{port}"
    )

    assert result.exit_code == 3
    assert f"cannot reach http://127.0.0.1:{port}" in result.stderr


# --- the local stack --------------------------------------------------------------------------


@dataclass
class Made:
    """What the CLI asked the client factory for, and the client it got."""

    region: str | None
    endpoint_url: str | None
    local: bool
    client: Any


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Made]:
    calls: list[Made] = []

    def recording(region: str | None, endpoint_url: str | None, *, local: bool = False) -> Any:
        client = dlq.default_sqs_client(region, endpoint_url, local=local)
        calls.append(Made(region, endpoint_url, local, client))
        return client

    monkeypatch.setattr(dlq, "sqs_client_factory", recording)
    return calls


@pytest.fixture
def local_moto() -> Iterator[tuple[int, SQSClient]]:
    """A moto server on a free port, as the local stack runs one, with the local stage's send DLQ."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        sqs: SQSClient = boto3.client(
            "sqs",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sqs.create_queue(QueueName="vigil-local-send-dlq")
        yield port, sqs
    finally:
        # moto's backends are process-wide: the next test's moto starts empty.
        reset = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310  # the test's own local http URL
        server.stop()


def test_with_no_settings_dlq_reads_the_local_stacks_moto_with_fake_credentials(
    local_moto: tuple[int, SQSClient], made: list[Made]
) -> None:
    port, sqs = local_moto
    fill(sqs, "vigil-local-send-dlq", [dead_letter(1), dead_letter(2)])
    # Whatever the shell holds for AWS, none of it is used against the local stack.
    shell = {
        "VIGIL_URL": None,
        "VIGIL_PORT": None,
        "VIGIL_STAGE": None,
        "AWS_ENDPOINT_URL": None,
        "VIGIL_MOTO_PORT": str(port),
        "AWS_PROFILE": "no-such-profile",
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY00",
        "AWS_SECRET_ACCESS_KEY": "real-looking-secret",
        "AWS_REGION": "eu-west-1",
    }

    result = vigil("list", env=shell)

    assert result.exit_code == 0, result.stderr
    assert sorted(m["body"]["notice_id"] for m in lines(result)) == ["ntc_0001", "ntc_0002"]
    assert "vigil-local-send-dlq: listed 2" in result.stderr
    [call] = made
    assert (call.region, call.endpoint_url, call.local) == ("us-east-1", f"http://127.0.0.1:{port}", True)
    # botocore keeps the signing credentials here; nothing public shows them.
    assert call.client._request_signer._credentials.access_key == "testing"


def test_the_local_stacks_moto_is_found_beside_an_api_on_vigil_port(made: list[Made]) -> None:
    env: dict[str, str | None] = {"VIGIL_URL": None, "VIGIL_PORT": "18000", "VIGIL_STAGE": None}
    vigil("list", env={**env, "VIGIL_MOTO_PORT": "1"})  # nothing listens there: only the call is looked at

    assert [(c.endpoint_url, c.local) for c in made] == [("http://127.0.0.1:1", True)]


def test_a_deployed_stage_never_goes_to_the_local_moto(
    made: list[Made], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        result = vigil("list", "--stage", "prod", "--region", "us-east-1", env={"VIGIL_URL": None})

    assert result.exit_code == 1  # no such queue in (mocked) AWS
    assert [(c.endpoint_url, c.local) for c in made] == [(None, False)]


def test_without_a_stage_against_a_deployed_api_is_a_usage_error(made: list[Made]) -> None:
    result = vigil("list", env={"VIGIL_URL": "https://api.example.org/api", "VIGIL_STAGE": None})

    assert result.exit_code == 2
    assert "--stage (or VIGIL_STAGE) is required" in result.stderr
    assert made == []
