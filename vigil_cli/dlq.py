"""``vigil dlq``: list, redrive and purge the dead-letter queues, straight through SQS.

Unlike the rest of ``vigil`` these commands do not go through the HTTP API: they call SQS with
boto3. Queue names come from the stage exactly as in ``chalicelib.config.resource_name``:
``vigil-<stage>-<route|send>`` and its ``-dlq``.

Which SQS: the stage ``local`` exists only in the local stack's moto, so for it (and when no stage
is given and the API's URL is this machine's, as by default) the commands talk to that moto
(``VIGIL_MOTO_PORT``, 5005 by default, on the API's host) in ``us-east-1`` with fake credentials:
they never reach a real account. Any other stage is AWS, with the operator's own credentials and
region (``--endpoint-url`` / ``AWS_ENDPOINT_URL`` for another endpoint).

Exit codes are the CLI's: 0 done; 1 AWS refused (no such queue, access denied, a message not
moved); 2 usage error; 3 the endpoint could not be reached.
"""

from __future__ import annotations

import ipaddress
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, Protocol
from urllib.parse import urlsplit

import click

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
QUEUES = ("route", "send")
BATCH = 10  # ReceiveMessage, SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch
# Long polling asks every SQS server, so a queue of a few messages is not answered "empty" by chance.
WAIT_SECONDS = 1
# ``list`` hides what it has read while it pages through the queue (otherwise the same ten
# messages come back on every call), then makes them visible again at once.
LIST_HOLD_SECONDS = 30
# ``redrive --method copy`` hides a batch while it is copied; a batch that fails comes back after this.
COPY_HOLD_SECONDS = 60
# ``list`` stops after this many receives in a row that bring no message it has not seen.
STALE_RECEIVES = 3
# The local stack (vigil_local): its stage, its moto's default port, its region, and the fake
# credentials that keep its commands off any real account.
LOCAL_STAGE = "local"
LOCAL_MOTO_PORT = 5005
LOCAL_REGION = "us-east-1"
FAKE_CREDENTIAL = "testing"
# What an endpoint says when it does not know StartMessageMoveTask (moto, older emulators).
_UNSUPPORTED_CODES = frozenset(
    {"InvalidAction", "NotImplemented", "NotImplementedException", "UnknownOperationException"}
)


class SqsClientFactory(Protocol):
    def __call__(self, region: str | None, endpoint_url: str | None, *, local: bool = ...) -> SQSClient: ...


def default_sqs_client(region: str | None, endpoint_url: str | None, *, local: bool = False) -> SQSClient:
    """An SQS client from boto3's usual chain of credentials and configuration; for the local
    stack (``local``), with fake credentials and no profile, whatever the environment holds.

    Tests replace :data:`sqs_client_factory` (or run under moto's ``mock_aws``, which this obeys).
    """
    import boto3  # noqa: PLC0415  # only ``vigil dlq`` needs boto3
    import botocore.session  # noqa: PLC0415
    from botocore.config import Config  # noqa: PLC0415

    config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})
    if not local:
        return boto3.client("sqs", region_name=region, endpoint_url=endpoint_url, config=config)
    # A session that reads no AWS_PROFILE (one naming a missing profile would fail), with the
    # fake credentials given: the operator's own are never sent anywhere.
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session = boto3.session.Session(
        botocore_session=core,
        aws_access_key_id=FAKE_CREDENTIAL,
        aws_secret_access_key=FAKE_CREDENTIAL,
        region_name=region,
    )
    return session.client("sqs", endpoint_url=endpoint_url, config=config)


sqs_client_factory: SqsClientFactory = default_sqs_client


# --- plumbing ---------------------------------------------------------------------------------


def _exit(code: int) -> NoReturn:
    raise click.exceptions.Exit(code)


def _fail(code: int, message: str) -> NoReturn:
    click.echo(f"vigil: {message}", err=True)
    _exit(code)


def _compact() -> bool:
    """The global ``--compact`` flag of ``vigil`` (read from the root context: no import cycle)."""
    return bool(click.get_current_context().find_root().params.get("compact"))


def _show(body: dict[str, Any]) -> None:
    indent = None if _compact() else 2
    click.echo(json.dumps(body, ensure_ascii=False, indent=indent))


