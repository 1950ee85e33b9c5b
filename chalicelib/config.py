"""Settings.from_env(): the only reader of os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from chalicelib.domain.retention import DEFAULT_RETENTION_DAYS
from chalicelib.domain.tokens import MIN_SECRET_BYTES

# Stages that run on this machine (the local stack, tests, benchmarks), never in AWS.
LOCAL_STAGES = frozenset({"local", "test", "bench"})
# Lambda sets this for every function: what tells a deployed function from everything else.
LAMBDA_MARKER = "AWS_LAMBDA_FUNCTION_NAME"
# The local stages' defaults, refused by a deployed function (Settings.check_deployed).
LOCAL_ACK_SECRET = "local-only-link-signing-secret, never deployed"  # noqa: S105  # refused in AWS
LOCAL_SENDER = "alerts@vigil.example.gov"
LOCAL_PUBLIC_URL = "http://127.0.0.1:8000"


class SettingsError(RuntimeError):
    """The environment cannot run this stage; the message names what to set."""


@dataclass(frozen=True, slots=True)
class Settings:
    stage: str
    region: str
    endpoint_url: str | None
    # Where links in messages point, path included (API Gateway's stage path, "/api"); None on a
    # deployed stage without a custom domain: the API function takes it from each request's host
    # and stage, and the template gives every other function the API's own address.
    public_base_url: str | None
    sender_email: str
    # The link-signing secret itself (the local and test stages), or where Secrets Manager keeps it
    # (a deployed stage: the template generates it, and nothing of it is in the configuration).
    ack_secret: bytes | None
    max_body_bytes: int
    # How long a claimed delivery stays reserved for its sender. Longer than the function timeout
    # (60 s), so a live sender never loses its claim; shorter than the send queue's visibility
    # timeout, so the message of a crashed sender comes back after its claims have lapsed.
    send_lease: timedelta
    # Multiplies every retry delay: 1 in AWS; tests set 0 so retries come back at once.
    retry_scale: float
    log_level: str
    log_json: bool
    # Where raw inbound messages are kept (the template's InboundMailBucket; its name holds the account id).
    inbound_mail_bucket: str | None = None
    # Where the daily digests of the logs' heads are kept (the template's LogDigestBucket; its name
    # holds the account id).
    digest_bucket: str | None = None
    # SES configuration set whose event destination is the feedback topic (bounces, complaints).
    ses_configuration_set: str | None = None
    # Where the last escalation step of a policy ("notify": "admins") sends its email.
    admin_emails: tuple[str, ...] = ()
    ack_secret_arn: str | None = None
    # How long after a detainer's decision the person's data is kept (VIGIL_RETENTION_DAYS).
    retention: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS)

    def resource(self, name: str) -> str:
        """Physical name of a table, queue or topic declared in infra/template.yaml."""
        return resource_name(self.stage, name)

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @property
    def allows_local_webhooks(self) -> bool:
        """Receivers on this machine (plain HTTP, loopback addresses) are allowed on the local and
        test stages only; everywhere else webhooks must be https to public addresses."""
        return self.stage in {"local", "test"}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        stage = env.get("VIGIL_STAGE", "local")
        secret = env.get("VIGIL_ACK_SECRET") or None
        secret_arn = env.get("VIGIL_ACK_SECRET_ARN") or None
        if secret is None and secret_arn is None:
            if stage not in LOCAL_STAGES:
                raise SettingsError(
                    f"stage {stage}: set VIGIL_ACK_SECRET_ARN (the template's link-signing secret)"
                )
            secret = LOCAL_ACK_SECRET
        if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"VIGIL_ACK_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        settings = cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            public_base_url=_public_url(env.get("VIGIL_PUBLIC_URL"), in_lambda=LAMBDA_MARKER in env),
            sender_email=env.get("VIGIL_SENDER_EMAIL") or LOCAL_SENDER,
            ack_secret=secret.encode() if secret is not None else None,
            max_body_bytes=int(env.get("VIGIL_MAX_BODY_BYTES", str(256 * 1024))),
            send_lease=timedelta(seconds=int(env.get("VIGIL_SEND_LEASE_SECONDS", "120"))),
            retry_scale=float(env.get("VIGIL_RETRY_SCALE", "1")),
            log_level=env.get("VIGIL_LOG_LEVEL", "INFO"),
            log_json=env.get("VIGIL_LOG_FORMAT", "json" if LAMBDA_MARKER in env else "console") == "json",
            ses_configuration_set=env.get("VIGIL_SES_CONFIGURATION_SET") or None,
            inbound_mail_bucket=env.get("VIGIL_INBOUND_MAIL_BUCKET") or None,
            digest_bucket=env.get("VIGIL_DIGEST_BUCKET") or None,
            admin_emails=tuple(a.strip() for a in env.get("VIGIL_ADMIN_EMAILS", "").split(",") if a.strip()),
            ack_secret_arn=secret_arn,
            retention=timedelta(days=_retention_days(env.get("VIGIL_RETENTION_DAYS"))),
        )
        if LAMBDA_MARKER in env:
            settings.check_deployed()
        return settings

    def check_deployed(self) -> None:
        """A function in AWS refuses the local stack's defaults, naming the template parameter to set:
        mail from an example.gov sender, no admin to tell, links to this machine, a secret in its
        environment."""
        if self.stage in LOCAL_STAGES:
            raise SettingsError(
                f"stage {self.stage} is for this machine only; deploy dev, prod or another stage"
            )
        problems = []
        if self.sender_email.lower().endswith(("example.gov", "example.org", "example.com")):
            problems.append("SenderEmail: the address Vigil sends from (a domain verified in SES)")
        if not self.admin_emails:
            problems.append("AdminEmails: who is told when a notice reaches its last escalation step")
        if self.ack_secret is not None:
            problems.append(
                "VIGIL_ACK_SECRET must not be set: the link-signing secret is kept by Secrets Manager"
            )
        if self.ack_secret_arn is None:
            problems.append("VIGIL_ACK_SECRET_ARN: the template's link-signing secret")
        if problems:
            raise SettingsError(f"stage {self.stage} cannot start; set: " + "; ".join(problems))


def _retention_days(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_RETENTION_DAYS
    if not raw.strip().isdigit() or int(raw) < 1:
        raise SettingsError(f"VIGIL_RETENTION_DAYS must be a whole number of days, 1 or more, got {raw!r}")
    return int(raw)


def _public_url(raw: str | None, *, in_lambda: bool) -> str | None:
    """The public URL without a trailing slash. Outside AWS, the local stack's address by default; in
    AWS, None when not configured (the API takes it from each request) and never this machine's."""
    if not raw:
        return None if in_lambda else LOCAL_PUBLIC_URL
    url = raw.rstrip("/")
    if in_lambda and urlsplit(url).hostname in {"127.0.0.1", "localhost", "::1"}:
        raise SettingsError(f"PublicUrl (VIGIL_PUBLIC_URL) {raw!r} points at the machine it runs on")
    return url


def stage_name(env: Mapping[str, str] | None = None) -> str:
    """The stage alone, for app.py's event-source decorators (evaluated at import and at package time)."""
    return (os.environ if env is None else env).get("VIGIL_STAGE", "local")


def resource_name(stage: str, name: str) -> str:
    """Physical name of a resource declared in infra/template.yaml."""
    return f"vigil-{stage}-{name}"
