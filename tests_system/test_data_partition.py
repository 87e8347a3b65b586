"""The image's first-start script that makes the data partition, run against a loop device made
from a sparse file laid out like a Raspberry Pi OS card whose root did not grow: boot (FAT) and
root partitions, free space behind them."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for

SCRIPT = Path(__file__).resolve().parent.parent / "images/pi-gen/stage-a2d/01-system/files/a2d-data-partition"
MIB = 1024 * 1024


def run(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=120, env=env)


@contextlib.contextmanager
def loop_card(image: Path, size: int, layout: str) -> Iterator[str]:
    """A sparse card image of ``size`` bytes partitioned by sfdisk's ``layout``, on a loop device."""
    with open(image, "wb") as f:
        f.truncate(size)
    subprocess.run(
        ["sfdisk", "--quiet", str(image)], input=layout, text=True, check=True, capture_output=True
    )
    device = run("losetup", "--find", "--partscan", "--show", str(image)).stdout.strip()
    try:
        yield device
    finally:
        run("losetup", "--detach", device, check=False)


@pytest.fixture
def card(tmp_path: Path) -> Iterator[str]:
    """A 600 MiB card: 32 MiB boot, 128 MiB root, the rest free."""
    with loop_card(tmp_path / "card.img", 600 * MIB, "label: dos\n,32M,c\n,128M,L\n") as device:
        yield device


def partitions(device: str) -> list[str]:
    return [line for line in run("sfdisk", "--dump", device).stdout.splitlines() if line.startswith("/dev/")]


def test_the_data_partition_is_made_in_the_free_space_once(card: str, tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    (seed / "var/lib/apt").mkdir(parents=True)
    (seed / "var/lib/apt/extended_states").write_text("Package: a2d\nAuto-Installed: 0\n")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": str(tmp_path)}

    made = run(str(SCRIPT), card, str(seed), env=env)
    assert "making partition 3" in made.stderr
    part = f"{card}p3"
    wait_for(lambda: Path(part).is_block_device(), timeout=10, what=part)
    probe = run("blkid", "-p", "-o", "export", part).stdout
    assert "LABEL=a2d-data" in probe and "TYPE=ext4" in probe
    # it takes the free space to the end of the card, behind the root partition
    third = partitions(card)[2]
    start = int(third.split("start=")[1].split(",")[0])
    size = int(third.split("size=")[1].split(",")[0])
    assert start >= (32 + 128) * 2048 and (start + size) * 512 > 590 * MIB

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    run("mount", "-o", "ro", part, str(mnt))
    try:
        assert {p.name for p in mnt.iterdir()} >= {"a2d", "mosquitto", "apt"}
        assert (mnt / "a2d").stat().st_mode & 0o777 == 0o770
        assert (mnt / "apt/lib/extended_states").read_text().startswith("Package: a2d")
        assert (mnt / "apt/cache/archives/partial").is_dir() and (mnt / "apt/lib/lists/partial").is_dir()
    finally:
        run("umount", str(mnt))

    again = run(str(SCRIPT), card, str(seed), env=env)  # the next start: nothing changes
    assert "is the data partition already" in again.stderr
    assert len(partitions(card)) == 3


def test_a_card_without_free_space_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    with loop_card(tmp_path / "grown.img", 200 * MIB, "label: dos\n,32M,c\n,,L\n") as device:
        before = partitions(device)
        refused = run(str(SCRIPT), device, str(tmp_path), check=False)
        assert refused.returncode == 1 and "did the root grow over the card?" in refused.stderr
        assert partitions(device) == before