@dataclass(frozen=True)
class Target:
    """The AWS side of one command: the client, and the names of the queues it works on."""

    client: SQSClient
    stage: str
    queue: str
    region: str | None
    endpoint_url: str | None

    @property
    def dlq_name(self) -> str:
        return f"vigil-{self.stage}-{self.queue}-dlq"

    @property
    def work_name(self) -> str:
        return f"vigil-{self.stage}-{self.queue}"

    def where(self) -> str:
        region = self.region or self.client.meta.region_name
        return f"region {region}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    def url(self, name: str) -> str:
        try:
            return self.client.get_queue_url(QueueName=name)["QueueUrl"]
        except Exception as exc:
            if _error_code(exc) in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
                _fail(
                    EXIT_REFUSED,
                    f"there is no queue {name} in {self.where()}: is the stage {self.stage!r} deployed "
                    "there, and are these the right AWS credentials and region?",
                )
            raise

    def arn(self, url: str) -> str:
        attributes = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def depth(self, url: str) -> tuple[int, int]:
        """(visible, in flight): SQS's approximate counts."""
        attributes = self.client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes.get("ApproximateNumberOfMessages", "0")),
            int(attributes.get("ApproximateNumberOfMessagesNotVisible", "0")),
        )


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code") or "") or None
    return None


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


