"""kiosk.lotsen: PIN hash (6+ digits), a lockout that grows and survives a restart, 30-minute
sessions, the local session log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from a2d.config import ConfigError
from kiosk.lotsen import STATE_FILE, LotsenLock, PinError, UnlockResult, hash_pin, verify_pin
from tests.conftest import ManualClock

PIN = "471108"
HASH = hash_pin(PIN)  # once per module: scrypt is slow on purpose


def lock(tmp_path: Path, clock: ManualClock) -> LotsenLock:
    return LotsenLock(HASH, clock=clock, log_path=tmp_path / "lotsen.log")


def log_lines(tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "lotsen.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_hash_is_salted_self_describing_and_verifies() -> None:
    other = hash_pin(PIN)
    assert HASH != other  # fresh salt each time
    assert HASH.startswith("scrypt-pin6$16384$8$1$")
    assert PIN not in HASH
    assert verify_pin(PIN, HASH) and verify_pin(PIN, other)
    assert not verify_pin("471109", HASH)
    assert not verify_pin("", HASH)


@pytest.mark.parametrize("pin", ["123", "1234", "12345", "abcdef", "1234567890123", " 123456"])
def test_unusable_pins_are_refused(pin: str) -> None:
    with pytest.raises(PinError):
        hash_pin(pin)


@pytest.mark.parametrize(
    "bad",
    ["", "1234", "scrypt-pin6$16384$8$1$!!$!!", "pbkdf2$1$2$3$4$5", HASH[:-8], HASH.replace("-pin6", "")],
)
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
        r = lotsen.unlock("000000")
        assert (r.outcome, r.tries_left) == ("wrong", left)
    r = lotsen.unlock("000000")
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
        lotsen.unlock("999999")
    assert lotsen.unlock(PIN).outcome == "ok"
    lotsen.end("lotse")
    assert lotsen.unlock("999999").tries_left == 4


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
    lotsen.unlock("111111")
    lotsen.unlock(PIN)
    lotsen.end("Frau Müller, Tel. 0781 12345")  # free text never reaches the log
    text = (tmp_path / "lotsen.log").read_text()
    assert "111111" not in text and PIN not in text and "0781" not in text and "ller" not in text
    entry = log_lines(tmp_path)[-1]
    assert set(entry) == {"at", "event", "reason"}
    assert (entry["event"], entry["reason"]) == ("end", "other")


def test_custom_limits(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = LotsenLock(HASH, max_tries=2, lockout_s=10, session_s=5, clock=clock, log_path=None)
    assert lotsen.unlock("000000").tries_left == 1
    assert lotsen.unlock("000000").outcome == "locked"
    clock.advance(10)
    assert lotsen.unlock(PIN).outcome == "ok"
    clock.advance(5)
    assert not lotsen.active


def test_an_old_hash_for_a_short_pin_is_refused_with_the_way_out() -> None:
    """A hash made when 4 digits were allowed: nobody can tell the PIN's length, so it goes."""
    import base64
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"1234", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    with pytest.raises(PinError, match="at least 6"):
        LotsenLock(old)
    from kiosk.config import parse

    with pytest.raises(ConfigError, match="a PIN now has at least 6"):
        parse({"kiosk": {"pin_hash": old}}, env={})  # refused at start, not at the first try
    assert not verify_pin("12345", HASH)  # too short to be tried at all


def wrong(lotsen: LotsenLock, n: int) -> UnlockResult:
    result = None
    for _ in range(n):
        result = lotsen.unlock("000000")
    assert result is not None
    return result


def test_the_lockout_grows_5_15_60_minutes_and_more(tmp_path: Path) -> None:
    clock = ManualClock()
    lotsen = lock(tmp_path, clock)
    for minutes in (5, 15, 60, 240, 960, 1440, 1440):
        r = wrong(lotsen, 5)
        assert r.outcome == "locked" and r.locked_for_s == minutes * 60
        clock.advance(minutes * 60)
    assert lotsen.unlock(PIN).outcome == "ok"  # the right PIN ends the escalation
    lotsen.end("lotse")
    assert wrong(lotsen, 5).locked_for_s == 300
    clock.advance(300 + 24 * 3600)  # so does a quiet day
    assert wrong(lotsen, 5).locked_for_s == 300


def test_the_count_and_the_lock_survive_a_restart(tmp_path: Path) -> None:
    clock, wall = ManualClock(), ManualClock()
    state = tmp_path / "cache" / STATE_FILE

    def kiosk() -> LotsenLock:  # a fresh process: its monotonic clock starts anywhere
        clock.advance(12345)
        return LotsenLock(HASH, clock=clock, wall_clock=wall, state_path=state)

    first = kiosk()
    assert wrong(first, 3).tries_left == 2
    second = kiosk()  # switched off and on: the three wrong tries still count
    assert second.tries_left == 2
    assert wrong(second, 2).outcome == "locked"
    wall.advance(60)
    third = kiosk()
    assert third.locked_for_s == pytest.approx(240)  # still locked, for what is left
    assert third.unlock(PIN).outcome == "locked"
    wall.advance(240)
    fourth = kiosk()
    assert fourth.locked_for_s == 0
    assert wrong(fourth, 5).locked_for_s == 900  # and the next lock is the longer one
    wall.now -= 10 * 24 * 3600  # the clock jumps back ten days while the kiosk is off
    assert kiosk().locked_for_s <= 900  # never longer than the lock was
    assert json.loads(state.read_text())["level"] == 2
    assert sorted(p.name for p in state.parent.iterdir()) == [STATE_FILE]  # written atomically, no leftovers


def test_a_damaged_lock_file_gives_no_fresh_tries(tmp_path: Path) -> None:
    state = tmp_path / STATE_FILE
    state.write_text("{broken")
    lotsen = LotsenLock(HASH, clock=ManualClock(), state_path=state)
    assert lotsen.unlock("000000").outcome == "locked"
