"""Composition root: builds adapters from Settings. The only place boto3 clients are made."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from chalicelib.adapters.ack_code_store import DynamoAckCodeStore
from chalicelib.adapters.ack_log import DynamoAckLog
from chalicelib.adapters.contact_store import DynamoContactStore
from chalicelib.adapters.delivery_store import DynamoDeliveryStore
from chalicelib.adapters.digest_store import S3DigestStore
from chalicelib.adapters.facility_store import DynamoFacilityStore
from chalicelib.adapters.key_store import DynamoKeyStore
from chalicelib.adapters.mail_store import S3MailStore
from chalicelib.adapters.notice_store import DynamoNoticeStore
from chalicelib.adapters.policy_store import DynamoPolicyStore
from chalicelib.adapters.rate_limits import DynamoRateLimiter
from chalicelib.adapters.rotation_store import DynamoRotationStore
from chalicelib.adapters.secrets import SecretsManagerSigningKeys
from chalicelib.adapters.ses import SesEmailSender
from chalicelib.adapters.sns import SnsSmsSender
from chalicelib.adapters.sqs import SqsWorkQueue
from chalicelib.adapters.subscriber_store import DynamoSubscriberStore
from chalicelib.adapters.trusted_sender_store import DynamoTrustedSenderStore
from chalicelib.adapters.url_guard import UnsafeUrl, check_webhook_url
from chalicelib.adapters.webhooks import HttpWebhookSender
from chalicelib.config import Settings, SettingsError
from chalicelib.data import load_registry
from chalicelib.domain.jurisdictions import JurisdictionRegistry
from chalicelib.domain.subscribers import Channel, ChannelRef, ChannelType
from chalicelib.domain.tokens import (
    AckTarget,
    Purpose,
    SigningKeys,
    make_ack_token,
    make_channel_token,
    make_verify_token,
)
from chalicelib.ports import (
    AckCodeStore,
    AckLog,
    ContactStore,
    DeliveryStore,
    DigestStore,
    FacilityStore,
    KeyStore,
    LinkSecrets,
    MailStore,
    NoticeStore,
    PolicyStore,
    RateLimiter,
    RotationStore,
    Senders,
    SubscriberStore,
    SubscriptionIndex,
    TrustedSenderStore,
    WebhookSender,
    WorkQueue,
)
from chalicelib.services.place_graph import PlaceGraph
from chalicelib.usecases import UseCases, utcnow

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient

    from chalicelib.services.facilities import Keepers
    from chalicelib.services.inbound import MailDesk
    from chalicelib.services.sms_replies import Inbox
    from chalicelib.services.subscribers import Consent

# The address an HTTP request came to (https://<host>/<stage>), set by the edge for each request:
# links made while answering it point there when the stage has no configured public URL.
REQUEST_PUBLIC_URL: ContextVar[str | None] = ContextVar("request_public_url", default=None)

# Lambda's own timeout bounds everything; these keep one slow AWS call from eating it whole.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10)


@dataclass
class Deps:
    settings: Settings
    # The places requests name: the shipped graph and the admins' facilities (``registry``).
    places: PlaceGraph
    notices: NoticeStore
    subscribers: SubscriberStore
    index: SubscriptionIndex
    deliveries: DeliveryStore
    keys: KeyStore
    route_queue: WorkQueue
    send_queue: WorkQueue
    send_dead_letters: WorkQueue
    senders: Senders
    ack_log: AckLog
    policies: PolicyStore
    codes: AckCodeStore
    contacts: ContactStore
    limits: RateLimiter
    mail: MailStore
    # The addresses and domains trusted to send or forward notices by email.
    trusted_senders: TrustedSenderStore
    # The daily digests of every chain's head (a bucket under Object Lock).
    digests: DigestStore
    # The correctional facilities admins add, in every state.
    facilities: FacilityStore
    # Duty rotations: who of a role at a place is on duty.
    rotations: RotationStore
    # Why a webhook URL may not be used (it reaches a private network), or None.
    webhook_guard: Callable[[str], str | None] = lambda _url: None
    # Where the link-signing secret is kept: Secrets Manager on a deployed stage; None takes the
    # settings' own secret (the local and test stages).
    signing: LinkSecrets | None = None

    @property
    def registry(self) -> JurisdictionRegistry:
        """Every place a request may name, the admins' facilities included (``PlaceGraph``)."""
        return self.places.current()

    @property
    def admins(self) -> list[Channel]:
        return [Channel(ChannelType.EMAIL, address) for address in self.settings.admin_emails]

    def signing_keys(self) -> SigningKeys:
        if self.signing is not None:
            return self.signing.keys()
        if self.settings.ack_secret is None:
            raise SettingsError(
                "no link-signing secret: set VIGIL_ACK_SECRET_ARN (or, on this machine, VIGIL_ACK_SECRET)"
            )
        return SigningKeys.of(self.settings.ack_secret)

    def public_url(self) -> str:
        """Where links point: the configured public URL, or the address the current request came to."""
        url = self.settings.public_base_url or REQUEST_PUBLIC_URL.get()
        if url is None:
            raise SettingsError("no public URL for links: set the PublicUrl parameter (VIGIL_PUBLIC_URL)")
        return url

    def ack(self, target: AckTarget) -> str:
        return f"{self.public_url()}/ack/{make_ack_token(self.signing_keys().current, target)}"

    def verify(self, ref: ChannelRef, *, issued: datetime) -> str:
        token = make_verify_token(self.signing_keys().current, ref, issued=issued)
        return f"{self.public_url()}/verify/{token}"

    def unsubscribe(self, ref: ChannelRef) -> str:
        token = make_channel_token(self.signing_keys().current, Purpose.UNSUBSCRIBE, ref)
        return f"{self.public_url()}/unsubscribe/{token}"

    # The services behind consent, desk and inbox are imported on first use, not at module level:
    # every Lambda function imports this module, and most never need them (cold start, docs/benchmarks.md §2).

    @property
    def consent(self) -> Consent:
        from chalicelib.services.subscribers import Consent  # noqa: PLC0415  # cold start: see above

        return Consent(
            contacts=self.contacts,
            codes=self.codes,
            senders=self.senders,
            links=self,
            webhook_guard=self.webhook_guard,
            ack_log=self.ack_log,
        )

    @property
    def desk(self) -> MailDesk:
        from chalicelib.services.inbound import MailDesk  # noqa: PLC0415  # cold start: see above

        return MailDesk(
            mail=self.mail,
            notices=self.notices,
            index=self.index,
            registry=self.registry,
            policies=self.policies,
            route_queue=self.route_queue,
            contacts=self.contacts,
            subscribers=self.subscribers,
            senders=self.senders,
            admins=self.admins,
            ack_log=self.ack_log,
            trusted=self.trusted_senders,
        )

    @property
    def keepers(self) -> Keepers:
        from chalicelib.services.facilities import Keepers  # noqa: PLC0415  # cold start: see above

        return Keepers(
            facilities=self.facilities,
            graph=self.places,
            subscribers=self.subscribers,
            index=self.index,
            ack_log=self.ack_log,
        )

    @property
    def inbox(self) -> Inbox:
        from chalicelib.services.sms_replies import Inbox  # noqa: PLC0415  # cold start: see above

        return Inbox(
            codes=self.codes,
            contacts=self.contacts,
            notices=self.notices,
            deliveries=self.deliveries,
            subscribers=self.subscribers,
            policies=self.policies,
            ack_log=self.ack_log,
            limits=self.limits,
        )


