"""Server fixtures: each test runs against SQLite and against a real PostgreSQL cluster.

The cluster is private to the test session: ``initdb`` into a temporary folder, ``pg_ctl start``
on a free port on 127.0.0.1 (as the ``postgres`` user when the tests run as root, since initdb
refuses root), a fresh database per test, ``pg_ctl stop`` at the end.
"""

from __future__ import annotations

import glob
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.config import ServerSettings
from sync_server.db import Database, open_database
from sync_server.registry import device_id_candidates, hash_token, new_token
from tests.conftest import free_port

PROJECT = Path(__file__).resolve().parents[2]


def _pg_bindir() -> Path:
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    pytest.fail("PostgreSQL is missing (no initdb/pg_ctl): run `make test` or apt-get install postgresql")


class Postgres:
    """A throwaway PostgreSQL cluster: :meth:`new_database` gives a fresh database's URL."""

    def __init__(self) -> None:
        self.bin = _pg_bindir()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="a2d-pg-"))
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync",
                 "--encoding=UTF8", "--locale=C")  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "-t", "60",
                 "start")  # fmt: skip

    def _pg(self, tool: str, *args: str) -> None:
        argv = [str(self.bin / tool), *args]
        if self.as_root:
            argv = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            log = self.root / "log"
            pytest.fail(f"{tool} failed: {done.stderr}{log.read_text() if log.exists() else ''}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        name = f"a2d_test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    cluster = Postgres()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.db'}"
    cluster: Postgres = request.getfixturevalue("postgres")
    return cluster.new_database()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url, pool_size=4)
    database.migrate()
    yield database
    database.close()


ADMIN_TOKEN = "admin-token-for-tests-" + "a" * 20


@pytest.fixture
def client(db: Database, db_url: str) -> Iterator[TestClient]:
    settings = ServerSettings(db=db_url, admin_token=ADMIN_TOKEN, heartbeat_history=3)
    with TestClient(create_app(settings, db)) as c:
        yield c


def add_device(db: Database, name: str, site: str = "") -> tuple[str, str]:
    """Register a device (at ``site``) straight in the database: (device_id, token)."""
    token = new_token()
    return db.add_device(
        name, device_id_candidates(name), hash_token(token), "2026-06-02T08:00:00.000000Z", site
    ), token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def batch(prefix: str, n: int, stream: str = "uplink") -> dict[str, object]:
    return {
        "records": [
            {"record_id": f"{prefix}:{i}", "stream": stream, "ts": "2026-06-02T08:15:31.412883Z",
             "payload": {"n": i, "text": "Grüße", "nested": {"ok": True, "values": [1.5, None]}}}
            for i in range(n)
        ]
    }  # fmt: skip


def stored_ids(db: Database, device_id: str | None = None) -> list[str]:
    return [r.record_id for r in db.records(device_id)]


class ServerProcess:
    """``a2d server run`` as a real process on a free loopback port."""

    def __init__(self, db_url: str, log: Path, port: int | None = None) -> None:
        self.db_url = db_url
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [sys.executable, "-m", "a2d.cli", "server", "run", "--db", self.db_url, "--host", "127.0.0.1",
                "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=PROJECT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/api/v1/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"the server did not answer within 30 s:\n{self.log.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Start servers with ``servers.append(ServerProcess(...))``; all are stopped afterwards."""
    started: list[ServerProcess] = []
    yield started
    for s in started:
        s.kill(signal.SIGTERM)
