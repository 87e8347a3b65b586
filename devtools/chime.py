"""The console's help-call sound (``sync_server/console/static/help-chime.wav``), made here.

Two soft sine tones (E5 then A5, 0.18 s each, with a short fade in and a longer fade out so that
neither clicks), 16-bit mono at 16 kHz: about 12 KB, pleasant on a phone's speaker and clearly
heard in a busy office. ``python -m devtools.chime PATH`` writes it; the same bytes every time
(a test checks the vendored file is this one).
"""

from __future__ import annotations

import io
import math
import sys
import wave
from pathlib import Path

RATE = 16_000
#: (frequency in Hz, seconds) of each tone, one after the other
TONES = ((659.25, 0.18), (880.0, 0.18))
VOLUME = 0.45  #: of full scale: loud enough, never clipping
FADE_IN_S = 0.01


def samples() -> list[int]:
    out: list[int] = []
    for freq, seconds in TONES:
        n = int(RATE * seconds)
        for i in range(n):
            t = i / RATE
            envelope = min(1.0, t / FADE_IN_S) * (1.0 - i / n) ** 2
            out.append(round(32767 * VOLUME * envelope * math.sin(2 * math.pi * freq * t)))
    return out


def wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples()))
    return buf.getvalue()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m devtools.chime sync_server/console/static/help-chime.wav\n")
        return 2
    Path(argv[0]).write_bytes(wav_bytes())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
