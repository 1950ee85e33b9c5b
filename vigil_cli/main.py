"""``vigil``: one command per route of Vigil's HTTP API, for administrators.

Output is the API's JSON, pretty-printed to stdout (``--compact``: one line). Exit codes: 0 success;
1 the API refused (its JSON error goes to stderr) or ``notices verify`` found a broken log;
2 a usage error; 3 the API could not be reached.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

import click

from vigil_cli import __version__
from vigil_cli.client import (
    ApiError,
    ConnectionFailed,
    Json,
    UnexpectedResponse,
    VigilClient,
    path_segment,
)
from vigil_cli.dlq import dlq

DEFAULT_URL = "http://127.0.0.1:8000"
# Where `make run` listens when VIGIL_PORT moves it (the local stack reads the same variable).
LOCAL_URL_ON_PORT = "http://127.0.0.1:{port}"
EXIT_REFUSED = 1
EXIT_UNREACHABLE = 3
KEY_ROLES = ("admin", "source", "reviewer", "viewer")


@dataclass(frozen=True)
class Session:
    client: VigilClient
    compact: bool


class JsonFile(click.ParamType[Json]):
    """A path to a JSON file, or ``-`` for stdin; the value is the decoded JSON."""

    name = "file"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Json:
        handle = click.File("r", encoding="utf-8").convert(value, param, ctx)
        try:
            return json.load(handle)
        except (ValueError, UnicodeDecodeError) as exc:
            label = "stdin" if value == "-" else repr(str(value))
            self.fail(f"{label} is not valid JSON: {exc}", param, ctx)


JSON_FILE = JsonFile()


def _dumps(body: Json, *, compact: bool) -> str:
    if compact:
        return json.dumps(body, ensure_ascii=False)
    return json.dumps(body, ensure_ascii=False, indent=2)


def _session() -> Session:
    return click.get_current_context().find_object(Session) or _fail_usage("no session")


def _fail_usage(message: str) -> NoReturn:
    raise click.UsageError(message)


def _exit(code: int) -> NoReturn:
    raise click.exceptions.Exit(code)


def call(
    method: str,
    path: str,
    body: Json = None,
    *,
    query: Mapping[str, str | int | None] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Json:
    """One request; a refusal or an unreachable API ends the command with its exit code."""
    session = _session()
    try:
        _, answer = session.client.request(method, path, body, query=query, headers=headers)
    except ApiError as exc:
        click.echo(_dumps(exc.body, compact=session.compact), err=True)
        if exc.status == 401 and session.client.key is None:
            click.echo("vigil: no API key given: set VIGIL_KEY or pass --key", err=True)
        _exit(EXIT_REFUSED)
    except UnexpectedResponse as exc:
        click.echo(f"vigil: {exc}", err=True)
        _exit(EXIT_REFUSED)
    except ConnectionFailed as exc:
        click.echo(f"vigil: {exc}", err=True)
        _exit(EXIT_UNREACHABLE)
    return answer


def show(body: Json, *, done: str | None = None) -> None:
    """Print the answer; an empty answer (204) prints ``done`` to stderr instead."""
    if body is None:
        if done:
            click.echo(done, err=True)
        return
    click.echo(_dumps(body, compact=_session().compact))


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_url() -> str:
    """The local stack's URL when VIGIL_URL is not set: on VIGIL_PORT if that is set, as ``make run``."""
    raw = os.environ.get("VIGIL_PORT", "").strip()
    if not raw:
        return DEFAULT_URL
    if not raw.isdigit() or not 0 < int(raw) <= 65535:
        raise click.BadParameter(
            f"VIGIL_PORT must be a port from 1 to 65535 (or set VIGIL_URL), got {raw!r}",
            param_hint="VIGIL_PORT",
        )
    return LOCAL_URL_ON_PORT.format(port=int(raw))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar="VIGIL_URL",
    default=default_url,
    show_default=f"{DEFAULT_URL}, or the port in VIGIL_PORT",
    show_envvar=True,
    help="Base URL of the API (with the stage path, if any).",
)
@click.option(
    "--key",
    envvar="VIGIL_KEY",
    show_envvar=True,
    help="API key vk_<id>_<secret>. Prefer the environment variable: options show in process lists.",
)
@click.option("--compact", is_flag=True, help="Print JSON on one line.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the API.",
)
@click.version_option(__version__, prog_name="vigil")
@click.pass_context
def cli(ctx: click.Context, url: str, key: str | None, compact: bool, timeout: float) -> None:
    """Administer Vigil through its HTTP API.

    Prints the API's JSON answer. Exit status: 0 done; 1 refused by the API (the error is printed to
    stderr) or a log that does not verify; 2 usage error; 3 the API could not be reached.
    """
    try:
        client = VigilClient(url, key, timeout=timeout)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--url' / VIGIL_URL") from None
    parts = urlsplit(client.base_url)
    if client.key is not None and parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        _warn(f"sending the API key over plain http to {parts.hostname}; use https")
    ctx.obj = Session(client=client, compact=compact)


