#!/usr/bin/env python3
"""Sync catch-up benchmark: a backlog of queued records uploaded to a local sync server.

N events are queued in an edge database (as after a long outage); the edge agent's sync client
uploads them to ``a2d server run`` (SQLite backend) on this machine. We time until the server
has acknowledged all of them, count the bytes on the wire and the CPU time each of the two processes
used (the server; the edge agent, which runs in this one), and, in the same run, bulk-insert the
same rows straight into a database with the server's schema as the reference. On a machine that
other work shares, the CPU per record moves far less from run to run than the rates do.

    .venv/bin/python bench/sync_catchup.py [--count 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import ports  # noqa: E402
from devtools.ports import free_port  # noqa: E402
from edge_agent import config as edge_config  # noqa: E402
from edge_agent.agent import Agent  # noqa: E402
from edge_agent.mqtt import mqtt_sources  # noqa: E402
from edge_agent.store import Store  # noqa: E402
from sync_server.db.schema import MIGRATIONS  # noqa: E402

A2D = [sys.executable, "-m", "a2d.cli"]


def wait_port(port: int, timeout: float = 20) -> None:
    if not ports.wait_port(port, timeout):
        raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process of this machine has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def queue(db_path: Path, n: int) -> None:
    """N uplink events of a feedback button, as the ingest writer stores them."""
    store = Store(db_path)
    decoded = '{"button":"short"}'
    measurements = '[{"quantity":"button_press","value":1,"unit":"count","channel":"short"}]'
    meta = '{"gateway_id":"0016c001f153a14c","rssi":-87,"snr":9.5,"gateways":1}'

    def rows():
        for k in range(n):
            at = f"2026-06-{1 + k // 86400 % 28:02d}T{k // 3600 % 24:02d}:{k // 60 % 60:02d}:{k % 60:02d}.000000Z"
            yield (f"cs:up:{k:012d}-5f1c-4b7a-9c1e-0a8b7c6d5e4f", "chirpstack", "up", "uplink",
                   "24e124538b223344", "feedback-rathaus-eg-1", "offenburg-digital", at, at, k, 85,
                   "milesight-iot/ws101", decoded, "[]", measurements, b"\xff\x2e\x01", meta)  # fmt: skip

    with store.atomic() as db:
        db.executemany(
            "INSERT INTO events (key, source, kind, stream, dev_eui, device_name, application, received_at,"
            " stored_at, f_cnt, f_port, codec, decoded, decode_errors, measurements, raw, meta)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )
    store.close()


def reference(server_db: Path, tmp: Path) -> float:
    """Rows per second of a raw executemany of the server's rows into the server's schema."""
    src = sqlite3.connect(server_db)
    rows = src.execute(
        "SELECT device_id, record_id, stream, ts, payload, received_at FROM records"
    ).fetchall()
    src.close()
    dst = sqlite3.connect(tmp / "reference.db", isolation_level=None)
    dst.execute("PRAGMA journal_mode = WAL")
    dst.execute("PRAGMA synchronous = NORMAL")
    for statement in MIGRATIONS[0].statements("sqlite"):
        dst.execute(statement)
    t0 = time.perf_counter()
    dst.execute("BEGIN")
    dst.executemany(
        "INSERT INTO records (device_id, record_id, stream, ts, payload, received_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        rows,
    )
    dst.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - t0)
    dst.close()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1_000_000, help="records queued in the edge outbox")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="a2d-sync-bench-"))
    port = free_port()
    server_db = tmp / "server.db"
    server = subprocess.Popen(
        [*A2D, "server", "run", "--db", f"sqlite:///{server_db}", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "A2D_LOG_LEVEL": "warning"},
    )  # fmt: skip
    try:
        wait_port(port)
        out = subprocess.run([*A2D, "server", "device", "add", "bench-edge", "--db", f"sqlite:///{server_db}",
                              "--json"], cwd=ROOT, capture_output=True, text=True, check=True).stdout  # fmt: skip
        device = json.loads(out)
        (tmp / "edge").mkdir()
        cfg_path = tmp / "edge.toml"
        cfg_path.write_text(
            f'[device]\nid = "{device["device_id"]}"\ndata_dir = "{tmp / "edge"}"\n'
            f'[sync]\nurl = "http://127.0.0.1:{port}"\ntoken = "{device["token"]}"\ninterval_s = 0.2\n'
            "batch_records = 5000\nbatch_bytes = 4000000\nmax_records_per_s = 0\nheartbeat_s = 3600\n"
        )
        cfg = edge_config.load(cfg_path)
        t0 = time.perf_counter()
        queue(cfg.db_path, args.count)
        print(f"queued {args.count} records in the edge outbox in {time.perf_counter() - t0:.1f} s")
        agent = Agent(cfg, mqtt_sources(cfg))
        reader = sqlite3.connect(f"file:{cfg.db_path}?mode=ro", uri=True)
        server_cpu0, edge_cpu0 = cpu_s(server.pid), time.process_time()
        t0 = time.perf_counter()
        agent.start()
        try:
            while True:
                row = reader.execute("SELECT cursor FROM sync_streams WHERE stream = 'uplink'").fetchone()
                if row and row[0] >= args.count:
                    break
                if time.perf_counter() - t0 > 1800:
                    raise SystemExit("the upload did not finish in 30 minutes")
                time.sleep(0.05)
            elapsed = time.perf_counter() - t0
            server_cpu, edge_cpu = cpu_s(server.pid) - server_cpu0, time.process_time() - edge_cpu0
        finally:
            assert agent.sync is not None
            sent = agent.sync.bytes_sent
            agent.stop()
            reader.close()
        held = sqlite3.connect(server_db).execute("SELECT COUNT(*) FROM records").fetchone()[0]
        if held != args.count:
            raise SystemExit(f"the server holds {held} records, not {args.count}")
        ours = args.count / elapsed
        ref = reference(server_db, tmp)
        print(f"edge outbox -> server, end to end:  {ours:9.0f} records/s ({elapsed:.1f} s)")
        per = 1e6 / args.count
        print(f"CPU per record: server {server_cpu * per:.1f} us, edge {edge_cpu * per:.1f} us,"
              f" wall {elapsed * per:.1f} us")  # fmt: skip
        print(f"bytes on the wire per record:       {sent / args.count:9.1f} (gzip'd JSON bodies)")
        print(f"raw executemany into server schema: {ref:9.0f} records/s (reference)")
        print(f"ratio: {ours / ref:.2f}")
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
