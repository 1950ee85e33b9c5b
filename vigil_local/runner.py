"""``LocalStack``: the whole service on one machine, with moto as its AWS.

    with LocalStack(admin_key="vk_local_0123456789abcdef", data_dir=Path(".vigil")) as stack:
        urllib.request.urlopen(f"{stack.api_url}/health")

``start()`` restores the state kept in ``data_dir`` when there is one (persistence.py), runs moto in
server mode in this process (emulator.py), and, when nothing was restored, deploys
``infra/template.yaml`` into it and verifies the sender identity in SES. It then builds the app's
dependencies from ``Settings.from_env`` and installs them, adopts the admin key, serves ``app.app``
and the local-only ``/dev`` routes (``vigil_local.dev_routes``) with Chalice's own local server
(api_server.py), starts the queue pump and the ticker, and (with ``demo=True``) the demo webhook
receiver and, when nothing was restored, the demo subscribers. Only then does it answer requests
from outside (``/health`` included) and start saving its state.

``stop()`` undoes it all: the API stops taking requests, the pump and the ticker finish what they
are doing, the state is saved a last time, and moto forgets it, so stacks can run one after another
in a process.

moto's backends are process-wide, so only one LocalStack can run in a process at a time; run
stacks side by side as separate processes (``python -m vigil_local`` with other ports and data
directories).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import structlog

from chalicelib import bootstrap
from chalicelib.adapters.chat import HttpChatSender
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, new_key, split_plaintext
from chalicelib.domain.errors import Unauthorized
from chalicelib.ports import Senders
from chalicelib.services.access import ensure_key
from vigil_local import datadir, dev_routes, emulator, outbox, persistence
from vigil_local.api_server import StartupGate, create_api_server
from vigil_local.demo import seed_demo
from vigil_local.demo_history import seed_history
from vigil_local.emulator import EmulatorServer
from vigil_local.outbox import (
    RecordingChatSender,
    RecordingEmailSender,
    RecordingSmsSender,
    RecordingWebhookSender,
)
from vigil_local.persistence import StateKeeper
from vigil_local.pump import QueueBinding, QueuePump
from vigil_local.receiver import WebhookReceiver
from vigil_local.snapshot import SnapshotUnusable
from vigil_local.stack import deploy_template, missing_outputs, stack_name
from vigil_local.state_lock import StateLock
from vigil_local.ticker import DEFAULT_INTERVAL_SECONDS, Ticker

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sqs import SQSClient

logger = structlog.get_logger()

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGE = "local"
# Short visibility timeouts so a failed message is retried within seconds locally (AWS: minutes).
# Shorter than in AWS so a failed send is retried within the demo; the claim lease stays below the
# send queue's visibility timeout (see Settings.send_lease).
LOCAL_PARAMETERS = {"RouteVisibilityTimeout": "10", "SendVisibilityTimeout": "10"}
LOCAL_SEND_LEASE_SECONDS = "8"
# Where the last escalation step ("notify": "admins") writes; it shows in /dev/outbox.
LOCAL_ADMIN_EMAIL = "vigil-admins@example.gov"
# moto accepts any credentials; fixed fake ones guarantee nothing reaches a real account.
FAKE_CREDENTIAL = "testing"
DEFAULT_REGION = "us-east-1"
# The schedules of app.py: the sweep (every minute in AWS) and the digest (hourly; it writes one
# digest a day, so ticking it with the sweep costs a listing of the bucket and nothing more).
SCHEDULED_HANDLERS = ("on_sweep_tick", "on_digest_tick")

_running = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the emulator's address must be known before it starts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Restoration:
    """What ``start()`` found in the data directory."""

    # When the restored state was saved; None when the stack started empty.
    saved_at: str | None = None
    # A snapshot that could not be used: where it was put aside, and why.
    set_aside: Path | None = None
    reason: str | None = None


class LocalStack:
    """The local stack; ports of 0 are chosen free. Attributes are set by ``start()``.

    ``data_dir`` keeps the state between runs (None: nothing is kept, nothing restored).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        moto_port: int = 0,
        webhook_port: int = 0,
        admin_key: str | None = None,
        demo: bool = True,
        tick_seconds: float = DEFAULT_INTERVAL_SECONDS,
        env: Mapping[str, str] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        if admin_key is not None:
            _check_admin_key(admin_key, "VIGIL_ADMIN_KEY")
        self.host = host
        self._port = port
        self._moto_port = moto_port
        self._webhook_port = webhook_port
        self._demo = demo
        self._tick_seconds = tick_seconds
        self._env = env
        self.data_dir = data_dir
        self.admin_key = admin_key or ""
        self.api_url = ""
        self.moto_url = ""
        self.webhook_receiver_url = ""
        self.outputs: dict[str, str] = {}
        self.demo_subscribers: dict[str, str] = {}
        # Why the demo could not be seeded (the stack serves without it); None when it was.
        self.demo_failure: str | None = None
        self.restoration = Restoration()
        self.settings: Settings | None = None
        self.deps: bootstrap.Deps | None = None
        # The session of the local stack's own clients (moto's, with fake credentials).
        self._aws: boto3.session.Session | None = None
        self.receiver: WebhookReceiver | None = None
        self.ticker: Ticker | None = None
        self.pump: QueuePump | None = None
        self.keeper: StateKeeper | None = None
        self.state_lock = StateLock()
        self.gate = StartupGate()
        self._ack_secret: str | None = None
        self._claim: IO[str] | None = None
        self._emulator: EmulatorServer | None = None
        self._api: Any = None
        self._api_thread: threading.Thread | None = None
        self._owns_lock = False

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def ready(self) -> bool:
        """Serving everyone: resources made (or restored), the demo seeded (or given up)."""
        return self.gate.is_open

    def start(self) -> LocalStack:
        if not _running.acquire(blocking=False):
            raise RuntimeError(
                "a LocalStack is already running in this process (moto's state is process-wide)"
            )
        self._owns_lock = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Idempotent; stops what was started, in reverse order, saves the state, forgets moto's."""
        if not self._owns_lock:
            return  # never started (or already stopped): the process's state may be another stack's
        steps = (self._stop_api, self._stop_workers, self._stop_keeper, self._stop_receiver, self._stop_moto)
        for step in steps:
            try:
                step()
            except Exception:
                logger.exception("local_stack.stop_step_failed", step=step.__name__)
        if self.settings is not None:
            logger.info("local_stack.stopped")
        bootstrap.use(None)
        outbox.clear_records()
        if self._claim is not None:
            self._claim.close()  # the data directory is free for the next stack
            self._claim = None
        self._owns_lock = False
        _running.release()

    # ------------------------------------------------------------------ start

    def _start(self) -> None:
        _quiet_library_loggers()
        import app as app_module  # noqa: PLC0415  # the Chalice app at the repo root; it makes no client at import

        dev_routes.serve_on(app_module.app)
        saved = self._open_data_dir()
        self._start_moto()
        self._create_api_server(app_module)
        self.receiver = WebhookReceiver(self.host, self._webhook_port) if self._demo else None
        self.webhook_receiver_url = self.receiver.url if self.receiver else ""

        settings = Settings.from_env(self._settings_env())
        self.settings = settings
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIAL,
            aws_secret_access_key=FAKE_CREDENTIAL,
            region_name=settings.region,
        )
        self._aws = session
        cloudformation: CloudFormationClient = session.client(
            "cloudformation", endpoint_url=self.moto_url, region_name=settings.region
        )
        if saved is not None:
            saved = self._adopt(saved, cloudformation, settings.stage)
        if saved is None:
            self.outputs = deploy_template(
                cloudformation,
                stage=settings.stage,
                parameters=LOCAL_PARAMETERS,
                s3=session.client("s3", endpoint_url=self.moto_url, region_name=settings.region),
            )
            logger.info("stack.deployed", stage=settings.stage, outputs=len(self.outputs))
        # The buckets' names hold the account id, known once the stack exists (as in AWS, where the
        # packaged template passes them to the functions).
        settings = replace(
            settings,
            inbound_mail_bucket=self.outputs["InboundMailBucketName"],
            digest_bucket=self.outputs["LogDigestBucketName"],
        )
        self.settings = settings
        if saved is None:
            sesv2: SESV2Client = session.client(
                "sesv2", endpoint_url=self.moto_url, region_name=settings.region
            )
            sesv2.create_email_identity(EmailIdentity=settings.sender_email)
            logger.info("email_identity.verified", identity=settings.sender_email)

        # The demo receiver listens on 127.0.0.1: the local stage admits loopback receivers.
        sender = RecordingWebhookSender(HttpWebhookSender(timeout_seconds=5.0, allow_private=True))
        deps = bootstrap.build(settings, session=session, webhook_sender=sender)
        deps.senders = Senders(
            email=RecordingEmailSender(deps.senders.email),
            sms=RecordingSmsSender(deps.senders.sms),
            webhook=deps.senders.webhook,
            chat=RecordingChatSender(HttpChatSender(timeout_seconds=5.0, allow_private=True)),
        )
        bootstrap.use(deps)
        self.deps = deps
        self._ensure_admin_key(deps)

        self._serve_api()
        sqs: SQSClient = session.client("sqs", endpoint_url=self.moto_url, region_name=settings.region)
        self.pump = QueuePump(
            sqs, self._bindings(sqs, app_module), region=settings.region, lock=self.state_lock
        ).start()
        self.ticker = Ticker(
            interval_seconds=self._tick_seconds, region=settings.region, lock=self.state_lock
        )
        self.ticker.register_from(app_module, *SCHEDULED_HANDLERS)
        if self.receiver is not None:
            self.receiver.start()
            if saved is None:
                self._seed_demo(self.receiver)
        # After the demo's past notices: a sweep at today's time must not take a step of one of them
        # while it is being written.
        self.ticker.start()
        self.gate.open()
        if self.keeper is not None:
            self.keeper.start()
        logger.info(
            "local_stack.started",
            api_url=self.api_url,
            moto_url=self.moto_url,
            demo=self._demo,
            restored=saved is not None,
        )

    def _open_data_dir(self) -> dict[str, Any] | None:
        """The data directory made ready: its secret and admin key read (or made), the saved state
        put back into moto; returns that state (None: start empty)."""
        if self.data_dir is None:
            return None
        directory = datadir.prepare(self.data_dir)
        self._claim = datadir.claim(directory)
        env = os.environ if self._env is None else self._env
        if not env.get("VIGIL_ACK_SECRET"):
            self._ack_secret = datadir.ack_secret(directory)
        if not self.admin_key:
            key_file = directory / datadir.ADMIN_KEY_FILE
            self.admin_key = datadir.kept_secret(key_file, make=_new_admin_key, what="admin key")
            try:
                _check_admin_key(self.admin_key, str(key_file))
            except ValueError as exc:
                raise datadir.DataDirError(f"{exc}; delete it to make a new admin key") from None
        path = directory / datadir.SNAPSHOT_FILE
        self.keeper = StateKeeper(
            path, lock=self.state_lock, collect=self._collect_state, reducers=emulator.reducers()
        )
        try:
            saved = persistence.load(path)
            if saved is not None:
                emulator.install(saved["backends"])
        except SnapshotUnusable as exc:
            self._give_up_restoring(exc.reason)
            return None
        except datadir.DataDirError:
            raise  # a file others may write is not read, nor moved: the user decides
        except Exception as exc:
            self._give_up_restoring(f"it could not be put back ({type(exc).__name__}: {exc})")
            return None
        return saved

    def _adopt(
        self, saved: dict[str, Any], cloudformation: CloudFormationClient, stage: str
    ) -> dict[str, Any] | None:
        """The restored stack's outputs and the records beside moto's; None (moto emptied, the
        snapshot put aside) when the restored state does not hold this stage's stack."""
        try:
            described = cloudformation.describe_stacks(StackName=stack_name(stage))["Stacks"][0]
            outputs = {
                output["OutputKey"]: output["OutputValue"]
                for output in described.get("Outputs", [])
                if "OutputKey" in output and "OutputValue" in output
            }
            absent = missing_outputs(outputs)
            if absent:
                raise SnapshotUnusable(
                    f"its stack {stack_name(stage)} lacks the template's outputs ({', '.join(absent)}):"
                    " it holds a stack made from an older template"
                )
        except Exception as exc:
            missing = f"it holds no stack {stack_name(stage)}"
            self._give_up_restoring(exc.reason if isinstance(exc, SnapshotUnusable) else missing)
            return None
        self.outputs = outputs
        outbox.restore_records(saved.get("outbox") or {})
        if self.receiver is not None:
            self.receiver.restore(saved.get("receiver") or {})
        facts = saved.get("stack") or {}
        self.demo_subscribers = dict(facts.get("demo_subscribers") or {})
        self.restoration = Restoration(saved_at=str(facts.get("saved_at") or "") or None)
        logger.info("local_state.restored", path=str(self.keeper.path if self.keeper else ""))
        return saved

    def _give_up_restoring(self, reason: str) -> None:
        """Start empty; the snapshot is kept under another name, and the reason is said."""
        emulator.forget()
        outbox.clear_records()
        assert self.keeper is not None  # made before anything is restored
        path = self.keeper.path
        aside = persistence.set_aside(path) if path.exists() else None
        self.restoration = Restoration(set_aside=aside, reason=reason)
        logger.error(
            "local_state.not_restored",
            path=str(path),
            reason=reason,
            kept_as=str(aside) if aside else None,
            outcome="starting empty",
        )

    def _collect_state(self) -> dict[str, Any]:
        """What is kept (called by the keeper as the state lock's writer)."""
        return {
            "backends": emulator.backends(),
            "outbox": outbox.saved_records(),
            "receiver": self.receiver.saved() if self.receiver is not None else None,
            "stack": {
                "demo_subscribers": dict(self.demo_subscribers),
                "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        }

    def _start_moto(self) -> None:
        port = self._moto_port or free_port(self.host)
        self._emulator = EmulatorServer(
            self.host,
            port,
            lock=self.state_lock,
            on_change=self._state_changed,
            on_queue_send=self._message_sent,
        ).start()
        self.moto_url = self._emulator.url
        logger.info("moto.started", url=self.moto_url)

    def _state_changed(self) -> None:
        if self.keeper is not None:
            self.keeper.changed()

    def _message_sent(self) -> None:
        if self.pump is not None:
            self.pump.wake()

    def _create_api_server(self, app_module: ModuleType) -> None:
        prefix = self._base_path()
        self._api = create_api_server(
            app_module,
            host=self.host,
            port=self._port,
            prefix=prefix,
            project_dir=str(REPO_ROOT),
            stage=STAGE,
            lock=self.state_lock,
            gate=self.gate,
        )
        bound_host, bound_port = self._api.server.server_address[:2]
        self.api_url = f"http://{bound_host}:{bound_port}{prefix}"

    def _base_path(self) -> str:
        """The path of the configured public URL (``VIGIL_PUBLIC_URL``), without a trailing slash."""
        env = os.environ if self._env is None else self._env
        return urlsplit(env.get("VIGIL_PUBLIC_URL", "")).path.rstrip("/")

    def _settings_env(self) -> dict[str, str]:
        env = dict(os.environ if self._env is None else self._env)
        env["VIGIL_STAGE"] = STAGE
        env["AWS_ENDPOINT_URL"] = self.moto_url
        if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
            env["AWS_REGION"] = DEFAULT_REGION
        env.setdefault("VIGIL_PUBLIC_URL", self.api_url)
        env.setdefault("VIGIL_SEND_LEASE_SECONDS", LOCAL_SEND_LEASE_SECONDS)
        env.setdefault("VIGIL_ADMIN_EMAILS", LOCAL_ADMIN_EMAIL)
        if self._ack_secret and not env.get("VIGIL_ACK_SECRET"):
            env["VIGIL_ACK_SECRET"] = self._ack_secret
        return env

    def _ensure_admin_key(self, deps: bootstrap.Deps) -> None:
        now = datetime.now(UTC)
        if not self.admin_key:
            self.admin_key = _new_admin_key()
        key = ensure_key(self.admin_key, name="local admin", role=ApiRole.ADMIN, keys=deps.keys, now=now)
        logger.info("admin_key.ensured", key_id=key.id)

    def _serve_api(self) -> None:
        # LocalDevServer.serve_forever would print; its server is threaded (ThreadingMixIn, daemon threads).
        self._api_thread = threading.Thread(target=self._api.server.serve_forever, name="api", daemon=True)
        self._api_thread.start()
        logger.info("api.started", url=self.api_url)

    def _seed_demo(self, receiver: WebhookReceiver | None) -> None:
        """The demo subscribers, through the API before it serves anyone else, and twelve weeks of
        past notices (``demo_history``); a failure is logged and the stack serves without them."""
        try:
            self.demo_subscribers = seed_demo(
                self.api_url, self.admin_key, receiver, headers=self.gate.headers
            )
            assert self.deps is not None  # built before the demo is seeded
            assert self.settings is not None  # as above
            assert self._aws is not None  # as above
            dynamodb: DynamoDBClient = self._aws.client(
                "dynamodb", endpoint_url=self.moto_url, region_name=self.settings.region
            )
            with self.state_lock.reading():
                seed_history(self.deps, dynamodb, self.demo_subscribers, now=datetime.now(UTC))
        except Exception as exc:
            self.demo_failure = f"{type(exc).__name__}: {exc}"
            logger.exception("demo.seed_failed", outcome="serving without the demo data")

    def _bindings(self, sqs: SQSClient, app_module: ModuleType) -> list[QueueBinding]:
        assert self.settings is not None  # set before the pump starts
        bindings = []
        for name, handler_name in (("route", "on_route_message"), ("send", "on_send_message")):
            queue = self.settings.resource(name)
            url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            bindings.append(
                QueueBinding(
                    name=queue,
                    url=url,
                    arn=arn,
                    handler=getattr(app_module, handler_name),
                    function_name=f"vigil-{STAGE}-{handler_name}",
                )
            )
        return bindings

    # ------------------------------------------------------------------ stop

    def _stop_api(self) -> None:
        if self._api is None:
            return
        if self._api_thread is not None:
            self._api.server.shutdown()
            self._api_thread.join(timeout=5)
            self._api_thread = None
        self._api.server.server_close()
        self._api = None
        logger.info("api.stopped")

    def _stop_workers(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
        if self.pump is not None:
            self.pump.stop()
            self.pump = None

    def _stop_keeper(self) -> None:
        """The last save: it waits for requests still being answered (the state lock's readers)."""
        if self.keeper is None:
            return
        self.keeper.stop()
        self.keeper = None

    def _stop_receiver(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None

    def _stop_moto(self) -> None:
        if self._emulator is None:
            emulator.forget()  # a restore may have filled moto before its server started
            return
        try:
            # moto's backends outlive its server in this process: forget the resources too.
            reset = urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")  # noqa: S310  # local http
            urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310  # as above
        finally:
            self._emulator.stop()
            self._emulator = None
            logger.info("moto.stopped")


def _new_admin_key() -> str:
    return new_key(name="local admin", role=ApiRole.ADMIN, now=datetime.now(UTC))[1]


def _check_admin_key(admin_key: str, source: str) -> None:
    try:
        split_plaintext(admin_key)
    except Unauthorized as exc:
        raise ValueError(f"{source} is not usable: {exc.message}") from None


class _SkipsExpectedMotoWarnings(logging.Filter):
    """moto's CloudFormation warns of each resource type it does not create (alarms, policies): expected."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No Moto CloudFormation support")


def _quiet_library_loggers() -> None:
    """moto's server logs every request on stderr; the structured log says what matters."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_logger = logging.getLogger("moto")
    if not any(isinstance(f, _SkipsExpectedMotoWarnings) for f in moto_logger.filters):
        moto_logger.addFilter(_SkipsExpectedMotoWarnings())
