"""Which addresses a webhook may reach: public ones, never this host, its networks or the cloud's services."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from chalicelib.domain.network import check_resolved, forbidden_reason

FORBIDDEN = [
    # loopback
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    # private: RFC 1918 and unique local IPv6
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fec0::1", "private"),
    # link-local, and the metadata and credential services inside it
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("169.254.169.254", "the cloud metadata service"),
    ("fd00:ec2::254", "the cloud metadata service"),
    ("169.254.170.2", "the container credentials service"),
    ("fd00:ec2::23", "the container credentials service"),
    # carrier-grade NAT
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    # multicast
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    # reserved
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("0.1.2.3", "reserved"),
    ("192.0.0.8", "reserved"),
    ("198.18.0.1", "reserved"),
    ("100::1", "reserved"),
    ("5f00::1", "reserved"),
    ("2001:2::1", "reserved"),
    # unspecified
    ("0.0.0.0", "unspecified"),  # noqa: S104  # the address under test, not a bind
    ("::", "unspecified"),
    # documentation
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    # IPv4-mapped and IPv4-compatible IPv6 forms
    ("::ffff:127.0.0.1", "loopback address (IPv4-mapped 127.0.0.1)"),
    ("::ffff:10.1.2.3", "private address (IPv4-mapped 10.1.2.3)"),
    ("::ffff:169.254.169.254", "the cloud metadata service (IPv4-mapped 169.254.169.254)"),
    ("::127.0.0.1", "loopback address (IPv4-compatible 127.0.0.1)"),
    ("::8.8.8.8", "deprecated IPv4-compatible"),
    # 6to4, Teredo and NAT64 wrapping a forbidden IPv4 address
    ("2002:7f00:1::", "loopback address (6to4 127.0.0.1)"),
    ("2002:a9fe:a9fe::1", "the cloud metadata service (6to4 169.254.169.254)"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback address (Teredo 127.0.0.1)"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private address (Teredo 10.0.0.1)"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation address (Teredo 192.0.2.45)"),
    ("64:ff9b::7f00:1", "loopback address (NAT64 127.0.0.1)"),
    ("64:ff9b:1::1", "private"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",  # just below carrier-grade NAT
    "100.128.0.0",  # just above it
    "172.15.255.255",  # just below 172.16/12
    "172.32.0.0",  # just above it
    "169.253.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",  # an IPv4-mapped public address reaches that public host
    "2002:808:808::1",  # 6to4 of a public address
    "64:ff9b::808:808",  # NAT64 of a public address
]


@pytest.mark.parametrize(("address", "expected"), FORBIDDEN)
def test_non_public_address_is_refused_with_its_reason(address: str, expected: str) -> None:
    reason = forbidden_reason(ip_address(address))
    assert reason is not None
    assert expected in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_address_is_allowed(address: str) -> None:
    assert forbidden_reason(ip_address(address)) is None
    assert check_resolved("hooks.example.org", [address]) == []


def test_metadata_service_is_named_as_such() -> None:
    assert forbidden_reason(ip_address("169.254.169.254")) == "the cloud metadata service"
    assert forbidden_reason(ip_address("fd00:ec2::254")) == "the cloud metadata service"


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "fd12::1", "100.64.0.1", "::ffff:127.0.0.1"]
)
def test_allow_private_admits_this_machine_and_its_networks(address: str) -> None:
    assert forbidden_reason(ip_address(address)) is not None
    assert forbidden_reason(ip_address(address), allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "fd00:ec2::254",
        "169.254.170.2",
        "::ffff:169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "224.0.0.1",
        "0.0.0.0",  # noqa: S104  # the address under test, not a bind
        "192.0.2.1",
        "2002:7f00:1::",  # a tunnel to loopback reaches no local receiver
    ],
)
def test_allow_private_still_refuses_metadata_link_local_and_the_rest(address: str) -> None:
    assert forbidden_reason(ip_address(address), allow_private=True) is not None


def test_name_resolving_to_any_forbidden_address_is_refused_for_each() -> None:
    reasons = check_resolved("cases.example.org", ["8.8.8.8", "127.0.0.1", "10.0.0.5", "127.0.0.1"])
    assert reasons == [
        "cases.example.org resolves to 127.0.0.1, a loopback address",
        "cases.example.org resolves to 10.0.0.5, a private address",
    ]


def test_address_that_is_not_an_ip_is_refused() -> None:
    assert check_resolved("odd.example.org", ["not-an-ip"]) == [
        "odd.example.org resolves to 'not-an-ip', which is not an IP address"
    ]


def test_name_without_addresses_is_refused() -> None:
    assert check_resolved("nowhere.example.org", []) == ["nowhere.example.org does not resolve"]


def test_ip_host_is_named_once() -> None:
    assert check_resolved("169.254.169.254", ["169.254.169.254"]) == [
        "169.254.169.254 is the cloud metadata service"
    ]
