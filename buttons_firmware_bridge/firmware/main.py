# Reference firmware for an A2D serial button box on a Raspberry Pi Pico (MicroPython).
# Copy a2dproto.py, counter.py, box.py and main.py to the Pico (e.g. `mpremote cp *.py :`);
# it runs at power-up and talks to the bridge over the USB serial port (/dev/ttyACM0 on the Pi).
# Wiring: each button between its GPIO and GND (internal pull-up), each LED + 330 ohm to GND.

import sys

import box
import counter
import machine

BOX_ID = "box1"  # unique per box: letters, digits, _ . : -
BUTTONS = (("1", 14, 15), ("2", 12, 13), ("3", 10, 11))  # (button name, button GPIO, LED GPIO)


class UsbLink:
    """The USB serial port (MicroPython's stdin/stdout), read without blocking."""

    def __init__(self):
        import select

        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)

    def read(self):
        out = ""
        while self.poll.poll(0):
            out += sys.stdin.read(1)
            if len(out) >= 64:
                break
        return out

    def write(self, text):
        sys.stdout.write(text)


def setup(buttons=BUTTONS):
    keys = [machine.Pin(pin, machine.Pin.IN, machine.Pin.PULL_UP) for _, pin, _ in buttons]
    leds = [machine.Pin(led, machine.Pin.OUT) for _, _, led in buttons]
    return keys, leds


def run(link, clock, sleep, box_id=BOX_ID, buttons=BUTTONS, path="counter.txt", running=None):
    """The main loop, forever (``running``, a function, can end it: tests)."""
    keys, leds = setup(buttons)
    b = box.Box(box_id, [name for name, _, _ in buttons], counter.Counter(path), link.write, box.ticks_diff)
    b.start(clock())
    while running is None or running():
        now = clock()
        b.step(now, [k.value() == 0 for k in keys], link.read())  # pressed pulls the pin low
        lit = b.leds(now)
        for i, led in enumerate(leds):  # (MicroPython's zip takes no strict=)
            led.value(1 if lit[i] else 0)
        sleep(5)
    return b


def main():
    import time

    box.ticks_diff = time.ticks_diff
    run(UsbLink(), time.ticks_ms, time.sleep_ms)


if __name__ == "__main__":
    main()