@contextmanager
def _aws_errors(endpoint_url: str | None) -> Iterator[None]:
    """Turn boto3's failures into the CLI's exit codes, with one line on stderr."""
    from botocore import exceptions as boto  # noqa: PLC0415  # boto3 is imported only by ``vigil dlq``

    try:
        yield
    except boto.ClientError as exc:
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "the request")
        _fail(EXIT_REFUSED, f"AWS refused {operation}: {error.get('Code')}: {error.get('Message')}")
    except boto.NoRegionError:
        _fail(EXIT_USAGE, "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    except (boto.NoCredentialsError, boto.PartialCredentialsError) as exc:
        _fail(EXIT_REFUSED, f"no usable AWS credentials ({exc}): set AWS_PROFILE or log in first")
    except (boto.ConnectionError, boto.HTTPClientError) as exc:
        target = endpoint_url or "SQS"
        _fail(EXIT_UNREACHABLE, f"cannot reach {target}: {exc}")
    except boto.BotoCoreError as exc:
        _fail(EXIT_REFUSED, str(exc))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_moto_url(api_host: str) -> str:
    """The local stack's moto: VIGIL_MOTO_PORT (5005) on the API's host when that is this machine."""
    raw = os.environ.get("VIGIL_MOTO_PORT", "").strip() or str(LOCAL_MOTO_PORT)
    if not raw.isdigit() or not 0 < int(raw) <= 65535:
        _fail(EXIT_USAGE, f"VIGIL_MOTO_PORT must be a port from 1 to 65535, got {raw!r}")
    host = api_host if _is_loopback(api_host) else "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{int(raw)}"


@contextmanager
def _target(stage: str | None, queue: str, region: str | None, endpoint_url: str | None) -> Iterator[Target]:
    try:
        import boto3  # noqa: F401, PLC0415  # checked here so the message is clear
    except ImportError:
        _fail(EXIT_USAGE, "vigil dlq needs boto3, which is not installed: pip install boto3")
    api_host = urlsplit(str(click.get_current_context().find_root().params.get("url") or "")).hostname or ""
    if stage is None:
        if not _is_loopback(api_host):
            _fail(EXIT_USAGE, "--stage (or VIGIL_STAGE) is required: the deployed stage whose queues to use")
        stage = LOCAL_STAGE
    local = stage == LOCAL_STAGE
    if local:
        region = LOCAL_REGION
        endpoint_url = endpoint_url or _local_moto_url(api_host)
    with _aws_errors(endpoint_url):
        try:
            client = (
                sqs_client_factory(region, endpoint_url, local=True)
                if local
                else sqs_client_factory(region, endpoint_url)
            )
        except ValueError as exc:  # botocore's "Invalid endpoint: …"
            raise click.BadParameter(str(exc), param_hint="'--endpoint-url' / AWS_ENDPOINT_URL") from None
        yield Target(client=client, stage=stage, queue=queue, region=region, endpoint_url=endpoint_url)


def _aws_options(command: Callable[..., None]) -> Callable[..., None]:
    """--stage, --queue, --region and --endpoint-url, shared by the three commands."""
    for option in reversed(
        [
            click.option(
                "--stage",
                envvar="VIGIL_STAGE",
                show_envvar=True,
                help=(
                    "The stage whose queues to use (vigil-<stage>-…); `local`, the local stack's, "
                    "when not given and the API's URL is this machine's."
                ),
            ),
            click.option(
                "--queue",
                type=click.Choice(QUEUES),
                default="send",
                show_default=True,
                help="send: deliveries that failed; route: notices stored but not fanned out.",
            ),
            click.option(
                "--region",
                envvar="AWS_REGION",
                show_envvar=True,
                help=(
                    "AWS region (otherwise boto3's own: AWS_DEFAULT_REGION, the profile); "
                    "the local stack's is us-east-1."
                ),
            ),
            click.option(
                "--endpoint-url",
                envvar="AWS_ENDPOINT_URL",
                show_envvar=True,
                help="Another SQS endpoint (the local stack's moto is found without it).",
            ),
        ]
    ):
        command = option(command)
    return command


# --- the commands -----------------------------------------------------------------------------


@click.group()
def dlq() -> None:
    """Dead-letter queues, through SQS directly (AWS credentials, or the local stack's moto).

    Not through the HTTP API. For a deployed stage (--stage prod) these use your own AWS
    credentials and region (boto3's usual configuration). Without --stage, against the local
    stack's URL (the default, or VIGIL_URL/VIGIL_PORT on this machine), they use the local stack's
    moto with fake credentials (VIGIL_MOTO_PORT if it is not 5005). --queue send holds deliveries
    that failed repeatedly or for good; --queue route holds notices stored but not fanned out.
    """


@dlq.command("list")
@_aws_options
@click.option(
    "--max",
    "limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most this many messages.",
)
def dlq_list(
    *, stage: str | None, queue: str, region: str | None, endpoint_url: str | None, limit: int
) -> None:
    """Show the dead letters without removing them.

    One JSON line per message on stdout (message_id, sent_at, receive_count, body), and a summary
    with the queue's approximate depth on stderr. Messages read are hidden for at most 30 s while
    the queue is paged through, then made visible again; each read adds one to receive_count.
    """
    with _target(stage, queue, region, endpoint_url) as target:
        url = target.url(target.dlq_name)
        visible, in_flight = target.depth(url)
        held: list[MessageTypeDef] = []
        try:
            listed = _list(target, url, limit, visible, held)
        finally:
            unreleased = _release(target, url, held)
        if unreleased:
            click.echo(
                f"warning: {unreleased} messages stay hidden for up to {LIST_HOLD_SECONDS} s "
                "(SQS did not take back their visibility)",
                err=True,
            )
        more = f"; raise --max to see more than {limit}" if listed >= limit and visible > listed else ""
        click.echo(
            f"{target.dlq_name}: listed {listed}; about {visible} messages waiting, "
            f"{in_flight} in flight{more}",
            err=True,
        )


def _list(target: Target, url: str, limit: int, visible: int, held: list[MessageTypeDef]) -> int:
    seen: set[str] = set()
    stale = 0
    for _ in range(limit // BATCH + 2 * STALE_RECEIVES + 10):  # a bound, whatever SQS answers
        if len(seen) >= limit or stale >= STALE_RECEIVES or (visible and len(seen) >= visible):
            break
        messages = target.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(BATCH, limit - len(seen)),
            VisibilityTimeout=LIST_HOLD_SECONDS,
            WaitTimeSeconds=WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        held.extend(messages)
        new = [m for m in messages if m.get("MessageId", "") not in seen]
        stale = 0 if new else stale + 1
        for message in new:
            if len(seen) >= limit:
                break
            seen.add(message.get("MessageId", ""))
            click.echo(json.dumps(_describe(message), ensure_ascii=False))
    return len(seen)


def _describe(message: MessageTypeDef) -> dict[str, Any]:
    attributes = {str(name): value for name, value in message.get("Attributes", {}).items()}
    sent = attributes.get("SentTimestamp")
    raw = message.get("Body", "")
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw
    described: dict[str, Any] = {
        "message_id": message.get("MessageId"),
        "sent_at": (
            datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat(timespec="milliseconds")
            if sent and sent.isdigit()
            else None
        ),
        "receive_count": int(attributes.get("ApproximateReceiveCount", "0") or 0),
        "body": body,
    }
    if "DeadLetterQueueSourceArn" in attributes:
        described["dead_lettered_from"] = attributes["DeadLetterQueueSourceArn"]
    return described


def _release(target: Target, url: str, held: Sequence[MessageTypeDef]) -> int:
    """Make what ``list`` read visible again at once; answer how many SQS did not take back."""
    handles = [m["ReceiptHandle"] for m in held if "ReceiptHandle" in m]
    failed = 0
    for start in range(0, len(handles), BATCH):
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for i, handle in enumerate(handles[start : start + BATCH])
        ]
        try:
            answer = target.client.change_message_visibility_batch(QueueUrl=url, Entries=entries)
        except Exception:  # the listing is printed; the messages come back on their own anyway
            failed += len(entries)
            continue
        failed += len(answer.get("Failed", []))
    return failed


REDRIVE_HELP = """Move the dead letters back to their work queue.

Redriving is safe by design: a delivery already sent is never sent again, so a message redriven
twice, or one whose deliveries have partly gone out, only sends what is still pending. Mend the
cause first (a webhook endpoint, an SES identity, a quota): see each delivery's last_error in
`vigil notices show`.

--method auto (the default) starts SQS's own message move task (StartMessageMoveTask) and prints
its task handle; when the endpoint does not support that (moto, the local stack), or with --max,
it copies instead: receive from the dead-letter queue, send to the work queue, and delete from the
dead-letter queue only what was sent, ten at a time. Bodies are moved unchanged. The output says
which method was used.
"""


@dlq.command("redrive", help=REDRIVE_HELP, short_help="Move the dead letters back to their work queue.")
@_aws_options
@click.option(
    "--max",
    "limit",
    type=click.IntRange(min=1),
    help="Move at most this many messages (copies; SQS's move task always moves them all).",
)
@click.option(
    "--rate",
    type=click.IntRange(1, 500),
    help="At most this many messages a second (the move task's MaxNumberOfMessagesPerSecond; "
    "copy paces itself).",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "move-task", "copy"]),
    default="auto",
    show_default=True,
    help="move-task: SQS's StartMessageMoveTask only; copy: receive, send, delete.",
)
def dlq_redrive(
    *,
    stage: str | None,
    queue: str,
    region: str | None,
    endpoint_url: str | None,
    limit: int | None,
    rate: int | None,
    method: str,
) -> None:
    if method == "move-task" and limit is not None:
        raise click.UsageError("--max needs --method copy or auto: SQS's move task moves every message")
    with _target(stage, queue, region, endpoint_url) as target:
        dlq_url = target.url(target.dlq_name)
        work_url = target.url(target.work_name)
        visible, _ = target.depth(dlq_url)
        if method != "copy" and limit is None:
            handle = _start_move_task(target, dlq_url, work_url, rate, required=method == "move-task")
            if handle is not None:
                _show(
                    {
                        "method": "move-task",
                        "source": target.dlq_name,
                        "destination": target.work_name,
                        "task_handle": handle,
                        "approximate_messages": visible,
                    }
                )
                click.echo(
                    f"started an SQS message move task for about {visible} messages from "
                    f"{target.dlq_name} to {target.work_name}; follow it with: "
                    f"aws sqs list-message-move-tasks --source-arn {target.arn(dlq_url)}",
                    err=True,
                )
                return
            click.echo(
                "the endpoint does not support StartMessageMoveTask; copying instead (receive, send, delete)",
                err=True,
            )
        moved, unsent, undeleted = _copy(target, dlq_url, work_url, limit, rate)
        _show(
            {
                "method": "copy",
                "source": target.dlq_name,
                "destination": target.work_name,
                "moved": moved,
                "not_sent": unsent,
                "sent_not_deleted": undeleted,
            }
        )
        click.echo(f"moved {moved} messages from {target.dlq_name} to {target.work_name}", err=True)
        if unsent:
            click.echo(
                f"vigil: {unsent} messages could not be sent to {target.work_name}; they stay in "
                f"{target.dlq_name} (visible again within {COPY_HOLD_SECONDS} s)",
                err=True,
            )
        if undeleted:
            click.echo(
                f"vigil: {undeleted} messages were sent but not deleted from {target.dlq_name}; "
                "redriving them again is harmless",
                err=True,
            )
        if unsent or undeleted:
            _exit(EXIT_REFUSED)


