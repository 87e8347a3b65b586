"""A claim responder on 127.0.0.1 with a notice, a lock file and an install the test watches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from a2d import claimwire
from provisioning.claimd import Responder, await_claim, new_code
from provisioning.lockout import Lockout

SERIAL = "10000000a1b2c3d4"


@dataclass
class Device:
    responder: Responder
    notice: Path
    lock_file: Path
    installed: list[bytes] = field(default_factory=list)
    refuse: str = ""  # the install refuses every bundle with this, when set
    result: list[bool] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.responder.port

    @property
    def code(self) -> str:
        notice = claimwire.read(self.notice)
        assert notice is not None
        return notice.code

    def install(self, bundle: bytes) -> None:
        if self.refuse:
            raise ValueError(self.refuse)
        self.installed.append(bundle)


def start_device(
    tmp: Path,
    *,
    session_s: float = 10.0,
    lock_file: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[Device, threading.Thread, threading.Event]:
    notice = tmp / "run" / "claim.json"
    lock = lock_file or tmp / "lib" / "claim-lock.json"
    dev = Device(responder=None, notice=notice, lock_file=lock)  # type: ignore[arg-type]
    dev.responder = Responder(SERIAL, new_code(), Lockout(lock, clock=clock), dev.install, host="127.0.0.1", port=0,
                              notice=notice, session_s=session_s)  # fmt: skip
    stop = threading.Event()
    dev.responder.bind()  # the port and the notice are there before the test goes on
    thread = threading.Thread(target=lambda: dev.result.append(await_claim(dev.responder, stop=stop)),
                              name="a2d-test-claimd")  # fmt: skip
    thread.start()
    return dev, thread, stop


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    dev, thread, stop = start_device(tmp_path)
    yield dev
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
