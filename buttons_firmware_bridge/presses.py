"""What a physical button did, from its pin's edges: debounce, press or hold, cooldown.

Pure logic with the time passed in, so it behaves the same with every pin factory. A change of
the pin counts only once the pin has stayed put for ``debounce_s``. A press that is released
before ``hold_s`` is a ``press`` (reported on release); one held for ``hold_s`` is a ``hold``,
reported when the time is up, and its release adds nothing. After an event the button is quiet
for ``cooldown_s``: presses in that time are counted as ``suppressed`` and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PressLogic:
    debounce_s: float
    hold_s: float
    cooldown_s: float
    pressed: bool = False  # the debounced state
    last_edge: float = float("-inf")
    pressed_at: float = 0.0
    held: bool = False
    quiet_until: float = float("-inf")
    suppressed: int = 0

    def edge(self, now: float) -> float:
        """The pin changed at ``now``; returns when to call :meth:`settle`."""
        self.last_edge = now
        return now + self.debounce_s

    def settle(self, now: float, raw_pressed: bool) -> tuple[str | None, float | None]:
        """Take the pin's level if it has been stable for ``debounce_s``.

        Returns ``(event or None, when to call hold_due or None)``.
        """
        if now - self.last_edge < self.debounce_s - 1e-6 or raw_pressed == self.pressed:
            return None, None
        self.pressed = raw_pressed
        if raw_pressed:
            self.pressed_at, self.held = self.last_edge, False
            return None, self.pressed_at + self.hold_s
        if self.held:
            return None, None
        return self._emit("press", now), None

    def hold_due(self, now: float) -> str | None:
        if self.pressed and not self.held and now - self.pressed_at >= self.hold_s - 1e-6:
            self.held = True
            return self._emit("hold", now)
        return None

    def _emit(self, event: str, now: float) -> str | None:
        if now < self.quiet_until:
            self.suppressed += 1
            return None
        self.quiet_until = now + self.cooldown_s
        return event
