"""The claim code on the Pi's console: large digits in the project's own 5x7 font (read back from the
screen here), the serial, the lock and the command in German and English; ``await-claim`` draws it
when its stdout is a terminal (a pty here) and writes nothing there when it is a pipe."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from a2d import claimwire
from provisioning import claimscreen
from provisioning.claimclient import ClaimError, claim
from provisioning.claimd import Responder, await_claim, new_code
from provisioning.lockout import MAX_FAILURES, Lockout
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
A2D = [sys.executable, "-m", "a2d.cli"]
SERIAL = "10000000c0de5c2e"


def test_every_digit_has_its_own_glyph_of_five_by_seven() -> None:
    assert sorted(claimscreen.FONT) == list("0123456789")
    glyphs = list(claimscreen.FONT.values())
    assert len(set(glyphs)) == 10
    assert all(len(g) == 7 and all(len(row) == 5 and set(row) <= {"#", "."} for row in g) for g in glyphs)


@pytest.mark.parametrize("code", ["012345", "678901", "493027", "000000", "999999"])
@pytest.mark.parametrize("scale", [1, 2, 3])
def test_the_big_digits_read_back_as_the_code(code: str, scale: int) -> None:
    rows = claimscreen.big_rows(code, scale)
    assert len(rows) == 7 * scale and all(len(r) == claimscreen.big_width(6, scale) for r in rows)
    assert claimscreen.decode(rows, scale) == code


def test_the_screen_shows_the_code_large_the_serial_and_the_command() -> None:
    screen = claimscreen.render(claimwire.ClaimNotice("493027", SERIAL), 80, 24)
    assert screen.startswith(claimscreen.CLEAR)
    lines = screen.split("\n")
    assert claimscreen.decode(lines) == "493027"
    assert sum(claimscreen.LIT in line for line in lines) == 7  # scale 1 on 80x24
    assert len(lines) <= 25 and max(len(line) for line in lines if claimscreen.LIT in line) <= 80
    assert f"serial number: {SERIAL}" in screen
    assert f"Code am Laptop eingeben: a2d provision claim {SERIAL} --code 493027" in screen
    assert f"Enter the code on the laptop: a2d provision claim {SERIAL} --code 493027" in screen
    assert "GESPERRT" not in screen and "LOCKED" not in screen


def test_a_large_console_gets_larger_digits() -> None:
    screen = claimscreen.render(claimwire.ClaimNotice("120034", SERIAL), 240, 67)  # a 1080p console
    lines = screen.split("\n")
    scale = claimscreen.scale_for(240, 67)
    assert scale == 3 and sum(claimscreen.LIT in line for line in lines) == 21
    assert claimscreen.decode(lines, scale) == "120034"
    assert len(lines) <= 68 and max(len(line) for line in lines) <= 240


def test_a_locked_claim_says_until_when() -> None:
    notice = claimwire.ClaimNotice("004711", SERIAL, "2026-06-02T08:40:00+00:00")
    screen = claimscreen.render(notice, 80, 24, tz=UTC)
    assert "GESPERRT nach 5 falschen Codes bis 08:40 Uhr" in screen
    assert "LOCKED after 5 wrong codes until 08:40" in screen
    assert claimscreen.decode(screen.split("\n")) == "004711"


def test_the_responder_redraws_when_the_lock_engages_and_ends_and_clears_once_claimed(tmp_path: Path) -> None:
    now = [time.time()]
    drawn: list[claimwire.ClaimNotice | None] = []
    responder = Responder(SERIAL, new_code(), Lockout(tmp_path / "lock.json", clock=lambda: now[0]),
                          lambda bundle: None, host="127.0.0.1", port=0, display=drawn.append)  # fmt: skip
    responder.bind()
    assert drawn == [claimwire.ClaimNotice(responder.code, SERIAL, None)]
    stop = threading.Event()
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(await_claim(responder, stop=stop)))
    thread.start()
    try:
        wrong = f"{(int(responder.code) + 1) % 1_000_000:06d}"
        for _ in range(MAX_FAILURES):
            with pytest.raises(ClaimError):
                claim("127.0.0.1", responder.port, SERIAL, wrong, b"{}")
        locked = drawn[-1]
        assert locked is not None and locked.locked_until is not None and len(drawn) == 2
        assert datetime.fromisoformat(locked.locked_until) > datetime.now(UTC) + timedelta(minutes=9)
        now[0] += 600  # the lock runs out: drawn again without it
        wait_for(lambda: drawn[-1] is not None and drawn[-1].locked_until is None, 5, "the screen unlocked")
        claim("127.0.0.1", responder.port, SERIAL, responder.code, b"{}")
        thread.join(10)
        assert result == [True] and drawn[-1] is None  # claimed: the screen is cleared
    finally:
        stop.set()
        thread.join(10)


def _await_claim(tmp: Path, stdout: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*A2D, "provision", "await-claim", "--serial", SERIAL, "--host", "127.0.0.1", "--port", "0",
         "--no-advertise", "--notice", str(tmp / "run/claim.json"), "--lock-file", str(tmp / "lock.json"),
         "--root", str(tmp / "root")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "", "LINES": ""},
        stdout=stdout, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _read_until(fd: int, done: object, seconds: float) -> bytes:
    """Read from ``fd`` until ``done(bytes so far)`` or ``seconds`` pass."""
    got = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end and not done(got):  # type: ignore[operator]
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the pty's other side closed
                break
            if not chunk:
                break
            got += chunk
    return got


def test_await_claim_draws_the_code_big_on_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    master, slave = pty.openpty()
    proc = _await_claim(tmp_path, slave)
    os.close(slave)
    try:
        got = _read_until(master, lambda b: b"--code" in b, 20)
        notice = claimwire.read(tmp_path / "run/claim.json")
        assert notice is not None
        screen = got.decode().replace("\r\n", "\n")
        assert claimscreen.decode(screen.split("\n")) == notice.code
        assert f"serial number: {SERIAL}" in screen
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        rest = _read_until(master, lambda b: claimscreen.SHOW_CURSOR.encode() in b, 5)
        assert rest.endswith((claimscreen.CLEAR + claimscreen.SHOW_CURSOR).encode())  # cleared at the end
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)


def test_await_claim_draws_nothing_into_a_pipe(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    proc = _await_claim(tmp_path, subprocess.PIPE)
    try:
        wait_for((tmp_path / "run/claim.json").exists, 20, "the claim notice")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert out == b""
