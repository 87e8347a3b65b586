"""The appliance's shell scripts pass shellcheck, the image's unit passes systemd-analyze verify,
and the package build lays out what it promises (units found in images/systemd/, their users,
conffiles), checked on a fake venv so it runs in a second without root."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.debian import build, lockset

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = [
    ROOT / "images/deb/postinst",
    ROOT / "images/deb/prerm",
    ROOT / "images/deb/postrm",
    *sorted((ROOT / "images/pi-gen").rglob("*.sh")),
    ROOT / "images/pi-gen/stage-a2d/01-system/files/a2d-data-partition",
    ROOT / ".ci/run",
]


def test_scripts_pass_shellcheck() -> None:
    assert len(SCRIPTS) >= 8
    for script in SCRIPTS:
        proc = subprocess.run(
            ["shellcheck", "--external-sources", str(script)], capture_output=True, text=True
        )
        assert proc.returncode == 0, f"{script.relative_to(ROOT)}:\n{proc.stdout}"


def test_firstboot_and_data_partition_units_verify() -> None:
    files = ROOT / "images/pi-gen/stage-a2d/01-system/files"
    for name in ("a2d-firstboot.service", "a2d-data-partition.service"):
        proc = subprocess.run(
            ["systemd-analyze", "verify", str(files / name)], capture_output=True, text=True
        )
        problems = [
            line for line in proc.stderr.splitlines() if "is not executable" not in line and line.strip()
        ]
        assert problems == [], name
    assert (
        "ConditionPathExists=/boot/firmware/a2d-firstboot.json"
        in (files / "a2d-firstboot.service").read_text()
    )


def test_the_lock_subset_is_closed_and_leaves_out_the_developer_tools() -> None:
    text = lockset.subset_text(ROOT / "requirements.lock", ROOT / "pyproject.toml")
    chosen = {e.name for e in lockset.parse(text)}
    assert {"fastapi", "paho-mqtt", "kivy", "cryptography", "colorzero", "setuptools"} <= chosen
    assert not chosen & {"pytest", "ruff", "mypy", "uv", "scikit-learn", "onnx", "hypothesis"}
    # closed: every requirement of a chosen package (as installed in this venv) is chosen too
    from importlib import metadata

    from packaging.requirements import Requirement

    for name in chosen:
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                assert lockset.canonical(req.name) in chosen, f"{name} needs {req.name}"


def test_lay_out_packages_the_units_it_finds(tmp_path: Path) -> None:
    fake = tmp_path / "checkout"
    shutil.copytree(ROOT / "images", fake / "images")
    units = fake / "images" / "systemd"
    units.mkdir(exist_ok=True)
    (units / "a2d-test.service").write_text("[Service]\nUser=a2d-test\nExecStart=/opt/a2d/bin/a2d --help\n")
    tree = tmp_path / "build-root"
    (tree / "opt/a2d/bin").mkdir(parents=True)
    (tree / "opt/a2d/bin/a2d").write_text("#!/bin/sh\n")
    pkg = tmp_path / "pkg"
    build.lay_out(pkg, tree, "1.2.3", "arm64", "3.11", fake)
    assert (pkg / "usr/lib/systemd/system/a2d-test.service").exists()
    assert "a2d-test" in (pkg / "usr/share/a2d/service-users").read_text().split()
    control = (pkg / "DEBIAN/control").read_text()
    assert "Version: 1.2.3" in control and "Architecture: arm64" in control
    assert "python3 (<< 3.12)" in control
    conffiles = (pkg / "DEBIAN/conffiles").read_text().split()
    assert "/etc/a2d/edge.toml" in conffiles and "/etc/mosquitto/conf.d/a2d.conf" in conffiles
    assert sorted(p.name for p in (pkg / "usr/share/a2d/nftables").iterdir()) == sorted(
        p.name for p in (ROOT / "images/nftables").glob("*.nft")
    )
    assert (pkg / "usr/bin/a2d").readlink() == Path("/opt/a2d/bin/a2d")
    for script in ("postinst", "prerm", "postrm"):
        assert (pkg / "DEBIAN" / script).stat().st_mode & 0o111


def test_the_root_folder_comes_from_the_machines_own_debian_mirror(tmp_path: Path) -> None:
    from devtools.debian.rootfs import host_mirror

    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    )
    assert host_mirror([tmp_path / "absent.sources", deb822]) == "http://mirror.example/debian"
    one_line = tmp_path / "sources.list"
    one_line.write_text("# a comment\ndeb [arch=arm64] http://mirror.example/raspbian bookworm main\n")
    assert host_mirror([one_line]) == "http://mirror.example/raspbian"
    with pytest.raises(RuntimeError, match="A2D_DEBIAN_MIRROR"):
        host_mirror([tmp_path / "absent.sources"])
