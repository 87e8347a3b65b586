"""System tests: the Debian package installed, upgraded, removed and purged in a Debian 12 root
folder (``make test-system``; needs root, debootstrap and dpkg-deb), and the whole demo kept
running with its console until Ctrl-C (``test_demo_console.py``, a minute of its own).

The root folder and the package are made once and cached outside the checkout
(``devtools.debian``); each test works in its own copy of the folder, with ``/proc`` and ``/dev``
mounted, and the fixture checks that both are unmounted again afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.debian import build, rootfs

#: the second version the upgrade test installs over the first
UPGRADE_VERSION_SUFFIX = "+test1"
UPGRADE_NOTE = "# a default that changed in the new version\n"


@pytest.fixture(scope="session", autouse=True)
def _needs_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("the system tests need root (chroot, mount): run make test-system as root")


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package of the checkout as it is (built once, then from the cache)."""
    return build.build(tmp_path_factory.mktemp("deb"))


@pytest.fixture(scope="session")
def deb_next(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same package as a newer version whose default edge.toml and kiosk.toml changed: what
    an upgrade that brings new defaults looks like to dpkg."""
    work = tmp_path_factory.mktemp("deb-next")
    tree = work / "tree"
    subprocess.run(["dpkg-deb", "--raw-extract", str(deb), str(tree)], check=True)
    control = tree / "DEBIAN" / "control"
    lines = control.read_text().splitlines(keepends=True)
    version = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("Version:"))
    new = version + UPGRADE_VERSION_SUFFIX
    control.write_text(
        "".join(f"Version: {new}\n" if line.startswith("Version:") else line for line in lines)
    )
    for name in ("edge.toml", "kiosk.toml"):
        conf = tree / "etc" / "a2d" / name
        conf.write_text(conf.read_text() + UPGRADE_NOTE)
    out = work / f"a2d_{new}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zzstd", "-z1", "--build", str(tree), str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(tree)
    return out


@pytest.fixture
def chroot(tmp_path: Path) -> Iterator[rootfs.Chroot]:
    """A fresh copy of the cached Debian 12 root folder, mounted; unmounted and deleted after."""
    tree = rootfs.copy_of(rootfs.ensure(), tmp_path / "root")
    try:
        with rootfs.mounted(tree) as c:
            yield c
        assert rootfs.mounts_under(tree) == [], "a mount inside the root folder was left behind"
    finally:
        if not rootfs.mounts_under(tree):
            shutil.rmtree(tree, ignore_errors=True)
