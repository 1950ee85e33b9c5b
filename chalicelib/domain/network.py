"""Which IP addresses a webhook may reach: public ones only, never this host, its networks or the cloud.

A subscriber chooses its webhook URL, so without this rule Vigil would POST wherever it is told,
including the instance metadata service that hands out AWS credentials (server-side request forgery).
Pure: the adapter resolves names; this module judges the addresses it found.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address


class Kind(Enum):
    """Why an address is off limits; the local and test stages relax only the kinds in ``PRIVATE_KINDS``."""

    METADATA = "metadata"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    SHARED = "shared"
    LINK_LOCAL = "link-local"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"
    DOCUMENTATION = "documentation"
    NOT_PUBLIC = "not-public"


# Networks of this machine and its operator, where receivers of the local and test stages listen.
# Link-local stays refused even there: the metadata and credential services live in it.
PRIVATE_KINDS = frozenset({Kind.LOOPBACK, Kind.PRIVATE, Kind.SHARED})

METADATA_SERVICE = "the cloud metadata service"
CREDENTIALS_SERVICE = "the container credentials service"

# Services that hand out credentials to whoever asks from inside the instance, task or pod.
_METADATA: dict[IPv4Address | IPv6Address, str] = {
    IPv4Address("169.254.169.254"): METADATA_SERVICE,  # EC2 (and most clouds) instance metadata
    IPv6Address("fd00:ec2::254"): METADATA_SERVICE,  # EC2 instance metadata over IPv6
    IPv4Address("169.254.170.2"): CREDENTIALS_SERVICE,  # ECS task role credentials
    IPv4Address("169.254.170.23"): CREDENTIALS_SERVICE,  # EKS Pod Identity
    IPv6Address("fd00:ec2::23"): CREDENTIALS_SERVICE,  # EKS Pod Identity over IPv6
}

_V4: tuple[tuple[IPv4Network, Kind, str], ...] = tuple(
    (IPv4Network(net), kind, reason)
    for net, kind, reason in (
        ("0.0.0.0/32", Kind.UNSPECIFIED, "the unspecified address"),
        ("0.0.0.0/8", Kind.RESERVED, "a reserved address (“this network”)"),
        ("127.0.0.0/8", Kind.LOOPBACK, "a loopback address"),
        ("10.0.0.0/8", Kind.PRIVATE, "a private address"),
        ("172.16.0.0/12", Kind.PRIVATE, "a private address"),
        ("192.168.0.0/16", Kind.PRIVATE, "a private address"),
        ("100.64.0.0/10", Kind.SHARED, "a carrier-grade NAT address"),
        ("169.254.0.0/16", Kind.LINK_LOCAL, "a link-local address"),
        ("192.0.0.0/24", Kind.RESERVED, "a reserved address (IETF protocol assignments)"),
        ("192.0.2.0/24", Kind.DOCUMENTATION, "a documentation address"),
        ("198.51.100.0/24", Kind.DOCUMENTATION, "a documentation address"),
        ("203.0.113.0/24", Kind.DOCUMENTATION, "a documentation address"),
        ("198.18.0.0/15", Kind.RESERVED, "a reserved address (benchmarking)"),
        ("192.88.99.0/24", Kind.RESERVED, "a reserved address (6to4 relay anycast)"),
        ("224.0.0.0/4", Kind.MULTICAST, "a multicast address"),
        ("255.255.255.255/32", Kind.RESERVED, "the broadcast address"),
        ("240.0.0.0/4", Kind.RESERVED, "a reserved address"),
    )
)

_V6: tuple[tuple[IPv6Network, Kind, str], ...] = tuple(
    (IPv6Network(net), kind, reason)
    for net, kind, reason in (
        ("64:ff9b:1::/48", Kind.PRIVATE, "a private address (local-use NAT64)"),
        ("100::/64", Kind.RESERVED, "a reserved address (discard-only)"),
        ("ff00::/8", Kind.MULTICAST, "a multicast address"),
        ("fe80::/10", Kind.LINK_LOCAL, "a link-local address"),
        ("fec0::/10", Kind.PRIVATE, "a private address (site-local)"),
        ("fc00::/7", Kind.PRIVATE, "a private address"),
        ("2001:db8::/32", Kind.DOCUMENTATION, "a documentation address"),
        ("3fff::/20", Kind.DOCUMENTATION, "a documentation address"),
        ("2001:2::/48", Kind.RESERVED, "a reserved address (benchmarking)"),
    )
)

# IPv6 forms that carry an IPv4 address in their low 32 bits, and the verdict on them when it is public.
_LOW32_FORMS: tuple[tuple[IPv6Network, str, tuple[Kind, str] | None], ...] = (
    (IPv6Network("::ffff:0:0/96"), "IPv4-mapped", None),
    (IPv6Network("64:ff9b::/96"), "NAT64", None),
    (
        IPv6Network("::/96"),
        "IPv4-compatible",
        (Kind.RESERVED, "a reserved address (deprecated IPv4-compatible)"),
    ),
)
_TEREDO_VERDICT = (Kind.RESERVED, "a Teredo tunnel address")
_GLOBAL_UNICAST = IPv6Network("2000::/3")
# Forms the kernel delivers to the IPv4 address itself; the others go through a tunnel or translator.
_SAME_HOST_FORMS = frozenset({"IPv4-mapped", "IPv4-compatible"})


def forbidden_reason(address: IPv4Address | IPv6Address, *, allow_private: bool = False) -> str | None:
    """Why a webhook must not be sent to ``address``, as a short phrase; None when it is public.

    ``allow_private`` admits loopback, private and carrier-grade NAT addresses, for the local and
    test stages whose receivers listen on this machine; it never admits the metadata services.
    """
    found = _classify(address)
    if found is None:
        return None
    kind, reason = found
    if allow_private and kind in PRIVATE_KINDS:
        return None
    return reason


def check_resolved(host: str, addresses: Iterable[str], *, allow_private: bool = False) -> list[str]:
    """Every reason ``host`` must not be reached through these addresses; empty when all are public.

    One bad address is enough to refuse a name: whoever controls its DNS picks which one is used.
    """
    reasons: list[str] = []
    seen: set[str] = set()
    for text in addresses:
        if text in seen:
            continue
        seen.add(text)
        try:
            address = ip_address(text)
        except ValueError:
            reasons.append(f"{host} resolves to {text!r}, which is not an IP address")
            continue
        reason = forbidden_reason(address, allow_private=allow_private)
        if reason is None:
            continue
        if _same_address(host, address):
            reasons.append(f"{host} is {reason}")
        else:
            reasons.append(f"{host} resolves to {text}, {reason}")
    if not seen:
        reasons.append(f"{host} does not resolve")
    return reasons


def _same_address(host: str, address: IPv4Address | IPv6Address) -> bool:
    try:
        return ip_address(host) == address
    except ValueError:
        return False


_IPV6_LOOPBACK = IPv6Address("::1")


def _classify(address: IPv4Address | IPv6Address) -> tuple[Kind, str] | None:
    if isinstance(address, IPv6Address) and address.scope_id is not None:
        address = IPv6Address(int(address))  # fe80::1%eth0 is still fe80::1
    if address in _METADATA:
        return Kind.METADATA, _METADATA[address]
    if isinstance(address, IPv4Address):
        return _classify_v4(address)
    return _classify_v6(address)


def _classify_v4(address: IPv4Address) -> tuple[Kind, str] | None:
    for network, kind, reason in _V4:
        if address in network:
            return kind, reason
    if not address.is_global:
        return Kind.NOT_PUBLIC, "not a public address"
    return None


def _classify_v6(address: IPv6Address) -> tuple[Kind, str] | None:
    if address.is_unspecified:  # :: and ::1 first: they sit inside ::/96, the IPv4-compatible form
        return Kind.UNSPECIFIED, "the unspecified address"
    # ::1 only: Python 3.13 also calls an IPv4-mapped loopback (::ffff:127.0.0.1) loopback, and
    # those are judged below by the IPv4 address they wrap, which names the form in the reason.
    if address == _IPV6_LOOPBACK:
        return Kind.LOOPBACK, "a loopback address"
    wrapped = _wrapped_v4(address)
    if wrapped is not None:
        return _classify_wrapped(*wrapped)
    for network, kind, reason in _V6:
        if address in network:
            return kind, reason
    if address not in _GLOBAL_UNICAST:
        return Kind.RESERVED, "a reserved address"
    return None if address.is_global else (Kind.NOT_PUBLIC, "not a public address")


def _wrapped_v4(
    address: IPv6Address,
) -> tuple[str, tuple[IPv4Address, ...], tuple[Kind, str] | None] | None:
    """The IPv4 hosts inside an IPv6 address that wraps some, the wrapping's name and its verdict."""
    for network, form, verdict in _LOW32_FORMS:
        if address in network:
            return form, (IPv4Address(int(address) & 0xFFFFFFFF),), verdict
    if address.sixtofour is not None:
        return "6to4", (address.sixtofour,), None
    if address.teredo is not None:
        server, client = address.teredo  # packets go to the client, through the relay server
        return "Teredo", (client, server), _TEREDO_VERDICT
    return None


def _classify_wrapped(
    form: str, inners: tuple[IPv4Address, ...], verdict: tuple[Kind, str] | None
) -> tuple[Kind, str] | None:
    for inner in inners:
        found = _classify(inner)
        if found is not None:
            kind, reason = found
            if form not in _SAME_HOST_FORMS and kind in PRIVATE_KINDS:
                kind = Kind.NOT_PUBLIC  # a tunnel to a private network: no local receiver needs one
            return kind, f"{reason} ({form} {inner})"
    return verdict
