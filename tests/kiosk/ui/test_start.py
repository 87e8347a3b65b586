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
