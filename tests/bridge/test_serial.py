"""Serial button boxes end to end: a simulated box on a socat pty, `a2d bridge run`, a real
Mosquitto and a real edge agent. In every case each press is stored exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buttons_firmware_bridge.frames import Frame, seq_after
from buttons_firmware_bridge.simulate import SimulatedBox
from tests.conftest import Mosquitto

from .conftest import A2D, ROOT, BridgeProcess, Edge, SocatPair, wait_for


def presses(box_id: str, first: int, n: int) -> list[int]:
    return [seq_after(first, k) for k in range(n)]


def open_box(socat: SocatPair, box_id: str = "box7", first_seq: int = 1) -> SimulatedBox:
    box = SimulatedBox(str(socat.box), box_id, first_seq, resend_s=0.3)
    box.open()
    box.send(Frame(box_id, seq_after(first_seq, -1), "hello", "0"))
    return box


def drain(box: SimulatedBox, timeout: float = 15) -> None:
    wait_for(lambda: (box.poll(0.05), not box.pending)[1], timeout, "ACKs for every frame")


def test_resends_bad_checksums_and_garbage_store_each_press_once_across_the_wrap(
    edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess
) -> None:
    box = open_box(socat, first_seq=65520)
    seqs = presses("box7", 65520, 30)  # 65520 ... 65535, 0 ... 13
    for k, seq in enumerate(seqs):
        f = Frame("box7", seq, "press", str(1 + k % 3))
        box.send(f)
        box.raw(f.encode())  # a resend at once: stored once
        if k % 5 == 0:
            box.raw(b"$A2D,1,box7,5000,press,1*00\n")  # bad checksum: never acknowledged nor stored
            box.raw(Frame("box7", 5001, "wave", "1").encode())  # unknown event, right checksum
            box.raw(b"\x00\xff\xfe garbage \x13\r\n" + b"x" * 300 + b"\n")
        box.poll(0.01)
    drain(box)
    wait_for(lambda: len(edge.presses()) >= 30, 15, "30 presses at the edge agent")
    assert edge.presses() == Counter({("box7", s): 1 for s in seqs})
    events = edge.query("SELECT kind, stream, device_name, measurements FROM events WHERE source = 'bridge'")
    assert {(k, s, d) for k, s, d, _ in events} == {("press", "button", "box7")}
    assert all(json.loads(str(m))[0]["quantity"] == "button_press" for *_, m in events)
    log = bridge_proc.logged()
    # each kind of bad line is logged once, however often it came
    assert log.count("ignoring a line (bad checksum") == 1
    assert log.count("ignoring a line (unknown event") == 1
    assert log.count("ignoring a line (garbage") == 1
    assert bridge_proc.alive()
    box.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=300))
def test_random_garbage_never_costs_or_doubles_a_press(
    edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess, garbage: bytes
) -> None:
    # the fixtures are shared by every example: each example adds one press after its garbage
    box = SimulatedBox(str(socat.box), "boxg", resend_s=0.3)
    box.open()
    seq = len(edge.presses()) + 1
    box.raw(garbage + b"\n")
    box.send(Frame("boxg", seq, "press", "2"))
    box.raw(garbage)
    drain(box)
    wait_for(lambda: edge.presses()[("boxg", seq)] >= 1, 10, f"press {seq} at the edge agent")
    assert edge.presses() == Counter({("boxg", s): 1 for s in range(1, seq + 1)})
    assert bridge_proc.alive()
    box.close()


def _press_in_thread(
    box: SimulatedBox, box_id: str, seqs: list[int], errors: list[BaseException]
) -> threading.Thread:
    def run() -> None:
        try:
            for seq in seqs:
                box.send(Frame(box_id, seq, "press", "1"))
                box.poll(0.03)
            drain(box, 40)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    t = threading.Thread(target=run, name="test-box")
    t.start()
    return t


def test_unplugged_and_replugged_box_loses_nothing(
    edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess
) -> None:
    box = open_box(socat, "boxu")
    drain(box)
    seqs = presses("boxu", 1, 40)
    errors: list[BaseException] = []
    t = _press_in_thread(box, "boxu", seqs, errors)
    wait_for(lambda: box.acked >= 10, 15, "the first ACKs")
    socat.stop()  # the cable is pulled: both ends vanish
    wait_for(lambda: "vanished" in bridge_proc.logged(), 10, "the bridge to notice")
    socat.start()  # plugged in again under the same name
    t.join(60)
    assert not errors, errors
    wait_for(lambda: len(edge.presses()) >= 40, 15, "40 presses at the edge agent")
    assert edge.presses() == Counter({("boxu", s): 1 for s in seqs})
    log = bridge_proc.logged()
    assert log.count("vanished") == 1 and log.count("is back") == 1
    box.close()


def test_bridge_killed_with_9_and_restarted_loses_and_doubles_nothing(
    edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess
) -> None:
    box = open_box(socat, "boxk")
    drain(box)
    seqs = presses("boxk", 1, 60)
    errors: list[BaseException] = []
    t = _press_in_thread(box, "boxk", seqs, errors)
    wait_for(lambda: box.acked >= 15, 15, "the first ACKs")
    bridge_proc.kill(signal.SIGKILL)
    acked_before_restart = box.acked
    bridge_proc.start()
    t.join(60)
    assert not errors, errors
    wait_for(lambda: len(edge.presses()) >= 60, 20, "60 presses at the edge agent")
    assert edge.presses() == Counter({("boxk", s): 1 for s in seqs})
    assert acked_before_restart < 60  # the kill really landed in the middle
    box.close()


def test_broker_down_events_wait_in_the_spool_then_arrive_once(
    tmp_path: Path, mosquitto: Mosquitto, edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess
) -> None:
    box = open_box(socat, "boxb")
    drain(box)
    mosquitto.stop()
    seqs = presses("boxb", 1, 15)
    for seq in seqs:
        box.send(Frame("boxb", seq, "press", "3"))
        box.poll(0.01)
    drain(box)  # acknowledged: durable in the bridge's spool although no broker is there
    status = subprocess.run(
        [*A2D, "bridge", "status", "--config", str(bridge_proc.cfg), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert json.loads(status.stdout)["spool"]["waiting"] == 15
    assert not edge.presses()
    mosquitto.start()
    wait_for(lambda: len(edge.presses()) >= 15, 30, "15 presses at the edge agent")
    assert edge.presses() == Counter({("boxb", s): 1 for s in seqs})
    wait_for(lambda: "connected to the broker" in bridge_proc.logged().split("lost the broker")[-1], 10)
    assert bridge_proc.logged().count("lost the broker") == 1
    box.close()


def test_simulate_box_command_gets_every_press_acknowledged(
    edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess
) -> None:
    out = subprocess.run(
        [*A2D, "bridge", "simulate-box", "--port", str(socat.box), "--box", "demo", "--presses", "6",
         "--interval", "0.05"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all 6 presses acknowledged" in out.stdout
    wait_for(lambda: len(edge.presses()) >= 6, 15, "6 presses at the edge agent")
    assert edge.presses() == Counter({("demo", s): 1 for s in range(1, 7)})
