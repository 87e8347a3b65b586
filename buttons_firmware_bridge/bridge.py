"""Wire the bridge together: spool + writer, pump + MQTT link, serial boxes, GPIO buttons."""

from __future__ import annotations

import logging
from typing import Any

from a2d.signals import run_until_signal

from .config import BridgeConfig
from .gpio import Gpio
from .mqtt import Publisher
from .pump import Pump
from .serialbox import SerialBox
from .spool import Spool
from .writer import spool_writer

log = logging.getLogger(__name__)


class Bridge:
    """The running bridge. ``start()`` returns once everything is started; ``stop()`` ends it.

    ``pin_factory`` is gpiozero's, for the GPIO buttons (``None``: gpiozero's default); tests pass
    ``gpiozero.pins.mock.MockFactory()``.
    """

    def __init__(self, config: BridgeConfig, *, pin_factory: Any = None) -> None:
        self.config = config
        get = config.get
        self.spool = Spool(config.db_path, window=get("bridge.dedup_window"))
        self.writer = spool_writer(self.spool)
        self.pump = Pump(config.db_path, self.writer.submit, inflight=get("mqtt.inflight"))
        self.writer.on_commit = self.pump.wake
        self.publisher = Publisher(
            get("mqtt.host"),
            get("mqtt.port"),
            f"a2d-bridge-{get('bridge.id')}",
            on_ack=self.pump.on_ack,
            on_state=self.pump.on_state,
            username=get("mqtt.username"),
            password=get("mqtt.password"),
            keepalive=get("mqtt.keepalive"),
            inflight=get("mqtt.inflight"),
        )
        self.pump.link = self.publisher
        self.boxes = [SerialBox(p, self.writer.submit, get("bridge.reopen_s")) for p in config.serial]
        self.gpio = (
            Gpio(
                config.buttons,
                self.writer.submit,
                debounce_s=get("gpio.debounce_ms") / 1000,
                hold_s=get("gpio.hold_s"),
                blink_s=get("gpio.blink_s"),
                pin_factory=pin_factory,
            )
            if config.buttons
            else None
        )

    def start(self) -> None:
        self.writer.start()
        self.pump.start()
        self.publisher.start()
        try:
            if self.gpio is not None:
                self.gpio.start()
        except BaseException:
            self.stop()
            raise
        for box in self.boxes:
            box.start()
        log.info(
            "bridge running: %d GPIO button(s), %d serial port(s); spool %s",
            len(self.config.buttons), len(self.boxes), self.config.db_path,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the inputs, then publishing; what is spooled stays for the next start."""
        if self.gpio is not None:
            self.gpio.stop()
        for box in self.boxes:
            box.stop()
        self.pump.stop()
        self.publisher.stop()
        self.writer.close()
        self.spool.close()
        for box in self.boxes:
            if box.rejected:
                counts = ", ".join(f"{n} {reason}" for reason, n in sorted(box.rejected.items()))
                log.info("serial port %s rejected %s", box.name, counts)
        log.info("bridge stopped")

    def run_until_signal(self) -> None:
        run_until_signal(self.start, self.stop)
