"""Refuse webhook URLs that lead into private networks, by resolving their host and judging every address.

Checked when a subscriber is created, and again before every send (DNS may answer differently by
then); the sender connects to the addresses checked here, never to a second lookup of the name.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

from chalicelib.domain.network import check_resolved, forbidden_reason

Resolver = Callable[[str, int], list[str]]

DEFAULT_PORTS = {"http": 80, "https": 443}

# Hosts made of one to four numbers, as inet_aton reads them: 2130706433, 0x7f.1, 0177.0.0.1, 127.1.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


class UnsafeUrl(ValueError):
    """A webhook URL Vigil must not POST to; ``reason`` says why, in words a subscriber can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolvable(UnsafeUrl):
    """The host has no address (now). Refused at creation; at send time it may be a passing DNS failure."""


@dataclass(frozen=True, slots=True)
class VettedUrl:
    """A webhook URL that passed the check, with the addresses it was checked against."""

    scheme: str
    host: str  # as written in the URL, without brackets: the Host header and the TLS server name
    port: int
    target: str  # path and query, as the request line carries them
    addresses: tuple[str, ...]  # connect to these, in order; never look the host up again


def system_resolver(host: str, port: int) -> list[str]:
    """Every address, IPv4 and IPv6, that the system resolver gives for ``host``, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_webhook_url(url: str, *, resolver: Resolver = system_resolver, allow_private: bool = False) -> None:
    """Raise UnsafeUrl unless every address ``url`` leads to is public.

    ``allow_private`` admits loopback and private addresses, for the local and test stages whose
    receivers listen on this machine; the cloud metadata services stay refused.
    """
    vet_webhook_url(url, resolver=resolver, allow_private=allow_private)


def vet_webhook_url(
    url: str, *, resolver: Resolver = system_resolver, allow_private: bool = False
) -> VettedUrl:
    """Like check_webhook_url, and returns where to connect."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"is not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeUrl("must be an http or https URL")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("has no host")
    if any(ch.isspace() or not ch.isprintable() for ch in host):
        raise UnsafeUrl("has an invalid host")
    port = DEFAULT_PORTS[scheme] if port is None else port
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    literal = _ip_literal(host)
    if literal is not None:
        addresses = _check_literal(host, literal, allow_private=allow_private)
    else:
        addresses = _check_name(host, port, resolver, allow_private=allow_private)
    return VettedUrl(scheme=scheme, host=host, port=port, target=target, addresses=addresses)


def _ip_literal(host: str) -> IPv4Address | IPv6Address | None:
    """The address a host written as an IP address means, however it is spelled; None for names."""
    try:
        return ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_HOST.fullmatch(host):
        return None
    # ipaddress reads only dotted quads; the C library (hence every HTTP client) also reads
    # decimal, octal and hex numbers and fewer than four parts. Read them the same way.
    try:
        return IPv4Address(socket.inet_aton(host.removesuffix(".")))
    except OSError as exc:
        raise UnsafeUrl(f"{host} is not a valid IP address") from exc


def _check_literal(host: str, address: IPv4Address | IPv6Address, *, allow_private: bool) -> tuple[str, ...]:
    reason = forbidden_reason(address, allow_private=allow_private)
    if reason is not None:
        spelled_plainly = _plain_ip(host) == address
        raise UnsafeUrl(f"{host} is {reason}" if spelled_plainly else f"{host} means {address}, {reason}")
    return (str(address),)


def _plain_ip(host: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(host)
    except ValueError:
        return None


def _check_name(host: str, port: int, resolver: Resolver, *, allow_private: bool) -> tuple[str, ...]:
    try:
        found = resolver(host, port)
    except UnicodeError as exc:  # the IDNA codec refuses the name
        raise UnsafeUrl(f"{host} is not a valid host name") from exc
    except OSError as exc:
        raise Unresolvable(f"{host} does not resolve") from exc
    if not found:
        raise Unresolvable(f"{host} does not resolve")
    problems = check_resolved(host, found, allow_private=allow_private)
    if problems:
        raise UnsafeUrl("; ".join(problems))
    return tuple(dict.fromkeys(str(ip_address(text)) for text in found))
