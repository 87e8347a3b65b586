"""`make demo` (`a2d demo --stay`): after its story the server and console stay up, the printed
demo login signs in to the console, and Ctrl-C ends the demo with every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent
LOGIN = re.compile(r"login: +(\S+) / (\S+)")
CONSOLE = re.compile(r"console: +(http://127\.0\.0\.1:\d+)/console/")


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_demo_keeps_its_console_open_with_a_login_until_ctrl_c(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "a2d.cli", "demo", "--stay", "--count", "4", "--rate", "30", "--presses", "1",
            "--data", str(tmp_path)]  # fmt: skip
    demo = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(demo.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    started: set[int] = set()
    try:
        wait_for(lambda: LOGIN.search("".join(lines)) or demo.poll() is not None, timeout=240,
                 what="the demo's login line", interval=0.2)  # fmt: skip
        text = "".join(lines)
        assert demo.poll() is None, text[-2000:]
        base = CONSOLE.search(text).group(1)  # type: ignore[union-attr]
        user, password = LOGIN.search(text).groups()  # type: ignore[union-attr]
        started = children(demo.pid)
        assert len(started) >= 3  # the broker, the server, the agent (and the bridge)
        with httpx.Client(base_url=base, follow_redirects=True) as c:
            page = c.get("/console/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            r = c.post("/console/login", data={"csrf_token": token, "username": user, "password": password,
                       "next": "/console/devices"})  # fmt: skip
            assert r.status_code == 200 and "demo-rathaus-1" in r.text, r.text[:500]
            assert c.get("/console/sensors").status_code == 200
            bad = httpx.Client(base_url=base, follow_redirects=True)
            page = bad.get("/console/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
            wrong = bad.post(
                "/console/login", data={"csrf_token": token, "username": user, "password": "x" * 12}
            )
            assert "demo-rathaus-1" not in wrong.text
            bad.close()
        demo.send_signal(signal.SIGINT)  # Ctrl-C
        assert demo.wait(60) == 0
        wait_for(lambda: not any(alive(p) for p in started), timeout=20, what="the demo's processes to end")
        reader.join(5)
        assert "stopped" in "".join(lines)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
