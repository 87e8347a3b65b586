"""kiosk.speech.Speaker with the real espeak-ng: WAV output, interruption, volume reset."""

from __future__ import annotations

import shutil
import time
import wave
from pathlib import Path

import pytest

from kiosk.speech import DEFAULT_VOLUME, Speaker

SENTENCE = {
    "de": "Willkommen im Bürgerbüro der Stadt Offenburg. Tippen Sie auf ein Thema.",
    "fr": "Bienvenue au bureau des citoyens de la ville d'Offenburg. Touchez un thème.",
    "en": "Welcome to the citizens' office of the town of Offenburg. Tap a topic.",
}
LONG = "Dies ist ein langer Text über die digitalen Angebote der Stadt Offenburg. " * 300


@pytest.fixture(autouse=True)
def _espeak() -> None:
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: apt-get install espeak-ng (make test installs it)")


def duration_s(path: Path) -> float:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getnframes() / w.getframerate()


def peak(path: Path) -> int:
    with wave.open(str(path)) as w:
        frames = w.readframes(w.getnframes())
    samples = memoryview(frames).cast("h")
    return max(abs(s) for s in samples)


@pytest.mark.parametrize("lang", ["de", "fr", "en"])
def test_each_language_gives_a_real_wav_of_plausible_length(tmp_path: Path, lang: str) -> None:
    speaker = Speaker(wav_dir=tmp_path)
    wav = speaker.say(SENTENCE[lang], lang)
    assert wav is not None and speaker.wait(10)
    seconds = duration_s(wav)
    # about 12 words at 150 words a minute: several seconds, not a click and not a minute
    assert 2.5 < seconds < 12, seconds
    assert peak(wav) > 3000  # not silence


def test_leichte_sprache_is_german_and_slower(tmp_path: Path) -> None:
    speaker = Speaker(wav_dir=tmp_path)
    normal = speaker.say(SENTENCE["de"], "de")
    speaker.wait(10)
    slow = speaker.say(SENTENCE["de"], "ls")
    speaker.wait(10)
    assert normal is not None and slow is not None
    assert duration_s(slow) > duration_s(normal) * 1.1


def test_stop_interrupts_a_long_text_quickly(tmp_path: Path) -> None:
    speaker = Speaker(wav_dir=tmp_path)
    wav = speaker.say(LONG, "de")
    assert speaker.speaking
    t0 = time.monotonic()
    speaker.stop()
    assert time.monotonic() - t0 < 0.5
    assert not speaker.speaking
    # the whole text would be about 20 minutes of speech; what was written is cut short
    assert wav is not None
    assert not wav.exists() or wav.stat().st_size < 22050 * 2 * 60


def test_a_new_say_cuts_off_the_running_one(tmp_path: Path) -> None:
    speaker = Speaker(wav_dir=tmp_path)
    first = speaker.say(LONG, "de")
    proc = speaker._proc
    second = speaker.say(SENTENCE["en"], "en")
    assert proc is not None and proc.returncode is not None  # the first utterance was killed
    assert first != second and second is not None
    assert speaker.wait(10)
    assert 2.5 < duration_s(second) < 12


def test_volume_goes_back_to_default_on_reset(tmp_path: Path) -> None:
    speaker = Speaker(volume_default=20, wav_dir=tmp_path)
    quiet = speaker.say(SENTENCE["de"], "de")
    speaker.wait(10)
    speaker.volume = 100
    loud = speaker.say(SENTENCE["de"], "de")
    speaker.wait(10)
    assert quiet is not None and loud is not None
    assert peak(loud) > peak(quiet) * 2  # the volume really reaches espeak-ng
    speaker.say(LONG, "de")
    speaker.reset()
    assert speaker.volume == 20 and not speaker.speaking
    again = speaker.say(SENTENCE["de"], "de")
    speaker.wait(10)
    assert again is not None and abs(peak(again) - peak(quiet)) <= peak(quiet) * 0.05


def test_volume_is_clamped_and_default_is_the_engines_normal() -> None:
    speaker = Speaker()
    assert speaker.volume == DEFAULT_VOLUME == 50
    speaker.volume = 250
    assert speaker.volume == 100
    speaker.volume = -3
    assert speaker.volume == 0


def test_disabled_or_missing_engine_says_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert Speaker(enabled=False, wav_dir=tmp_path).say("Hallo", "de") is None
    missing = Speaker(engine="no-such-espeak", wav_dir=tmp_path)
    assert missing.available is False
    assert missing.say("Hallo", "de") is None
    assert missing.say("Hallo", "de") is None
    assert caplog.text.count("not installed") == 1  # logged once, not per utterance
    assert list(tmp_path.iterdir()) == []
