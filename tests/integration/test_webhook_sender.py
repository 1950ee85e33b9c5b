"""HttpWebhookSender against real HTTP servers on this machine: signing, redirects, failures, and
the addresses it connects to (the one it checked, never a second lookup)."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import ssl
import threading
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

from chalicelib.adapters.url_guard import Resolver, check_webhook_url
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.domain.messages import OutgoingWebhook
from chalicelib.ports import SendFailed

pytestmark = pytest.mark.integration

SECRET = "whsec_" + base64.b64encode(b"vigil-test-secret-24bytes").decode()
PAYLOAD = {"notice_id": "ntc_1", "type": "rollout", "title": "Secure Communities activates"}


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What the receiver answers to every POST."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hang: bool = False
    # Seconds between the bytes of the status line and headers: a receiver that trickles its answer.
    trickle: float | None = None


class Receiver:
    """A real HTTP server on 127.0.0.1 that records what it is sent and answers as told."""

    def __init__(self, answer: Answer | None = None, *, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer or Answer()
        self.seen: list[Seen] = []
        self.write_failed = threading.Event()
        self.release = threading.Event()
        # How many bytes of a trickled answer were written before the sender hung up.
        self.trickled: int | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def url(self, host: str = "127.0.0.1", path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            receiver.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = receiver.answer
            if answer.hang:
                receiver.release.wait(timeout=10)
                return
            if answer.trickle is not None:
                self._trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", answer.trickle)
                return
            try:
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                self.wfile.flush()
            except OSError:
                receiver.write_failed.set()

        def _trickle(self, answer: bytes, pause: float) -> None:
            for n in range(len(answer)):
                try:
                    self.wfile.write(answer[n : n + 1])
                    self.wfile.flush()
                except OSError:
                    receiver.write_failed.set()
                    receiver.trickled = n
                    return
                if receiver.release.wait(timeout=pause):
                    return
            receiver.trickled = len(answer)

        def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
            return

    return Handler


def fixed(answers: dict[str, list[str]]) -> Resolver:
    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(answers[host])

    return resolve


def webhook(url: str) -> OutgoingWebhook:
    return OutgoingWebhook(url=url, message_id="dlv_0001", payload=PAYLOAD)


def local_sender(**overrides: Any) -> HttpWebhookSender:
    """A sender allowed to reach 127.0.0.1, as the local and test stages configure it."""
    options: dict[str, Any] = {"timeout_seconds": 5.0, "allow_private": True}
    options.update(overrides)
    return HttpWebhookSender(**options)


def send(sender: HttpWebhookSender, url: str) -> str:
    return sender.send(webhook(url), secrets=[SECRET], now=dt.datetime.now(dt.UTC))


def failure(sender: HttpWebhookSender, url: str) -> SendFailed:
    with pytest.raises(SendFailed) as caught:
        send(sender, url)
    return caught.value


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def test_200_answer_sends_a_body_with_a_valid_standard_webhooks_signature(receiver: Receiver) -> None:
    assert send(local_sender(), receiver.url(path="/hook?source=vigil")) == "200"
    [seen] = receiver.seen
    assert seen.path == "/hook?source=vigil"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["webhook-id"] == "dlv_0001"
    assert Webhook(SECRET).verify(seen.body, seen.headers) == PAYLOAD


def test_signature_made_with_another_secret_does_not_verify(receiver: Receiver) -> None:
    send(local_sender(), receiver.url())
    [seen] = receiver.seen
    other = "whsec_" + base64.b64encode(b"some-other-secret-24byte").decode()
    with pytest.raises(Exception, match="No matching signature found"):
        Webhook(other).verify(seen.body, seen.headers)


def test_redirect_is_not_followed() -> None:
    with Receiver() as target, Receiver(Answer(302, {"location": target.url(path="/elsewhere")})) as hook:
        failed = failure(local_sender(), hook.url())
    assert failed.reason == "webhook: redirect not followed (HTTP 302)"
    assert not failed.retryable
    assert len(hook.seen) == 1
    assert target.seen == []
    assert isinstance(failed.__cause__, urllib.error.HTTPError)  # the local outbox records its code
    assert failed.__cause__.code == 302


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (408, True), (429, True), (410, False), (400, False), (404, False)],
)
def test_failed_status_is_retryable_only_when_trying_again_may_help(status: int, retryable: bool) -> None:
    with Receiver(Answer(status)) as hook:
        failed = failure(local_sender(), hook.url())
    assert failed.reason == f"webhook: HTTP {status}"
    assert failed.retryable is retryable


def test_receiver_that_hangs_fails_retryably_within_the_timeout() -> None:
    with Receiver(Answer(hang=True)) as hook:
        started = time.monotonic()
        failed = failure(local_sender(timeout_seconds=0.5), hook.url())
        elapsed = time.monotonic() - started
    assert failed.retryable
    assert failed.reason == "webhook: no answer within 0.5 s for the whole request"
    assert 0.4 < elapsed < 3.0


def test_a_receiver_trickling_its_answer_is_cut_off_at_the_whole_request_deadline() -> None:
    """Each byte arrives well within any per-read timeout; the deadline is for the whole exchange,
    so the sender hangs up long before the answer's 40 bytes have come (at 0.2 s each: 8 s)."""
    with Receiver(Answer(trickle=0.2)) as hook:
        failed = failure(local_sender(timeout_seconds=1.0), hook.url())
        assert hook.write_failed.wait(timeout=5)
    assert failed.retryable
    assert failed.reason == "webhook: no answer within 1 s for the whole request"
    assert hook.trickled is not None
    assert hook.trickled < 20