@cli.command()
def health() -> None:
    """Check the API answers (GET /health; no key needed)."""
    show(call("GET", "/health"))


# --- keys -------------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """API keys (admin)."""


@keys.command("create")
@click.option("--name", required=True, help="What the key is for, e.g. 'ICE notice intake'.")
@click.option("--role", required=True, type=click.Choice(KEY_ROLES), help="What the key may do.")
def keys_create(name: str, role: str) -> None:
    """Create a key (POST /keys); its secret is shown once."""
    show(call("POST", "/keys", {"name": name, "role": role}))
    _warn("the key is shown only this once and cannot be retrieved again; store it now")


@keys.command("list")
def keys_list() -> None:
    """List keys, without their secrets (GET /keys)."""
    show(call("GET", "/keys"))


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key at once (DELETE /keys/{id})."""
    show(call("DELETE", f"/keys/{path_segment(key_id)}"), done=f"revoked key {key_id}")


# --- subscribers ------------------------------------------------------------------------------


@cli.group()
def subscribers() -> None:
    """Who is alerted, how and for where (admin).

    Subscribers, their channels and the jurisdictions they subscribe to.
    """


@subscribers.command("create")
@click.option("--file", "body", required=True, type=JSON_FILE, help="The subscriber as JSON; - for stdin.")
def subscribers_create(body: Json) -> None:
    """Create a subscriber (POST /subscribers)."""
    created = call("POST", "/subscribers", body)
    show(created)
    _warn_if_secrets(created)


def _warn_if_secrets(subscriber: Json) -> None:
    channels = subscriber.get("channels") if isinstance(subscriber, dict) else None
    if isinstance(channels, list) and any(isinstance(c, dict) and c.get("secret") for c in channels):
        _warn("webhook secrets are shown only in this answer and cannot be retrieved again; store them now")


@subscribers.command("list")
@click.option("--limit", type=click.IntRange(1, 100), help="Subscribers per page (API default 50).")
@click.option("--cursor", help="Start at this page (the previous answer's cursor).")
@click.option("--all", "follow", is_flag=True, help="Follow every page and print all the items at once.")
def subscribers_list(limit: int | None, cursor: str | None, follow: bool) -> None:
    """List subscribers (GET /subscribers), one page or --all."""
    if not follow:
        show(call("GET", "/subscribers", query={"limit": limit, "cursor": cursor}))
        return
    items: list[Json] = []
    seen: set[str] = set()
    while True:
        page = call("GET", "/subscribers", query={"limit": limit, "cursor": cursor})
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            click.echo("vigil: a page of subscribers without a list of items", err=True)
            _exit(EXIT_REFUSED)
        items.extend(page["items"])
        cursor = page.get("cursor")
        if not cursor:
            break
        if cursor in seen:
            click.echo(f"vigil: the API returned cursor {cursor!r} twice; stopping", err=True)
            _exit(EXIT_REFUSED)
        seen.add(cursor)
    show({"items": items, "cursor": None})


@subscribers.command("show")
@click.argument("subscriber_id")
def subscribers_show(subscriber_id: str) -> None:
    """Show a subscriber, without secrets (GET /subscribers/{id})."""
    show(call("GET", f"/subscribers/{path_segment(subscriber_id)}"))


@subscribers.command("update")
@click.argument("subscriber_id")
@click.option(
    "--file", "body", required=True, type=JSON_FILE, help="The fields to change as JSON; - for stdin."
)
def subscribers_update(subscriber_id: str, body: Json) -> None:
    """Change a subscriber (PATCH /subscribers/{id})."""
    updated = call("PATCH", f"/subscribers/{path_segment(subscriber_id)}", body)
    show(updated)
    _warn_if_secrets(updated)


@subscribers.command("delete")
@click.argument("subscriber_id")
def subscribers_delete(subscriber_id: str) -> None:
    """Delete a subscriber (DELETE /subscribers/{id}).

    It stops receiving at once.
    """
    show(
        call("DELETE", f"/subscribers/{path_segment(subscriber_id)}"),
        done=f"deleted subscriber {subscriber_id}",
    )


@subscribers.command("test")
@click.argument("subscriber_id")
def subscribers_test(subscriber_id: str) -> None:
    """Send a test message (POST /subscribers/{id}/test).

    One test message to each of the subscriber's channels; the answer says what each did.
    """
    show(call("POST", f"/subscribers/{path_segment(subscriber_id)}/test"))


@subscribers.command("rotate-secret")
@click.argument("subscriber_id")
@click.argument("channel_id")
def subscribers_rotate_secret(subscriber_id: str, channel_id: str) -> None:
    """Give a webhook channel a new signing secret (POST .../channels/{id}/rotate-secret).

    The new secret is shown once, in this answer; the old one keeps signing until
    previous_secret_valid_until, so the receiver can switch over.
    """
    path = f"/subscribers/{path_segment(subscriber_id)}/channels/{path_segment(channel_id)}/rotate-secret"
    answer = call("POST", path)
    _warn("the new secret is shown once; store it with the receiver now")
    show(answer)


# --- events and notices -----------------------------------------------------------------------


@cli.group()
def events() -> None:
    """Submit notices and detainers (source, admin)."""


@events.command("submit")
@click.option("--file", "body", required=True, type=JSON_FILE, help="The event as JSON; - for stdin.")
@click.option("--idempotency-key", help="Sent as Idempotency-Key; needed when the event has no external_id.")
def events_submit(body: Json, idempotency_key: str | None) -> None:
    """Submit an event (POST /events).

    Resubmitting the same event (same external_id or idempotency key) is answered as a duplicate and
    messages nobody again.
    """
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    show(call("POST", "/events", body, headers=headers))


@cli.group()
def notices() -> None:
    """Notices, their deliveries and logs (readers)."""


@notices.command("show")
@click.argument("notice_id")
def notices_show(notice_id: str) -> None:
    """Show a notice (GET /notices/{id})."""
    show(call("GET", f"/notices/{path_segment(notice_id)}"))


@notices.command("log")
@click.argument("notice_id")
def notices_log(notice_id: str) -> None:
    """Show a notice's log (GET /notices/{id}/log).

    The hash-chained log, with whether it verifies.
    """
    show(call("GET", f"/notices/{path_segment(notice_id)}/log"))


@notices.command("verify")
@click.argument("notice_id")
def notices_verify(notice_id: str) -> None:
    """Check a notice's log chain, its head and the newest digest; exit 1 if broken.

    Reads GET /notices/{id}/log and prints "verified: N entries" (and what it was checked against:
    the head kept on the notice, the newest daily digest) or "NOT VERIFIED at seq S: reason".
    """
    log = call("GET", f"/notices/{path_segment(notice_id)}/log")
    if not isinstance(log, dict):
        click.echo("NOT VERIFIED: the API's answer is not a log")
        _exit(EXIT_REFUSED)
    entries = log.get("entries")
    count = len(entries) if isinstance(entries, list) else entries
    if log.get("verified") is True:
        checked = [f"verified: {count} entries"]
        anchor, digest = log.get("anchor"), log.get("digest")
        if isinstance(anchor, dict):
            checked.append(f"head kept on the notice: seq {anchor.get('seq')}")
        if isinstance(digest, dict):
            checked.append(f"digest of {digest.get('date')}: seq {digest.get('seq')}")
        click.echo("; ".join(checked))
        return
    reason = log.get("reason") or "no reason given"
    seq = log.get("broken_at")
    click.echo(f"NOT VERIFIED at seq {seq}: {reason}" if seq is not None else f"NOT VERIFIED: {reason}")
    _exit(EXIT_REFUSED)


# --- inbound mail: triage and trusted senders -------------------------------------------------


@cli.group()
def triage() -> None:
    """Received messages held rather than routed (admin).

    A message is held when its sender cannot be trusted or its program, date or place cannot be told.
    """


@triage.command("list")
@click.option("--limit", type=click.IntRange(1, 100), help="Held messages per page (API default 50).")
@click.option("--cursor", help="Start at this page (the previous answer's cursor).")
def triage_list(limit: int | None, cursor: str | None) -> None:
    """List held messages, oldest first (GET /inbound/triage)."""
    show(call("GET", "/inbound/triage", query={"limit": limit, "cursor": cursor}))


@triage.command("complete")
@click.argument("notice_id")
@click.option("--program", required=True, help="The program, e.g. secure-communities.")
@click.option("--jurisdiction", required=True, help="A place: 'statewide', 'Fairfield County', 'New Haven'.")
@click.option("--effective-at", required=True, help="When it takes effect: ISO 8601 with its UTC offset.")
@click.option("--summary", help="A summary; the message's subject if not given.")
def triage_complete(
    notice_id: str, program: str, jurisdiction: str, effective_at: str, summary: str | None
) -> None:
    """Route a held message as a rollout (POST /inbound/triage/{id}).

    Read it first (triage list, or the email the admins were sent): completing it alarms everyone the
    place's notices reach.
    """
    body = {"program": program, "jurisdiction": jurisdiction, "effective_at": effective_at}
    if summary:
        body["summary"] = summary
    show(call("POST", f"/inbound/triage/{path_segment(notice_id)}", body))


@triage.command("dismiss")
@click.argument("notice_id")
@click.option("--reason", required=True, help="Why it is not routed, e.g. 'a newsletter' (audited).")
def triage_dismiss(notice_id: str, reason: str) -> None:
    """Close a held message without routing it (POST /inbound/triage/{id}/dismiss)."""
    show(call("POST", f"/inbound/triage/{path_segment(notice_id)}/dismiss", {"reason": reason}))


@cli.group()
def senders() -> None:
    """Who may send or forward notices by email (admin).

    Trusted addresses and domains; subscribers' own confirmed addresses are trusted too.
    """


@senders.command("list")
def senders_list() -> None:
    """List trusted senders (GET /inbound/senders)."""
    show(call("GET", "/inbound/senders"))


@senders.command("add")
@click.argument("sender")
@click.option("--note", help="Who it is, e.g. 'ICE, the federal agency'.")
def senders_add(sender: str, note: str | None) -> None:
    """Trust an address or a domain and its subdomains (POST /inbound/senders)."""
    body = {"sender": sender}
    if note:
        body["note"] = note
    show(call("POST", "/inbound/senders", body))


@senders.command("remove")
@click.argument("sender")
def senders_remove(sender: str) -> None:
    """Stop trusting an address or a domain (DELETE /inbound/senders/{sender})."""
    show(call("DELETE", f"/inbound/senders/{path_segment(sender)}"), done=f"no longer trusted: {sender}")


# --- correctional facilities ------------------------------------------------------------------


@cli.group()
def facilities() -> None:
    """Correctional facilities of every state (admins change them; readers list them).

    Connecticut's shipped facilities are listed and shown but not changed.
    """


def facility_path(facility_id: str) -> str:
    """A facility's address: /facilities/ and its id, each part of the id a segment of its own."""
    parts = facility_id.strip().split("/")
    if len(parts) != 3 or parts[1] != "facility" or not all(parts):
        raise click.BadParameter(
            "must be a facility id, e.g. us-tx/facility/harris-county-jail", param_hint="FACILITY_ID"
        )
    return "/facilities/" + "/".join(path_segment(part) for part in parts)


