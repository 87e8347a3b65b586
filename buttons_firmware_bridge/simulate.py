"""A simulated serial button box for demos, tests and the benchmark: presses, resent until ACKed.

It behaves like the reference firmware: it greets with ``hello`` (its counter), numbers each
press with the next counter value, resends every unacknowledged frame every ``resend_s`` and
reopens the port when it vanishes.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field

import serial

from a2d.buttons import WireError
from a2d.errors import KnownError

from .frames import Frame, decode_ack, seq_after

log = logging.getLogger(__name__)


@dataclass
class SimulatedBox:
    port: str
    box_id: str = "box1"
    first_seq: int = 1
    resend_s: float = 0.5
    pending: dict[int, Frame] = field(default_factory=dict)
    acked: int = 0
    _ser: serial.Serial | None = None
    _buf: bytes = b""
    _sent_at: dict[int, float] = field(default_factory=dict)

    def open(self, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while True:
            try:
                self._ser = serial.Serial(self.port, 115200, timeout=0.05, write_timeout=2)
                return
            except (serial.SerialException, OSError) as exc:
                if time.monotonic() > end:
                    raise KnownError(f"cannot open {self.port}: {exc}") from exc
                time.sleep(0.2)

    def close(self) -> None:
        if self._ser is not None:
            self._ser.close()
            self._ser = None

    def send(self, frame: Frame) -> None:
        self.pending[frame.seq] = frame
        self._write(frame)

    def raw(self, data: bytes) -> None:
        """Write bytes as they are (tests: duplicates, bad checksums, garbage)."""
        try:
            assert self._ser is not None
            self._ser.write(data)
        except (serial.SerialException, OSError):
            self._reopen()

    def _write(self, frame: Frame) -> None:
        self._sent_at[frame.seq] = time.monotonic()
        try:
            assert self._ser is not None
            self._ser.write(frame.encode())
        except (serial.SerialException, OSError):
            self._reopen()

    def _reopen(self) -> None:
        self.close()
        sys.stdout.write(f"port {self.port} vanished; reopening\n")
        self.open(timeout=600)

    def poll(self, wait: float = 0.05) -> None:
        """Read ACKs for up to ``wait`` seconds and resend what is due."""
        end = time.monotonic() + wait
        while True:
            try:
                assert self._ser is not None
                data = self._ser.read(max(1, self._ser.in_waiting))
            except (serial.SerialException, OSError):
                self._reopen()
                data = b""
            self._buf += data
            *lines, self._buf = self._buf.split(b"\n")
            for line in lines:
                try:
                    ack = decode_ack(line)
                except WireError:
                    continue
                frame = self.pending.pop(ack.seq, None) if ack.box_id == self.box_id else None
                if frame is not None and frame.event != "hello":
                    self.acked += 1
            now = time.monotonic()
            for seq, frame in list(self.pending.items()):
                if now - self._sent_at.get(seq, 0.0) >= self.resend_s:
                    self._write(frame)
            if time.monotonic() >= end:
                return


def run(port: str, box_id: str, presses: int, interval: float, first_seq: int, timeout: float) -> int:
    box = SimulatedBox(port, box_id, first_seq)
    box.open()
    try:
        box.send(Frame(box_id, seq_after(first_seq, -1), "hello", "0"))
        seq, made = first_seq, 0
        while presses <= 0 or made < presses:
            box.send(Frame(box_id, seq, "press", str(1 + made % 3)))
            made += 1
            seq = seq_after(seq)
            box.poll(interval)
            sys.stdout.write(f"box {box_id}: {made} presses, {box.acked} acknowledged\n")
            sys.stdout.flush()
        end = time.monotonic() + timeout
        while box.pending and time.monotonic() < end:
            box.poll(0.1)
    finally:
        box.close()
    if box.pending:
        sys.stdout.write(f"box {box_id}: {len(box.pending)} frame(s) never acknowledged\n")
        return 1
    sys.stdout.write(f"box {box_id}: all {made} presses acknowledged\n")
    return 0