def _start_move_task(
    target: Target, dlq_url: str, work_url: str, rate: int | None, *, required: bool
) -> str | None:
    """The task handle; None when the endpoint does not know the action (and ``required`` is off)."""
    source, destination = target.arn(dlq_url), target.arn(work_url)
    try:
        if rate is None:
            answer = target.client.start_message_move_task(SourceArn=source, DestinationArn=destination)
        else:
            answer = target.client.start_message_move_task(
                SourceArn=source, DestinationArn=destination, MaxNumberOfMessagesPerSecond=rate
            )
    except Exception as exc:
        if required or not _move_task_unsupported(exc, target.endpoint_url):
            if isinstance(exc, NotImplementedError):
                _fail(EXIT_REFUSED, f"the endpoint does not support StartMessageMoveTask: {exc}")
            raise
        return None
    return answer["TaskHandle"]


def _move_task_unsupported(exc: Exception, endpoint_url: str | None) -> bool:
    if isinstance(exc, NotImplementedError):  # moto's in-process mock
        return True
    status = _http_status(exc)
    if _error_code(exc) in _UNSUPPORTED_CODES or status == 501:
        return True
    # moto's server answers an action it lacks with a bare 500; SQS itself never means that by one.
    return endpoint_url is not None and status is not None and status >= 500


