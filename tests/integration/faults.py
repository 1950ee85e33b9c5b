"""Fault injection for tests against moto: make chosen AWS calls fail, and kill a Lambda mid-way.

``FaultInjector`` hooks a boto3 Session's ``before-call`` event, which botocore emits once per API
call a client makes, after the request is serialized and before it is signed and sent (and before
botocore's retry loop). Raising a ``ClientError`` there is what the caller sees when AWS refuses the
call *after* the SDK's own retries ran out; moto is never reached, so nothing of the refused call
takes effect. botocore copies the session's handlers into a client when the client is made, so
install the injector on the session *before* the clients are built; ``bootstrap.build(settings,
session=session)`` makes every one of Vigil's clients from the session it is given, so it is
enough to install first and build after. Clients made earlier, such as a test's own, are untouched.

``CrashAfter`` stands for the Lambda runtime killing an invocation at a chosen point: it raises
``SimulatedCrash``, a ``BaseException`` that no ``except Exception`` in the code under test catches.
"""

from __future__ import annotations

import copy
import functools
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    import boto3
    import pytest

P = ParamSpec("P")
R = TypeVar("R")

# The request parameters of one API call, as the caller passed them.
Params = Mapping[str, Any]

# HTTP status AWS answers with, for the codes tests inject; anything else is a 400.
_STATUS = {
    "InternalServerError": 500,
    "InternalError": 500,
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "TooManyRequestsException": 429,
}


class SimulatedCrash(BaseException):
    """The runtime killed the invocation here (timeout, out of memory, host lost).

    Not an ``Exception``: no handler in the code under test may run, exactly as when a process dies.
    Whoever drives the handlers (the test's queue pump) catches it and leaves the batch on the queue.
    """


@dataclass(frozen=True, slots=True)
class Injection:
    """One refused call: which, with what, and the parameters it carried (to tell what was lost)."""

    service: str
    operation: str
    code: str
    # The call's number among the calls of this operation the injector saw, from 1.
    call: int
    params: Params


@dataclass(slots=True)
class Fault:
    """A rule: refuse matching calls of ``service``/``operation`` with ``code``.

    Of the calls matching ``when`` (all calls, if None), the first ``skip`` go through; after that
    each is refused with ``probability`` until ``times`` have been refused (no limit if None).
    """

    service: str
    operation: str
    code: str
    message: str
    status: int
    times: int | None = 1
    skip: int = 0
    probability: float = 1.0
    when: Callable[[Params], bool] | None = None
    # For TransactionCanceledException: the reason given for the first ``cancel_items`` items of the
    # transaction ("None", i.e. no objection, for the rest), as DynamoDB lists them.
    cancellation_reason: str | None = None
    cancel_items: int = 1
    # Raise this instead of a ClientError (a botocore connection error, say).
    exception: Callable[[], Exception] | None = None
    seen: int = 0
    refused: int = 0

    def matches(self, service: str, operation: str) -> bool:
        return self.service == service and self.operation in {operation, "*"}

    @property
    def spent(self) -> bool:
        return self.times is not None and self.refused >= self.times

    def error(self, params: Params) -> Exception:
        if self.exception is not None:
            return self.exception()
        response: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "RequestId": "injected-fault"},
        }
        if self.cancellation_reason is not None:
            items = list(params.get("TransactItems", []))
            reasons: list[dict[str, str]] = [
                {"Code": self.cancellation_reason, "Message": "injected"}
                if i < self.cancel_items
                else {"Code": "None"}
                for i in range(len(items))
            ]
            response["CancellationReasons"] = reasons
        return ClientError(response, self.operation)  # type: ignore[arg-type]  # a plain dict is the shape


