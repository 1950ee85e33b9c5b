"""moto, the local stack's AWS: its server in this process, and its state as plain objects.

``EmulatorServer`` serves moto's own WSGI application (what ``moto.server.ThreadedMotoServer``
serves) with two things around each request: the state lock's ``nested`` side, so no request runs
while a snapshot is taken, whoever sends it (the app, the pump, ``vigil dlq``, any AWS client); and a
look at what it asks for, so the snapshot knows the state changed and the queue pump knows a message
was sent.

``backends()`` and ``install()`` take moto's service backends out and put them back: every backend
in use (``BackendDict._instances``), by the module attribute that holds its ``BackendDict``, account
and region (the global services, S3 and IAM, are kept under their partition, ``"aws"``).
"""

from __future__ import annotations

import importlib
import io
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import structlog

from vigil_local.snapshot import Reducer
from vigil_local.state_lock import StateLock

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from werkzeug.serving import BaseWSGIServer

logger = structlog.get_logger()

# (module, attribute holding the service's BackendDict, account id, region or partition)
BackendAddress = tuple[str, str, str, str]

# Actions that only read. Anything else (and any REST call but GET and HEAD) counts as a change.
# ReceiveMessage counts as a read: what it changes (a message hidden for a while, its receive count)
# is of no use to keep, and the pump asks it every second.
_READ_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "Head", "ReceiveMessage")
# Actions after which a message may be waiting on a queue.
_QUEUE_SENDS = frozenset(
    {
        "SendMessage",
        "SendMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
        "StartMessageMoveTask",
    }
)
# A form body bigger than this is not read for its action name (it is a change whatever it is).
_MAX_FORM_PEEK_BYTES = 1024 * 1024


def action_of(environ: WSGIEnvironment) -> tuple[str | None, bool]:
    """(the AWS action a request asks for, when it names one; whether it may change the state).

    JSON protocols name it in ``X-Amz-Target``; query protocols in the ``Action`` field of the form
    (read here, and put back for moto); REST ones (S3, SES v2) not at all: their method says.
    """
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    method = str(environ.get("REQUEST_METHOD") or "GET").upper()
    action: str | None = target.rpartition(".")[2] or None
    if action is None:
        action = _query_action(environ, method)
    if action is None:
        return None, method not in {"GET", "HEAD"}
    return action, not action.startswith(_READ_PREFIXES)


def _query_action(environ: WSGIEnvironment, method: str) -> str | None:
    query = parse_qs(str(environ.get("QUERY_STRING") or ""))
    if "Action" in query:
        return query["Action"][0]
    content_type = str(environ.get("CONTENT_TYPE") or "")
    if method != "POST" or not content_type.startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= _MAX_FORM_PEEK_BYTES:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    fields = parse_qs(body.decode("utf-8", errors="replace"))
    return fields["Action"][0] if "Action" in fields else None


class EmulatorServer:
    """moto's server on ``host:port`` in a thread of this process; ``stop()`` closes it."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        lock: StateLock,
        on_change: Callable[[], None],
        on_queue_send: Callable[[], None],
    ) -> None:
        self._host = host
        self._port = port
        self._lock = lock
        self._on_change = on_change
        self._on_queue_send = on_queue_send
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def start(self) -> EmulatorServer:
        from moto.moto_server.werkzeug_app import (  # noqa: PLC0415  # moto is a local-only dependency
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server  # noqa: PLC0415  # as above (moto's server)

        app = self._watched(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self._server = None

    def _watched(self, app: WSGIApplication) -> WSGIApplication:
        def watched(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            action, changes = action_of(environ)
            with self._lock.nested():
                # moto builds its whole answer inside the call; the body is only bytes after it.
                answer = list(app(environ, start_response))
            if changes:
                self._on_change()
            if action in _QUEUE_SENDS:
                self._on_queue_send()
            return answer

        return watched


# ---------------------------------------------------------------------------- the backends


def backends() -> dict[BackendAddress, Any]:
    """Every moto backend in use, by address; the objects themselves (pickle them together, so
    objects that several backends share stay shared)."""
    from moto.core.base_backend import BackendDict  # noqa: PLC0415  # moto is a local-only dependency

    found: dict[BackendAddress, Any] = {}
    # moto's own list of the BackendDicts in use (what its reset goes through).
    for backend_dict in list(BackendDict._instances):  # type: ignore[misc]  # a class-level list, not generic state
        module_name, attribute = _home_of(backend_dict)
        for account_id, by_region in list(backend_dict.items()):
            for region, backend in list(by_region.items()):
                found[(module_name, attribute, account_id, region)] = backend
    return found


def install(saved: Mapping[BackendAddress, Any]) -> None:
    """Put saved backends in place of moto's (before anything else uses moto)."""
    for (module_name, attribute, account_id, region), backend in saved.items():
        backend_dict = getattr(importlib.import_module(module_name), attribute)
        # BackendDict makes (and registers) the account's dict on first access; the region's
        # backend is then set as it is, not made anew.
        dict.__setitem__(backend_dict[account_id], region, backend)


def forget() -> None:
    """moto with nothing in it, as after its ``/moto-api/reset``."""
    from moto.core.base_backend import BackendDict  # noqa: PLC0415  # moto is a local-only dependency

    BackendDict.reset()


def _home_of(backend_dict: Any) -> tuple[str, str]:
    """The module attribute that holds this BackendDict (``moto.sqs.models``, ``sqs_backends``)."""
    module = sys.modules[backend_dict.backend.__module__]
    for name, value in vars(module).items():
        if value is backend_dict:
            return module.__name__, name
    raise LookupError(f"moto's {backend_dict.service_name} backends are not a module attribute")


def reducers() -> dict[type, Reducer]:
    """How to pickle what moto holds that pickle cannot: KMS's private keys (DynamoDB's encryption
    makes a KMS key), kept as DER bytes."""
    try:
        from moto.kms.utils import ECDSAPrivateKey, RSAPrivateKey  # noqa: PLC0415  # local-only dependency
    except ImportError:
        return {}
    return {RSAPrivateKey: _reduce_key_holder, ECDSAPrivateKey: _reduce_key_holder}


def _reduce_key_holder(holder: Any) -> tuple[Any, ...]:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415  # with moto's KMS only

    fields = dict(vars(holder))
    key = fields.pop("private_key")
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return (_key_holder, (type(holder), fields, der))


def _key_holder(holder_type: type, fields: dict[str, Any], der: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415  # as above

    holder: Any = object.__new__(holder_type)  # as unpickling would: without running __init__
    holder.__dict__.update(fields)
    holder.private_key = serialization.load_der_private_key(der, password=None)
    return holder
