"""The lockout (provisioning/lockout.py): five wrong codes lock for ten minutes, across restarts."""

from __future__ import annotations

import json

from provisioning.lockout import LOCK_S, MAX_FAILURES, Lockout


class WallClock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def test_five_wrong_codes_lock_for_ten_minutes_and_a_restart_does_not_reset_it(tmp_path):
    clock = WallClock()
    path = tmp_path / "lock.json"
    lock = Lockout(path, clock=clock)
    assert lock.check().allowed and lock.check().tries_left == MAX_FAILURES == 5
    for left in (4, 3, 2, 1):
        verdict = lock.failed()
        assert verdict.allowed and verdict.tries_left == left
    verdict = lock.failed()
    assert not verdict.allowed and verdict.locked_for_s == LOCK_S == 600
    restarted = Lockout(path, clock=clock)  # a new process reads the same file
    clock.now += 599
    assert not restarted.check().allowed
    assert 0 < restarted.check().locked_for_s <= 1
    clock.now += 1
    assert restarted.check().allowed and restarted.check().tries_left == 5
    assert restarted.failed().tries_left == 4  # a fresh round of five after the lock


def test_the_failures_are_counted_durably_before_the_lock(tmp_path):
    clock = WallClock()
    path = tmp_path / "lock.json"
    Lockout(path, clock=clock).failed()
    Lockout(path, clock=clock).failed()
    assert json.loads(path.read_text())["failures"] == 2
    assert Lockout(path, clock=clock).check().tries_left == 3


def test_the_right_code_clears_the_count(tmp_path):
    lock = Lockout(tmp_path / "lock.json", clock=WallClock())
    lock.failed()
    lock.failed()
    lock.succeeded()
    assert lock.check().tries_left == 5


def test_an_unreadable_file_counts_as_locked_not_as_no_failures(tmp_path):
    path = tmp_path / "lock.json"
    path.write_text("{garbage")
    verdict = Lockout(path, clock=WallClock()).check()
    assert not verdict.allowed and verdict.locked_for_s == LOCK_S


def test_a_clock_set_back_does_not_stretch_the_lock(tmp_path):
    clock = WallClock()
    lock = Lockout(tmp_path / "lock.json", clock=clock)
    for _ in range(5):
        lock.failed()
    clock.now -= 10 * 365 * 86400  # the clock jumped back ten years (no RTC, bad NTP)
    assert lock.check().locked_for_s <= LOCK_S