@dataclass
class FaultInjector:
    """Refuses chosen AWS calls of the clients of one Session; records what it refused.

    Reproducible: probabilities draw from ``random.Random(seed)``, so the same calls in the same
    order meet the same faults. Calls are counted per operation. Safe to use from several threads.
    """

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    injected: list[Injection] = field(default_factory=list)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def install(self, session: boto3.Session) -> FaultInjector:
        """Hook every API call of clients made from ``session`` from now on."""
        events = session.events
        # before-call sees the serialized request; the caller's parameters are seen earlier, when
        # the request is built, and kept in the call's context for the rules' ``when``.
        events.register("before-parameter-build", _keep_params, unique_id=f"fault-params-{id(self)}")
        events.register("before-call", self._before_call, unique_id=f"fault-injector-{id(self)}")
        return self

    def fail(
        self,
        service: str,
        operation: str,
        code: str,
        *,
        times: int | None = 1,
        skip: int = 0,
        probability: float = 1.0,
        when: Callable[[Params], bool] | None = None,
        message: str | None = None,
        exception: Callable[[], Exception] | None = None,
    ) -> Fault:
        """Refuse the next ``times`` matching calls (after letting ``skip`` through), each with
        ``probability``. ``service`` and ``operation`` are as in botocore's event names:
        ``dynamodb``/``TransactWriteItems``, ``sesv2``/``SendEmail``, ``sns``/``Publish``; ``"*"``
        is every operation of the service. ``exception`` raises something other than a ClientError
        (``code`` then only names it in the record)."""
        fault = Fault(
            service=service,
            operation=operation,
            code=code,
            message=message or f"injected {code}",
            status=_STATUS.get(code, 400),
            times=times,
            skip=skip,
            probability=probability,
            when=when,
            exception=exception,
        )
        with self._lock:
            self.faults.append(fault)
        return fault

    def cancel_transaction(
        self,
        *,
        reason: str = "ConditionalCheckFailed",
        items: int = 1,
        times: int | None = 1,
        skip: int = 0,
        when: Callable[[Params], bool] | None = None,
    ) -> Fault:
        """Cancel a TransactWriteItems call as DynamoDB does when conditions fail: code
        ``TransactionCanceledException``, ``reason`` for its first ``items`` items."""
        fault = self.fail(
            "dynamodb",
            "TransactWriteItems",
            "TransactionCanceledException",
            times=times,
            skip=skip,
            when=when,
            message="Transaction cancelled, please refer cancellation reasons for specific reasons",
        )
        fault.cancellation_reason = reason
        fault.cancel_items = items
        return fault

    def clear(self) -> None:
        """Forget the rules (what was injected is kept)."""
        with self._lock:
            self.faults.clear()

    def refused(self, service: str | None = None, operation: str | None = None) -> list[Injection]:
        with self._lock:
            return [
                i
                for i in self.injected
                if (service is None or i.service == service)
                and (operation is None or i.operation == operation)
            ]

    def _before_call(self, event_name: str, context: dict[str, Any], **_kwargs: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        params: Params = context.get(_PARAMS, {})
        with self._lock:
            self.calls[service, operation] += 1
            for fault in self.faults:
                if not fault.matches(service, operation) or fault.spent:
                    continue
                if fault.when is not None and not fault.when(params):
                    continue
                fault.seen += 1
                if fault.seen <= fault.skip:
                    continue
                if fault.probability < 1.0 and self._random.random() >= fault.probability:
                    continue
                fault.refused += 1
                self.injected.append(
                    Injection(
                        service, operation, fault.code, self.calls[service, operation], copy.deepcopy(params)
                    )
                )
                raise fault.error(params)


_PARAMS = "fault_injector_params"


def _keep_params(params: Params, context: dict[str, Any], **_kwargs: Any) -> None:
    context[_PARAMS] = params


def table_is(suffix: str) -> Callable[[Params], bool]:
    """A ``when`` for calls on one table, named by its suffix (``"ack-log"``, ``"deliveries"``)."""

    def matches(params: Params) -> bool:
        names: list[str] = [str(params.get("TableName", ""))]
        names += [str(n) for n in params.get("RequestItems", {})]
        names += [
            str(op.get("TableName", ""))
            for item in params.get("TransactItems", [])
            for op in item.values()
            if isinstance(op, Mapping)
        ]
        return any(n.endswith(f"-{suffix}") for n in names)

    return matches


@dataclass
class CrashAfter:
    """Let ``calls`` calls of a function through, then crash the next ``times``.

    By default the crash comes *instead of* the call (it never takes effect); with ``run_first`` the
    call takes effect and the process dies before its caller sees the result.
    """

    calls: int = 0
    times: int = 1
    run_first: bool = False
    passed: int = 0
    crashed: int = 0
    # The positional arguments of each crashed call (what the dead invocation was holding).
    crashed_args: list[tuple[Any, ...]] = field(default_factory=list)

    def wrap(self, function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if self.passed < self.calls or self.crashed >= self.times:
                self.passed += 1
                return function(*args, **kwargs)
            self.crashed += 1
            self.crashed_args.append(args)
            if self.run_first:
                function(*args, **kwargs)
            raise SimulatedCrash(f"crashed in {getattr(function, '__qualname__', function)!s}")

        return wrapper

    def install(self, monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> CrashAfter:
        """Replace ``target.name`` (a method of an adapter, say) for the rest of the test."""
        monkeypatch.setattr(target, name, self.wrap(getattr(target, name)))
        return self
