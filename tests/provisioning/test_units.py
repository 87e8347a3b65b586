"""The systemd units in images/systemd: each verifies, runs as its own user with its watchdog, hardened."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from a2d.firstboot import APPS, BOOT_BUNDLE, BOOT_PARTITION

UNITS = Path(__file__).resolve().parents[2] / "images" / "systemd"
NAMES = ["a2d-edge.service", "a2d-kiosk.service", "a2d-bridge.service", "a2d-server.service"]
#: the zero-touch claim's unit: no app, so no watchdog or user of its own (see its test)
CLAIM = "a2d-claim.service"
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
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted([*NAMES, CLAIM])
    assert {a[2] for a in APPS.values()} <= set(NAMES)


@pytest.mark.parametrize("name", [*NAMES, CLAIM])
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
    kiosk = unit("a2d-kiosk.service")["Service"]
    edge = (UNITS / "a2d-edge.service").read_text().splitlines()
    assert "LoadCredential=sync.token:/etc/a2d/sync.token" in edge
    assert "Environment=A2D_SYNC_TOKEN_FILE=%d/sync.token" in edge
    # the broker passwords first boot writes (provisioning.broker), one credential per app
    for name, secret in (
        ("a2d-edge.service", "mqtt-agent.password"),
        ("a2d-bridge.service", "mqtt-bridge.password"),
    ):
        lines = (UNITS / name).read_text().splitlines()
        assert f"LoadCredential=mqtt.password:/etc/a2d/{secret}" in lines, name
        assert "Environment=A2D_MQTT_PASSWORD_FILE=%d/mqtt.password" in lines, name
    assert kiosk["LoadCredential"] == "kiosk.token:/etc/a2d/kiosk.token"
    text = (UNITS / "a2d-kiosk.service").read_text()
    assert (
        "Environment=SDL_VIDEODRIVER=kmsdrm" in text
        and "Environment=A2D_KIOSK_TOKEN_FILE=%d/kiosk.token" in text
    )


def test_the_claim_unit_waits_only_on_a_device_not_set_up_and_without_a_bundle() -> None:
    text = (UNITS / CLAIM).read_text()
    conditions = [
        line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ConditionPathExists=")
    ]
    assert sorted(conditions) == sorted(["!/etc/a2d/device.json", f"!{BOOT_BUNDLE}"])
    u = unit(CLAIM)
    assert "a2d-firstboot.service" in u["Unit"]["After"].split()  # a card's bundle goes first
    s = u["Service"]
    # not oneshot: multi-user.target (ordered after what it wants) would wait for the claim
    assert s["Type"] in ("exec", "simple") and s["ExecStart"] == "/opt/a2d/bin/a2d provision await-claim"
    assert s["User"] == "root"  # it writes /etc/a2d and chowns the secrets: see the unit's comment
    assert set(s["ReadWritePaths"].split()) == {"/etc/a2d", "/etc/systemd/system", "/var/lib/a2d"}
    for key, want in (("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                      ("ProtectHome", "yes"), ("RuntimeDirectory", "a2d")):  # fmt: skip
        assert s[key] == want, key
    assert set(s["CapabilityBoundingSet"].split()) == {"CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE"}
    # once claimed, the role's units start: a reload and multi-user.target pulling in its new wants
    assert "systemctl daemon-reload && systemctl try-reload-or-restart mosquitto.service;" in text  # users
    assert "systemctl start --no-block multi-user.target" in text
    assert '"$$EXIT_STATUS" = 0' in text
    assert u["Install"]["WantedBy"] == "multi-user.target"


def test_the_image_enables_the_claim_after_firstboot() -> None:
    stage = (UNITS.parent / "pi-gen/stage-a2d/01-system/02-run-chroot.sh").read_text()
    assert f"/usr/lib/systemd/system/{CLAIM} /etc/systemd/system/multi-user.target.wants/{CLAIM}" in stage


def test_the_claim_draws_its_code_on_the_first_console_not_under_a_login_prompt() -> None:
    u = unit(CLAIM)
    s = u["Service"]
    # stdout is the Pi's screen (await-claim draws the code there when it is a terminal); the log
    # goes to the journal instead of over the code
    assert (s["StandardOutput"], s["TTYPath"], s["StandardError"]) == ("tty", "/dev/tty1", "journal")
    assert s["TTYReset"] == s["TTYVHangup"] == s["TTYVTDisallocate"] == "yes"
    assert s["DeviceAllow"] == "/dev/tty1 rw"  # PrivateDevices' device policy lets the console through
    # the login prompt on tty1 is stopped once the claim really starts (after it came up), so it
    # never covers the code; a Conflicts= would stop it on every boot of a claimed device too
    assert "getty@tty1.service" in u["Unit"]["After"].split()
    assert "ExecStartPre=-+/usr/bin/systemctl stop getty@tty1.service" in (UNITS / CLAIM).read_text()
    assert "Conflicts" not in u["Unit"]


def test_the_units_the_stage_and_firstboot_name_one_bundle_path() -> None:
    """One place for the bundle: the boot partition's root, a2d.firstboot.BOOT_BUNDLE."""
    stage = UNITS.parent / "pi-gen/stage-a2d"
    firstboot_unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    firstboot_unit.optionxform = str  # type: ignore[assignment,method-assign]
    firstboot_unit.read(stage / "01-system/files/a2d-firstboot.service")
    assert firstboot_unit["Unit"]["ConditionPathExists"] == BOOT_BUNDLE
    argv = firstboot_unit["Service"]["ExecStart"].split()
    assert argv[argv.index("--boot") + 1] == BOOT_PARTITION
    claim = (UNITS / CLAIM).read_text()
    assert f"ConditionPathExists=!{BOOT_BUNDLE}\n" in claim
    # no other bundle path anywhere in the units or the stage: every mention of the file's name is
    # BOOT_BUNDLE itself
    texts = [p.read_text() for p in [*UNITS.glob("*.service"), *stage.rglob("*")] if p.is_file()]
    named = [t.count("a2d-firstboot.json") for t in texts]
    assert sum(named) == sum(t.count(BOOT_BUNDLE) for t in texts) == 2
    assert "/boot/firmware/a2d " not in "\n".join(texts) and "/boot/firmware/a2d\n" not in "\n".join(texts)
    # firstboot's default is the same partition, and it looks for the bundle at its root
    from provisioning.cli import parser

    args = parser().parse_args(["firstboot"])
    assert str(args.boot / "a2d-firstboot.json") == BOOT_BUNDLE
