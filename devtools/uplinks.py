"""Simulated devices: real payload encodings and plausible daily patterns, wrapped in the JSON
that ChirpStack v4 and The Things Stack v3 publish. Used by ``a2d simulate``, the demo, tests
and benchmarks.

Encodings (the same bytes the real devices send):

* Milesight WS101 button, fPort 85: ``ff 2e <1 short | 2 long | 3 double>``, battery ``01 75 <%>``.
* Dragino LSE01 soil sensor, fPort 2: battery mV (14 bits), DS18B20 °C×10, soil water %×100,
  soil °C×100, conductivity µS/cm (all big-endian 16-bit), then a flags byte.
* Milesight VS133 people counter, fPort 85: per line a 32-bit total in (channel 3/6),
  total out (4/7) and 16-bit period in/out (5/8), little-endian.
"""

from __future__ import annotations

import base64
import json
import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from a2d import timeutil

KINDS = ("ws101", "lse01", "vs133")
#: simulated kind -> (codec id, TTS brand_id, TTS model_id, fPort)
CODECS = {
    "ws101": ("milesight-iot/ws101", "milesight-iot", "ws101", 85),
    "lse01": ("dragino/lse01", "dragino", "lse01", 2),
    "vs133": ("milesight-iot/vs133", "milesight-iot", "vs133", 85),
}


def encode_ws101(press: str, battery: int | None = None) -> bytes:
    code = {"short": 1, "long": 2, "double": 3}[press]
    out = bytes([0xFF, 0x2E, code])
    if battery is not None:
        out = bytes([0x01, 0x75, battery]) + out
    return out


def encode_lse01(
    battery_v: float, probe_c: float, water_pct: float, soil_c: float, conductivity: int
) -> bytes:
    def s16(v: float) -> int:
        return int(round(v)) & 0xFFFF

    words = [
        int(round(battery_v * 1000)) & 0x3FFF,
        s16(probe_c * 10),
        int(round(water_pct * 100)),
        s16(soil_c * 100),
        conductivity,
    ]
    return b"".join(w.to_bytes(2, "big") for w in words) + bytes([0x10])


def encode_vs133(lines: list[tuple[int, int, int, int]]) -> bytes:
    """``lines``: per line (total_in, total_out, period_in, period_out); at most 2 lines."""
    out = bytearray()
    for i, (tin, tout, pin, pout) in enumerate(lines[:2]):
        base = 3 * i
        out += bytes([0x03 + base, 0xD2]) + tin.to_bytes(4, "little")
        out += bytes([0x04 + base, 0xD2]) + tout.to_bytes(4, "little")
        out += bytes([0x05 + base, 0xCC]) + pin.to_bytes(2, "little") + pout.to_bytes(2, "little")
    return bytes(out)


def footfall(hour: float, weekday: int) -> float:
    """Relative visitor flow at a citizen office: closed at night and on Sundays, peaks at 10 and 15 h."""
    if weekday == 6:
        return 0.02
    scale = 0.5 if weekday == 5 else 1.0
    peaks = math.exp(-((hour - 10.0) ** 2) / 3.0) + 0.8 * math.exp(-((hour - 15.0) ** 2) / 4.0)
    return max(0.02, scale * peaks)


