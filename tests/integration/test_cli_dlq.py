"""``vigil dlq list|redrive|purge`` against the template's queues deployed into moto."""

from __future__ import annotations

import json
import socket
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

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
