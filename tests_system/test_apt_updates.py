"""Software updates through the town's signed APT repository, end to end: the sync server (a real
``a2d server run`` on 127.0.0.1) serves what ``a2d server apt publish`` wrote; apt in a Debian 12
root folder, trusting only the town's key, installs the package, upgrades it, and refuses the
repository once it is signed by another key."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.debian.rootfs import Chroot
from sync_server import aptkey, aptrepo
from tests.conftest import free_port, wait_for

PROJECT = Path(__file__).resolve().parent.parent
UNATTENDED = PROJECT / "images/pi-gen/stage-a2d/01-system/files/50unattended-upgrades-a2d"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """An empty repository folder and the URL the sync server serves it at."""
    repo, port = tmp_path / "apt", free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "A2D_SERVER_APT_REPO": str(repo)}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "a2d"), "server", "run", "--db", f"sqlite:///{tmp_path}/server.db",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return server.poll() is not None  # died: stop waiting, the assert below says so

    try:
        wait_for(up, timeout=60, what="the sync server")
        assert server.poll() is None, "the sync server did not start"
        yield repo, f"{base}/apt/"
    finally:
        server.terminate()
        server.wait(timeout=30)


def apt(chroot: Chroot, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # the configuration unattended-upgrades uses: keep the device's own conffiles; no Recommends
    # (they come from Debian's archive, which this folder does not reach)
    return chroot.run(
        ["apt-get", "-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef",
         "-o", "Dpkg::Options::=--force-confold", *args],
        check=check, timeout=300,
    )  # fmt: skip


def installed(chroot: Chroot) -> str:
    return chroot.run(["dpkg-query", "-W", "-f=${Version}", "a2d"]).stdout


def test_apt_installs_and_upgrades_from_the_towns_repository_and_refuses_another_key(
    chroot: Chroot, deb: Path, deb_next: Path, served: tuple[Path, str], tmp_path: Path
) -> None:
    repo, url = served
    key, other = tmp_path / "keys" / "apt-signing.asc", tmp_path / "other" / "apt-signing.asc"
    aptkey.create(key)
    aptkey.create(other)
    aptrepo.publish(repo, [deb], key)

    root = chroot.root
    (root / "etc/apt/sources.list").write_text("")  # only the town's repository, only on 127.0.0.1
    (root / "etc/apt/sources.list.d/a2d.sources").write_text(
        aptrepo.sources_text(url, aptkey.public_key(key))
    )
    apt(chroot, "update")
    apt(chroot, "install", "a2d")
    first = installed(chroot)
    assert first and not first.endswith("+test1")
    data = root / "var/lib/a2d/edge.db"
    data.write_bytes(b"the town's records")

    # unattended-upgrades takes it: the image's Origins-Pattern names the Release's origin
    policy = chroot.run(["apt-cache", "policy"]).stdout
    assert "release o=a2d,a=bookworm,n=bookworm,l=a2d,c=main" in policy
    assert '"origin=a2d,codename=${distro_codename}";' in UNATTENDED.read_text()

    # v2 published, but the repository signed by a key the device does not trust: apt refuses it
    aptrepo.publish(repo, [deb_next], other)
    refused = apt(chroot, "update", check=False)
    said = refused.stdout + refused.stderr
    # apt keeps the index it verified before and says the new one failed its signature check
    assert "NO_PUBKEY" in said and "The repository is not updated" in said, said
    assert apt(chroot, "update", "--error-on=any", check=False).returncode != 0
    apt(chroot, "upgrade", check=False)
    assert installed(chroot) == first

    # signed again with the town's key: the update goes through and keeps the town's data
    aptrepo.publish(repo, [], key)
    updated = apt(chroot, "update")
    upgraded = apt(chroot, "upgrade")
    # (failed once on a loaded machine, passing alone: what apt said is kept for the next look)
    assert installed(chroot) == first + "+test1", updated.stdout + upgraded.stdout + upgraded.stderr
    assert data.read_bytes() == b"the town's records"
    chroot.run(["a2d", "--version"])

    # the rollback the docs give the admin: the previous version is still in the repository
    apt(chroot, "install", "--allow-downgrades", f"a2d={first}")
    assert installed(chroot) == first
    assert data.read_bytes() == b"the town's records"
