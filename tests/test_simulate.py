"""The simulator: real encodings (checked with our vendor-exact codecs) and real publishing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools import uplinks
from edge_agent.codecs import get
from tests.conftest import Mosquitto

ROOT = Path(__file__).resolve().parent.parent


def test_ws101_bytes_decode_to_the_press_and_battery() -> None:
    codec = get("milesight-iot/ws101")
    assert codec.decode(uplinks.encode_ws101("short"), 85) == {"button": "short"}
    assert codec.decode(uplinks.encode_ws101("long", 64), 85) == {"battery": 64, "button": "long"}


def test_lse01_bytes_decode_to_the_values_encoded() -> None:
    decoded = get("dragino/lse01").decode(uplinks.encode_lse01(3.512, -2.5, 23.45, -1.25, 512), 2)
    assert decoded["Bat"] == 3.512
    assert decoded["TempC_DS18B20"] == "-2.5"
    assert decoded["water_SOIL"] == "23.45"
    assert decoded["conduct_SOIL"] == 512


def test_vs133_bytes_decode_to_line_counts() -> None:
    decoded = get("milesight-iot/vs133").decode(uplinks.encode_vs133([(120, 118, 7, 5), (3, 4, 0, 1)]), 85)
    assert decoded["line_1"] == {"total_in": 120, "total_out": 118, "period_in": 7, "period_out": 5}
    assert decoded["line_2"] == {"total_in": 3, "total_out": 4, "period_in": 0, "period_out": 1}


def test_footfall_follows_opening_hours() -> None:
    tuesday, sunday = 1, 6
    assert uplinks.footfall(10, tuesday) > 10 * uplinks.footfall(3, tuesday)
    assert uplinks.footfall(10, tuesday) > 10 * uplinks.footfall(10, sunday)


@pytest.mark.parametrize("fmt", ["chirpstack", "tts"])
def test_every_simulated_uplink_decodes_with_its_codec(fmt: str) -> None:
    import random

    devices = uplinks.make_devices(6, seed=4)
    rng = random.Random(4)
    build = uplinks.chirpstack_up if fmt == "chirpstack" else uplinks.tts_up
    for k in range(60):
        dev = devices[k % 6]
        at = datetime(2026, 6, 2, 8 + k % 10, tzinfo=UTC)
        topic, body = build(dev, dev.payload(at), at, rng)
        msg = json.loads(body)
        import base64

        data = base64.b64decode(msg["data"] if fmt == "chirpstack" else msg["uplink_message"]["frm_payload"])
        codec = get(dev.codec)
        decoded = codec.decode(data, uplinks.CODECS[dev.kind][3])
        assert codec.measure(decoded), (dev.kind, decoded)
        dev.f_cnt += 1
    if fmt == "chirpstack":
        assert 850 <= len(body) <= 1100  # about the size ChirpStack publishes


def test_simulate_publishes_exactly_count_uplinks(mosquitto: Mosquitto) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    got: list[str] = []
    subscribed = threading.Event()
    done = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="count")
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("v3/+/devices/+/up", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()

    def on_message(c, u, m) -> None:
        got.append(m.topic)
        if len(got) >= 40:
            done.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", mosquitto.port)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        r = subprocess.run(
            [sys.executable, "-m", "a2d.cli", "simulate", "--mqtt", f"127.0.0.1:{mosquitto.port}",
             "--format", "tts", "--devices", "4", "--rate", "0", "--count", "40"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert done.wait(10)
        assert len(got) == 40 and len(set(got)) == 4
    finally:
        sub.disconnect()
        sub.loop_stop()


def test_simulate_names_an_unreachable_broker() -> None:
    from tests.conftest import free_port

    r = subprocess.run(
        [sys.executable, "-m", "a2d.cli", "simulate", "--mqtt", f"127.0.0.1:{free_port()}", "--count", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1 and "cannot reach the MQTT broker" in r.stderr
