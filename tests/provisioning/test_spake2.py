"""SPAKE2 (provisioning/spake2.py): the group is what it claims to be, the right code agrees, a wrong
one or another device's serial does not, nothing secret is in the messages, a replay gets nothing."""

from __future__ import annotations

import random

import pytest

from provisioning import spake2
from provisioning.spake2 import ELEMENT_BYTES, G, M, N, P, PakeError, Q, Session


def probably_prime(n: int, rounds: int = 8) -> bool:
    """Miller-Rabin with fixed bases (deterministic for the test)."""
    if n % 2 == 0:
        return n == 2
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    rng = random.Random(9382)
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def test_the_group_is_the_squares_mod_a_safe_prime():
    assert P.bit_length() == 2048 and P == 2 * Q + 1
    assert probably_prime(P) and probably_prime(Q)  # a typo in the constant would fail here
    for element in (G, M, N):
        assert 1 < element < P - 1 and pow(element, Q, P) == 1  # in the subgroup of order Q
    assert len({G, M, N}) == 3


def run(code_a: str, code_b: str, serial_a: str = "10000000abcd", serial_b: str = "10000000abcd"):
    a, b = Session("admin", code_a, serial_a), Session("device", code_b, serial_b)
    return a, b, a.finish(b.share), b.finish(a.share)


def test_the_right_code_gives_both_sides_the_same_key_and_confirmations_that_check():
    _a, _b, ka, kb = run("493027", "493027")
    assert ka.key == kb.key and len(ka.key) == 32
    assert kb.confirms(ka.mine) and ka.confirms(kb.mine)
    assert ka.mine != kb.mine  # each direction has its own confirmation (no reflection)
    assert not ka.confirms(ka.mine)


@pytest.mark.parametrize(("code_b", "serial_b"), [("493028", "10000000abcd"), ("493027", "10000000abce")])
def test_a_wrong_code_or_another_serial_fails_confirmation(code_b, serial_b):
    _a, _b, ka, kb = run("493027", code_b, serial_b=serial_b)
    assert ka.key != kb.key
    assert not kb.confirms(ka.mine) and not ka.confirms(kb.mine)


def test_the_messages_hold_neither_the_code_nor_the_key():
    code = "493027"
    a, b, ka, kb = run(code, code)
    wire = a.share + b.share + ka.mine + kb.mine
    w = spake2.password_scalar(code, "10000000abcd").to_bytes(ELEMENT_BYTES, "big")
    for secret in (code.encode(), ka.key, w, w.lstrip(b"\0")[:16]):
        assert secret not in wire
    # and the shares are blinded: the same code gives other shares every run
    a2, b2, _, _ = run(code, code)
    assert a2.share != a.share and b2.share != b.share


def test_a_replayed_share_gets_no_key_that_confirms():
    """An attacker replays the admin's recorded share and confirmation to a fresh device run."""
    code = "493027"
    a, _b, ka, _kb = run(code, code)
    fresh = Session("device", code, "10000000abcd")
    replayed = fresh.finish(a.share)
    assert replayed.key != ka.key
    assert not replayed.confirms(ka.mine)


@pytest.mark.parametrize(
    "share",
    [
        b"\0" * ELEMENT_BYTES,  # zero
        (1).to_bytes(ELEMENT_BYTES, "big"),  # the identity: would make K = 1 whatever the code
        (P - 1).to_bytes(ELEMENT_BYTES, "big"),  # order 2: would leak a bit of the exponent
        next(n for n in range(2, 100) if pow(n, Q, P) != 1).to_bytes(ELEMENT_BYTES, "big"),  # not a square
        P.to_bytes(ELEMENT_BYTES, "big"),  # not below P
        b"\1" * (ELEMENT_BYTES - 1),  # too short
    ],
)
def test_a_share_outside_the_group_is_refused(share):
    with pytest.raises(PakeError):
        Session("device", "493027", "10000000abcd").finish(share)


def test_a_run_finishes_once():
    a, b, _ka, _kb = run("111111", "111111")
    with pytest.raises(PakeError):
        a.finish(b.share)


def test_sealed_messages_are_bound_to_key_and_purpose():
    key = bytes(range(32))
    sealed = spake2.seal(key, b"bundle", b"secret configs")
    assert b"secret configs" not in sealed
    assert spake2.unseal(key, b"bundle", sealed) == b"secret configs"
    for bad_key, purpose, data in (
        (bytes(32), b"bundle", sealed),
        (key, b"result", sealed),
        (key, b"bundle", sealed[:-1] + bytes([sealed[-1] ^ 1])),
        (key, b"bundle", sealed[:20]),
    ):
        with pytest.raises(PakeError):
            spake2.unseal(bad_key, purpose, data)
