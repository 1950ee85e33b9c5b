"""``LocalStack``: the whole service on one machine, with moto as its AWS.

    with LocalStack(admin_key="vk_local_0123456789abcdef") as stack:
        urllib.request.urlopen(f"{stack.api_url}/health")

``start()`` runs moto in server mode in this process, deploys ``infra/template.yaml`` into it,
verifies the sender identity in SES, builds the app's dependencies from ``Settings.from_env`` and
installs them, adopts the admin key, serves ``app.app`` and the local-only ``/dev`` routes
(``vigil_local.dev_routes``) with Chalice's own local server, starts the
queue pump and the ticker, and (with ``demo=True``) the demo webhook receiver and demo subscribers.
``stop()`` undoes it all, including moto's state, so stacks can run one after another in a process.

moto's backends are process-wide, so only one LocalStack can run in a process at a time; run
stacks side by side as separate processes (``python -m vigil_local`` with other ports).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
import structlog

from chalicelib import bootstrap
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.config import Settings
from chalicelib.domain.auth import ApiRole, new_key, split_plaintext
from chalicelib.domain.errors import Unauthorized
from chalicelib.entrypoints.http import GATEWAY_REFUSALS, JSON_HEADERS
from chalicelib.ports import Senders
from chalicelib.services.access import ensure_key
from vigil_local import dev_routes, outbox
from vigil_local.demo import seed_demo
from vigil_local.outbox import RecordingEmailSender, RecordingSmsSender, RecordingWebhookSender
from vigil_local.pump import QueueBinding, QueuePump
from vigil_local.receiver import WebhookReceiver
from vigil_local.stack import deploy_template
from vigil_local.ticker import DEFAULT_INTERVAL_SECONDS, Ticker

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
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
SCHEDULED_HANDLERS = ("on_sweep_tick",)

_running = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (moto's server cannot bind port 0 and report it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class LocalStack:
    """The local stack; ports of 0 are chosen free. Attributes are set by ``start()``."""

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
    ) -> None:
        if admin_key is not None:
            try:
                split_plaintext(admin_key)
            except Unauthorized as exc:
                raise ValueError(f"VIGIL_ADMIN_KEY is not usable: {exc.message}") from None
        self.host = host
        self._port = port
        self._moto_port = moto_port
        self._webhook_port = webhook_port
        self._demo = demo
        self._tick_seconds = tick_seconds
        self._env = env
        self.admin_key = admin_key or ""
        self.api_url = ""
        self.moto_url = ""
        self.webhook_receiver_url = ""
        self.outputs: dict[str, str] = {}
        self.demo_subscribers: dict[str, str] = {}
        self.settings: Settings | None = None
        self.deps: bootstrap.Deps | None = None
        self.receiver: WebhookReceiver | None = None
        self.ticker: Ticker | None = None
        self.pump: QueuePump | None = None
        self._moto: Any = None
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
        """Idempotent; stops what was started, in reverse order, and forgets moto's state."""
        if not self._owns_lock:
            return  # never started (or already stopped): the process's state may be another stack's
        for step in (self._stop_workers, self._stop_servers, self._stop_moto):
            try:
                step()
            except Exception:
                logger.exception("local_stack.stop_step_failed", step=step.__name__)
        if self.settings is not None:
            logger.info("local_stack.stopped")
        bootstrap.use(None)
        outbox.EMAILS.clear()
        outbox.SMS.clear()
        outbox.WEBHOOKS.clear()
        self._owns_lock = False
        _running.release()

    # ------------------------------------------------------------------ start

    def _start(self) -> None:
        _quiet_library_loggers()
        import app as app_module  # noqa: PLC0415  # the Chalice app at the repo root; it makes no client at import

        dev_routes.serve_on(app_module.app)
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
        cloudformation: CloudFormationClient = session.client(
            "cloudformation", endpoint_url=self.moto_url, region_name=settings.region
        )
        self.outputs = deploy_template(cloudformation, stage=settings.stage, parameters=LOCAL_PARAMETERS)
        logger.info("stack.deployed", stage=settings.stage, outputs=len(self.outputs))
        # The bucket's name holds the account id, known once the stack exists (as in AWS, where the
        # packaged template passes it to the functions).
        settings = replace(settings, inbound_mail_bucket=self.outputs["InboundMailBucketName"])
        self.settings = settings
        sesv2: SESV2Client = session.client("sesv2", endpoint_url=self.moto_url, region_name=settings.region)
        sesv2.create_email_identity(EmailIdentity=settings.sender_email)
        logger.info("email_identity.verified", identity=settings.sender_email)

        # The demo receiver listens on 127.0.0.1: the local stage admits loopback receivers.
        sender = RecordingWebhookSender(HttpWebhookSender(timeout_seconds=5.0, allow_private=True))
        deps = bootstrap.build(settings, session=session, webhook_sender=sender)
        deps.senders = Senders(
            email=RecordingEmailSender(deps.senders.email),
            sms=RecordingSmsSender(deps.senders.sms),
            webhook=deps.senders.webhook,
        )
        bootstrap.use(deps)
        self.deps = deps
        self._ensure_admin_key(deps)

        self._serve_api()
        sqs: SQSClient = session.client("sqs", endpoint_url=self.moto_url, region_name=settings.region)
        self.pump = QueuePump(sqs, self._bindings(sqs, app_module), region=settings.region).start()
        self.ticker = Ticker(interval_seconds=self._tick_seconds, region=settings.region)
        self.ticker.register_from(app_module, *SCHEDULED_HANDLERS)
        self.ticker.start()
        if self.receiver is not None:
            self.receiver.start()
            self.demo_subscribers = seed_demo(self.api_url, self.admin_key, self.receiver)
        logger.info("local_stack.started", api_url=self.api_url, moto_url=self.moto_url, demo=self._demo)

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415  # moto is a local-only dependency

        port = self._moto_port or free_port(self.host)
        self._moto = ThreadedMotoServer(ip_address=self.host, port=port, verbose=False)
        self._moto.start()
        self.moto_url = f"http://{self.host}:{port}"
        logger.info("moto.started", url=self.moto_url)

    def _create_api_server(self, app_module: ModuleType) -> None:
        from chalice.config import Config  # noqa: PLC0415  # the local server is not part of the Lambda package
        from chalice.local import (  # noqa: PLC0415  # as above
            ChaliceRequestHandler,
            ForbiddenError,
            LocalChalice,
            LocalDevServer,
            LocalGatewayException,
            create_local_server,
        )

        app_obj = app_module.app
        config = Config.create(
            chalice_stage=STAGE, app_name="vigil", chalice_app=app_obj, project_dir=str(REPO_ROOT)
        )
        if isinstance(app_obj, LocalChalice):
            # create_local_server already adapted the app (a previous stack in this process);
            # adapting it twice would make its class inherit from itself.
            server = LocalDevServer(app_obj, config, self.host, self._port)
        else:
            server = create_local_server(app_obj, config, self.host, self._port)

        prefix = self._base_path()

        class Handler(ChaliceRequestHandler):
            path: str  # BaseHTTPRequestHandler's: the request's path and query

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("http_request.served", line=format % args)

            def parse_request(self) -> bool:
                # Served under the public URL's path ("/api", as API Gateway's stage path): the
                # app sees the path without it, and nothing outside it is found.
                if not super().parse_request():
                    return False
                if not prefix:
                    return True
                path, _, query = self.path.partition("?")
                if path != prefix and not path.startswith(prefix + "/"):
                    self._refuse_unknown_path()
                    return False
                self.path = (path.removeprefix(prefix) or "/") + (f"?{query}" if query else "")
                return True

            def _refuse_unknown_path(self) -> None:
                refusal = GATEWAY_REFUSALS["MISSING_AUTHENTICATION_TOKEN"]
                body = json.dumps(refusal.body()).encode()
                self._send_http_response(refusal.status or 404, dict(JSON_HEADERS), body)

            def _send_error_response(self, error: LocalGatewayException) -> None:
                # Chalice's gateway refuses an unknown path with API Gateway's default 403; the
                # deployed API answers it as infra/package.py configures it, and so does this one.
                if isinstance(error, ForbiddenError):
                    self._refuse_unknown_path()
                    return
                super()._send_error_response(error)

        # Chalice's handler writes each request to stderr; send it to the structured log instead.
        server.server.RequestHandlerClass = functools.partial(Handler, app_object=app_obj, config=config)
        self._api = server
        bound_host, bound_port = server.server.server_address[:2]
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
        return env

    def _ensure_admin_key(self, deps: bootstrap.Deps) -> None:
        now = datetime.now(UTC)
        if not self.admin_key:
            _, self.admin_key = new_key(name="local admin", role=ApiRole.ADMIN, now=now)
        key = ensure_key(self.admin_key, name="local admin", role=ApiRole.ADMIN, keys=deps.keys, now=now)
        logger.info("admin_key.ensured", key_id=key.id)

    def _serve_api(self) -> None:
        # LocalDevServer.serve_forever would print; its server is threaded (ThreadingMixIn, daemon threads).
        self._api_thread = threading.Thread(target=self._api.server.serve_forever, name="api", daemon=True)
        self._api_thread.start()
        logger.info("api.started", url=self.api_url)

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

    def _stop_workers(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
            self.ticker = None
        if self.pump is not None:
            self.pump.stop()
            self.pump = None

    def _stop_servers(self) -> None:
        if self._api is not None:
            if self._api_thread is not None:
                self._api.server.shutdown()
                self._api_thread.join(timeout=5)
                self._api_thread = None
            self._api.server.server_close()
            self._api = None
            logger.info("api.stopped")
        if self.receiver is not None:
            self.receiver.stop()
            self.receiver = None

    def _stop_moto(self) -> None:
        if self._moto is None:
            return
        try:
            # moto's backends outlive its server in this process: forget the resources too.
            reset = urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")  # noqa: S310  # local http
            urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310  # as above
        finally:
            self._moto.stop()
            self._moto = None
            logger.info("moto.stopped")


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