def _copy(
    target: Target, dlq_url: str, work_url: str, limit: int | None, rate: int | None
) -> tuple[int, int, int]:
    """Receive, send, delete in batches of ten: (moved, not sent, sent but not deleted)."""
    moved = unsent = undeleted = 0
    started = time.monotonic()
    while limit is None or moved + unsent + undeleted < limit:
        want = BATCH if limit is None else min(BATCH, limit - moved - unsent - undeleted)
        messages = target.client.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=COPY_HOLD_SECONDS,
            WaitTimeSeconds=WAIT_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries: list[SendMessageBatchRequestEntryTypeDef] = []
        for i, message in enumerate(messages):
            entry: SendMessageBatchRequestEntryTypeDef = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        answer = target.client.send_message_batch(QueueUrl=work_url, Entries=entries)
        sent = {entry["Id"] for entry in answer.get("Successful", [])}
        unsent += len(messages) - len(sent)
        deletes: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
            for i, message in enumerate(messages)
            if str(i) in sent
        ]
        if deletes:
            deleted = target.client.delete_message_batch(QueueUrl=dlq_url, Entries=deletes)
            failed = len(deleted.get("Failed", []))
            undeleted += failed
            moved += len(deletes) - failed
        if rate is not None:
            time.sleep(max(0.0, (moved + undeleted) / rate - (time.monotonic() - started)))
    return moved, unsent, undeleted


@dlq.command("purge")
@_aws_options
@click.option("--yes", is_flag=True, help="Really delete every message in the dead-letter queue.")
def dlq_purge(
    *, stage: str | None, queue: str, region: str | None, endpoint_url: str | None, yes: bool
) -> None:
    """Delete every message in the dead-letter queue (needs --yes).

    Purging loses the record of which deliveries failed: the messages cannot be redriven afterwards.
    Prefer `vigil dlq redrive` once the cause is mended; purge only what must never be sent.
    """
    if not yes:
        _fail(
            EXIT_USAGE,
            f"refusing to purge vigil-{stage}-{queue}-dlq without --yes: purging deletes its messages "
            "for good, and with them the record of the failed deliveries (which could then never be "
            "redriven). List them first with `vigil dlq list`.",
        )
    with _target(stage, queue, region, endpoint_url) as target:
        url = target.url(target.dlq_name)
        visible, in_flight = target.depth(url)
        target.client.purge_queue(QueueUrl=url)
        _show({"purged": target.dlq_name, "approximate_messages": visible + in_flight})
        click.echo(
            f"purged {target.dlq_name} (about {visible + in_flight} messages); SQS may take up to "
            "60 s to finish",
            err=True,
        )
