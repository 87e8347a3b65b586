"""Serial button boxes (pyserial): read frames, spool them, acknowledge only after the commit.

One thread per configured port. A port that cannot be opened or vanishes (USB unplugged) is
tried again every ``reopen_s`` seconds; that it went away and that it came back are logged once
each. Lines that are not valid frames (bad checksum, unknown event, garbage) are counted per
reason, logged the first time, and never acknowledged; reading goes on.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import serial

from a2d import timeutil
from a2d.buttons import WireError
from a2d.logs import Once

from .config import SerialPort
from .frames import MAX_FRAME, Ack, Frame, decode_frame
from .spool import Spool

log = logging.getLogger(__name__)

COMMIT_TIMEOUT_S = 30.0


def reason_of(error: WireError) -> str:
    """The counter a rejected line goes to."""
    text = str(error)
    if "checksum" in text:
        return "bad checksum"
    if "unknown event" in text:
        return "unknown event"
    return "garbage"


class SerialBox:
    def __init__(
        self,
        port: SerialPort,
        submit: Callable[[Callable[[Spool], Any]], Future[Any]],
        reopen_s: float = 1.0,
    ) -> None:
        self.port = port
        self.submit = submit
        self.reopen_s = reopen_s
        self.rejected: Counter[str] = Counter()
        self.acked = 0
        self.duplicates = 0
        self._once = Once(log)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened_before = False

    @property
    def name(self) -> str:
        return self.port.port

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"a2d-bridge-serial-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                ser = serial.Serial(self.port.port, self.port.baud, timeout=0.1, write_timeout=2)
            except (serial.SerialException, OSError, ValueError) as exc:
                what = "vanished" if self._opened_before else "cannot be opened"
                self._once.failed("port", "serial port %s %s (%s); trying again", self.name, what, exc)
                self._stopping.wait(self.reopen_s)
                continue
            if self._once.is_down("port"):
                self._once.recovered("port", "serial port %s is back", self.name)
            else:
                log.info("serial port %s open at %d baud", self.name, self.port.baud)
            self._opened_before = True
            try:
                self._read(ser)
            except (serial.SerialException, OSError) as exc:
                self._once.failed("port", "serial port %s vanished (%s); trying again", self.name, exc)
            finally:
                try:
                    ser.close()
                except (serial.SerialException, OSError):
                    pass
            self._stopping.wait(self.reopen_s)

    def _read(self, ser: serial.Serial) -> None:
        buf = b""
        while not self._stopping.is_set():
            data = ser.read(max(1, ser.in_waiting))
            if not data:
                continue
            buf += data
            *lines, buf = buf.split(b"\n")
            if len(buf) > MAX_FRAME + 2:  # no newline in sight: garbage
                self._reject("garbage", f"{len(buf)} bytes without a line end", buf)
                buf = b""
            frames = []
            for line in lines:
                line = line.rstrip(b"\r")
                if not line:
                    continue
                try:
                    frames.append(decode_frame(line))
                except WireError as exc:
                    self._reject(reason_of(exc), str(exc), line)
            if frames:
                self._spool_and_ack(ser, frames)

    def _spool_and_ack(self, ser: serial.Serial, frames: list[Frame]) -> None:
        at = timeutil.utc_now()
        fut = self.submit(lambda s: [s.accept_frame(f, at) for f in frames])
        try:
            new = fut.result(COMMIT_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - not spooled: no ACK, the box resends
            log.debug("serial port %s: %d frame(s) not spooled: %s", self.name, len(frames), exc)
            return
        self.duplicates += sum(1 for n in new if not n)
        self.acked += len(frames)
        ser.write(b"".join(Ack(f.box_id, f.seq).encode() for f in frames))

    def _reject(self, reason: str, detail: str, line: bytes) -> None:
        self.rejected[reason] += 1
        key = f"reject:{reason}"
        if self._once.is_down(key):
            log.debug("serial port %s: %s: %s", self.name, reason, detail)
        else:
            self._once.failed(
                key,
                "serial port %s: ignoring a line (%s: %s, %r); further ones are counted, not logged",
                self.name, reason, detail, line[:60],
            )  # fmt: skip
