"""``a2d provision await-claim`` as a process on 127.0.0.1: SIGTERM takes the code off the screen,
and a port in use or a machine without a serial is one line, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from a2d import claimwire

from ..conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def await_claim(tmp: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "a2d.cli", "provision", "await-claim", "--host", "127.0.0.1", "--no-advertise",
         "--notice", str(tmp / "claim.json"), "--lock-file", str(tmp / "lock.json"),
         "--root", str(tmp / "root"), *extra],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigterm_removes_the_notice(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await_claim(tmp_path, "--serial", "test-0001", "--port", str(port))
    try:
        wait_for(lambda: (tmp_path / "claim.json").exists(), 20, "the claim notice")
        notice = claimwire.read(tmp_path / "claim.json")
        assert notice is not None and notice.serial == "test-0001" and claimwire.valid_code(notice.code)
        proc.terminate()
        assert proc.wait(10) == 1  # stopped, not claimed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not (tmp_path / "claim.json").exists()


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        proc = await_claim(tmp_path, "--serial", "test-0001", "--port", str(s.getsockname()[1]))
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1].startswith("a2d provision: cannot wait for a claim on 127.0.0.1:")
    assert "Traceback" not in err
    assert not (tmp_path / "claim.json").exists()
