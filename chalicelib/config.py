"""Settings.from_env(): the only reader of os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Settings:
    stage: str
    region: str
    endpoint_url: str | None
    public_base_url: str
    sender_email: str
    ack_secret: bytes
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
    # SES configuration set whose event destination is the feedback topic (bounces, complaints).
    ses_configuration_set: str | None = None
    # Where the last escalation step of a policy ("notify": "admins") sends its email.
    admin_emails: tuple[str, ...] = ()

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
        secret = env.get("VIGIL_ACK_SECRET", "")
        if not secret:
            if stage not in {"local", "test"}:
                # A guessable default would let anyone forge acknowledgment links in production.
                raise RuntimeError("VIGIL_ACK_SECRET must be set outside the local stage")
            secret = "local-only-ack-secret"  # noqa: S105  # refused above outside local and test stages
        return cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            public_base_url=env.get("VIGIL_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            sender_email=env.get("VIGIL_SENDER_EMAIL", "alerts@vigil.example.gov"),
            ack_secret=secret.encode(),
            max_body_bytes=int(env.get("VIGIL_MAX_BODY_BYTES", str(256 * 1024))),
            send_lease=timedelta(seconds=int(env.get("VIGIL_SEND_LEASE_SECONDS", "120"))),
            retry_scale=float(env.get("VIGIL_RETRY_SCALE", "1")),
            log_level=env.get("VIGIL_LOG_LEVEL", "INFO"),
            log_json=env.get("VIGIL_LOG_FORMAT", "json" if "AWS_LAMBDA_FUNCTION_NAME" in env else "console")
            == "json",
            ses_configuration_set=env.get("VIGIL_SES_CONFIGURATION_SET") or None,
            inbound_mail_bucket=env.get("VIGIL_INBOUND_MAIL_BUCKET") or None,
            admin_emails=tuple(a.strip() for a in env.get("VIGIL_ADMIN_EMAILS", "").split(",") if a.strip()),
        )


def stage_name(env: Mapping[str, str] | None = None) -> str:
    """The stage alone, for app.py's event-source decorators (evaluated at import and at package time)."""
    return (os.environ if env is None else env).get("VIGIL_STAGE", "local")


def resource_name(stage: str, name: str) -> str:
    """Physical name of a resource declared in infra/template.yaml."""
    return f"vigil-{stage}-{name}"
