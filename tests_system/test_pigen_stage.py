"""The pi-gen stage (images/pi-gen/stage-a2d) run the way pi-gen runs it, against a Debian 12 root
folder standing in for Raspberry Pi OS Lite: each ``NN-run.sh`` on the host with ``ROOTFS_DIR``
set, each ``NN-run-chroot.sh`` fed to ``on_chroot``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from devtools.debian.rootfs import CHROOT_PATH, Chroot

STAGE = Path(__file__).resolve().parent.parent / "images" / "pi-gen" / "stage-a2d"
#: Raspberry Pi OS's own fstab, as stage 1 writes it
PI_FSTAB = (
    "proc            /proc           proc    defaults          0       0\n"
    "PARTUUID=0a2d0a2d-01  /boot/firmware  vfat    defaults          0       2\n"
    "PARTUUID=0a2d0a2d-02  /               ext4    defaults,noatime  0       1\n"
)
#: Raspberry Pi OS's kernel command line: its first start grows the root over the card
PI_CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=0a2d0a2d-02 rootfstype=ext4 fsck.repair=yes"
    " rootwait init=/usr/lib/raspberrypi-sys-mods/firstboot\n"
)
ON_CHROOT = 'on_chroot() { chroot "$ROOTFS_DIR" /bin/bash -e; }; export -f on_chroot; '


def run_stage_script(stage: Path, substage: str, script: str, root: Path) -> None:
    env = {"ROOTFS_DIR": str(root), "PATH": CHROOT_PATH, "LC_ALL": "C.UTF-8"}
    path = stage / substage / script
    command = ON_CHROOT + (f"on_chroot < {script}" if script.endswith("-run-chroot.sh") else f"./{script}")
    proc = subprocess.run(
        ["bash", "-ec", command], cwd=path.parent, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{substage}/{script}: {proc.stderr[-2000:]}"


def test_the_stage_installs_the_package_and_makes_the_appliance(
    chroot: Chroot, deb: Path, tmp_path: Path
) -> None:
    root = chroot.root
    (root / "etc/fstab").write_text(PI_FSTAB)
    cmdline = root / "boot/firmware/cmdline.txt"
    cmdline.parent.mkdir(parents=True, exist_ok=True)
    cmdline.write_text(PI_CMDLINE)
    stage = tmp_path / "stage-a2d"
    shutil.copytree(STAGE, stage)
    (stage / "00-install" / "files").mkdir(exist_ok=True)  # not in git: the admin copies the package there
    shutil.copyfile(deb, stage / "00-install" / "files" / deb.name)

    run_stage_script(stage, "00-install", "01-run.sh", root)
    assert chroot.run(["dpkg-query", "-W", "-f=${Status}", "a2d"]).stdout == "install ok installed"
    assert not (root / "tmp/a2d.deb").exists()

    sources = "Types: deb\nURIs: https://sync.example/apt/\nSuites: bookworm\nComponents: main\n"
    (stage / "01-system" / "files" / "a2d.sources").write_text(sources)
    run_stage_script(stage, "01-system", "01-run.sh", root)
    assert (root / "etc/apt/sources.list.d/a2d.sources").read_text() == sources
    run_stage_script(stage, "01-system", "02-run-chroot.sh", root)
    run_stage_script(stage, "01-system", "02-run-chroot.sh", root)  # twice: a re-run of the stage

    sshd = (root / "etc/ssh/sshd_config.d/a2d.conf").read_text()
    assert "PasswordAuthentication no" in sshd and "PermitRootLogin no" in sshd
    assert "RuntimeWatchdogSec=15s" in (root / "etc/systemd/system.conf.d/a2d-watchdog.conf").read_text()
    assert '"--force-confold"' in (root / "etc/apt/apt.conf.d/51a2d-unattended-upgrades").read_text()
    link = root / "etc/systemd/system/multi-user.target.wants/a2d-firstboot.service"
    assert link.is_symlink() and (root / str(link.readlink()).lstrip("/")).is_file()
    assert (root / "etc/nftables.conf").read_text() == (
        root / "usr/share/a2d/nftables/a2d-wall.nft"
    ).read_text()

    fstab = {
        line.split()[1]: line.split()
        for line in (root / "etc/fstab").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert "ro" in fstab["/"][3].split(",") and "ro" in fstab["/boot/firmware"][3].split(",")
    assert fstab["/var/log"][2] == "tmpfs" and fstab["/tmp"][2] == "tmpfs"
    assert fstab["/data"][0] == "LABEL=a2d-data"
    assert fstab["/var/lib/a2d"][:2] == ["/data/a2d", "/var/lib/a2d"]
    # apt's state and downloads are writable although the root is not
    assert fstab["/var/lib/apt"][:2] == ["/data/apt/lib", "/var/lib/apt"]
    assert fstab["/var/cache/apt"][:2] == ["/data/apt/cache", "/var/cache/apt"]
    # the card's free space is left for the data partition, which the first start makes
    assert "init=" not in cmdline.read_text() and "rootwait" in cmdline.read_text()
    part = root / "etc/systemd/system/local-fs.target.wants/a2d-data-partition.service"
    assert part.is_symlink() and (root / str(part.readlink()).lstrip("/")).is_file()
    assert (root / "usr/local/sbin/a2d-data-partition").stat().st_mode & 0o111
    assert (root / "etc/fstab").read_text().count("a2d: read-only root") == 1
    # the fstab still parses for the tools that read it
    assert (
        chroot.run(
            [
                "findmnt",
                "--fstab",
                "--tab-file",
                "/etc/fstab",
                "--target",
                "/var/lib/a2d",
                "-n",
                "-o",
                "SOURCE",
            ]
        ).stdout.strip()
        == "/data/a2d"
    )
