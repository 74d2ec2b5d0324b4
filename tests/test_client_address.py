"""The client's address behind trusted proxies (domain/client_address.py) and its setting."""

from __future__ import annotations

import pytest

from hubstead.domain.client_address import BadProxyList, client_address, parse_networks
from hubstead.settings import Settings, SettingsError

PROXIES = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # no proxy trusted, or the peer is not one: the header is anyone's to write
        ("198.51.100.4", ["203.0.113.9"], "198.51.100.4"),
        # one trusted hop: the address it vouches for
        ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        # a client's own claim left of the real hop is never believed
        ("127.0.0.1", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),
        # two trusted hops (an ingress, then nginx), the header sent twice
        ("127.0.0.1", ["203.0.113.9, 10.1.2.3", "10.9.9.9"], "203.0.113.9"),
        # every hop trusted: the left-most
        ("127.0.0.1", ["10.1.2.3"], "10.1.2.3"),
        # a trusted proxy with no header: itself
        ("127.0.0.1", [], "127.0.0.1"),
        # garbage ends the walk at the last trusted hop
        ("127.0.0.1", ["203.0.113.9, not-an-address, 10.1.2.3"], "10.1.2.3"),
        ("::1", ["2001:db8::7"], "2001:db8::7"),
        (None, ["203.0.113.9"], None),
    ],
)
def test_the_right_most_untrusted_address_is_the_client(peer, forwarded, expected):
    assert client_address(peer, forwarded, PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"


def test_a_bad_proxy_entry_stops_the_start(monkeypatch, tmp_path):
    with pytest.raises(BadProxyList):
        parse_networks(["10.0.0.0/8", "proxy.example.com"])
    monkeypatch.setenv("HUBSTEAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUBSTEAD_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/33")
    with pytest.raises(SettingsError, match="HUBSTEAD_TRUSTED_PROXIES"):
        Settings.from_env()
    monkeypatch.setenv("HUBSTEAD_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    assert Settings.from_env().trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
