"""GPIO buttons and acknowledgement LEDs through gpiozero (the bridge's only gpiozero user).

The pins come from a gpiozero pin factory, passed in as gpiozero's own ``pin_factory`` argument:
``a2d bridge run`` (``cli.py``) passes :func:`default_pin_factory`, gpiozero's choice made once
(``GPIOZERO_PIN_FACTORY`` when set, else lgpio on a Pi 5, RPi.GPIO on older Pis); tests and a
Python shell pass gpiozero's ``MockFactory`` and drive its pins (``drive_low()``/``drive_high()``).
Off a Raspberry Pi, without that variable, we refuse to start with one clear line instead of
letting gpiozero probe its factories (RPi.GPIO cannot even be imported off a Pi). Pin edges are
turned into events by :class:`.presses.PressLogic` on one thread; an event is spooled, and the
button's LED blinks once the spool has committed it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from a2d import timeutil
from a2d.buttons import ButtonEvent
from a2d.errors import KnownError

from .config import GpioButton
from .presses import PressLogic
from .spool import Spool, new_id

log = logging.getLogger(__name__)

PI_MODEL = Path("/proc/device-tree/model")


def on_a_pi() -> bool:
    try:
        return "Raspberry Pi" in PI_MODEL.read_text(errors="replace")
    except OSError:
        return False


def check_pin_factory() -> None:
    if os.environ.get("GPIOZERO_PIN_FACTORY") or on_a_pi():
        return
    raise KnownError(
        "[[gpio.buttons]] are configured but this is not a Raspberry Pi; remove them, or set"
        " GPIOZERO_PIN_FACTORY=mock to try the bridge without hardware"
    )


def default_pin_factory() -> Any:
    """gpiozero's default pin factory, chosen once; off a Pi without ``GPIOZERO_PIN_FACTORY``, a
    :class:`KnownError` (one line) instead of gpiozero's probing."""
    check_pin_factory()
    from gpiozero import Device
    from gpiozero.exc import GPIOZeroError

    try:
        Device.ensure_pin_factory()
    except (GPIOZeroError, ImportError) as exc:
        raise KnownError(f"cannot load a GPIO pin factory: {exc}") from exc
    return Device.pin_factory


class Gpio:
    """The configured buttons and LEDs on the pins of ``pin_factory`` (``None``: gpiozero's default)."""

    SPOOL_ATTEMPTS = 60  # one a second

    def __init__(
        self,
        buttons: tuple[GpioButton, ...],
        submit: Callable[[Callable[[Spool], Any]], Future[Any]],
        *,
        debounce_s: float,
        hold_s: float,
        blink_s: float,
        pin_factory: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = buttons
        self.pin_factory = pin_factory
        self.submit = submit
        self.blink_s = blink_s
        self.clock = clock
        self.logic = [PressLogic(debounce_s, hold_s, b.cooldown_s) for b in buttons]
        self.buttons: list[Any] = []
        self.leds: list[Any] = []
        self.spooled = 0
        self._timers: list[tuple[float, int, int, str, ButtonEvent | None, int]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        pins = self.pin_factory
        if pins is None:
            check_pin_factory()
        from gpiozero import LED, Button
        from gpiozero.exc import GPIOZeroError

        try:
            for i, cfg in enumerate(self.config):
                btn = Button(cfg.pin, pull_up=True, bounce_time=None, pin_factory=pins)
                btn.when_pressed = lambda _d=None, i=i: self._edge(i)
                btn.when_released = lambda _d=None, i=i: self._edge(i)
                self.buttons.append(btn)
                self.leds.append(LED(cfg.led, pin_factory=pins) if cfg.led is not None else None)
        except GPIOZeroError as exc:
            self._close_devices()
            raise KnownError(f"cannot set up the GPIO pins: {exc}") from exc
        self._thread = threading.Thread(target=self._run, name="a2d-bridge-gpio", daemon=True)
        self._thread.start()
        for cfg in self.config:
            led = f", LED on GPIO{cfg.led}" if cfg.led is not None else ""
            log.info("button %s/%s on GPIO%d%s", cfg.source_id, cfg.button, cfg.pin, led)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._close_devices()

    def _close_devices(self) -> None:
        for dev in [*self.buttons, *self.leds]:
            if dev is not None:
                dev.close()
        self.buttons, self.leds = [], []

    # gpiozero's callback thread --------------------------------------------------------------------
    def _edge(self, i: int) -> None:
        with self._cond:
            self._schedule(self.logic[i].edge(self.clock()), i, "settle")

    def _schedule(
        self, when: float, i: int, what: str, ev: ButtonEvent | None = None, attempt: int = 0
    ) -> None:
        heapq.heappush(self._timers, (when, next(self._counter), i, what, ev, attempt))
        self._cond.notify()

    # our thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._timers or self._timers[0][0] > self.clock()):
                    self._cond.wait(None if not self._timers else max(0.0, self._timers[0][0] - self.clock()))
                if self._stopping:
                    return
                _, _, i, what, retry, attempt = heapq.heappop(self._timers)
                now = self.clock()
                logic = self.logic[i]
                event = None
                if what == "settle":
                    event, hold_at = logic.settle(now, bool(self.buttons[i].is_pressed))
                    if hold_at is not None:
                        self._schedule(hold_at, i, "hold")
                elif what == "hold":
                    event = logic.hold_due(now)
            if retry is not None:
                self._submit(i, retry, attempt)
            elif event is not None:
                cfg = self.config[i]
                self._submit(
                    i, ButtonEvent(new_id(), cfg.source_id, cfg.button, event, timeutil.utc_now()), 0
                )

    def _submit(self, i: int, ev: ButtonEvent, attempt: int) -> None:
        fut = self.submit(lambda s: s.add(ev))
        fut.add_done_callback(lambda f: self._spooled(i, ev, f, attempt))

    def _spooled(self, i: int, ev: ButtonEvent, fut: Future[Any], attempt: int) -> None:
        if fut.cancelled():  # the writer was closed before it took the press
            log.warning("button %s/%s: %s lost, the bridge was stopping", ev.source_id, ev.button, ev.event)
            return
        error = fut.exception()
        if error is not None:
            # a button cannot resend like a box: keep trying for a while (the spool may be busy)
            with self._cond:
                if attempt < self.SPOOL_ATTEMPTS and not self._stopping:
                    self._schedule(self.clock() + 1.0, i, "retry", ev, attempt + 1)
                    return
            log.warning(
                "button %s/%s: %s lost, the spool failed: %s", ev.source_id, ev.button, ev.event, error
            )
            return
        self.spooled += 1
        led = self.leds[i] if i < len(self.leds) else None
        if led is not None:
            led.blink(on_time=self.blink_s, off_time=0.01, n=1, background=True)
