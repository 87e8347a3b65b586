"""Part 4 of the hardening acceptance check, smaller and faster: the real agent process on a small
tmpfs with ``store.min_free_mb`` at its default, a real Mosquitto, QoS 1 uplinks.

300 uplinks stored; another file leaves 64 MiB free and 100 more are published; after housekeeping
passes (``store.check_s`` = 1 s instead of 300 s) all are there; the tmpfs is filled up and 100 more
are published: the agent stays up and shows the full state; once both files are deleted, all 500
are stored once. Mounting needs root (CI runs tests as root); without it the same behaviour is
covered in-process by ``tests/test_diskfull_agent.py`` (SQLite's own full-database error).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.uplinks import chirpstack_up, make_devices
from tests.conftest import Mosquitto, free_port, wait_for
from tests.test_agent_mqtt import ROOT, connected, stored

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0,
        reason="mounting a tmpfs needs root; tests/test_diskfull_agent.py covers it in-process",
    ),
]

A2D = [sys.executable, "-m", "a2d.cli"]
MB = 1 << 20


def free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int = 0) -> None:
    """Write ``path`` until only ``leave`` bytes are free on its file system (0: until ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (MB, 1 << 16, 4096, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while not leave or free(path.parent) - size >= leave:
                    os.write(fd, chunk)
    finally:
        os.close(fd)


@pytest.fixture
def tmpfs(tmp_path: Path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("min_free", ["default", "0"])
def test_a_full_disk_deletes_nothing_the_agent_stays_up_and_takes_everything_in_once_there_is_room(
    mosquitto: Mosquitto, publisher, tmp_path: Path, tmpfs: Path, min_free: str
) -> None:
    """``min_free`` "0": the agent learns only from its failing writes (ENOSPC) that the disk is full. Its
    write-ahead log may still have room for some uplinks, so they are published 100 at a time until the
    agent is full, then 1500 more: the broker then has more in flight to the agent (up to 1000) than it
    holds in memory (``ingest.batch_max`` 200); it leaves the rest unacknowledged and reconnects for
    them once there is room."""
    cfg = tmp_path / "edge-disk.toml"
    cfg.write_text(
        f'[device]\nid = "edge-disk"\ndata_dir = "{tmpfs}"\n[mqtt]\nhost = "127.0.0.1"\nport = {mosquitto.port}\n'
        "[store]\ncheck_s = 1.0\nfull_check_s = 1.0\n"
        + ("" if min_free == "default" else "min_free_mb = 0\n[ingest]\nbatch_max = 200\n")
        + f'[api]\nport = {free_port()}\n[[sources]]\nkind = "chirpstack"\n'
    )
    db, log = tmpfs / "edge.db", tmp_path / "agent.log"
    agent = subprocess.Popen(
        [*A2D, "edge", "run", "--config", str(cfg)],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "A2D_LOG_LEVEL": "debug"},  # the housekeeping passes log at debug level
    )
    dev = make_devices(1, seed=9)[0]
    rng = random.Random(9)

    def publish(n: int) -> None:
        for _ in range(n):
            dev.f_cnt += 1
            at = datetime.now(UTC)
            publisher.publish(*chirpstack_up(dev, dev.payload(at), at, rng), qos=1)

    def passes() -> int:
        """Housekeeping passes so far (while the disk is full, one may fail for want of space)."""
        text = log.read_text(errors="replace")
        return text.count("housekeeping pass done") + text.count("database housekeeping failed")

    def status() -> dict:
        r = subprocess.run([*A2D, "edge", "status", "--config", str(cfg), "--json"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    try:
        wait_for(lambda: connected(db), what="the agent to subscribe")
        dev.f_cnt = 0
        publish(300)
        wait_for(lambda: stored(db) == 300, timeout=30, what="the first 300 uplinks")

        fill(tmpfs / "filler-low", leave=64 * MB)  # low, not full: above store.min_free_mb
        publish(100)
        seen = passes()
        wait_for(lambda: passes() >= seen + 2, timeout=20, what="two housekeeping passes")
        wait_for(lambda: stored(db) == 400, timeout=20, what="the 100 uplinks sent while the disk was low")

        fill(tmpfs / "filler-full")  # now writes fail (ENOSPC)
        assert os.statvfs(tmpfs).f_bavail == 0
        publish(100)
        for _ in range(50 if min_free == "0" else 0):
            if (status().get("full") or {}).get("since"):
                break
            publish(100)
        wait_for(
            lambda: (status().get("full") or {}).get("since"), timeout=20, what="the full state in the status"
        )
        if min_free == "0":
            publish(1500)
        total = dev.f_cnt
        st = status()
        assert st["agent"]["running"]
        if min_free == "0":
            assert "no space left for the database" in st["full"]["reason"]
        else:  # (or a write failed before the agent looked at the free space)
            assert "store.min_free_mb" in st["full"]["reason"] or "no space left" in st["full"]["reason"]
        held = stored(db)
        seen = passes()
        wait_for(lambda: passes() >= seen + 3, timeout=20, what="housekeeping passes while full")
        assert agent.poll() is None, "the agent exited on a full disk"
        kept = "SELECT COUNT(DISTINCT f_cnt) FROM events WHERE kind = 'up' AND f_cnt <= 400"
        assert stored(db, kept) == 400 and stored(db) >= held  # nothing deleted
        if min_free == "default":
            assert held == stored(db) == 400  # and nothing taken in below store.min_free_mb

        (tmpfs / "filler-full").unlink()
        (tmpfs / "filler-low").unlink()
        wait_for(lambda: stored(db) == total, timeout=60, what=f"all {total} uplinks once there is room")
        assert stored(db, "SELECT COUNT(DISTINCT f_cnt) FROM events WHERE kind = 'up'") == total
        assert (
            stored(db, "SELECT MIN(f_cnt) || '-' || MAX(f_cnt) FROM events WHERE kind = 'up'") == f"1-{total}"
        )
        wait_for(lambda: status().get("full") is None, timeout=20, what="the full state to clear")
        text = log.read_text(errors="replace")
        if min_free == "default":  # logged once, and once when it recovered
            assert text.count("disk full:") == 1 and text.count("takes writes again") == 1, text[-2000:]
        else:  # (without a free-space margin a write may squeeze in now and then, and the state with it)
            assert text.count("disk full:") >= 1 and text.count("takes writes again") >= 1, text[-2000:]
            assert "reconnecting to fetch the messages left with the broker" in text
        assert "over its cap" not in text and "retention removed" not in text  # nothing was deleted
    except BaseException:
        print(log.read_text(errors="replace")[-3000:])
        raise
    finally:
        agent.send_signal(signal.SIGTERM)
        rc = agent.wait(30)
    assert rc == 0


def test_the_database_opens_on_a_disk_that_is_already_full(tmpfs: Path) -> None:
    """A restart on a full disk: opening in WAL mode needs room for the -shm and -wal files, which
    the reserve file next to the database gives back; the agent can then serve what it has."""
    from edge_agent.store import Store, StoreError, open_reader

    store = Store(tmpfs / "edge.db")
    with store.atomic() as db:
        db.execute(
            "INSERT INTO quarantine (source, topic, reason, size, raw, received_at) VALUES ('s', 't', 'r', 1, x'00', 'now')"
        )
    store.close()  # the last connection removes -shm and -wal
    assert (tmpfs / "edge.db.reserve").stat().st_size == Store.RESERVE_BYTES
    fill(tmpfs / "filler")
    with pytest.raises(StoreError, match="the disk is full"):
        open_reader(tmpfs / "edge.db")  # one clear line, not a traceback
    store = Store(tmpfs / "edge.db")
    assert not (tmpfs / "edge.db.reserve").exists()
    reader = open_reader(tmpfs / "edge.db")
    assert reader.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0] == 1
    reader.close()
    (tmpfs / "filler").unlink()
    store.keep_reserve()  # (the agent does this when it finds room again)
    assert (tmpfs / "edge.db.reserve").stat().st_size == Store.RESERVE_BYTES
    store.close()
