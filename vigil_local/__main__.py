"""``make run``: the whole service on this machine, no AWS account needed.

Environment (the local runner's own settings; the app's come from ``Settings.from_env``):
``VIGIL_HOST`` (127.0.0.1), ``VIGIL_PORT`` (8000), ``VIGIL_MOTO_PORT`` (5005),
``VIGIL_WEBHOOK_PORT`` (8001, the demo webhook receiver), ``VIGIL_ADMIN_KEY`` (when unset: made up
once, kept in the data directory and printed), ``VIGIL_DEMO`` (1: seed the demo subscribers and their
twelve weeks of past notices into an empty stack), ``VIGIL_TICK_SECONDS`` (60: how often the
scheduled handlers run), ``VIGIL_DATA_DIR`` (``.vigil`` in the checkout: where the state, the
link-signing secret and the admin key are kept; see datadir.py). A port of 0 means any free port.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog

from chalicelib import logs
from chalicelib.config import Settings
from vigil_local import datadir

logger = structlog.get_logger()

FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"{name} must be a port number from 0 to 65535, got {raw!r}")
    return int(raw)


def example_rollout() -> dict[str, object]:
    return {
        "type": "rollout",
        "external_id": "demo-new-haven-rollout-1",
        "program": "secure-communities",
        "jurisdiction": "New Haven",
        "effective_at": "2026-12-02T00:00:00-05:00",
        "summary": "Secure Communities activates in New Haven",
        "source": {"agency": "ICE", "channel": "email"},
    }


@dataclass(frozen=True, slots=True)
class BannerFacts:
    """What the banner shows: the running stack's addresses, its key, and where its data is kept."""

    api_url: str
    moto_url: str
    admin_key: str
    receiver_url: str
    demo_subscribers: int
    data_dir: Path | None = None
    # When the restored state was saved (None: started empty).
    restored_at: str | None = None
    # A snapshot that could not be used: why, and where it was put aside.
    not_restored: str | None = None
    set_aside: Path | None = None
    demo_failure: str | None = None
    vigil_command: str = "vigil"


def vigil_command() -> str:
    """How to run the ``vigil`` command of this environment, as short as it can be said."""
    installed = Path(sys.executable).with_name("vigil")
    if not installed.exists():
        return f"{shlex.quote(sys.executable)} -m vigil_cli"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return shlex.quote(str(installed))


def _state_line(facts: BannerFacts) -> str:
    if facts.data_dir is None:
        return "Nothing is kept: this stack starts empty and forgets everything when it stops."
    if facts.not_restored:
        kept = f" It is kept as {facts.set_aside}." if facts.set_aside else ""
        return f"The saved state could not be restored: {facts.not_restored}.{kept} Started empty."
    if facts.restored_at:
        return f"Restored the state saved at {facts.restored_at} (make reset starts empty)."
    return "Started empty; what you do is kept for the next make run (make reset starts empty)."


