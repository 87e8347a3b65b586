#!/usr/bin/env python3
"""Fleet benchmark: 10,000 simulated devices heartbeating once a minute against a local sync server.

1. The devices are registered in-process through the server's own registry module
   (``sync_server.registry`` makes and hashes each token, ``Database.add_device`` stores it) in a
   fresh SQLite database, from a pool of threads so that the writer thread commits them in
   groups. No admin bulk route: the server is not running yet, and none is needed.
2. ``a2d server run`` starts on that database, on 127.0.0.1 only, with its default settings
   (``synchronous = full``, a heartbeat history of 60 per device).
3. Paced: every device sends one heartbeat with its own token at its slot of the window (device
   i at i * seconds / devices: open loop, as a fleet on a one-minute timer would), over
   keep-alive connections (``httpx.AsyncClient``, at most ``--connections``). A request's latency
   runs from its slot to its answer, so a server that falls behind shows it instead of slowing
   the senders down. The reference, in the same run: as many ``GET /api/v1/healthz`` on the same
   schedule (no auth, no write).
4. Capacity: both again as fast as ``CAPACITY_CONNECTIONS`` connections allow, for the throughput
   ceiling and its ratio (more connections only cost the Python client CPU on a small machine).

Every phase is bounded in count (one request per device) and in time (``--seconds`` plus a
grace period; requests time out after 10 s and count as errors).

    .venv/bin/python bench/fleet.py [--devices 10000] [--seconds 60] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from a2d.syncwire import API, Heartbeat, heartbeat_path  # noqa: E402
from a2d.timeutil import utc_now  # noqa: E402
from devtools.ports import free_port  # noqa: E402
from sync_server import registry  # noqa: E402
from sync_server.db import open_database  # noqa: E402

A2D = [sys.executable, "-m", "a2d.cli"]
AIM_P99_MS = 100.0
GRACE_S = 30.0
CAPACITY_BUDGET_S = 120.0
CAPACITY_CONNECTIONS = 4
TIMEOUT_S = 10.0


@dataclass
class Phase:
    name: str
    latencies: list[float]  # seconds, of the requests answered 2xx
    errors: int
    elapsed: float  # first slot to last answer

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def pct(self, p: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def line(self, note: str = "") -> str:
        return (f"  {self.name:<16} {self.rate:8.1f} req/s   p50 {self.pct(50):7.2f} ms   p99 {self.pct(99):7.2f} ms"
                f"   errors {self.errors}{note}")  # fmt: skip


def register(db_url: str, n: int) -> list[tuple[str, str]]:
    """``n`` devices straight into the database through the registry: [(device_id, token)]."""
    db = open_database(db_url)
    try:
        db.migrate()
        now = utc_now()

        def add(i: int) -> tuple[str, str]:
            name, token = f"fleet-{i:05d}", registry.new_token()
            return db.add_device(
                name, registry.device_id_candidates(name), registry.hash_token(token), now
            ), token

        with ThreadPoolExecutor(64) as pool:
            return list(pool.map(add, range(n)))
    finally:
        db.close()


def start_server(db_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    argv = [*A2D, "server", "run", "--db", db_url, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "A2D_LOG_LEVEL": "warning"})  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{API}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.terminate()
    raise SystemExit(f"the server did not answer within 30 s:\n{log.read_text()}")


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def run_phase(name: str, base: str, send: Send, n: int, seconds: float, connections: int) -> Phase:
    """``n`` requests, request i due at ``i * seconds / n`` (``seconds = 0``: all at once, as
    fast as ``connections`` keep-alive connections allow); bounded by ``seconds + GRACE_S``
    (``CAPACITY_BUDGET_S`` when all at once)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(TIMEOUT_S)
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
        gate = asyncio.Semaphore(connections)  # bounds the tasks waiting for a connection, too
        start = loop.time() + 0.05
        last = start

        async def one(i: int, due: float) -> None:
            nonlocal errors, last
            try:
                r = await send(client, i)
                ok = 200 <= r.status_code < 300
            except httpx.HTTPError:
                ok = False
            finally:
                gate.release()
            done = loop.time()
            last = max(last, done)
            if ok:
                latencies.append(done - due)
            else:
                errors += 1

        deadline = start + (seconds + GRACE_S if seconds else CAPACITY_BUDGET_S)
        tasks = []
        for i in range(n):
            if loop.time() > deadline:
                errors += n - i  # never sent: the server fell too far behind
                break
            due = start + i * seconds / n
            if seconds:
                await asyncio.sleep(max(0.0, due - loop.time()))
            await gate.acquire()
            tasks.append(asyncio.create_task(one(i, due if seconds else loop.time())))
        _, late = await asyncio.wait(tasks, timeout=max(0.01, deadline - loop.time())) if tasks else ((), ())
        for t in late:
            t.cancel()
        errors += len(late)
    return Phase(name, latencies, errors, last - start)