def test_closed_port_fails_retryably() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failed = failure(local_sender(), f"http://127.0.0.1:{port}/hook")
    assert failed.retryable
    assert failed.reason == "webhook: ConnectionRefusedError"


def test_huge_answer_is_not_read_whole() -> None:
    with Receiver(Answer(body=b"x" * (32 * 1024 * 1024))) as hook:
        assert send(local_sender(), hook.url()) == "200"
        assert hook.write_failed.wait(timeout=5)  # Vigil hung up long before the end


def test_dns_rebinding_after_creation_is_refused_at_send_time(receiver: Receiver) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        assert host == "rebind.example.org"
        return next(answers)

    url = receiver.url(host="rebind.example.org")
    check_webhook_url(url, resolver=rebinding)  # at creation: a public address
    failed = failure(HttpWebhookSender(timeout_seconds=5.0, resolver=rebinding), url)
    assert failed.reason == "webhook: rebind.example.org resolves to 127.0.0.1, a loopback address"
    assert not failed.retryable
    assert receiver.seen == []


def test_loopback_url_is_refused_unless_private_addresses_are_allowed(receiver: Receiver) -> None:
    failed = failure(HttpWebhookSender(timeout_seconds=5.0), receiver.url())
    assert failed.reason == "webhook: 127.0.0.1 is a loopback address"
    assert not failed.retryable
    assert receiver.seen == []


def test_metadata_service_is_refused_even_where_private_addresses_are_allowed() -> None:
    failed = failure(local_sender(), "http://169.254.169.254/latest/meta-data/iam/security-credentials/")
    assert failed.reason == "webhook: 169.254.169.254 is the cloud metadata service"
    assert not failed.retryable


def test_name_that_stops_resolving_fails_retryably() -> None:
    failed = failure(local_sender(resolver=fixed({})), "https://gone.example.org/hook")
    assert failed.reason == "webhook: gone.example.org does not resolve"
    assert failed.retryable


def test_connection_goes_to_the_checked_address_with_the_original_host_header(receiver: Receiver) -> None:
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return {"hooks.example.org": ["127.0.0.1"]}[host]

    assert send(local_sender(resolver=resolve), receiver.url(host="hooks.example.org")) == "200"
    [seen] = receiver.seen
    assert seen.headers["host"] == f"hooks.example.org:{receiver.port}"
    assert lookups == ["hooks.example.org"]  # one lookup, checked, then connected to


def test_next_checked_address_is_tried_when_the_first_refuses(receiver: Receiver) -> None:
    dns = fixed({"hooks.example.org": ["127.0.0.2", "127.0.0.1"]})  # the receiver listens on .1 only
    assert send(local_sender(resolver=dns), receiver.url(host="hooks.example.org")) == "200"
    assert len(receiver.seen) == 1


# HTTPS: the connection goes to the checked address, TLS still names and verifies the URL's host.


@dataclass(frozen=True)
class Certificates:
    server: ssl.SSLContext
    client: ssl.SSLContext
    server_names: list[str | None]


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    """A test CA, a certificate it signed for hooks.example.org, and contexts for each side."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vigil test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        # Python 3.13's default TLS context verifies strictly (VERIFY_X509_STRICT): a CA must say
        # it signs certificates, and a server certificate what it is for.
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.example.org")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.example.org")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "leaf.pem", tmp_path / "leaf.key"
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_names: list[str | None] = []
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)

    def record_server_name(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        server_names.append(name)

    server.sni_callback = record_server_name
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return Certificates(server=server, client=client, server_names=server_names)


def test_https_names_and_verifies_the_original_host_while_connecting_to_the_checked_address(
    certificates: Certificates,
) -> None:
    dns = fixed({"hooks.example.org": ["127.0.0.1"]})
    sender = local_sender(resolver=dns, tls_context=certificates.client)
    with Receiver(tls=certificates.server) as hook:
        assert send(sender, hook.url(host="hooks.example.org", scheme="https")) == "200"
    assert certificates.server_names == ["hooks.example.org"]
    [seen] = hook.seen
    assert seen.headers["host"] == f"hooks.example.org:{hook.port}"
    assert Webhook(SECRET).verify(seen.body, seen.headers) == PAYLOAD


def test_https_certificate_for_another_name_is_refused(certificates: Certificates) -> None:
    dns = fixed({"impostor.example.org": ["127.0.0.1"]})
    sender = local_sender(resolver=dns, tls_context=certificates.client)
    with Receiver(tls=certificates.server) as hook:
        failed = failure(sender, hook.url(host="impostor.example.org", scheme="https"))
    assert failed.reason == "webhook: SSLCertVerificationError"
    assert hook.seen == []


def test_https_uses_the_system_trust_store_by_default(certificates: Certificates) -> None:
    dns = fixed({"hooks.example.org": ["127.0.0.1"]})
    with Receiver(tls=certificates.server) as hook:
        failed = failure(local_sender(resolver=dns), hook.url(host="hooks.example.org", scheme="https"))
    assert failed.reason == "webhook: SSLCertVerificationError"  # the test CA is trusted nowhere else
    assert hook.seen == []