@facilities.command("list")
@click.option("--state", help="A state's id, name, postal code or FIPS code (default Connecticut).")
def facilities_list(state: str | None) -> None:
    """List a state's facilities (GET /facilities?state=)."""
    show(call("GET", "/facilities", query={"state": state}))


@facilities.command("show")
@click.argument("facility_id")
def facilities_show(facility_id: str) -> None:
    """Show a facility (GET /facilities/{id}), e.g. us-tx/facility/harris-county-jail."""
    show(call("GET", facility_path(facility_id)))


@facilities.command("add")
@click.argument("name")
@click.option(
    "--place", required=True, help="The county (in Connecticut, the town): an id or a name with its state."
)
@click.option("--kind", required=True, type=click.Choice(["jail", "prison", "detention-center"]))
@click.option("--alias", "aliases", multiple=True, help="Another name it answers to (repeatable).")
def facilities_add(name: str, place: str, kind: str, aliases: tuple[str, ...]) -> None:
    """Add a facility (POST /facilities)."""
    body: Json = {"name": name, "place": place, "kind": kind, "aliases": list(aliases)}
    show(call("POST", "/facilities", body))


@facilities.command("change")
@click.argument("facility_id")
@click.option(
    "--file", "body", required=True, type=JSON_FILE, help="The fields to change as JSON; - for stdin."
)
def facilities_change(facility_id: str, body: Json) -> None:
    """Rename, move, re-kind or retire a facility (PATCH /facilities/{id}).

    E.g. {"retired": true}; its id never changes.
    """
    show(call("PATCH", facility_path(facility_id), body))


