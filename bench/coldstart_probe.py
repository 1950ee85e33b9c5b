"""The child process of ``bench.coldstart``: one fresh interpreter that imports one module and, for
``app``, answers requests, then prints what that cost as JSON on the last line of its output.

``bench.coldstart`` passes this file's text as ``python -c TEXT MODE MODULE``, with the tree under
test as the working directory, so that ``import app`` finds that tree's app.py (``sys.path[0]`` is
the working directory). The same text runs under every interpreter compared, 3.11 included: the
standard library only, no syntax newer than 3.11, and nothing imported before the clock starts but
json, resource, sys and time (the bare interpreter has already loaded importlib and types).

Modes (the first argument):

- ``import``: the time of ``import MODULE``, by the wall clock and in CPU time; peak resident memory
  (``ru_maxrss``, ``VmHWM``) then.
- ``requests``: ``import app`` as above, then ``GET /health`` twice through ``app.app(event,
  context)`` with a synthetic API Gateway proxy event: the first builds the use cases and the boto3
  clients (``bootstrap.usecases()``), the second finds them built. Peak memory after both as well.
- ``snapstart``: ``import app``, then ``snapstart.before_snapshot()`` (what Lambda runs before it
  takes the snapshot), ``snapstart.after_restore()`` (what it runs after a restore), then the two
  requests.
- ``traced``: the peak of Python allocations (``tracemalloc``) during ``import MODULE``.
- ``network``: ``import app`` and both requests under an audit hook that records every socket event
  (creation, name lookup, connect): the benchmark refuses figures that needed the network.
"""

import importlib
import json
import resource
import sys
import time

_API_HOST = "coldstart.execute-api.us-east-1.amazonaws.com"


def health_event(request_id: str) -> dict[str, object]:
    """API Gateway's REST proxy event (format 1.0) for ``GET /health`` on stage ``api``."""
    headers = {"Accept": "application/json", "Host": _API_HOST, "User-Agent": "bench.coldstart"}
    return {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/health",
            "httpMethod": "GET",
            "path": "/api/health",
            "stage": "api",
            "domainName": _API_HOST,
            "requestId": request_id,
            "identity": {"sourceIp": "192.0.2.10"},
        },
    }


class LambdaContext:
    """The attributes of Lambda's context object that a handler may read."""

    function_name = "vigil-prod-api_handler"
    function_version = "1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:vigil-prod-api_handler:1"
    memory_limit_in_mb = 512
    log_group_name = "/aws/lambda/vigil-prod-api_handler"
    log_stream_name = "coldstart"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def peak_kib() -> tuple[int, int]:
    """(``ru_maxrss``, ``VmHWM``) of this process, KiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open("/proc/self/status", encoding="ascii") as status:
        hwm = int(next(line for line in status if line.startswith("VmHWM")).split()[1])
    return rss, hwm


def origin(module: str) -> str:
    """Where a loaded module came from: the benchmark checks it is the tree under test."""
    return str(getattr(sys.modules[module], "__file__", "") or "")


def clocks() -> tuple[float, float]:
    """(wall clock, this process's CPU time): the CPU time leaves out the waits for a core that a
    shared machine's other work causes, so it moves less with the load than the wall clock."""
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def answer(events: list[dict[str, object]], number: int) -> tuple[tuple[float, float], int, str]:
    """Hand the ``number``-th prepared event to Chalice; ((seconds, CPU seconds), status, body)."""
    handler = sys.modules["app"].app
    started = clocks()
    response = handler(events[number], LambdaContext(f"coldstart-{number}"))
    return since(started), int(response["statusCode"]), str(response.get("body"))


def timed(mode: str, module: str) -> dict[str, object]:
    events = [health_event("coldstart-0"), health_event("coldstart-1")]  # built before the clock starts
    started = clocks()
    importlib.import_module(module)
    imported, imported_cpu = since(started)
    rss, hwm = peak_kib()
    result: dict[str, object] = {
        "seconds": imported,
        "cpu_seconds": imported_cpu,
        "maxrss_kib": rss,
        "hwm_kib": hwm,
        "modules": len(sys.modules),
        "origin": [origin(module), origin("chalicelib") if "chalicelib" in sys.modules else ""],
        "python": sys.version.split()[0],
    }
    if mode == "import":
        return result
    if mode == "snapstart":
        hooks = sys.modules["chalicelib.entrypoints.snapstart"]
        started = clocks()
        hooks.before_snapshot()
        result["before_snapshot_seconds"] = since(started)[0]
        result["modules_in_snapshot"] = len(sys.modules)
        started = clocks()
        hooks.after_restore()
        result["after_restore_seconds"] = since(started)[0]
    (first, first_cpu), first_status, first_body = answer(events, 0)
    (second, _), second_status, _ = answer(events, 1)
    rss_after, _ = peak_kib()
    result.update(
        first_seconds=first,
        first_cpu_seconds=first_cpu,
        second_seconds=second,
        status=[first_status, second_status],
        body=first_body,
        maxrss_after_kib=rss_after,
        modules_after=len(sys.modules),
    )
    return result


def traced(module: str) -> dict[str, object]:
    import tracemalloc  # noqa: PLC0415  # only this mode traces, and before its clock-free import

    tracemalloc.start()
    importlib.import_module(module)
    current, peak = tracemalloc.get_traced_memory()
    return {"peak_bytes": peak, "current_bytes": current, "origin": [origin(module)]}


def network() -> dict[str, object]:
    """Socket events (name and address) during ``import app``, then during both requests."""
    phase = "import"
    seen: dict[str, list[str]] = {"import": [], "requests": []}

    def record(event: str, args: tuple[object, ...]) -> None:
        if event.startswith("socket."):
            seen[phase].append(f"{event} {args[1:]!r}" if len(args) > 1 else event)

    sys.addaudithook(record)
    events = [health_event("coldstart-0"), health_event("coldstart-1")]
    importlib.import_module("app")
    phase = "requests"
    statuses = [answer(events, number)[1] for number in (0, 1)]
    return {"socket_events": seen, "status": statuses, "origin": [origin("app"), origin("chalicelib")]}


def main(argv: list[str]) -> None:
    mode, module = argv
    if mode == "traced":
        result = traced(module)
    elif mode == "network":
        result = network()
    elif mode in {"import", "requests", "snapstart"}:
        result = timed(mode, module)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
