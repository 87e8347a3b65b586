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


def group(pgid: int) -> set[int]:
    """The live processes in the process group ``pgid`` (from /proc): the demo and what it started."""
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.add(int(entry.name))
    return out


def test_the_demo_keeps_its_console_open_with_a_login_until_ctrl_c(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "a2d.cli", "demo", "--stay", "--count", "4", "--rate", "30", "--presses", "1",
            "--data", str(tmp_path)]  # fmt: skip
    demo = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its own process group: what it started is found  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(demo.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        wait_for(lambda: LOGIN.search("".join(lines)) or demo.poll() is not None, timeout=480,
                 what="the demo's login line", interval=0.2)  # fmt: skip
        text = "".join(lines)
        assert demo.poll() is None, text[-2000:]
        base = CONSOLE.search(text).group(1)  # type: ignore[union-attr]
        user, password = LOGIN.search(text).groups()  # type: ignore[union-attr]
        assert len(group(demo.pid)) >= 4  # the demo, the broker, the server, the agent (and the bridge)
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
        wait_for(lambda: not group(demo.pid), timeout=20, what="the demo's processes to end")
        reader.join(5)
        assert "stopped" in "".join(lines)
    finally:
        if demo.poll() is None:  # a failed test: Ctrl-C first, so that the demo stops its processes
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(60)
            except subprocess.TimeoutExpired:
                pass
        if group(demo.pid):
            os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()