def banner(facts: BannerFacts) -> str:
    api_url, admin_key = facts.api_url, facts.admin_key
    auth = '-H "Authorization: Bearer $VIGIL_KEY"'
    rollout = shlex.quote(json.dumps(example_rollout()))
    if facts.demo_failure:
        demo = f"the demo data could not be seeded ({facts.demo_failure})"
    elif facts.demo_subscribers:
        demo = (
            f"{facts.demo_subscribers} demo subscribers (governor's office, corrections, mayors, police "
            "chiefs, county and regional offices, an advocacy group) and twelve weeks of their past notices"
        )
    else:
        demo = "no demo data (VIGIL_DEMO=0)" if facts.restored_at is None else "no demo data"
    # The key goes in the fragment: the browser never sends it, the page takes it and drops it.
    dashboard = f"{api_url}/dashboard#key={urllib.parse.quote(admin_key, safe='')}"
    lines = [
        "",
        f"Vigil is running locally (stage local; AWS is moto at {facts.moto_url}); {demo}.",
        _state_line(facts),
        "",
        f"  API             {api_url}",
        f"  Dashboard       {dashboard}",
        "                  (opens with the admin key; the key stays in that browser tab)",
        f"  Outbox          {api_url}/dev/outbox   (the emails, texts and webhooks sent; ack links inside)",
        f"  Mail, as SES    POST {api_url}/dev/mail/inbound   (a raw message and its verdicts: README)",
    ]
    if facts.receiver_url:
        lines.append(
            f"  Demo receiver   {facts.receiver_url}   (verifies the signed webhooks; GET lists them)"
        )
    lines.append(f"  Admin key       {admin_key}")
    if facts.data_dir is not None:
        lines.append(f"  Data            {facts.data_dir}   (VIGIL_DATA_DIR moves it; make reset deletes it)")
    lines += [
        "",
        "Try first:",
        f"  export VIGIL_KEY={shlex.quote(admin_key)}",
        f"  curl -s {api_url}/health",
        f"  curl -s -X POST {api_url}/events {auth} -H 'Content-Type: application/json' \\",
        f"       -d {rollout}",
        f"  curl -s {api_url}/dev/outbox",
        f"  curl -s {api_url}/subscribers {auth}",
        "",
        "The vigil command (docs/cli.md):",
        f"  export VIGIL_URL={shlex.quote(api_url)} VIGIL_KEY={shlex.quote(admin_key)}",
        f"  {facts.vigil_command} subscribers list",
        f"  {facts.vigil_command} dlq list",
        "",
        "Ctrl-C stops everything." + (" The state is saved first." if facts.data_dir is not None else ""),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    try:
        host = os.environ.get("VIGIL_HOST", "127.0.0.1").strip() or "127.0.0.1"
        port = _port("VIGIL_PORT", 8000)
        moto_port = _port("VIGIL_MOTO_PORT", 5005)
        webhook_port = _port("VIGIL_WEBHOOK_PORT", 8001)
        tick_seconds = float(os.environ.get("VIGIL_TICK_SECONDS", "60"))
    except ValueError as exc:
        logger.error("local_stack.misconfigured", reason=str(exc))
        return 2
    demo = os.environ.get("VIGIL_DEMO", "1").strip().lower() not in FALSE_WORDS
    admin_key = os.environ.get("VIGIL_ADMIN_KEY", "").strip() or None
    data_dir = datadir.data_dir()

    from vigil_local.runner import LocalStack, free_port  # noqa: PLC0415  # after the ports are known

    moto_port = moto_port or free_port(host)
    # Before anything builds a client: the app's settings come from the environment, as in Lambda,
    # and fake credentials make sure nothing can reach a real AWS account.
    os.environ["VIGIL_STAGE"] = "local"
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{moto_port}"
    os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        os.environ[name] = "testing"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    if port:
        os.environ.setdefault("VIGIL_PUBLIC_URL", f"http://{host}:{port}")

    import app  # noqa: F401, PLC0415  # the app module configures logging on import; the console wins below

    settings = Settings.from_env()
    logs.configure(level=settings.log_level, json=settings.log_json)

    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("local_stack.stop_requested", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        stack = LocalStack(
            host=host,
            port=port,
            moto_port=moto_port,
            webhook_port=webhook_port,
            admin_key=admin_key,
            demo=demo,
            tick_seconds=tick_seconds,
            data_dir=data_dir,
        )
    except ValueError as exc:
        logger.error("local_stack.misconfigured", reason=str(exc))
        return 2
    logger.info("local_stack.starting", data_dir=str(data_dir))
    try:
        stack.start()
    except datadir.DataDirError as exc:
        logger.error("local_stack.misconfigured", reason=str(exc))
        return 2
    except Exception:
        logger.exception("local_stack.start_failed")
        return 1
    try:
        facts = BannerFacts(
            api_url=stack.api_url,
            moto_url=stack.moto_url,
            admin_key=stack.admin_key,
            receiver_url=stack.webhook_receiver_url,
            demo_subscribers=len(stack.demo_subscribers),
            data_dir=stack.data_dir,
            restored_at=stack.restoration.saved_at,
            not_restored=stack.restoration.reason,
            set_aside=stack.restoration.set_aside,
            demo_failure=stack.demo_failure,
            vigil_command=vigil_command(),
        )
        print(banner(facts), flush=True)  # the one thing the local stack prints: what to try first
        while not stop.wait(1.0):
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