# --- duty rotations ---------------------------------------------------------------------------


@cli.group()
def rotations() -> None:
    """Who of a role at a place is on duty (admin).

    A notice for the place goes first to whoever is on duty; escalation steps can name the next on
    duty and the whole rotation.
    """


@rotations.command("create")
@click.option("--file", "body", required=True, type=JSON_FILE, help="The rotation as JSON; - for stdin.")
def rotations_create(body: Json) -> None:
    """Make a rotation for a role at a place (POST /rotations)."""
    show(call("POST", "/rotations", body))


@rotations.command("list")
def rotations_list() -> None:
    """List rotations, each with who is on duty and who is next (GET /rotations)."""
    show(call("GET", "/rotations"))


@rotations.command("show")
@click.argument("rotation_id")
def rotations_show(rotation_id: str) -> None:
    """Show a rotation: who is on duty and who is next, and their shifts (GET /rotations/{id})."""
    show(call("GET", f"/rotations/{path_segment(rotation_id)}"))


@rotations.command("update")
@click.argument("rotation_id")
@click.option(
    "--file", "body", required=True, type=JSON_FILE, help="The fields to change as JSON; - for stdin."
)
def rotations_update(rotation_id: str, body: Json) -> None:
    """Change a rotation, or add overrides with add_overrides (PATCH /rotations/{id})."""
    show(call("PATCH", f"/rotations/{path_segment(rotation_id)}", body))


