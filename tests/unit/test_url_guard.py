"""Webhook URLs that lead into private networks are refused, however the address is spelled or resolved."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from ipaddress import ip_address

import pytest

from chalicelib.adapters.url_guard import (
    Resolver,
    Unresolvable,
    UnsafeUrl,
    check_webhook_url,
    system_resolver,
    vet_webhook_url,
)


def resolver(answers: Mapping[str, list[str]]) -> Resolver:
    """A fake DNS: each name to its addresses; any other name does not resolve."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(answers[host])

    return resolve


def no_lookups(host: str, port: int) -> list[str]:
    raise AssertionError(f"an IP literal was looked up: {host}")


PUBLIC_DNS = resolver({"hooks.example.org": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})


def refusal(url: str, *, resolve: Resolver = no_lookups, allow_private: bool = False) -> str:
    with pytest.raises(UnsafeUrl) as caught:
        check_webhook_url(url, resolver=resolve, allow_private=allow_private)
    return caught.value.reason


def test_metadata_service_address_is_refused() -> None:
    reason = refusal("http://169.254.169.254/latest/meta-data")
    assert reason == "169.254.169.254 is the cloud metadata service"


def test_name_resolving_to_loopback_is_refused() -> None:
    reason = refusal(
        "https://rebind.example.org/hook", resolve=resolver({"rebind.example.org": ["127.0.0.1"]})
    )
    assert reason == "rebind.example.org resolves to 127.0.0.1, a loopback address"


def test_name_with_one_private_address_among_public_ones_is_refused() -> None:
    dns = resolver({"cases.example.org": ["93.184.216.34", "10.0.0.7", "2606:4700::6810:84e5"]})
    reason = refusal("https://cases.example.org/hook", resolve=dns)
    assert reason == "cases.example.org resolves to 10.0.0.7, a private address"


def test_every_forbidden_address_of_a_name_is_named() -> None:
    dns = resolver({"cases.example.org": ["127.0.0.1", "8.8.8.8", "169.254.169.254"]})
    reason = refusal("https://cases.example.org/hook", resolve=dns)
    assert "127.0.0.1, a loopback address" in reason
    assert "169.254.169.254, the cloud metadata service" in reason


@pytest.mark.parametrize(
    ("url", "meaning"),
    [
        ("http://2130706433/", "127.0.0.1"),  # one decimal number
        ("http://0x7f000001/", "127.0.0.1"),  # one hex number
        ("http://0x7f.1/", "127.0.0.1"),  # hex, two parts
        ("http://0177.0.0.1/", "127.0.0.1"),  # octal first part
        ("http://017700000001/", "127.0.0.1"),  # one octal number
        ("http://127.1/", "127.0.0.1"),  # two parts
        ("http://0xA9.0xFE.0xA9.0xFE/", "169.254.169.254"),  # hex quad of the metadata service
        ("http://2852039166/latest/meta-data", "169.254.169.254"),
        ("http://10.1/", "10.0.0.1"),
    ],
)
def test_numeric_ip_spellings_are_read_as_the_c_library_reads_them(url: str, meaning: str) -> None:
    reason = refusal(url)
    assert f"means {meaning}, " in reason


def test_numeric_host_that_is_no_address_is_refused() -> None:
    assert refusal("http://99999999999/") == "99999999999 is not a valid IP address"


def test_numeric_spelling_of_a_public_address_is_allowed() -> None:
    vetted = vet_webhook_url("http://134744072/hook", resolver=no_lookups)  # 8.8.8.8
    assert vetted.addresses == ("8.8.8.8",)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://127.0.0.1./hook", "127.0.0.1. means 127.0.0.1, a loopback address"),
        ("http://[::1]:8080/hook", "::1 is a loopback address"),
        ("http://[::]/", "the unspecified address"),
        ("http://0.0.0.0:8000/", "0.0.0.0 is the unspecified address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address (IPv4-mapped 127.0.0.1)"),
        ("http://[::ffff:7f00:1]/", "a loopback address (IPv4-mapped 127.0.0.1)"),
        ("http://[::ffff:169.254.169.254]/", "the cloud metadata service (IPv4-mapped 169.254.169.254)"),
        ("http://[fd00:ec2::254]/latest/meta-data", "fd00:ec2::254 is the cloud metadata service"),
        ("http://[fe80::1%25eth0]/", "a link-local address"),
        ("https://[2002:7f00:1::]/", "a loopback address (6to4 127.0.0.1)"),
    ],
)
def test_ip_literals_are_judged_without_a_lookup(url: str, expected: str) -> None:
    assert expected in refusal(url)


def test_public_name_is_allowed_with_every_address_kept_for_the_connection() -> None:
    vetted = vet_webhook_url("https://Hooks.Example.org/in?x=1#frag", resolver=PUBLIC_DNS)
    assert vetted.scheme == "https"
    assert vetted.host == "hooks.example.org"
    assert vetted.port == 443
    assert vetted.target == "/in?x=1"
    assert vetted.addresses == ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")


def test_public_ip_literal_needs_no_lookup() -> None:
    vetted = vet_webhook_url("http://[2606:4700::1111]:8443", resolver=no_lookups)
    assert (vetted.host, vetted.port, vetted.target) == ("2606:4700::1111", 8443, "/")
    assert vetted.addresses == ("2606:4700::1111",)


def test_allow_private_accepts_loopback() -> None:
    check_webhook_url("http://127.0.0.1:9000/hook", resolver=no_lookups, allow_private=True)
    check_webhook_url(
        "http://receiver.test/hook", resolver=resolver({"receiver.test": ["127.0.0.1"]}), allow_private=True
    )


def test_allow_private_still_refuses_the_metadata_service() -> None:
    assert refusal("http://169.254.169.254/latest/meta-data", allow_private=True) == (
        "169.254.169.254 is the cloud metadata service"
    )
    dns = resolver({"meta.example.org": ["127.0.0.1", "169.254.169.254"]})
    assert refusal("http://meta.example.org/", resolve=dns, allow_private=True) == (
        "meta.example.org resolves to 169.254.169.254, the cloud metadata service"
    )
    assert "cloud metadata service" in refusal("http://[fd00:ec2::254]/", allow_private=True)


def test_unresolvable_name_is_refused() -> None:
    with pytest.raises(Unresolvable) as caught:
        check_webhook_url("https://nowhere.example.org/hook", resolver=resolver({}))
    assert caught.value.reason == "nowhere.example.org does not resolve"


def test_name_resolving_to_nothing_is_refused() -> None:
    with pytest.raises(Unresolvable):
        check_webhook_url("https://empty.example.org/", resolver=resolver({"empty.example.org": []}))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://hooks.example.org/", "must be an http or https URL"),
        ("file:///etc/passwd", "must be an http or https URL"),
        ("https:///no-host", "has no host"),
        ("https://hooks.example.org:99999/", "is not a valid URL"),
        ("https://[::1/", "is not a valid URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, expected: str) -> None:
    assert expected in refusal(url, resolve=PUBLIC_DNS)


def test_unsafe_url_is_a_value_error_with_a_reason() -> None:
    error = UnsafeUrl("x is a loopback address")
    assert isinstance(error, ValueError)
    assert error.reason == str(error) == "x is a loopback address"


def test_system_resolver_answers_each_address_once() -> None:
    addresses = system_resolver("localhost", 80)
    assert addresses
    assert len(addresses) == len(set(addresses))
    assert all(ip_address(address).is_loopback for address in addresses)
