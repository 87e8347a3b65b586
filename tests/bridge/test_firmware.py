"""The Pico firmware's logic on CPython, against a fake ``machine`` module: alone with a fake
clock, and end to end over a socat pty to the real bridge and a real edge agent."""

from __future__ import annotations

import os
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from buttons_firmware_bridge.frames import Ack, decode_frame

from .conftest import BridgeProcess, Edge, SocatPair, wait_for

FIRMWARE = Path(__file__).resolve().parents[2] / "buttons_firmware_bridge" / "firmware"
MODULES = ("machine", "main", "box", "counter", "a2dproto")


class FakePin:
    IN, OUT, PULL_UP = 0, 1, 2

    def __init__(self, pins: dict[int, FakePin], n: int, mode: int, pull: int | None = None) -> None:
        self.n, self.mode = n, mode
        self.level = 1 if pull == self.PULL_UP else 0
        self.history: list[int] = []
        pins[n] = self

    def value(self, v: int | None = None) -> int:
        if v is None:
            return self.level
        if v != self.level:
            self.history.append(v)
        self.level = v
        return v


@pytest.fixture
def fw() -> Iterator[Any]:
    """The firmware modules, imported with a fake ``machine``; ``fw.pins`` maps GPIO -> FakePin."""
    saved = {m: sys.modules.pop(m) for m in MODULES if m in sys.modules}
    pins: dict[int, FakePin] = {}
    machine = types.ModuleType("machine")

    class Pin(FakePin):
        def __init__(self, n: int, mode: int, pull: int | None = None) -> None:
            super().__init__(pins, n, mode, pull)

    machine.Pin = Pin  # type: ignore[attr-defined]
    sys.modules["machine"] = machine
    sys.path.insert(0, str(FIRMWARE))
    try:
        import main  # type: ignore[import-not-found]

        main.pins = pins
        yield main
    finally:
        sys.path.remove(str(FIRMWARE))
        for m in MODULES:
            sys.modules.pop(m, None)
        sys.modules.update(saved)


def test_debounce_hold_resend_and_led(fw: Any, tmp_path: Path) -> None:
    import box
    import counter

    sent: list[str] = []
    b = box.Box("boxf", ["1", "2"], counter.Counter(str(tmp_path / "c.txt")), sent.append)
    b.start(0)
    assert decode_frame(sent[-1]).event == "hello" and decode_frame(sent[-1]).seq == 0
    t = 0

    def feed(levels: list[bool], ms: int) -> None:
        nonlocal t
        for _ in range(ms // 5):
            t += 5
            b.step(t, levels)

    feed([True, False], 10)  # a glitch shorter than the debounce
    feed([False, False], 50)
    feed([True, False], 100)
    feed([False, False], 100)  # released: one press
    feed([False, True], 1600)  # held: a hold, nothing on release
    feed([False, False], 100)
    frames = [decode_frame(s) for s in sent]
    events = list(dict.fromkeys((f.event, f.button, f.seq) for f in frames if f.event != "hello"))
    assert events == [("press", "1", 1), ("hold", "2", 2)]
    assert len([f for f in frames if f.event == "press"]) > 1  # resent: no ACK came
    b.step(t, [False, False], Ack("boxf", 1).encode().decode() + Ack("other", 2).encode().decode())
    assert [p[0] for p in b.pending] == [0, 2]
    assert b.leds(t) == [True, False]  # the press counted: its LED lights
    assert b.leds(t + 400) == [False, False]


def test_counter_survives_a_restart_and_never_repeats(fw: Any, tmp_path: Path) -> None:
    import counter

    path = str(tmp_path / "counter.txt")
    c = counter.Counter(path, block=16)
    used = [c.next() for _ in range(20)]
    assert used == list(range(1, 21)) and c.writes == 2  # one flash write per 16 numbers
    c2 = counter.Counter(path, block=16)  # power cut, restart
    assert c2.last == 32 and c2.next() == 33
    with open(path, "w") as f:
        f.write("65534\n")
    c3 = counter.Counter(path, block=16)
    assert [c3.next() for _ in range(3)] == [65535, 0, 1]


class PtyLink:
    """The box's end of the socat pair, as the firmware's UsbLink would be on the Pico."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)

    def read(self) -> str:
        try:
            return os.read(self.fd, 4096).decode("ascii", "replace")
        except BlockingIOError:
            return ""

    def write(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def close(self) -> None:
        os.close(self.fd)


def test_firmware_through_the_real_bridge_stores_each_press_once(
    fw: Any, edge: Edge, socat: SocatPair, bridge_proc: BridgeProcess, tmp_path: Path
) -> None:
    import box

    link = PtyLink(socat.box)
    stop = threading.Event()
    boxes: list[Any] = []
    made: list[Any] = []

    class Recorded(box.Box):  # type: ignore[misc, name-defined]
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            made.append(self)

    box.Box = Recorded

    def firmware() -> None:
        boxes.append(
            fw.run(
                link,
                lambda: int(time.monotonic() * 1000),
                lambda ms: time.sleep(ms / 1000),
                box_id="pico1",
                path=str(tmp_path / "counter.txt"),
                running=lambda: not stop.is_set(),
            )  # fmt: skip
        )

    def press(gpio: int, ms: float) -> None:
        fw.pins[gpio].level = 0  # pulled low while pressed
        time.sleep(ms / 1000)  # the finger on the button
        fw.pins[gpio].level = 1
        time.sleep(0.06)

    for rounds in (1, 2):  # the second round is the box after a power cut
        stop.clear()
        t = threading.Thread(target=firmware, name="test-firmware")
        t.start()
        wait_for(lambda: 14 in fw.pins, 5, "the firmware to set up its pins")
        for gpio in (14, 12, 10, 14):
            press(gpio, 80)
        want = 4 * rounds
        wait_for(lambda: len(edge.presses()) >= want, 15, "the presses at the edge agent")  # noqa: B023
        wait_for(lambda: len(made) == want // 4 and not made[-1].pending, 10, "the ACKs at the box")  # noqa: B023
        stop.set()
        t.join(10)
        assert not boxes[-1].pending
        assert 1 in fw.pins[15].history  # button 1's LED lit when the ACK came
    link.close()
    stored = edge.presses()
    assert set(stored.values()) == {1} and len(stored) == 8
    seqs = sorted(seq for _, seq in stored)
    assert seqs[:4] == [1, 2, 3, 4] and seqs[4:] == [17, 18, 19, 20]  # continued above the reservation
    assert Counter(src for src, _ in stored) == Counter({"pico1": 8})
