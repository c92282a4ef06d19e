"""The SSRF guard shared by feed fetching and the OpenID Connect client: which addresses a
request may reach, with and without the operator's permission for private ones."""

from __future__ import annotations

import pytest

from vardeild.net.guarded import AddressRefused, check_address, resolve_checked


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("224.0.0.1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 inside IPv6 is the IPv4 address
        ("100.64.0.1", "not a global"),  # shared address space
        ("0.0.0.0", "unspecified"),
    ],
)
def test_internal_addresses_are_refused(address: str, kind: str) -> None:
    with pytest.raises(AddressRefused, match=kind):
        check_address(address, allow_private=False)
    check_address(address, allow_private=True)


def test_global_addresses_pass() -> None:
    check_address("8.8.8.8", allow_private=False)
    check_address("2001:4860:4860::8888", allow_private=False)


def test_a_name_is_refused_if_any_address_it_resolves_to_is() -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        resolve_checked("localhost", 80, allow_private=False)
    assert resolve_checked("localhost", 80, allow_private=True) in {"127.0.0.1", "::1"}
