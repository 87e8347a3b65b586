"""The systemd units in images/systemd: each verifies, runs as its own user with its watchdog, hardened."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from a2d.firstboot import APPS

UNITS = Path(__file__).resolve().parents[2] / "images" / "systemd"
NAMES = ["a2d-edge.service", "a2d-kiosk.service", "a2d-bridge.service", "a2d-server.service"]
#: what verify says because the machine running the tests is no installed Pi (no /opt/a2d)
IGNORABLE = ("not executable", "No such file", "Failed to prepare filename", "is not a directory")
GROUPS = {"a2d-edge.service": set(), "a2d-server.service": set(),
          "a2d-kiosk.service": {"video", "render", "input", "audio"}, "a2d-bridge.service": {"gpio", "dialout"}}  # fmt: skip


def unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(UNITS / name)
    return cp


def test_the_units_are_the_ones_firstboot_enables() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(NAMES)
    assert {a[2] for a in APPS.values()} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_systemd_analyze_verify_finds_nothing(name: str) -> None:
    sa = shutil.which("systemd-analyze")
    assert sa, "systemd-analyze is missing (apt-get install systemd)"
    done = subprocess.run(
        [sa, "verify", "--man=no", str(UNITS / name)], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in (done.stdout + done.stderr).splitlines()
                if line.strip() and not any(s in line for s in IGNORABLE)]  # fmt: skip
    assert problems == []


@pytest.mark.parametrize("name", NAMES)
def test_each_unit_has_its_user_watchdog_and_hardening(name: str) -> None:
    s = unit(name)["Service"]
    assert s["Type"] == "notify" and int(s["WatchdogSec"]) > 0 and s["Restart"] in ("always", "on-failure")
    assert s["User"] == name.removesuffix(".service") and s["User"] != "root"
    assert set(s.get("SupplementaryGroups", "").split()) == GROUPS[name]
    for key, want in (("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                      ("ProtectHome", "yes"), ("ReadWritePaths", "/var/lib/a2d"), ("CapabilityBoundingSet", "")):  # fmt: skip
        assert s[key] == want, key
    assert "LogRateLimitIntervalSec" in s and "LogRateLimitBurst" in s
    assert unit(name)["Install"]["WantedBy"] == "multi-user.target"


def test_secrets_come_through_credentials_and_the_kiosk_straight_to_the_display() -> None:
    edge, kiosk = unit("a2d-edge.service")["Service"], unit("a2d-kiosk.service")["Service"]
    assert edge["LoadCredential"] == "sync.token:/etc/a2d/sync.token"
    assert edge["Environment"] == "A2D_SYNC_TOKEN_FILE=%d/sync.token"
    assert kiosk["LoadCredential"] == "kiosk.token:/etc/a2d/kiosk.token"
    text = (UNITS / "a2d-kiosk.service").read_text()
    assert (
        "Environment=SDL_VIDEODRIVER=kmsdrm" in text
        and "Environment=A2D_KIOSK_TOKEN_FILE=%d/kiosk.token" in text
    )
