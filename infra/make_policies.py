"""Write the least-privilege IAM policy of every Lambda function, for every stage, from one table.

Chalice runs with ``autogen_policy: false`` and one ``iam_policy_file`` per function
(``.chalice/policy-<stage>-<function>.json``). Those files are generated here, from NEEDS below,
so the stages cannot drift apart; the outputs are committed.

    python infra/make_policies.py            # (re)write the files
    python infra/make_policies.py --check    # exit 1 if a file is missing, stale or unexpected

Notes on what IAM can and cannot express:
- DynamoDB transactions (TransactWriteItems) are authorized per item action: PutItem,
  UpdateItem, DeleteItem and ConditionCheckItem. There is no ``dynamodb:TransactWriteItems``
  IAM action, so a function that claims deliveries in a transaction gets those item actions.
- SMS sent straight to a phone number through ``sns:Publish`` has no resource ARN, so
  ``sns:Publish`` is granted on ``*`` to the functions that send SMS. No function publishes to a
  topic, so publishing to the stage's own topics (``vigil-<stage>-*``: inbound texts, SES feedback,
  inbound mail, alarms) is denied outright: a function cannot forge what the others consume.
- The inbound-mail bucket is ``vigil-<stage>-inbound-mail-<account id>``, the log-digest bucket
  ``vigil-<stage>-log-digests-<account id>``; the account id is not known to a static file, so
  their ARNs end in ``*``. Only the digest function may put an object there, and only under
  ``digests/``; readers list that prefix alone (``s3:prefix``) to find the newest digest.
- The link-signing secret's ARN ends in six random characters Secrets Manager adds to its name
  (``vigil-<stage>-link-signing-??????`` matches that secret and no other); ``infra/package.py``
  replaces the pattern with the secret's own ARN in the packaged template.
- Log groups are created by the packaged template (with their retention), never by a function:
  no function may create one (a group Lambda creates keeps its logs forever).
- Email goes out through SES v2's SendEmail, which IAM authorizes as ``ses:SendEmail`` whatever
  the content; nothing sends through v1's SendRawEmail.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CHALICE_DIR = REPO_ROOT / ".chalice"

APP_NAME = "vigil"
STAGES = ("local", "dev", "prod")
TABLES = (
    "notices",
    "subscribers",
    "subscriptions",
    "deliveries",
    "ack-log",
    "api-keys",
    "policies",
    "ack-codes",
    "contacts",
    "rate-limits",
    "trusted-senders",
    "facilities",
    "rotations",
)
TABLES_WITH_INDEXES = frozenset({"notices", "subscriptions"})  # open-by-due, by-subscriber
QUEUES = ("route", "send", "send-dlq")

# Append an entry (a conditional put, in one transaction with the chain's head: the notice's
# UpdateItem, or the audit trail's head item, a PutItem here), read the chain.
ACK_LOG = ("PutItem", "Query")
DIGEST_PREFIX = "digests/"
SQS_SEND = ("SendMessage", "GetQueueUrl")  # SendMessageBatch is authorized as SendMessage
SQS_CONSUME = (
    "ReceiveMessage",
    "DeleteMessage",
    "GetQueueAttributes",
    "ChangeMessageVisibility",
    "GetQueueUrl",
)
# What the API's routes do with each table; nothing more. The ack log is appended to (a conditional
# put) and read, never changed or deleted; only the subscriptions index is batch-written (its rows
# follow their subscriber); only the admin listings scan.
API_TABLES: dict[str, tuple[str, ...]] = {
    # ingest and triage add; decisions, triage, acknowledgment and the admin sweep update; lists,
    # reports and the sweep query the indexes
    "notices": ("GetItem", "PutItem", "UpdateItem", "Query"),
    # Scan: the admin list, coverage; BatchGetItem: rotations' members, and who an admin sweep's
    # rotation steps reach
    "subscribers": ("GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan"),
    "subscriptions": ("Query", "BatchWriteItem"),  # who is covered; index rows of a saved subscriber
    # opened links read deliveries; an acknowledgment is a conditional put (the deliveries of a
    # decision or an admin sweep are only enqueued: the send step's claim creates their rows)
    "deliveries": ("BatchGetItem", "PutItem", "Query"),
    "ack-log": ACK_LOG,
    "api-keys": ("GetItem", "PutItem", "UpdateItem", "Scan"),  # authenticate, create, revoke, list
    "policies": ("GetItem", "PutItem"),
    "ack-codes": ("PutItem",),  # a new phone's confirmation code (a conditional put in a transaction)
    "contacts": ("GetItem", "PutItem", "DeleteItem"),  # claim, release, who forwarded a message
    "rate-limits": ("GetItem", "UpdateItem"),  # failed link guesses by source address
    # the admins' list (a Scan), add and remove; whether a forwarder is trusted
    "trusted-senders": ("GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan"),
    "facilities": ("GetItem", "PutItem", "Scan"),  # show, add and change; the place graph (PLACES)
    # the admins' routes (list and coverage scan); an admin sweep reads a notice's places' rotations
    "rotations": ("GetItem", "BatchGetItem", "PutItem", "DeleteItem", "Scan"),
}
# Every function that reads the place graph (names, routes, or rewrites a subscriber's index rows,
# which lie under the places above its subscriptions) reads the admins' facilities: one Scan per
# container a minute (services/place_graph.py).
PLACES = ("Scan",)
LINK_SIGNING = "link-signing"  # vigil-<stage>-link-signing: the template's LinkSigningSecret
# Secrets Manager appends "-" and six random characters to a secret's name to make its ARN.
ARN_SUFFIX = "-??????"


@dataclass(frozen=True)
class Needs:
    """What one function does with AWS: DynamoDB actions per table, SQS actions per queue, ..."""

    tables: Mapping[str, tuple[str, ...]]
    queues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inbound_mail: tuple[str, ...] = ()  # s3 actions on objects of the inbound-mail bucket
    # s3 actions on the log-digest bucket's digests/ prefix (ListBucket: listing that prefix alone)
    digests: tuple[str, ...] = ()
    ses: tuple[str, ...] = ()
    sns_publish: bool = False


NEEDS: dict[str, Needs] = {
    "api_handler": Needs(
        tables=API_TABLES,
        queues={"route": SQS_SEND, "send": SQS_SEND},
        inbound_mail=("PutObject", "GetObject"),  # mail posted to /inbound/email; triage reads it back
        digests=("GetObject", "ListBucket"),  # the newest digest, to verify a log against it
        ses=("SendEmail",),  # confirmations, test messages, admin notes
        sns_publish=True,  # confirmation codes and test texts
    ),
    "on_route_message": Needs(
        tables={
            "facilities": PLACES,
            "notices": ("GetItem", "UpdateItem"),
            "subscriptions": ("Query",),
            "subscribers": ("BatchGetItem",),
            "ack-log": ACK_LOG,
            "policies": ("GetItem",),
            "rotations": ("BatchGetItem",),  # who is on duty at the notice's place and above it
        },
        queues={"route": SQS_CONSUME, "send": SQS_SEND},
    ),
    "on_send_message": Needs(
        tables={
            "facilities": PLACES,
            "notices": ("GetItem", "UpdateItem"),
            # the claim (conditional puts in a transaction), the record of outcomes, and the rows of
            # a message that names its deliveries only (a redrive)
            "deliveries": ("PutItem", "BatchWriteItem", "BatchGetItem"),
            "ack-log": ACK_LOG,
            "ack-codes": ("PutItem",),
            # webhook secrets and channel state at send time; a webhook's health after each send
            "subscribers": ("GetItem", "BatchGetItem", "PutItem"),
            "subscriptions": ("BatchWriteItem",),  # the index mirrors channel state
        },
        # Log entries the ack log refused go back on the send queue to be written later; permanent
        # failures go straight to the DLQ.
        queues={"send": SQS_CONSUME + SQS_SEND, "send-dlq": SQS_SEND},
        ses=("SendEmail",),
        sns_publish=True,
    ),
    "on_sweep_tick": Needs(
        tables={
            "facilities": PLACES,
            "notices": ("Query", "GetItem", "UpdateItem"),
            "deliveries": ("Query",),  # acknowledgments; a step's deliveries are only enqueued
            "ack-log": ACK_LOG,
            "policies": ("GetItem",),
            "subscriptions": ("Query",),
            "subscribers": ("GetItem", "BatchGetItem"),
            "rotations": ("BatchGetItem",),  # who a step reaches depends on who is on duty
        },
        queues={"send": SQS_SEND},
        ses=("SendEmail",),
        sns_publish=True,
    ),
    "on_sms_inbound": Needs(
        tables={
            "facilities": PLACES,
            "ack-codes": ("GetItem", "Query", "DeleteItem"),
            "deliveries": ("GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"),
            "notices": ("GetItem", "UpdateItem"),
            "policies": ("GetItem",),
            "ack-log": ACK_LOG,
            "contacts": ("GetItem",),  # STOP/START: which subscriber owns the number
            "rate-limits": ("UpdateItem", "GetItem"),  # wrong reply codes per phone
            "subscribers": ("GetItem", "PutItem", "UpdateItem"),
            "subscriptions": ("BatchWriteItem",),  # the index mirrors channel state
        },
        ses=("SendEmail",),  # admins are told when a required recipient texts STOP
        sns_publish=True,  # the reply
    ),
    "on_ses_feedback": Needs(
        tables={
            "facilities": PLACES,
            # a bounced delivery is recorded; a required recipient's step goes out on their other
            # channels (enqueued: the send step's claim creates their rows)
            "deliveries": ("BatchGetItem", "BatchWriteItem", "Query"),
            "notices": ("GetItem", "UpdateItem"),  # UpdateItem: the log's head, with each entry
            "subscribers": ("GetItem", "PutItem"),  # the channel is marked bounced or opted out
            "subscriptions": ("BatchWriteItem",),  # the index mirrors channel state
            "ack-log": ACK_LOG,
        },
        queues={"send": SQS_SEND},
        ses=("SendEmail",),  # admins are told when a required recipient can no longer be reached
    ),
    "on_inbound_email": Needs(
        tables={
            "facilities": PLACES,
            "notices": ("GetItem", "PutItem", "UpdateItem"),
            "ack-log": ACK_LOG,
            "subscriptions": ("Query",),
            "subscribers": ("GetItem", "BatchGetItem"),  # ingest reports coverage gaps by role
            "policies": ("GetItem",),
            # Who may alarm anyone: trusted senders, and subscribers' confirmed addresses (contacts),
            # which also tell whether a notice's original recipients included anyone who must act.
            "trusted-senders": ("BatchGetItem",),
            "contacts": ("GetItem",),
        },
        queues={"route": SQS_SEND},
        inbound_mail=("GetObject",),
        ses=("SendEmail",),  # the admins' email about a message held for triage
    ),
    "on_digest_tick": Needs(
        tables={
            "notices": ("Scan",),  # every notice's log head (the id and the head only), once a day
            "ack-log": ("Query",),  # the audit trail's head (a partition of its own)
        },
        digests=("PutObject", "GetObject", "ListBucket"),  # the day's digest, chained to the newest
    ),
}


def function_name(stage: str, function: str) -> str:
    """The Lambda function's name as Chalice deploys it (the API handler is just app-stage)."""
    return f"{APP_NAME}-{stage}" if function == "api_handler" else f"{APP_NAME}-{stage}-{function}"


