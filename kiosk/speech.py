"""Read-aloud for the kiosk: espeak-ng in a subprocess, one utterance at a time, interruptible.

EN 301 549 5.1.3 asks for speech that stops on user action and a volume that goes back to its
default after every use of a shared device: :meth:`Speaker.say` interrupts whatever is being said,
:meth:`Speaker.stop` ends it, :meth:`Speaker.reset` stops and restores the default volume (the
session wipe calls it). espeak-ng is called directly, not through pyttsx3 (whose file output
overwrites earlier files). With ``wav_dir`` set every utterance is
written to a WAV file there instead of being played (tests, selftest).
"""

from __future__ import annotations

import itertools
import logging
import shutil
import subprocess
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: espeak-ng voice per kiosk language; Leichte Sprache is German, spoken slower.
VOICES = {"de": "de", "fr": "fr", "en": "en", "ls": "de"}
RATE_WPM = 150
SLOW_RATE_WPM = 120
DEFAULT_VOLUME = 50  #: percent; 50 is espeak-ng's normal amplitude (100 of 200)


class Speaker:
    """Speaks one text at a time; ``say`` returns at once, ``speaking`` tells whether it still runs."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        volume_default: int = DEFAULT_VOLUME,
        engine: str = "espeak-ng",
        wav_dir: Path | None = None,
    ) -> None:
        self.enabled = enabled
        self.volume_default = _clamp(volume_default)
        self._volume = self.volume_default
        self.engine = engine
        self.wav_dir = wav_dir
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._count = itertools.count(1)
        self._missing_logged = False
        self.last_wav: Path | None = None

    @property
    def volume(self) -> int:
        """Volume in percent (0-100) for the next utterance."""
        return self._volume

    @volume.setter
    def volume(self, value: int) -> None:
        self._volume = _clamp(value)

    @property
    def available(self) -> bool:
        return shutil.which(self.engine) is not None

    @property
    def speaking(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def say(self, text: str, lang: str) -> Path | None:
        """Start speaking ``text`` in ``lang`` (de, fr, en, ls), cutting off what was being said.

        Returns the WAV file being written when ``wav_dir`` is set, else None.
        """
        with self._lock:
            self._stop_locked()
            if not self.enabled or not text.strip():
                return None
            exe = shutil.which(self.engine)
            if exe is None:
                if not self._missing_logged:
                    log.error("speech is off: %s is not installed", self.engine)
                    self._missing_logged = True
                return None
            rate = SLOW_RATE_WPM if lang == "ls" else RATE_WPM
            cmd = [exe, "-v", VOICES.get(lang, "de"), "-s", str(rate), "-a", str(self._volume * 2)]
            wav: Path | None = None
            if self.wav_dir is not None:
                self.wav_dir.mkdir(parents=True, exist_ok=True)
                wav = self.wav_dir / f"speech-{next(self._count):04d}-{lang}.wav"
                cmd += ["-w", str(wav)]
            cmd.append("--stdin")
            try:
                proc = subprocess.Popen(
                    cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            except OSError as exc:
                log.error("cannot start %s: %s", self.engine, exc.strerror)
                return None
            assert proc.stdin is not None
            try:
                proc.stdin.write(text.encode("utf-8"))
                proc.stdin.close()
            except BrokenPipeError:
                log.warning("%s ended before it read the text", self.engine)
            self._proc = proc
            self.last_wav = wav
            return wav

    def wait(self, timeout: float) -> bool:
        """Wait until the current utterance is finished; True when nothing is speaking any more."""
        proc = self._proc
        if proc is None:
            return True
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        """Stop speaking now (a tap, navigation, the session wipe)."""
        with self._lock:
            self._stop_locked()

    def reset(self) -> None:
        """End of a session: stop speaking and put the volume back to its default."""
        with self._lock:
            self._stop_locked()
            self._volume = self.volume_default

    def close(self) -> None:
        self.stop()

    def _stop_locked(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:  # pragma: no cover - a killed process always ends
            log.error("%s did not end after SIGKILL", self.engine)


def _clamp(value: int) -> int:
    return max(0, min(100, int(value)))