def heartbeat_sender(devices: list[tuple[str, str]]) -> Send:
    body = orjson.dumps(
        Heartbeat(versions={"a2d": "0.1.0"}, uptime_s=86400.0, disk_free_bytes=12_000_000_000,
                  outbox={"uplink": 0, "feedback": 0}, last_sync_at=utc_now()).as_dict()
    )  # fmt: skip
    paths = [heartbeat_path(d) for d, _ in devices]
    headers = [{"Authorization": f"Bearer {t}", "Content-Type": "application/json"} for _, t in devices]

    def send(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return client.post(paths[i], content=body, headers=headers[i])

    return send


def healthz(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
    return client.get(f"{API}/healthz")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000, help="simulated devices, one heartbeat each")
    ap.add_argument("--seconds", type=float, default=60.0, help="the window the heartbeats are spread over")
    ap.add_argument("--connections", type=int, default=16, help="most keep-alive connections when paced")
    args = ap.parse_args()
    if args.devices < 1 or args.seconds <= 0 or args.connections < 1:
        ap.error("--devices, --seconds and --connections must be positive")
    tmp = Path(tempfile.mkdtemp(prefix="a2d-fleet-bench-"))
    db_path = tmp / "server.db"
    db_url = f"sqlite:///{db_path}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    devices = register(db_url, args.devices)
    print(f"registered {len(devices)} devices in {time.perf_counter() - t0:.1f} s "
          "(in-process through sync_server.registry + Database.add_device, before the server starts)")  # fmt: skip
    server = start_server(db_url, port, tmp / "server.log")
    try:
        beat = heartbeat_sender(devices)
        n, s, c = args.devices, args.seconds, args.connections

        async def phases() -> list[Phase]:
            await run_phase("warm-up", base, healthz, min(n, 200), 0, c)
            return [
                await run_phase("heartbeat POST", base, beat, n, s, c),
                await run_phase("healthz GET", base, healthz, n, s, c),
                await run_phase("heartbeat POST", base, beat, n, 0, CAPACITY_CONNECTIONS),
                await run_phase("healthz GET", base, healthz, n, 0, CAPACITY_CONNECTIONS),
            ]

        paced_beat, paced_ref, fast_beat, fast_ref = asyncio.run(phases())
        stored = sqlite3.connect(db_path).execute("SELECT COUNT(*) FROM heartbeats_latest").fetchone()[0]
    finally:
        server.terminate()
        server.wait(30)
    print(f"\npaced: {n} devices, one heartbeat each over {s:g} s (open loop, {c} keep-alive connections,"
          " latency from each request's slot):")  # fmt: skip
    print(paced_beat.line())
    print(paced_ref.line("   (reference)"))
    print(f"  ratio heartbeat/healthz: p50 {paced_beat.pct(50) / paced_ref.pct(50):.2f}   "
          f"p99 {paced_beat.pct(99) / paced_ref.pct(99):.2f}")  # fmt: skip
    print(f"\ncapacity: {n} requests each, as fast as {CAPACITY_CONNECTIONS} keep-alive connections allow:")
    print(fast_beat.line())
    print(fast_ref.line("   (reference)"))
    print(f"  ratio heartbeat/healthz throughput: {fast_beat.rate / fast_ref.rate:.2f}")
    met = paced_beat.pct(99) < AIM_P99_MS and paced_beat.errors == 0
    print(f"\nserver holds the latest heartbeat of {stored} of {n} devices")
    print(
        f"aim p99 < {AIM_P99_MS:g} ms for heartbeats at {n / s * 60:.0f} devices/min: {'met' if met else 'NOT met'}"
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
