"""Lean start: the first frame is drawn before qrcode, zeroconf, speech or the agent client are loaded."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_first_frame_comes_before_the_heavy_imports(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SDL_VIDEODRIVER": "offscreen",
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(tmp_path / "kivy"),
        "A2D_KIOSK_AGENT_URL": f"http://127.0.0.1:{free_port()}",  # nobody there: no discovery
        "A2D_KIOSK_CACHE_DIR": str(tmp_path / "cache"),
        "A2D_LOG_LEVEL": "info",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2d.cli", "kiosk"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "first frame" in line or not line:
                break
        match = re.search(r"first frame after ([0-9.]+) s .*loaded before it: (.*)$", line)
        assert match, f"no first-frame line: {line!r}"
        assert match.group(2) == "none", f"heavy modules loaded before the first frame: {match.group(2)}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_with_the_fake_agent_it_runs_without_an_agent(tmp_path: Path) -> None:
    """`a2d kiosk --fake-agent`: no agent URL and no discovery, an agent in memory, no outbox."""
    cache = tmp_path / "cache"
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIVY_NO_ARGS": "1", "KIVY_HOME": str(tmp_path / "kivy"),
           "A2D_KIOSK_CACHE_DIR": str(cache), "A2D_LOG_LEVEL": "info"}  # fmt: skip
    env.pop("A2D_KIOSK_AGENT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2d.cli", "kiosk", "--fake-agent"], cwd=ROOT, env=env, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 30
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "kiosk ready" in line or not line:
                break
        assert "kiosk ready: FakeAgent, content pack Stadt Offenburg" in lines[-1], lines[-5:]
        assert any("no edge agent; an agent in memory" in line for line in lines)
        assert any("loaded before it: none" in line for line in lines)
        assert not (cache / "outbox.db").exists(), "the fake agent opened the kiosk's outbox"
    finally:
        proc.terminate()
        proc.wait(10)
