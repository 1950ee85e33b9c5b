"""The cost model: list prices applied to a scenario's request units, billed requests and an
estimate of its Lambda time in AWS (docs/benchmarks.md gives the sources)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.delivery.results import Result

# us-east-1 list prices (see docs/benchmarks.md for sources and date).
PRICE_WRU = 0.625 / 1e6  # DynamoDB on-demand, per write request unit
PRICE_RRU = 0.125 / 1e6  # per read request unit
PRICE_SQS = 0.40 / 1e6  # SQS standard, per request (64 KiB chunk), after the free tier
PRICE_SES = 0.10 / 1000  # SES outbound email, per message
PRICE_SMS = 0.00581 + 0.0035  # per US SMS segment: AWS base + a typical carrier fee (varies by carrier)
PRICE_LAMBDA_GBS = 0.0000133334  # arm64, per GB-second
PRICE_LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB = 0.5  # .chalice/config.json: lambda_memory_size 512
# Assumed latency of each call in AWS from a Lambda in the same region (not measured here).
LATENCY_SECONDS = {"dynamodb": 0.006, "sqs": 0.012, "sesv2": 0.040, "sns": 0.040}
LATENCY_WEBHOOK = 0.150


@dataclass(frozen=True, slots=True)
class Cost:
    dynamodb: float
    sqs_vigil: float
    sqs_esm: float
    lambda_: float
    messages: float  # SES + SMS: the unavoidable part
    lambda_seconds: float  # estimated Lambda duration in AWS for this fan-out

    @property
    def overhead(self) -> float:
        return self.dynamodb + self.sqs_vigil + self.sqs_esm + self.lambda_


def cost(result: Result) -> Cost:
    usage = result.usage
    wru = usage.total(usage.wru)
    rru = usage.total(usage.rru)
    sqs_vigil = sum(n for (svc, _, _), n in usage.sqs_billed.items() if svc == "sqs")
    sqs_esm = sum(result.esm_usage.sqs_billed.values())
    # Lambda: this process's time in the handlers, minus the time inside AWS calls and webhook
    # POSTs (moto and the receiver, here), plus each call at the assumed AWS latency.
    handler_seconds = sum(i.seconds for i in result.route_invocations + result.send_invocations)
    route_deliver = result.phases["route"].usage + result.phases["deliver"].usage
    inside_calls = sum(route_deliver.seconds.values())
    own = max(0.0, handler_seconds - inside_calls - result.webhook_seconds)
    calls_in_aws = sum(n * LATENCY_SECONDS.get(svc, 0.02) for (svc, _, _), n in route_deliver.calls.items())
    duration = own + calls_in_aws + result.provider["POST"] * LATENCY_WEBHOOK
    invocations = len(result.route_invocations) + len(result.send_invocations) + 1  # + the API call
    lambda_cost = duration * LAMBDA_GB * PRICE_LAMBDA_GBS + invocations * PRICE_LAMBDA_REQUEST
    messages = result.provider["SendEmail"] * PRICE_SES + result.provider["Publish"] * PRICE_SMS
    return Cost(
        dynamodb=wru * PRICE_WRU + rru * PRICE_RRU,
        sqs_vigil=sqs_vigil * PRICE_SQS,
        sqs_esm=sqs_esm * PRICE_SQS,
        lambda_=lambda_cost,
        messages=messages,
        lambda_seconds=duration,
    )
