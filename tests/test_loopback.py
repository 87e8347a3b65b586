"""Plain HTTP is allowed only to this machine: which hosts count as loopback."""

from __future__ import annotations

import pytest

from a2d.loopback import is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["10.0.0.5", "::ffff:10.0.0.5", "a2d.local", "localhost.evil.example", "", None]
)
def test_hosts_beyond_this_machine(host: str | None) -> None:
    assert not is_loopback(host)
