"""What batching would save: the measured counts, re-derived for each change."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.delivery.results import Invocation, Result
from chalicelib.domain.deliveries import DELIVERIES_PER_MESSAGE

TRANSACT_LIMIT = 100
BATCH_GET_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Projection:
    label: str
    overhead: float

    def per(self, deliveries: int) -> float:
        return self.overhead / deliveries if deliveries else math.nan


def _per_invocation(invocations: Sequence[Invocation], size: Callable[[Invocation], int], limit: int) -> int:
    return sum(math.ceil(size(i) / limit) for i in invocations if size(i))


def projections(result: Result) -> list[Projection]:
    """Overhead if the deliver step did more of its work once per invocation (up to 10 messages,
    one notice) instead of once per message, from this run's own counts and invocation shapes.

    Already once per invocation in the code measured: the ack-log append and the notice's GetItem;
    already once per message: the reply codes of its texts."""
    deliver = result.phases["deliver"].usage.calls
    invocations = result.send_invocations
    messages = sum(len(i.messages) for i in invocations)

    def calls(op: str, table_part: str) -> int:
        return sum(
            n for (svc, o, t), n in deliver.items() if svc == "dynamodb" and o == op and table_part in t
        )

    def deliveries_of(i: Invocation, channel: str | None = None) -> int:
        return sum(n for c, n in i.messages if channel is None or c == channel)

    base = float(result.overhead)
    gets = calls("BatchGetItem", "deliveries") + calls("BatchGetItem", "subscribers")
    gets_batched = 2 * _per_invocation(invocations, deliveries_of, BATCH_GET_LIMIT)
    claims = calls("TransactWriteItems", "deliveries")
    claims_batched = _per_invocation(invocations, deliveries_of, TRANSACT_LIMIT)
    codes = calls("TransactWriteItems", "ack-codes")
    codes_batched = _per_invocation(invocations, lambda i: deliveries_of(i, "sms"), TRANSACT_LIMIT)
    # The message already names its deliveries; carrying channel, address, subscriber and role too
    # (and reading the item back only when a claim's condition fails) drops the first BatchGetItem.
    read_before_claim = calls("BatchGetItem", "deliveries")
    out = [
        Projection("as measured", base),
        Projection(
            "deliveries+subscribers BatchGetItem per invocation (100 keys)",
            base - gets + gets_batched,
        ),
        Projection(
            "claim: one TransactWriteItems per invocation (100 items)", base - claims + claims_batched
        ),
    ]
    if codes:
        out.append(
            Projection("SMS codes: one TransactWriteItems per invocation", base - codes + codes_batched)
        )
    out.append(
        Projection(
            "message carries the delivery rows (no BatchGetItem before the claim)",
            base - read_before_claim,
        )
    )
    everything = base - (gets - gets_batched) - (claims - claims_batched) - (codes - codes_batched)
    out.append(Projection("all of the above per invocation (keeps the read before the claim)", everything))
    # The other lever: bigger messages (100 deliveries) and the same per-message code.
    if messages:
        # BatchWriteItem's 25 items stay as many requests; the reads, claims and codes take 100.
        per_message = gets + claims + codes
        out.append(
            Projection(
                "100 deliveries per send message instead of 25 (code unchanged)",
                base - per_message + per_message * DELIVERIES_PER_MESSAGE / 100,
            )
        )
    return out
