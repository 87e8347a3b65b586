#!/usr/bin/env python3
"""Ingest benchmark: drain rate of a queue of QoS 1 uplinks for a persistent session.

C ChirpStack ``up`` events (about 900 bytes each) are queued in Mosquitto while the consumer is
away; then the consumer starts and we time until it has everything. Three consumers drain the
same queue in the same run:

* ``mosquitto_sub`` — the broker's ceiling;
* a paho subscriber that does nothing per message — Python's ceiling;
* ``a2d edge run`` — parse, decode, dedup, commit to SQLite, PUBACK after commit.

Prints the three rates, the agent's ratio to the paho ceiling and the agent's peak RSS.

    .venv/bin/python bench/ingest.py [--count 50000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from devtools import ports  # noqa: E402
from devtools.ports import free_port  # noqa: E402
from devtools.uplinks import chirpstack_up, make_devices  # noqa: E402

TOPIC = "application/+/device/+/event/+"
ROOT = Path(__file__).resolve().parent.parent
A2D = ROOT / ".venv" / "bin" / "a2d"


def wait_port(port: int, timeout: float = 20) -> None:
    if not ports.wait_port(port, timeout):
        raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def build_messages(count: int) -> list[tuple[str, bytes]]:
    import random
    from datetime import UTC, datetime

    devices = make_devices(30, seed=7)
    ws101 = [d for d in devices if d.kind == "ws101"]
    rng = random.Random(7)
    out = []
    for i in range(count):
        dev = ws101[i % len(ws101)]
        at = datetime.now(UTC)
        out.append(chirpstack_up(dev, dev.payload(at), at, rng))
        dev.f_cnt += 1
    return out


def publish(port: int, msgs: list[tuple[str, bytes]]) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-pub")
    c.max_inflight_messages_set(1000)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = []
    for topic, body in msgs:
        infos.append(c.publish(topic, body, qos=1))
        if len(infos) >= 1000:
            for i in infos:
                i.wait_for_publish(60)
            infos.clear()
    for i in infos:
        i.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


def bench_mosquitto_sub(port: int, msgs: list[tuple[str, bytes]]) -> float:
    sub = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
    base = [
        sub,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-q",
        "1",
        "-c",
        "-i",
        "bench-mosquitto-sub",
        "-t",
        TOPIC,
    ]
    subprocess.run([*base, "-E"], check=True, timeout=30)  # create the persistent session
    publish(port, msgs)
    t0 = time.perf_counter()
    subprocess.run([*base, "-C", str(len(msgs))], check=True, stdout=subprocess.DEVNULL, timeout=600)
    return len(msgs) / (time.perf_counter() - t0)


def bench_paho(port: int, msgs: list[tuple[str, bytes]]) -> float:
    n = len(msgs)
    done = threading.Event()
    got = 0

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    def session() -> mqtt.Client:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-paho", clean_session=False)
        c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(TOPIC, qos=1)
        c.on_message = on_message
        return c

    c = session()
    subscribed = threading.Event()
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect("127.0.0.1", port)
    c.loop_start()
    subscribed.wait(10)
    c.disconnect()
    c.loop_stop()
    publish(port, msgs)
    t0 = time.perf_counter()
    c = session()
    c.connect("127.0.0.1", port)
    c.loop_start()
    if not done.wait(600):
        raise SystemExit(f"paho subscriber got {got} of {n}")
    rate = n / (time.perf_counter() - t0)
    c.disconnect()
    c.loop_stop()
    return rate


def bench_agent(port: int, msgs: list[tuple[str, bytes]], tmp: Path, synchronous: str) -> tuple[float, float]:
    cfg = tmp / "edge.toml"
    data = tmp / "agent-data"
    cfg.write_text(
        f'[device]\nid = "bench"\ndata_dir = "{data}"\n[mqtt]\nport = {port}\n'
        "[api]\nport = 0\n"  # the local API runs as in the field, on any free port
        f'[store]\nsynchronous = "{synchronous}"\n[[sources]]\nkind = "chirpstack"\n'
        + "".join(
            f'[[devices]]\ndev_eui = "{d.dev_eui}"\ncodec = "milesight-iot/ws101"\n'
            for d in make_devices(30, seed=7)
            if d.kind == "ws101"
        )
    )
    env = {**os.environ, "A2D_LOG_LEVEL": "warning"}
    db = data / "edge.db"

    reader: list[sqlite3.Connection] = []

    def count(sql: str) -> int:
        """One value from the agent's database through one kept-open read-only connection."""
        try:
            if not reader:
                reader.append(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10))
            row = reader[0].execute(sql).fetchone()
            return -1 if row is None else row[0]  # (the agent has made the table, not the row yet)
        except sqlite3.Error:
            return -1

    # first run: create the database and the persistent session, then stop
    p = subprocess.Popen([str(A2D), "edge", "run", "--config", str(cfg)], env=env)
    for _ in range(400):
        if count("SELECT connected FROM sources WHERE name = 'chirpstack'") == 1:
            break
        time.sleep(0.025)
    else:
        raise SystemExit("the agent did not connect")
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    publish(port, msgs)
    t0 = time.perf_counter()
    p = subprocess.Popen([str(A2D), "edge", "run", "--config", str(cfg)], env=env)
    n = len(msgs)
    while True:
        got = count("SELECT stored FROM sources WHERE name = 'chirpstack'")  # O(1), unlike COUNT(*)
        if got >= n:
            break
        if time.perf_counter() - t0 > 600:
            raise SystemExit(f"the agent stored {got} of {n}")
        time.sleep(0.02)
    rate = n / (time.perf_counter() - t0)
    if count("SELECT COUNT(*) FROM events") != n:
        raise SystemExit("the agent's event count does not match what was published")
    hwm = 0.0
    for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    reader[0].close()
    return rate, hwm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=50_000, help="uplinks queued for each consumer")
    ap.add_argument(
        "--synchronous", choices=("normal", "full"), default="full", help="the agent's store.synchronous"
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="a2d-bench-"))
    port = free_port()
    conf = tmp / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n"
        f"max_queued_bytes 0\nmax_inflight_messages 1000\n" + ("user root\n" if os.geteuid() == 0 else "")
    )
    broker = subprocess.Popen(
        [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        msgs = build_messages(args.count)
        size = sum(len(b) for _, b in msgs) / len(msgs)
        print(f"{args.count} QoS 1 ChirpStack uplinks, {size:.0f} bytes each on average, queued per consumer")
        ref_broker = bench_mosquitto_sub(port, msgs)
        print(f"mosquitto_sub (broker ceiling):     {ref_broker:9.0f} msg/s")
        ref_paho = bench_paho(port, msgs)
        print(f"paho, nothing per message:          {ref_paho:9.0f} msg/s")
        ours, rss = bench_agent(port, msgs, tmp, args.synchronous)
        print(
            f"a2d edge run (decode+dedup+commit): {ours:9.0f} msg/s   (store.synchronous = {args.synchronous})"
        )
        print(
            f"ratio to the paho ceiling: {ours / ref_paho:.2f}   (to mosquitto_sub: {ours / ref_broker:.2f})"
        )
        print(f"agent peak RSS: {rss:.1f} MB")
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
