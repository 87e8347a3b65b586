#!/usr/bin/env python3
"""Button latency: a serial frame written to the box's pty -> the event committed by the edge agent.

Runs Mosquitto, a socat pty pair, ``a2d edge run`` and ``a2d bridge run``; presses one button at a
time (``--presses``, default 1000) and polls the agent's SQLite (read-only) until the event is
there. Prints p50/p99/max of press -> stored and of press -> ACK at the box.

The reference, in the same run, does the same hops with no code of ours: read the frame from a
second pty pair, commit it to SQLite (WAL, synchronous=FULL), publish it with QoS 1 through the
same broker, receive it in a paho subscriber that commits it to SQLite (FULL). The ratio of the
medians is printed.

    .venv/bin/python bench/button_latency.py [--presses 1000]
"""

from __future__ import annotations

import argparse
import os
import select
import shutil
import socket
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
from buttons_firmware_bridge.frames import Frame  # noqa: E402
from devtools.ports import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
A2D = ROOT / ".venv" / "bin" / "a2d"
PRESS_TIMEOUT_S = 5.0


def wait(pred, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def figures(name: str, ms: list[float]) -> str:
    return f"{name:<34} p50 {pct(ms, 50):7.2f} ms   p99 {pct(ms, 99):7.2f} ms   max {max(ms):7.2f} ms   (n={len(ms)})"


class Services:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        p = subprocess.Popen(args, **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def pty_pair(self, a: Path, b: Path) -> None:
        self.start([shutil.which("socat") or "socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"])
        wait(lambda: a.exists() and b.exists(), 10, "socat")

    def close(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


def read_acks(fd: int) -> bytes:
    out = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        out += chunk
    return out


def bridge_run(tmp: Path, svc: Services, port: int, presses: int) -> tuple[list[float], list[float]]:
    (tmp / "edge").mkdir()
    edge_cfg = tmp / "edge.toml"
    edge_cfg.write_text(
        f'[device]\nid = "bench-edge"\ndata_dir = "{tmp / "edge"}"\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        "[api]\nenabled = false\n"
    )
    a, b = tmp / "ttyBridge", tmp / "ttyBox"
    svc.pty_pair(a, b)
    bridge_cfg = tmp / "bridge.toml"
    bridge_cfg.write_text(
        f'[bridge]\ndata_dir = "{tmp / "bridge"}"\n[mqtt]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[[serial]]\nport = "{a}"\n'
    )
    log = (tmp / "services.log").open("ab")
    svc.start([str(A2D), "edge", "run", "--config", str(edge_cfg)], cwd=ROOT, stderr=log)
    edge_db = tmp / "edge" / "edge.db"

    def edge_connected() -> bool:
        if not edge_db.exists():
            return False
        with sqlite3.connect(f"file:{edge_db}?mode=ro", uri=True) as c:
            try:
                return c.execute("SELECT connected FROM sources WHERE name = 'bridge'").fetchall() == [(1,)]
            except sqlite3.OperationalError:
                return False

    wait(edge_connected, 20, "the edge agent")
    svc.start([str(A2D), "bridge", "run", "--config", str(bridge_cfg)], cwd=ROOT, stderr=log)
    fd = os.open(b, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    end = time.monotonic() + 20
    while True:  # like a box: greet until the bridge answers (it drops what came before it opened)
        os.write(fd, Frame("bench", 0, "hello", "0").encode())
        time.sleep(0.3)
        if b"ACK,bench,0*" in read_acks(fd):
            break
        if time.monotonic() > end:
            raise SystemExit("the bridge did not answer")
    db = sqlite3.connect(f"file:{edge_db}?mode=ro", uri=True)
    stored: list[float] = []
    acked: list[float] = []
    try:
        for seq in range(1, presses + 1):
            frame = Frame("bench", seq, "press", str(1 + seq % 3)).encode()
            ack = f"ACK,bench,{seq}*".encode()
            t0 = time.perf_counter()
            os.write(fd, frame)
            buf, t_ack, t_stored = b"", None, None
            deadline = t0 + PRESS_TIMEOUT_S
            while (t_ack is None or t_stored is None) and time.perf_counter() < deadline:
                if t_ack is None:
                    buf += read_acks(fd)
                    if ack in buf:
                        t_ack = time.perf_counter()
                if t_stored is None:
                    n = db.execute("SELECT COUNT(*) FROM events WHERE source = 'bridge'").fetchone()[0]
                    if n >= seq:
                        t_stored = time.perf_counter()
                time.sleep(0.0005)
            if t_ack is None or t_stored is None:
                raise SystemExit(f"press {seq} did not arrive within {PRESS_TIMEOUT_S} s")
            acked.append((t_ack - t0) * 1000)
            stored.append((t_stored - t0) * 1000)
            if seq % 200 == 0:
                sys.stderr.write(f"  {seq}/{presses} presses\n")
    finally:
        db.close()
        os.close(fd)
    return stored, acked


def reference_run(tmp: Path, svc: Services, port: int, presses: int) -> list[float]:
    a, b = tmp / "refA", tmp / "refB"
    svc.pty_pair(a, b)
    box = os.open(b, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    reader = os.open(a, os.O_RDWR | os.O_NOCTTY)

    def sqlite_full(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
        return db

    spool, store = sqlite_full(tmp / "ref-spool.db"), sqlite_full(tmp / "ref-store.db")
    got = threading.Event()

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        store.execute("INSERT INTO t (payload) VALUES (?)", (msg.payload,))
        got.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ref-sub")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("bench/ref", qos=1)
    sub.loop_start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-ref-pub")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    time.sleep(0.5)  # let both sessions settle before timing
    out = []
    try:
        for seq in range(1, presses + 1):
            got.clear()
            t0 = time.perf_counter()
            os.write(box, Frame("ref", seq, "press", "1").encode())
            line = b""
            while not line.endswith(b"\n"):
                line += os.read(reader, 256)
            spool.execute("INSERT INTO t (payload) VALUES (?)", (line,))
            pub.publish("bench/ref", line, qos=1).wait_for_publish(5)
            if not got.wait(PRESS_TIMEOUT_S):
                raise SystemExit("the reference message did not arrive")
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()
        os.close(box)
        os.close(reader)
        spool.close()
        store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presses", type=int, default=1000)
    ap.add_argument("--reference-presses", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="a2d-bench-button-"))
    svc = Services(tmp)
    try:
        port = free_port()
        conf = tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        svc.start([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)])
        wait(lambda: _port_open(port), 10, "mosquitto")
        sys.stderr.write(f"bridge path: {args.presses} presses, one at a time\n")
        stored, acked = bridge_run(tmp, svc, port, args.presses)
        sys.stderr.write(f"reference: {args.reference_presses} presses\n")
        ref = reference_run(tmp, svc, port, args.reference_presses)
    finally:
        svc.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(figures("press -> stored at the edge agent", stored))
    print(figures("press -> ACK at the box", acked))
    print(figures("reference (same hops, no a2d code)", ref))
    print(f"ratio of medians, a2d / reference: {pct(stored, 50) / pct(ref, 50):.2f}")
    print(f"p99 target < 100 ms: {'met' if pct(stored, 99) < 100 else 'NOT met'}")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