def log_group_name(stage: str, function: str) -> str:
    """The function's log group, created by the packaged template with the stage's retention."""
    return f"/aws/lambda/{function_name(stage, function)}"


def policy_file_name(stage: str, function: str) -> str:
    return f"policy-{stage}-{function}.json"


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources if len(resources) > 1 else resources[0],
    }


def _sid(prefix: str, name: str) -> str:
    return prefix + "".join(part.title() for part in name.split("-"))


def policy(stage: str, function: str) -> dict[str, Any]:
    """The IAM policy document of one function in one stage."""
    needs = NEEDS[function]
    log_group = f"arn:aws:logs:*:*:log-group:{log_group_name(stage, function)}"
    statements = [
        _statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group, f"{log_group}:*"]),
        _statement(
            "LinkSigningSecret",
            ["secretsmanager:GetSecretValue"],
            [f"arn:aws:secretsmanager:*:*:secret:{APP_NAME}-{stage}-{LINK_SIGNING}{ARN_SUFFIX}"],
        ),
    ]
    for table in TABLES:  # a fixed order, so the files are stable
        actions = needs.tables.get(table)
        if not actions:
            continue
        table_arn = f"arn:aws:dynamodb:*:*:table/{APP_NAME}-{stage}-{table}"
        resources = [table_arn]
        if "Query" in actions and table in TABLES_WITH_INDEXES:
            resources.append(f"{table_arn}/index/*")
        statements.append(
            _statement(_sid("DynamoDB", table), [f"dynamodb:{a}" for a in sorted(set(actions))], resources)
        )
    for queue in QUEUES:
        actions = needs.queues.get(queue)
        if not actions:
            continue
        statements.append(
            _statement(
                _sid("Sqs", queue),
                [f"sqs:{a}" for a in sorted(set(actions))],
                [f"arn:aws:sqs:*:*:{APP_NAME}-{stage}-{queue}"],
            )
        )
    if needs.inbound_mail:
        statements.append(
            _statement(
                "S3InboundMail",
                [f"s3:{a}" for a in sorted(set(needs.inbound_mail))],
                [f"arn:aws:s3:::{APP_NAME}-{stage}-inbound-mail-*/*"],
            )
        )
    if needs.digests:
        bucket = f"arn:aws:s3:::{APP_NAME}-{stage}-log-digests-*"
        objects = sorted(set(needs.digests) - {"ListBucket"})
        if objects:
            statements.append(
                _statement("S3LogDigests", [f"s3:{a}" for a in objects], [f"{bucket}/{DIGEST_PREFIX}*"])
            )
        if "ListBucket" in needs.digests:
            listing = _statement("S3LogDigestsList", ["s3:ListBucket"], [bucket])
            listing["Condition"] = {"StringLike": {"s3:prefix": [f"{DIGEST_PREFIX}*"]}}
            statements.append(listing)
    if needs.ses:
        statements.append(
            _statement(
                "SesSend",
                [f"ses:{a}" for a in sorted(set(needs.ses))],
                ["arn:aws:ses:*:*:identity/*", f"arn:aws:ses:*:*:configuration-set/{APP_NAME}-{stage}-*"],
            )
        )
    if needs.sns_publish:
        statements.append(_statement("SnsPublish", ["sns:Publish"], ["*"]))
        statements.append(
            {
                "Sid": "NoPublishToOwnTopics",
                "Effect": "Deny",
                "Action": ["sns:Publish"],
                "Resource": f"arn:aws:sns:*:*:{APP_NAME}-{stage}-*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def render_all() -> dict[Path, str]:
    """Every policy file's path and its exact text."""
    return {
        CHALICE_DIR / policy_file_name(stage, function): json.dumps(policy(stage, function), indent=2) + "\n"
        for stage in STAGES
        for function in NEEDS
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    wanted = render_all()
    if args.check:
        problems = [
            f"{path.relative_to(REPO_ROOT)} is missing or stale"
            for path, text in wanted.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        problems += [
            f"{path.relative_to(REPO_ROOT)} is not generated by infra/make_policies.py"
            for path in sorted(CHALICE_DIR.glob("policy-*-*.json"))
            if path not in wanted
        ]
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python infra/make_policies.py", file=sys.stderr)
        return 1 if problems else 0
    CHALICE_DIR.mkdir(exist_ok=True)
    for path, text in wanted.items():
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