@dataclass
class SimDevice:
    kind: str
    index: int
    rng: random.Random
    f_cnt: int = 0
    total_in: int = 0
    total_out: int = 0
    water: float = 32.0

    @property
    def dev_eui(self) -> str:
        return f"a2d0{KINDS.index(self.kind):02x}00{self.index:08x}"

    @property
    def name(self) -> str:
        return {"ws101": "feedback", "lse01": "baumscheibe", "vs133": "zaehler"}[
            self.kind
        ] + f"-{self.index + 1}"

    @property
    def codec(self) -> str:
        return CODECS[self.kind][0]

    def payload(self, at: datetime) -> bytes:
        hour = at.hour + at.minute / 60
        if self.kind == "ws101":
            press = self.rng.choices(["short", "double", "long"], weights=[70, 20, 10])[0]
            battery = 100 - (self.f_cnt // 500) % 60 if self.f_cnt % 20 == 0 else None
            return encode_ws101(press, battery)
        if self.kind == "lse01":
            self.water = max(8.0, self.water - self.rng.uniform(0.0, 0.15))
            if self.rng.random() < 0.01:  # rain or the Baumpate's watering can
                self.water = min(45.0, self.water + self.rng.uniform(8, 15))
            air = 12 + 8 * math.sin((hour - 9) / 24 * 2 * math.pi)
            soil = 11 + 3 * math.sin((hour - 13) / 24 * 2 * math.pi)
            conductivity = int(150 + self.water * 9 + self.rng.uniform(-20, 20))
            return encode_lse01(3.6 - self.f_cnt * 1e-5, air, self.water, soil, conductivity)
        flow = footfall(hour, at.weekday())
        pin = self.rng.randint(0, int(30 * flow) + 1)
        pout = max(0, pin + self.rng.randint(-2, 2))
        self.total_in += pin
        self.total_out += pout
        return encode_vs133([(self.total_in, self.total_out, pin, pout)])


def make_devices(n: int, seed: int = 1) -> list[SimDevice]:
    """``n`` devices, the three kinds in turn (button, soil sensor, people counter)."""
    rng = random.Random(seed)
    return [SimDevice(KINDS[i % 3], i // 3, random.Random(rng.random())) for i in range(n)]


def chirpstack_up(dev: SimDevice, data: bytes, at: datetime, rng: random.Random) -> tuple[str, bytes]:
    """A ChirpStack v4 ``up`` event as its MQTT integration publishes it (about 900 bytes)."""
    fport = CODECS[dev.kind][3]
    body: dict[str, Any] = {
        "deduplicationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "time": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000+00:00",
        "deviceInfo": {
            "tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242",
            "tenantName": "Stadt Offenburg",
            "applicationId": "17c82e96-be03-4f38-aef3-f83d48582d97",
            "applicationName": "offenburg-digital",
            "deviceProfileId": "14855bf7-d10d-4aee-b618-ebfcb64dc7ad",
            "deviceProfileName": dev.codec,
            "deviceName": dev.name,
            "devEui": dev.dev_eui,
            "deviceClassEnabled": "CLASS_A",
            "tags": {"site": "rathaus"},
        },
        "devAddr": f"{0x26000000 + dev.index:08x}",
        "adr": True,
        "dr": 5,
        "fCnt": dev.f_cnt,
        "fPort": fport,
        "confirmed": False,
        "data": base64.b64encode(data).decode(),
        "rxInfo": [
            {
                "gatewayId": "0016c001f153a14c",
                "uplinkId": rng.getrandbits(32),
                "gwTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
                "nsTime": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+00:00",
                "rssi": -rng.randint(60, 118),
                "snr": round(rng.uniform(-12, 11), 1),
                "channel": rng.randint(0, 7),
                "context": "E3OWOQ==",
                "crcStatus": "CRC_OK",
            }
        ],
        "txInfo": {
            "frequency": 868100000 + 200000 * rng.randint(0, 2),
            "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}},
        },
        "regionConfigId": "eu868",
    }
    return (
        f"application/{body['deviceInfo']['applicationId']}/device/{dev.dev_eui}/event/up",
        json.dumps(body, separators=(",", ":")).encode(),
    )


def tts_up(dev: SimDevice, data: bytes, at: datetime, rng: random.Random) -> tuple[str, bytes]:
    """A The Things Stack v3 uplink (zero fields omitted, EUIs upper case, uint64 as strings)."""
    _, brand, model, fport = CODECS[dev.kind]
    stamp = timeutil.iso(at)
    um: dict[str, Any] = {
        "session_key_id": base64.b64encode(dev.dev_eui.encode()[:16]).decode(),
        "f_port": fport,
        "frm_payload": base64.b64encode(data).decode(),
        "rx_metadata": [
            {"gateway_ids": {"gateway_id": "rathaus-gw-1"}, "rssi": -rng.randint(60, 118),
             "snr": round(rng.uniform(-12, 11), 2), "channel_rssi": -80}
        ],
        "settings": {"data_rate": {"lora": {"bandwidth": 125000, "spreading_factor": 7}}, "frequency": "868100000"},
        "received_at": stamp,
        "version_ids": {"brand_id": brand, "model_id": model, "firmware_version": "1.0", "band_id": "EU_863_870"},
    }  # fmt: skip
    if dev.f_cnt:
        um["f_cnt"] = dev.f_cnt
    body = {
        "end_device_ids": {
            "device_id": dev.name,
            "application_ids": {"application_id": "offenburg-digital"},
            "dev_eui": dev.dev_eui.upper(),
            "dev_addr": f"{0x26000000 + dev.index:08X}",
        },
        "correlation_ids": [f"as:up:{rng.getrandbits(64):016X}"],
        "received_at": stamp,
        "uplink_message": um,
    }
    return f"v3/offenburg-digital@ttn/devices/{dev.name}/up", json.dumps(body, separators=(",", ":")).encode()


def devices_toml(devices: list[SimDevice]) -> str:
    """``[[devices]]`` entries naming each simulated device's codec, for an ``edge.toml``."""
    return "".join(
        f'[[devices]]\ndev_eui = "{d.dev_eui}"\ncodec = "{d.codec}"\nname = "{d.name}"\n\n' for d in devices
    )
