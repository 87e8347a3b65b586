"""kiosk.lotsen: PIN hash, lockout after 5 wrong tries, 30-minute sessions, the local session log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.lotsen import LotsenLock, PinError, hash_pin, verify_pin
from tests.conftest import ManualClock

PIN = "4711"
HASH = hash_pin(PIN)  # once per module: scrypt is slow on purpose


def lock(tmp_path: Path, clock: ManualClock) -> LotsenLock:
    return LotsenLock(HASH, clock=clock, log_path=tmp_path / "lotsen.log")


def log_lines(tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "lotsen.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_hash_is_salted_self_describing_and_verifies() -> None:
    other = hash_pin(PIN)
    assert HASH != other  # fresh salt each time
    assert HASH.startswith("scrypt$16384$8$1$")
    assert PIN not in HASH
    assert verify_pin(PIN, HASH) and verify_pin(PIN, other)
    assert not verify_pin("4712", HASH)
    assert not verify_pin("", HASH)


@pytest.mark.parametrize("pin", ["123", "abcd", "1234567890123", " 1234"])
def test_unusable_pins_are_refused(pin: str) -> None:
    with pytest.raises(PinError):
        hash_pin(pin)


@pytest.mark.parametrize("bad", ["", "1234", "scrypt$16384$8$1$!!$!!", "pbkdf2$1$2$3$4$5", HASH[:-8]])
def test_a_bad_pin_hash_is_a_known_error(bad: str) -> None:
    with pytest.raises(PinError, match="a2d kiosk hash-pin"):
        LotsenLock(bad)


def test_right_pin_unlocks_and_logs_the_start(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = lock(tmp_path, clock)
    assert not lotsen.active
    result = lotsen.unlock(PIN)
    assert result.outcome == "ok" and result.tries_left == 5 and result.locked_for_s == 0
    assert lotsen.active
    lotsen.end("lotse")
    assert not lotsen.active
    assert [(e["event"], e["reason"]) for e in log_lines(tmp_path)] == [("start", "pin"), ("end", "lotse")]
    assert all(e["at"].endswith("Z") for e in log_lines(tmp_path))


def test_five_wrong_tries_lock_for_five_minutes(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = lock(tmp_path, clock)
    for left in (4, 3, 2, 1):
        r = lotsen.unlock("0000")
        assert (r.outcome, r.tries_left) == ("wrong", left)
    r = lotsen.unlock("0000")
    assert r.outcome == "locked" and r.tries_left == 0 and r.locked_for_s == 300
    # while locked, even the right PIN is not accepted (and not checked)
    clock.advance(299)
    r = lotsen.unlock(PIN)
    assert r.outcome == "locked" and r.locked_for_s == pytest.approx(1)
    assert not lotsen.active
    assert lotsen.locked_for_s == pytest.approx(1)
    clock.advance(1)
    assert lotsen.locked_for_s == 0 and lotsen.tries_left == 5
    assert lotsen.unlock(PIN).outcome == "ok"
    assert [e["event"] for e in log_lines(tmp_path)] == ["lockout", "start"]


def test_a_right_pin_resets_the_wrong_count(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = lock(tmp_path, clock)
    for _ in range(4):
        lotsen.unlock("9999")
    assert lotsen.unlock(PIN).outcome == "ok"
    lotsen.end("lotse")
    assert lotsen.unlock("9999").tries_left == 4


def test_session_ends_itself_after_30_minutes(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = lock(tmp_path, clock)
    lotsen.unlock(PIN)
    clock.advance(1799)
    assert lotsen.active and lotsen.remaining_s == pytest.approx(1)
    clock.advance(1)
    lotsen.check()
    assert not lotsen.active and lotsen.remaining_s == 0
    lotsen.end("lotse")  # nothing to end any more: no second end line
    assert [(e["event"], e["reason"]) for e in log_lines(tmp_path)] == [("start", "pin"), ("end", "timeout")]


def test_the_log_holds_no_citizen_data(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = lock(tmp_path, clock)
    lotsen.unlock("1111")
    lotsen.unlock(PIN)
    lotsen.end("Frau Müller, Tel. 0781 12345")  # free text never reaches the log
    text = (tmp_path / "lotsen.log").read_text()
    assert "1111" not in text and PIN not in text and "0781" not in text and "ller" not in text
    entry = log_lines(tmp_path)[-1]
    assert set(entry) == {"at", "event", "reason"}
    assert (entry["event"], entry["reason"]) == ("end", "other")


def test_custom_limits(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = LotsenLock(HASH, max_tries=2, lockout_s=10, session_s=5, clock=clock, log_path=None)
    assert lotsen.unlock("0000").tries_left == 1
    assert lotsen.unlock("0000").outcome == "locked"
    clock.advance(10)
    assert lotsen.unlock(PIN).outcome == "ok"
    clock.advance(5)
    assert not lotsen.active
