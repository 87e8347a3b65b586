# The button box's logic, without hardware: debounce, press or hold, pending frames resent until
# the bridge acknowledges them, LED feedback. main.py feeds it pin levels, time and received bytes.

import a2dproto

DEBOUNCE_MS = 30
HOLD_MS = 1500
RESEND_MS = 1000
MAX_PENDING = 64  # well inside the bridge's dedup window (1024)
BLINK_MS = 300


def ticks_diff(a, b):
    # like time.ticks_diff for the millisecond counters we are given (they never wrap in tests)
    return a - b


class Button:
    def __init__(self, name):
        self.name = name
        self.level = False  # debounced: pressed?
        self.raw = False
        self.changed_at = 0
        self.pressed_at = 0
        self.held = False
        self.led_until = None


class Box:
    def __init__(self, box_id, buttons, counter, write, diff=ticks_diff):
        self.box_id = box_id
        self.buttons = [Button(b) for b in buttons]
        self.counter = counter
        self.write = write  # write(text): send to the bridge
        self.diff = diff
        self.pending = []  # [seq, frame text, button index or None, last sent]
        self.rx = ""
        self.dropped = 0

    def start(self, now):
        self._queue(self.counter.last, "hello", "0", None, now)

    def step(self, now, levels, received=""):
        """One turn: ``levels`` are the raw pin states (True = pressed), ``received`` new bytes."""
        for i, raw in enumerate(levels):
            self._sample(i, raw, now)
        if received:
            self._receive(received, now)
        for p in self.pending:
            if self.diff(now, p[3]) >= RESEND_MS:
                p[3] = now
                self.write(p[1])

    def leds(self, now):
        """Which LEDs are lit now (one per button): lit a moment after the bridge acknowledged."""
        out = []
        for b in self.buttons:
            on = b.led_until is not None and self.diff(b.led_until, now) > 0
            if not on:
                b.led_until = None
            out.append(on)
        return out

    def _sample(self, i, raw, now):
        b = self.buttons[i]
        if raw != b.raw:
            b.raw, b.changed_at = raw, now
            return
        if raw == b.level or self.diff(now, b.changed_at) < DEBOUNCE_MS:
            if b.level and not b.held and self.diff(now, b.pressed_at) >= HOLD_MS:
                b.held = True
                self._event(i, "hold", now)
            return
        b.level = raw
        if raw:
            b.pressed_at, b.held = b.changed_at, False
        elif not b.held:
            self._event(i, "press", now)

    def _event(self, i, event, now):
        self._queue(self.counter.next(), event, self.buttons[i].name, i, now)

    def _queue(self, seq, event, button, index, now):
        if len(self.pending) >= MAX_PENDING:
            self.pending.pop(0)
            self.dropped += 1
        text = a2dproto.frame(self.box_id, seq, event, button)
        self.pending.append([seq, text, index, now])
        self.write(text)

    def _receive(self, data, now):
        self.rx += data
        if len(self.rx) > 512:
            self.rx = self.rx[-128:]
        while "\n" in self.rx:
            line, self.rx = self.rx.split("\n", 1)
            seq = a2dproto.parse_ack(line, self.box_id)
            if seq is None:
                continue
            for p in self.pending:
                if p[0] == seq:
                    self.pending.remove(p)
                    if p[2] is not None:
                        self.buttons[p[2]].led_until = now + BLINK_MS
                    break