def _client(session: boto3.session.Session, service: str, settings: Settings) -> Any:
    return session.client(  # type: ignore[call-overload]  # service names are checked by botocore at run time
        service, region_name=settings.region, endpoint_url=settings.endpoint_url, config=CLIENT_CONFIG
    )


def build(
    settings: Settings,
    *,
    session: boto3.session.Session | None = None,
    webhook_sender: WebhookSender | None = None,
) -> Deps:
    session = session or boto3.session.Session()
    dynamodb: DynamoDBClient = _client(session, "dynamodb", settings)
    sqs: SQSClient = _client(session, "sqs", settings)
    sesv2: SESV2Client = _client(session, "sesv2", settings)
    sns: SNSClient = _client(session, "sns", settings)
    s3 = _client(session, "s3", settings)
    name = settings.resource
    facilities = DynamoFacilityStore(name("facilities"), dynamodb)
    places = PlaceGraph(load_registry(), facilities, clock=time.monotonic)
    subscribers = DynamoSubscriberStore(name("subscribers"), name("subscriptions"), dynamodb, places.current)
    return Deps(
        settings=settings,
        places=places,
        notices=DynamoNoticeStore(name("notices"), dynamodb),
        subscribers=subscribers,
        index=subscribers,
        deliveries=DynamoDeliveryStore(name("deliveries"), dynamodb),
        keys=DynamoKeyStore(name("api-keys"), dynamodb),
        route_queue=SqsWorkQueue(name("route"), sqs),
        send_queue=SqsWorkQueue(name("send"), sqs),
        send_dead_letters=SqsWorkQueue(name("send-dlq"), sqs),
        senders=Senders(
            email=SesEmailSender(
                settings.sender_email, sesv2, configuration_set=settings.ses_configuration_set
            ),
            sms=SnsSmsSender(sns),
            webhook=webhook_sender or HttpWebhookSender(allow_private=settings.allows_local_webhooks),
        ),
        ack_log=DynamoAckLog(name("ack-log"), dynamodb, notices_table=name("notices")),
        policies=DynamoPolicyStore(name("policies"), dynamodb),
        codes=DynamoAckCodeStore(name("ack-codes"), dynamodb),
        contacts=DynamoContactStore(name("contacts"), dynamodb),
        limits=DynamoRateLimiter(name("rate-limits"), dynamodb),
        mail=S3MailStore(settings.inbound_mail_bucket or f"vigil-{settings.stage}-inbound-mail", s3),
        trusted_senders=DynamoTrustedSenderStore(name("trusted-senders"), dynamodb),
        digests=S3DigestStore(settings.digest_bucket or f"vigil-{settings.stage}-log-digests", s3),
        facilities=facilities,
        rotations=DynamoRotationStore(name("rotations"), dynamodb),
        webhook_guard=functools.partial(webhook_refusal, allow_private=settings.allows_local_webhooks),
        signing=(
            SecretsManagerSigningKeys(settings.ack_secret_arn, _client(session, "secretsmanager", settings))
            if settings.ack_secret_arn
            else None
        ),
    )


def webhook_refusal(url: str, *, allow_private: bool) -> str | None:
    """Why a webhook URL may not be used (it reaches a private network or does not resolve), or None."""
    try:
        check_webhook_url(url, allow_private=allow_private)
    except UnsafeUrl as exc:
        return exc.reason
    return None


_current: Deps | None = None
_bound: UseCases | None = None


def deps() -> Deps:
    """The container's dependencies, built on first use (never at import: moto must start first)."""
    global _current  # noqa: PLW0603  # one set of clients per Lambda container is the point
    if _current is None:
        _current = build(Settings.from_env())
    return _current


def usecases() -> UseCases:
    """Every use case bound to the container's dependencies, once: what entry points call."""
    global _bound  # noqa: PLW0603  # see deps()
    if _bound is None:
        _bound = UseCases(deps())
    return _bound


def use(replacement: Deps | None, *, clock: Callable[[], datetime] | None = None) -> None:
    """Install dependencies built elsewhere (the local stack, tests), and the clock use cases read
    (tests); None forgets them."""
    global _current, _bound  # noqa: PLW0603  # see deps()
    _current = replacement
    _bound = None if replacement is None else UseCases(replacement, clock=clock or utcnow)