@rotations.command("delete")
@click.argument("rotation_id")
def rotations_delete(rotation_id: str) -> None:
    """Delete a rotation (DELETE /rotations/{id}); its members hear as they subscribed."""
    show(call("DELETE", f"/rotations/{path_segment(rotation_id)}"), done=f"deleted rotation {rotation_id}")


# --- policies, sweep, jurisdictions, audit ----------------------------------------------------


@cli.group()
def policies() -> None:
    """Escalation policies per event type.

    Anyone with a key may read them; only admins may set them.
    """


@policies.command("show")
@click.argument("event_type")
def policies_show(event_type: str) -> None:
    """Show a policy (GET /policies/{type}).

    EVENT_TYPE is rollout or detainer; the shipped default until one is set.
    """
    show(call("GET", f"/policies/{path_segment(event_type)}"))


@policies.command("set")
@click.argument("event_type")
@click.option("--file", "body", required=True, type=JSON_FILE, help="The policy as JSON; - for stdin.")
def policies_set(event_type: str, body: Json) -> None:
    """Replace a policy (PUT /policies/{type}).

    EVENT_TYPE is rollout or detainer; the API names every bad field.
    """
    show(call("PUT", f"/policies/{path_segment(event_type)}", body))


@cli.command()
def sweep() -> None:
    """Run the escalation sweep now (POST /admin/sweep)."""
    show(call("POST", "/admin/sweep"))


@cli.group()
def jurisdictions() -> None:
    """Resolve places and facilities (readers).

    Every state and county; Connecticut's planning regions and towns; correctional facilities.
    """


@jurisdictions.command("find")
@click.argument("query")
def jurisdictions_find(query: str) -> None:
    """Resolve a name, FIPS code or id (GET /jurisdictions?q=)."""
    show(call("GET", "/jurisdictions", query={"q": query}))


@cli.command()
@click.option("--limit", type=click.IntRange(1, 100), help="How many of the newest entries (API default 50).")
def audit(limit: int | None) -> None:
    """Show the audit trail (GET /audit).

    The newest entries of the hash-chained audit trail, newest first, and whether it verifies (admin).
    """
    show(call("GET", "/audit", query={"limit": limit}))


cli.add_command(dlq)


def main() -> None:
    """The ``vigil`` console script."""
    cli(prog_name="vigil")
