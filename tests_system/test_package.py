"""The a2d package in a Debian 12 root folder: install, run, upgrade, remove, purge."""

from __future__ import annotations

import shutil
from pathlib import Path

from devtools.debian.rootfs import Chroot

from .conftest import UPGRADE_NOTE


def put(chroot: Chroot, deb: Path) -> str:
    """Copy ``deb`` into the root folder; its path inside."""
    shutil.copyfile(deb, chroot.root / "tmp" / deb.name)
    return f"/tmp/{deb.name}"


def dpkg(chroot: Chroot, *args: str) -> None:
    # what unattended upgrades do: keep an admin's (or first boot's) change to a conffile
    chroot.run(["dpkg", "--force-confdef", "--force-confold", *args], timeout=300)


def test_install_runs_the_apps_with_the_targets_python(chroot: Chroot, deb: Path) -> None:
    dpkg(chroot, "-i", put(chroot, deb))
    # the command and each app's CLI load inside the target, with its own interpreter
    assert "a2d edge" in chroot.run(["a2d", "--help"]).stdout
    for app in ("edge", "server", "bridge"):
        chroot.run(["a2d", app, "--help"])
    assert chroot.run(["readlink", "-f", "/opt/a2d/bin/python"]).stdout.strip() == "/usr/bin/python3.11"
    assert (
        chroot.run(["/opt/a2d/bin/python", "-c", "import sys; print(sys.prefix)"]).stdout.strip()
        == "/opt/a2d"
    )
    # the locked requirements only: the developer tools are not there, the apps' libraries are
    frozen = chroot.run(["/opt/a2d/bin/pip", "freeze", "--all"]).stdout
    assert "fastapi==" in frozen and "paho-mqtt==" in frozen and "kivy==" in frozen.lower()
    assert "pytest" not in frozen and "ruff" not in frozen and "scikit-learn" not in frozen
    # the service user, the data folder, the configs as conffiles, the broker's empty files
    assert chroot.run(["getent", "passwd", "a2d"]).stdout.split(":")[6].strip() == "/usr/sbin/nologin"
    assert chroot.run(["stat", "-c", "%U:%G %a", "/var/lib/a2d"]).stdout.strip() == "a2d:a2d 770"
    conffiles = chroot.run(["dpkg-query", "-W", "-f=${Conffiles}", "a2d"]).stdout
    for conf in ("/etc/a2d/edge.toml", "/etc/a2d/kiosk.toml", "/etc/mosquitto/conf.d/a2d.conf"):
        assert conf in conffiles
    assert (chroot.root / "etc/a2d/broker/a2d.passwd").read_text() == ""
    # postinst is safe to run again (a reconfigure, a second first boot)
    chroot.run(["/var/lib/dpkg/info/a2d.postinst", "configure", ""])
    assert chroot.run(["stat", "-c", "%U:%G %a", "/var/lib/a2d"]).stdout.strip() == "a2d:a2d 770"


def test_upgrade_remove_and_purge_keep_the_towns_data(chroot: Chroot, deb: Path, deb_next: Path) -> None:
    root = chroot.root
    dpkg(chroot, "-i", put(chroot, deb))
    data = root / "var/lib/a2d/edge.db"
    data.write_bytes(b"the town's records")
    edge = root / "etc/a2d/edge.toml"
    edge.write_text(edge.read_text() + '\n# set by first boot\n[sync]\nurl = "https://sync.example"\n')
    secret = root / "etc/a2d/sync.token"
    secret.write_text("a-secret")

    dpkg(chroot, "-i", put(chroot, deb_next))
    assert chroot.run(["dpkg-query", "-W", "-f=${Version}", "a2d"]).stdout.endswith("+test1")
    assert "# set by first boot" in edge.read_text()  # the edited conffile is kept ...
    assert UPGRADE_NOTE not in edge.read_text()
    assert (root / "etc/a2d/kiosk.toml").read_text().endswith(UPGRADE_NOTE)  # ... an untouched one updated
    assert data.read_bytes() == b"the town's records"
    assert secret.read_text() == "a-secret"
    chroot.run(["a2d", "--version"])

    dpkg(chroot, "--remove", "a2d")
    assert not (root / "opt/a2d").exists() and not (root / "usr/bin/a2d").exists()
    assert data.read_bytes() == b"the town's records"
    assert "# set by first boot" in edge.read_text()  # remove keeps the configuration

    dpkg(chroot, "--purge", "a2d")
    assert not (root / "etc/a2d").exists()  # configs and secrets are gone ...
    assert not (root / "etc/mosquitto/conf.d/a2d.conf").exists()
    assert data.read_bytes() == b"the town's records"  # ... the town's data is not
    assert chroot.run(["dpkg-query", "-W", "-f=${Status}", "a2d"], check=False).stdout.strip() in (
        "",
        "unknown ok not-installed",
    )

    # installing again after a purge takes the kept data folder as it is
    dpkg(chroot, "-i", put(chroot, deb))
    assert data.read_bytes() == b"the town's records"
    assert chroot.run(["stat", "-c", "%U:%G", "/var/lib/a2d"]).stdout.strip() == "a2d:a2d"
