"""The ingest writer without a broker: parse, choose a codec, decode, store once, quarantine."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from devtools.uplinks import encode_lse01, encode_ws101
from edge_agent import queries
from edge_agent.config import Device
from edge_agent.ingest import Inbound, Ingest, SourceState
from edge_agent.store import Store

CS_TOPIC = "application/app-1/device/{eui}/event/{event}"


def cs_up(eui: str, f_cnt: int, f_port: int, data: bytes, dedup: str, obj: dict | None = None) -> bytes:
    body = {
        "deduplicationId": dedup,
        "time": "2026-06-02T08:15:31.412883114+00:00",
        "deviceInfo": {"devEui": eui, "deviceName": f"ns-{eui[-4:]}", "applicationName": "feedback"},
        "fCnt": f_cnt,
        "fPort": f_port,
        "data": base64.b64encode(data).decode(),
        "rxInfo": [
            {"gatewayId": "g1", "rssi": -80, "snr": 7.5},
            {"gatewayId": "g2", "rssi": -60, "snr": 9.0},
        ],
        "aFieldFromTheFuture": [1, 2],
    }
    if obj is not None:
        body["object"] = obj
    return json.dumps(body).encode()


class Acks:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, mid: int, qos: int, conn: int) -> None:
        self.acked.append(mid)


@pytest.fixture
def ingest(tmp_path: Path) -> Ingest:
    devices = {
        "24e124538b223344": Device("24e124538b223344", "milesight-iot/ws101", "feedback-rathaus-eg-1"),
        "a84041000181c3d2": Device("a84041000181c3d2", "dragino/lse01", ""),
    }
    ing = Ingest(Store(tmp_path / "edge.db"), devices, device_id="t")
    ing.start()
    for kind in ("chirpstack", "tts"):
        ing.register_source(SourceState(kind, kind, "127.0.0.1:1", "#", 1 if kind == "chirpstack" else 0))
    return ing


def add(
    ing: Ingest, topic: str, payload: bytes, mid: int = 1, acker: Acks | None = None, kind: str = "chirpstack"
):
    ing.add(Inbound(kind, kind, topic, payload, mid, 1, acker, 0))


def events(ing: Ingest) -> list[dict]:
    return list(queries.events(ing.store.db))


def test_configured_codec_decodes_and_measures(ingest: Ingest) -> None:
    eui = "24e124538b223344"
    add(ingest, CS_TOPIC.format(eui=eui, event="up"), cs_up(eui, 7, 85, encode_ws101("double", 87), "d-1"))
    ingest.flush()
    (e,) = events(ingest)
    assert e["decoded"] == {"battery": 87, "button": "double"}
    assert e["codec"] == "milesight-iot/ws101"
    assert e["device_name"] == "feedback-rathaus-eg-1"  # our name wins over the network server's
    assert e["received_at"] == "2026-06-02T08:15:31.412883Z"
    assert {(m["quantity"], m.get("channel"), m["value"]) for m in e["measurements"]} == {
        ("button_press", "double", 1),
        ("battery", None, 87),
    }
    assert e["meta"]["gateway_id"] == "g2" and e["meta"]["gateways"] == 2  # the strongest reception


def test_redelivery_is_stored_once_and_everything_is_acknowledged(ingest: Ingest) -> None:
    eui = "24e124538b223344"
    acks = Acks()
    body = cs_up(eui, 8, 85, encode_ws101("short"), "dup-1")
    add(ingest, CS_TOPIC.format(eui=eui, event="up"), body, mid=1, acker=acks)
    ingest.flush()
    add(ingest, CS_TOPIC.format(eui=eui, event="up"), body, mid=2, acker=acks)
    add(ingest, CS_TOPIC.format(eui=eui, event="up"), body, mid=3, acker=acks)
    assert acks.acked == [1]  # nothing is acknowledged before its commit
    ingest.flush()
    assert acks.acked == [1, 2, 3]
    assert len(events(ingest)) == 1
    src = queries.status(ingest.store.db)["sources"][0]
    assert (src["received"], src["stored"], src["duplicates"]) == (3, 1, 2)


def test_codec_error_is_kept_with_the_event(ingest: Ingest) -> None:
    eui = "a84041000181c3d2"
    data = bytes.fromhex("ce2900f107a5099b6e2890")
    add(ingest, CS_TOPIC.format(eui=eui, event="up"), cs_up(eui, 1, 42, data, "e-1"))
    ingest.flush()
    (e,) = events(ingest)
    assert e["decoded"] is None
    assert e["decode_errors"] == ["unknown FPort"]
    assert base64.b64decode(e["raw"]) == data


def test_network_server_object_is_used_without_a_codec_and_raw_kept_without_either(ingest: Ingest) -> None:
    add(ingest, CS_TOPIC.format(eui="0101010101010101", event="up"),
        cs_up("0101010101010101", 1, 2, b"\xaa", "n-1", obj={"temperature": 21.0}))  # fmt: skip
    add(
        ingest,
        CS_TOPIC.format(eui="0202020202020202", event="up"),
        cs_up("0202020202020202", 1, 9, b"\xde\xad", "n-2"),
    )
    ingest.flush()
    ns, raw = events(ingest)
    assert ns["decoded"] == {"temperature": 21.0} and ns["codec"] == "network-server"
    assert raw["decoded"] is None and raw["codec"] is None and base64.b64decode(raw["raw"]) == b"\xde\xad"
    assert raw["measurements"] == [] and raw["decode_errors"] == []


def test_tts_version_ids_pick_the_codec_and_omitted_f_cnt_is_zero(ingest: Ingest) -> None:
    data = encode_lse01(3.6, 21.5, 27.3, 14.25, 420)
    body = {
        "end_device_ids": {"device_id": "baum-7", "dev_eui": "A840410000000007"},
        "uplink_message": {
            "session_key_id": "AYpZo2l7Q8uN1mKJ3x9ZbA==",
            "f_port": 2,
            "frm_payload": base64.b64encode(data).decode(),
            "version_ids": {"brand_id": "dragino", "model_id": "lse01"},
            "received_at": "2026-06-02T08:15:31.471305202Z",
        },
    }
    add(ingest, "v3/stadtbaeume@ttn/devices/baum-7/up", json.dumps(body).encode(), kind="tts")
    ingest.flush()
    (e,) = events(ingest)
    assert e["f_cnt"] == 0 and e["codec"] == "dragino/lse01" and e["dev_eui"] == "a840410000000007"
    assert e["decoded"]["water_SOIL"] == "27.30" and e["decoded"]["conduct_SOIL"] == 420
    got = {m["quantity"]: m["value"] for m in e["measurements"]}
    assert got["soil_moisture"] == pytest.approx(27.3) and got["conductivity"] == 420


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (CS_TOPIC.format(eui="0101010101010101", event="up"), b"not json at all", "not JSON"),
        (CS_TOPIC.format(eui="0101010101010101", event="up"), b'{"deduplicationId": 5}', "deduplicationId"),
        (CS_TOPIC.format(eui="0101010101010101", event="up"),
         b'{"deduplicationId": "x", "deviceInfo": {"devEui": "0101010101010101"}, "data": "!!!***"}', "base64"),
        (CS_TOPIC.format(eui="0101010101010101", event="frobnicate"), b"{}", "unknown ChirpStack event"),
        (CS_TOPIC.format(eui="0101010101010101", event="up"), b"{" + b"x" * 300_000, "exceeds"),
        ("application/x/up", b"{}", "not a ChirpStack event topic"),
    ],
)  # fmt: skip
def test_bad_input_is_quarantined_with_its_reason_and_bytes(
    ingest: Ingest, topic: str, payload: bytes, reason: str
) -> None:
    acks = Acks()
    add(ingest, topic, payload, mid=9, acker=acks)
    ingest.flush()
    (q,) = list(queries.quarantine(ingest.store.db))
    assert reason in q["reason"]
    assert q["size"] == len(payload) and q["topic"] == topic
    assert base64.b64decode(q["raw"]) == payload[: len(base64.b64decode(q["raw"]))]
    assert acks.acked == [9]  # quarantined input is kept, so it is acknowledged too
    assert events(ingest) == []


def test_status_and_join_update_device_health(ingest: Ingest) -> None:
    eui = "0101010101010101"
    status = {"deduplicationId": "s-1", "time": "2026-06-02T08:00:00Z", "deviceInfo": {"devEui": eui},
              "margin": 7, "externalPowerSource": False, "batteryLevelUnavailable": False, "batteryLevel": 87.5}  # fmt: skip
    add(ingest, CS_TOPIC.format(eui=eui, event="status"), json.dumps(status).encode())
    add(ingest, CS_TOPIC.format(eui=eui, event="join"),
        json.dumps({"deduplicationId": "j-1", "deviceInfo": {"devEui": eui}, "devAddr": "01"}).encode())  # fmt: skip
    ingest.flush()
    st, join = events(ingest)
    assert st["stream"] == "health" and st["measurements"] == [
        {"quantity": "battery", "value": 87.5, "unit": "%"}
    ]
    assert join["kind"] == "join"
    dev = dict(ingest.store.db.execute("SELECT battery, margin, joined_at FROM devices").fetchone())
    assert dev["battery"] == 87.5 and dev["margin"] == 7 and dev["joined_at"]


def test_retention_removes_only_expired_rows_of_each_stream(ingest: Ingest) -> None:
    eui = "24e124538b223344"
    add(ingest, CS_TOPIC.format(eui=eui, event="up"), cs_up(eui, 1, 85, encode_ws101("short"), "r-1"))
    ingest.flush()
    removed = ingest.store.prune({"uplink": 10, "health": 1}, now="2026-06-10T00:00:00Z")
    assert removed == 0 and len(events(ingest)) == 1
    removed = ingest.store.prune({"uplink": 10, "health": 1}, now="2026-06-13T00:00:00Z")
    assert removed == 1 and events(ingest) == []


def test_votes_presses_and_help_requests_expire_as_the_transparency_records_say(tmp_path: Path) -> None:
    from a2d.localapi import HelpRequest, Vote
    from edge_agent.config import parse
    from edge_agent.eventrow import EventRow
    from edge_agent.localapi import helpdesk, votes

    retention = parse({"device": {"id": "ov-test"}}, env={}).retention_days()
    store = Store(tmp_path / "e.db")
    asked = "2026-01-10T09:00:00Z"
    press = EventRow(id=None, key="press:box-1:7", source="bridge", kind="press", stream="button", dev_eui=None,
                     device_name=None, application=None, received_at=asked, stored_at=asked, f_cnt=None,
                     f_port=None, codec=None, decoded="{}", decode_errors="[]", measurements="[]", raw=None,
                     meta="{}")  # fmt: skip
    with store.atomic() as db:
        assert votes.store(db, Vote("v-1", "kiosk-1", "poll-1", "gut", asked), asked)
        assert helpdesk.open_request(db, HelpRequest("h-1", "kiosk-1", asked, "ausweis"))
        store.insert_events(db, [press])

    def left() -> tuple[int, int, int]:
        streams = dict(store.db.execute("SELECT stream, COUNT(*) FROM events GROUP BY stream").fetchall())
        helps = store.db.execute("SELECT COUNT(*) FROM help_requests").fetchone()[0]
        return streams.get("feedback", 0), streams.get("button", 0), helps

    assert store.prune(retention, now="2026-02-08T00:00:00Z") == 0 and left() == (1, 1, 1)
    assert store.prune(retention, now="2026-02-10T00:00:00Z") == 1 and left() == (1, 1, 0)  # 30 days
    assert store.prune(retention, now="2027-02-13T00:00:00Z") == 0 and left() == (1, 1, 0)  # 399 days
    assert store.prune(retention, now="2027-02-15T00:00:00Z") == 2 and left() == (0, 0, 0)  # 401 days
    store.close()


def test_migrations_are_recorded_and_run_once(tmp_path: Path) -> None:
    s = Store(tmp_path / "e.db")
    names = [r[0] for r in s.db.execute("SELECT name FROM migrations")]
    s.close()
    s = Store(tmp_path / "e.db")
    assert (
        [r[0] for r in s.db.execute("SELECT name FROM migrations")]
        == names
        == [
            "m001_initial",
            "m002_outbox",
            "m003_bundles",
            "m004_thinning",
            "m005_help_requests",
            "m006_forecasts",
            "m007_bundle_counters",
            "m008_housekeeping_indexes",
            "m009_write_probe",
            "m010_counted",
            "m011_live_questions",
            "m012_kiosk_displays",
        ]
    )
    assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
