"""edge_agent.parsers.parse against every real network-server message in tests/data, plus fuzzing.

``tests/data/network_server_messages`` holds the JSON examples that ChirpStack v4 and The Things
Stack v3 publish in their own documentation (origin and licence in its ``SOURCE.md``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent.decode import to_row
from edge_agent.eventrow import EventRow
from edge_agent.parsers import STREAMS, BadMessage, NetworkEvent, parse

CORPUS = Path(__file__).resolve().parent / "data" / "network_server_messages"

CS_APP = "17c82e96-be03-4f38-aef3-f83d48582d97"
CS_EUI = "0101010101010101"
TTS_EUI = "0004a30b001c0530"


def cs_topic(event: str, dev_eui: str = CS_EUI, app: str = CS_APP) -> str:
    return f"application/{app}/device/{dev_eui}/event/{event}"


def tts_topic(suffix: str, device: str = "dev1") -> str:
    return f"v3/app1@tenant1/devices/{device}/{suffix}"


#: corpus file -> (source kind, the topic the network server publishes it on)
MESSAGES: dict[str, tuple[str, str]] = {
    "chirpstack_v4_event_up.json": ("chirpstack", cs_topic("up")),
    "chirpstack_v4_event_status.json": ("chirpstack", cs_topic("status")),
    "chirpstack_v4_event_join.json": ("chirpstack", cs_topic("join")),
    "chirpstack_v4_event_ack.json": ("chirpstack", cs_topic("ack")),
    "chirpstack_v4_event_txack.json": ("chirpstack", cs_topic("txack")),
    "chirpstack_v4_event_log.json": ("chirpstack", cs_topic("log")),
    "chirpstack_v4_event_location.json": ("chirpstack", cs_topic("location")),
    "chirpstack_v4_event_integration.json": ("chirpstack", cs_topic("integration", "0016c001f000175a")),
    "tts_v3_uplink_message.json": ("tts", tts_topic("up")),
    "tts_v3_join_accept.json": ("tts", tts_topic("join")),
    "tts_v3_downlink_ack.json": ("tts", tts_topic("down/ack")),
    "tts_v3_downlink_failed.json": ("tts", tts_topic("down/failed")),
    "tts_v3_downlink_push.json": ("tts", tts_topic("down/push")),
}
VERBATIM = "tts_v3_uplink_message.docs_verbatim.txt"


def raw(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def body(name: str) -> dict[str, Any]:
    return json.loads(raw(name))


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def parse_file(name: str, payload: bytes | None = None) -> NetworkEvent | None:
    kind, topic = MESSAGES[name]
    return parse(kind, topic, raw(name) if payload is None else payload)


def parse_body(name: str, value: Any) -> NetworkEvent | None:
    return parse_file(name, encode(value))


def sha(name: str) -> str:
    return hashlib.sha256(raw(name)).hexdigest()


def test_every_corpus_message_is_covered() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.name != "SOURCE.md"}
    assert on_disk == set(MESSAGES) | {VERBATIM}


# What each real message must become. Times: nanoseconds cut to microseconds, offset -> "Z".
EXPECTED: dict[str, dict[str, Any]] = {
    "chirpstack_v4_event_up.json": {
        "kind": "up",
        "stream": "uplink",
        "key": "cs:up:3ac7e3c4-4401-4b8d-9386-a5c902f9202d",
        "dev_eui": CS_EUI,
        "device_id": "Test device",
        "application": "Test application",
        "time": "2022-07-18T09:34:15.775023Z",
        "f_cnt": 0,  # the docs example omits fCnt; absent means 0
        "f_port": 1,
        "data": b"\xaa",
        "health": None,
        "ns_decoded": None,
    },
    "chirpstack_v4_event_status.json": {
        "kind": "status",
        "stream": "health",
        "key": "cs:status:bf2a9746-1c8b-49be-a92e-f0b89c8534e4",
        "dev_eui": CS_EUI,
        "time": "2022-07-18T09:35:06.927172Z",
        "health": {
            "margin": 10,
            "battery_level": 88.3,
            "battery_level_unavailable": False,
            "external_power_source": False,
        },
        "f_cnt": None,
        "data": None,
    },
    "chirpstack_v4_event_join.json": {
        "kind": "join",
        "stream": "health",
        "key": "cs:join:c9dbe358-2578-4fb7-b295-66b44edc45a6",
        "dev_eui": CS_EUI,
        "time": "2022-07-18T09:33:28.823500Z",
        "health": {"joined": True, "dev_addr": "00189440"},
    },
    "chirpstack_v4_event_ack.json": {
        "kind": "ack",
        "stream": "network",
        "key": "cs:ack:856a03e7-80f6-4c26-b971-9dcb34a59c2e",
        "dev_eui": CS_EUI,
        "time": "2022-07-18T09:38:49.235700Z",
        "meta": {
            "queue_item_id": "1bbcab1d-6ec6-4136-b3f5-d63be1dc08de",
            "acknowledged": True,
            "f_cnt_down": 3,
            "gateway_id": None,
        },
    },
    "chirpstack_v4_event_txack.json": {
        "kind": "txack",
        "stream": "network",
        "key": "cs:txack:3461958127",  # txack has no deduplicationId: keyed by downlinkId
        "dev_eui": CS_EUI,
        "time": "2022-07-18T09:37:48.929184Z",
        "meta": {
            "queue_item_id": "42cb6459-a640-46ec-9623-bdff39dc4736",
            "acknowledged": None,
            "f_cnt_down": 2,
            "gateway_id": "0016c001f153a14c",
        },
    },
    "chirpstack_v4_event_log.json": {
        "kind": "log",
        "stream": "network",
        "key": "cs:log:#" + sha("chirpstack_v4_event_log.json"),  # no id at all: keyed by the bytes
        "dev_eui": CS_EUI,
        "time": "2022-07-18T09:39:57.311414Z",
        "meta": {
            "level": "ERROR",
            "code": "UPLINK_MIC",
            "description": "MIC of join-request is invalid, make sure keys are correct",
            "context": {"deduplication_id": "4e91db13-5ce3-4c8c-ab0f-dfc626cf0771"},
        },
    },
    "chirpstack_v4_event_location.json": {
        "kind": "location",
        "stream": "network",
        "key": "cs:location:63d870b9-b769-4d88-8b33-8e43f58851a7",
        "time": "2022-07-18T09:55:11.059481Z",
        "meta": {"location": {"latitude": 37.344214, "longitude": -8.839375, "altitude": 2}},
    },
    "chirpstack_v4_event_integration.json": {
        "kind": "integration",
        "stream": "network",
        "key": "cs:integration:39c68646-57f7-4973-8ac8-48839b5714d6",
        "dev_eui": "0016c001f000175a",
        "device_id": "LR1110",
        "time": "2022-07-18T10:02:15.812284Z",
    },
    "tts_v3_uplink_message.json": {
        "kind": "up",
        "stream": "uplink",
        "key": f"tts:up:{TTS_EUI}:AXA50tHUGUucuzS/bCGMNw==:1",
        "dev_eui": TTS_EUI,  # sent upper-case
        "device_id": "dev1",
        "application": "app1",
        "time": "2020-02-12T15:15:45.789585Z",
        "f_cnt": 1,
        "f_port": 0,  # omitted by TTS because it is zero
        "data": bytes.fromhex("8241de"),
        "ns_decoded": {"temperature": 1.0, "luminosity": 0.64},
        "version_ids": ("the-things-products", "the-things-uno"),
        "health": None,
    },
    "tts_v3_join_accept.json": {
        "kind": "join",
        "stream": "health",
        "key": f"tts:join:{TTS_EUI}:AXBSH1Pk6Z0G166RlH16CQ==",
        "dev_eui": TTS_EUI,
        "time": "2020-02-17T07:49:09.736532Z",
        "health": {"joined": True, "dev_addr": "01497ECC"},
    },
    "tts_v3_downlink_ack.json": {
        "kind": "down_ack",
        "stream": "network",
        "key": "tts:down_ack:#" + sha("tts_v3_downlink_ack.json"),
        "dev_eui": TTS_EUI,
        "device_id": "dev1",
        "time": "2020-02-17T10:32:24.590413Z",  # the message's own received_at, outside downlink_ack
        "f_cnt": 1,
        "f_port": 15,
    },
    "tts_v3_downlink_failed.json": {
        "kind": "down_failed",
        "stream": "network",
        "key": "tts:down_failed:#" + sha("tts_v3_downlink_failed.json"),
        "dev_eui": None,
        "device_id": "dev1",
        "application": "app1",
        "time": None,
        "f_cnt": None,
        "meta": {"correlation_ids": ["as:downlink:01E19Z5W3BZBG7CXSJE9C0A3CE"]},
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_parses_as_expected(name: str) -> None:
    ev = parse_file(name)
    assert isinstance(ev, NetworkEvent)
    assert ev.source == MESSAGES[name][0]
    got = {attr: getattr(ev, attr) for attr in EXPECTED[name]}
    assert got == EXPECTED[name]


INT64 = range(-(2**63), 2**63)


def check_row(row: EventRow, ev: NetworkEvent) -> None:
    """An events row: the event's key and kind, and JSON text where JSON belongs."""
    assert (row.key, row.source, row.kind) == (ev.key, ev.source, ev.kind)
    for column in ("decoded", "decode_errors", "measurements", "meta"):
        text = getattr(row, column)
        if column == "decoded" and text is None:
            continue
        assert isinstance(text, str), f"{column} is {type(text).__name__}, not JSON text"
        json.loads(text)
    for value in (row.f_cnt, row.f_port):  # SQLite INTEGER is 64-bit; sqlite3 raises OverflowError beyond
        assert value is None or value in INT64, f"{value} does not fit SQLite INTEGER"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_makes_a_row(name: str) -> None:
    ev = parse_file(name)
    assert ev is not None
    row = to_row(ev, {})
    check_row(row, ev)
    assert (row.id, row.key, row.source, row.kind, row.stream, row.dev_eui) == (
        None, ev.key, ev.source, ev.kind, STREAMS[ev.kind], ev.dev_eui,
    )  # fmt: skip
    assert row.received_at == ev.time and row.stored_at is None  # stored_at is filled in by the writer


def test_chirpstack_uplink_keeps_gateway_and_radio_meta() -> None:
    ev = parse_file("chirpstack_v4_event_up.json")
    assert ev is not None
    assert ev.meta == {
        "dev_addr": "00189440",
        "dr": 1,
        "confirmed": None,
        "gateways": 1,
        "gateway_id": "0016c001f153a14c",
        "rssi": -36,
        "snr": 10.5,
    }


def test_chirpstack_uplink_picks_the_strongest_gateway() -> None:
    b = body("chirpstack_v4_event_up.json")
    weak = {**b["rxInfo"][0], "gatewayId": "aaaaaaaaaaaaaaaa", "rssi": -110}
    b["rxInfo"] = [weak, b["rxInfo"][0]]
    ev = parse_body("chirpstack_v4_event_up.json", b)
    assert ev is not None
    assert (ev.meta["gateways"], ev.meta["gateway_id"], ev.meta["rssi"]) == (2, "0016c001f153a14c", -36)


def test_tts_uplink_keeps_gateway_meta() -> None:
    ev = parse_file("tts_v3_uplink_message.json")
    assert ev is not None
    assert ev.meta == {"gateways": 1, "confirmed": False, "gateway_id": "gtw1", "rssi": -35, "snr": 5}


def test_chirpstack_status_makes_a_battery_measurement() -> None:
    ev = parse_file("chirpstack_v4_event_status.json")
    assert ev is not None
    row = to_row(ev, {})
    assert json.loads(row.measurements) == [{"quantity": "battery", "value": 88.3, "unit": "%"}]


@pytest.mark.parametrize("f_cnt", [0, 1, 65535, 4294967295])
def test_chirpstack_fcnt_present_is_taken(f_cnt: int) -> None:
    b = body("chirpstack_v4_event_up.json")
    b["fCnt"] = f_cnt
    ev = parse_body("chirpstack_v4_event_up.json", b)
    assert ev is not None and ev.f_cnt == f_cnt


def test_chirpstack_fport_zero_present() -> None:
    b = body("chirpstack_v4_event_up.json")
    b["fPort"] = 0
    ev = parse_body("chirpstack_v4_event_up.json", b)
    assert ev is not None and ev.f_port == 0


def test_tts_uplink_without_f_cnt_is_frame_zero() -> None:
    b = body("tts_v3_uplink_message.json")
    del b["uplink_message"]["f_cnt"]
    ev = parse_body("tts_v3_uplink_message.json", b)
    assert ev is not None
    assert ev.f_cnt == 0
    assert ev.key == f"tts:up:{TTS_EUI}:AXA50tHUGUucuzS/bCGMNw==:0"


def test_tts_uplink_without_payload_has_empty_data() -> None:
    b = body("tts_v3_uplink_message.json")
    del b["uplink_message"]["frm_payload"]
    ev = parse_body("tts_v3_uplink_message.json", b)
    assert ev is not None and ev.data == b""


def test_tts_uplink_battery_percentage_is_health() -> None:
    b = body("tts_v3_uplink_message.json")
    b["uplink_message"]["last_battery_percentage"] = {"f_cnt": 1, "value": 87.5}
    ev = parse_body("tts_v3_uplink_message.json", b)
    assert ev is not None and ev.health == {"battery_level": 87.5}


def test_chirpstack_time_with_offset_becomes_utc() -> None:
    b = body("chirpstack_v4_event_up.json")
    b["time"] = "2022-07-18T11:34:15.775023242+02:00"
    ev = parse_body("chirpstack_v4_event_up.json", b)
    assert ev is not None and ev.time == "2022-07-18T09:34:15.775023Z"


def test_chirpstack_dev_eui_falls_back_to_the_topic_in_lower_case() -> None:
    b = body("chirpstack_v4_event_up.json")
    del b["deviceInfo"]["devEui"]
    ev = parse("chirpstack", cs_topic("up", "A84041000181C761"), encode(b))
    assert ev is not None and ev.dev_eui == "a84041000181c761"


# --- idempotency keys ---------------------------------------------------------------------------------


def test_status_and_uplink_sharing_a_deduplication_id_get_distinct_keys() -> None:
    up = body("chirpstack_v4_event_up.json")
    status = body("chirpstack_v4_event_status.json")
    status["deduplicationId"] = up["deduplicationId"]
    a = parse_body("chirpstack_v4_event_up.json", up)
    b = parse_body("chirpstack_v4_event_status.json", status)
    assert a is not None and b is not None
    assert a.key != b.key


def test_chirpstack_redelivery_with_other_bytes_keeps_the_key() -> None:
    b = body("chirpstack_v4_event_up.json")
    b["rxInfo"][0]["rssi"] = -99
    again = parse_body("chirpstack_v4_event_up.json", b)
    first = parse_file("chirpstack_v4_event_up.json")
    assert again is not None and first is not None
    assert again.key == first.key


def test_message_without_id_is_keyed_by_its_bytes() -> None:
    first = parse_file("chirpstack_v4_event_log.json")
    again = parse_file("chirpstack_v4_event_log.json")
    b = body("chirpstack_v4_event_log.json")
    b["code"] = "OTHER"
    other = parse_body("chirpstack_v4_event_log.json", b)
    assert first is not None and again is not None and other is not None
    assert first.key == again.key != other.key


def test_tts_key_is_dev_eui_session_and_f_cnt() -> None:
    def key(mutate: Any) -> str:
        b = body("tts_v3_uplink_message.json")
        mutate(b["uplink_message"])
        ev = parse_body("tts_v3_uplink_message.json", b)
        assert ev is not None
        return ev.key

    original = key(lambda m: None)
    # the same frame heard again, with other radio metadata and arrival time: same key
    assert key(lambda m: m["rx_metadata"][0].update(rssi=-101, snr=-3)) == original
    assert key(lambda m: m.update(received_at="2020-02-12T15:15:47Z")) == original
    # another frame or another session: another key
    assert key(lambda m: m.update(f_cnt=2)) != original
    assert key(lambda m: m.update(session_key_id="AXBSp8v2brG0jqkri+sIkw==")) != original


# --- what is not an event ------------------------------------------------------------------------------


def test_docs_verbatim_uplink_is_not_json() -> None:
    with pytest.raises(BadMessage, match="not JSON"):
        parse("tts", tts_topic("up"), raw(VERBATIM))


@pytest.mark.parametrize("suffix", ["down/push", "down/replace"])
def test_tts_downlink_commands_are_ignored(suffix: str) -> None:
    assert parse("tts", tts_topic(suffix), raw("tts_v3_downlink_push.json")) is None
    assert parse("tts", tts_topic(suffix), b"\xff not even json") is None


@pytest.mark.parametrize(
    ("kind", "topic", "name"),
    [
        ("chirpstack", cs_topic("frobnicate"), "chirpstack_v4_event_up.json"),
        ("chirpstack", cs_topic("UP"), "chirpstack_v4_event_up.json"),
        ("tts", tts_topic("frobnicate"), "tts_v3_uplink_message.json"),
        ("tts", tts_topic("down/frobnicate"), "tts_v3_downlink_ack.json"),
    ],
)
def test_unknown_event_type_is_a_bad_message(kind: str, topic: str, name: str) -> None:
    with pytest.raises(BadMessage, match="unknown"):
        parse(kind, topic, raw(name))


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        ("chirpstack", "application/x/device/0101010101010101/up"),
        ("chirpstack", "v3/app1@tenant1/devices/dev1/up"),
        ("tts", "v3/app1@tenant1/device/dev1/up"),
        ("tts", cs_topic("up")),
    ],
)
def test_foreign_topic_is_a_bad_message(kind: str, topic: str) -> None:
    with pytest.raises(BadMessage, match="topic"):
        parse(kind, topic, raw("chirpstack_v4_event_up.json"))


def test_unknown_extra_fields_are_ignored() -> None:
    cs = body("chirpstack_v4_event_up.json")
    cs["brandNewField"] = {"nested": [1, "two", None]}
    cs["deviceInfo"]["variables"] = {"x": "y"}
    cs["rxInfo"][0]["fineTimestamp"] = "whatever"
    tts = body("tts_v3_uplink_message.json")
    tts["simulated"] = True
    tts["uplink_message"]["packet_error_rate"] = 0.25
    tts["end_device_ids"]["extra"] = [1, 2, 3]
    assert parse_body("chirpstack_v4_event_up.json", cs) == parse_file("chirpstack_v4_event_up.json")
    assert parse_body("tts_v3_uplink_message.json", tts) == parse_file("tts_v3_uplink_message.json")


def _set(path: str, value: Any) -> Any:
    """A mutation: set the dotted ``path`` (``deviceInfo.devEui``) to ``value``."""

    def mutate(b: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = b
        for p in parents:
            node = node[p]
        node[leaf] = value

    return mutate


CS_UP, CS_STATUS, TTS_UP = (
    "chirpstack_v4_event_up.json",
    "chirpstack_v4_event_status.json",
    "tts_v3_uplink_message.json",
)


@pytest.mark.parametrize(
    ("name", "mutate", "reason"),
    [
        (CS_UP, _set("fCnt", "x"), "field fCnt: expected an integer"),
        (CS_UP, _set("fCnt", True), "field fCnt: expected an integer, got a boolean"),
        (CS_UP, _set("fCnt", 1.5), "field fCnt: expected an integer"),
        (CS_UP, _set("fPort", [1]), "field fPort: expected an integer"),
        (CS_UP, _set("data", 7), "field data: expected a string, got int"),
        (CS_UP, _set("deduplicationId", 5), "field deduplicationId: expected a string, got int"),
        (CS_UP, _set("data", "!!!!"), "field data: not valid base64"),
        (CS_UP, _set("data", "qg="), "field data: not valid base64"),
        (CS_UP, _set("data", "qg==\n"), "field data: not valid base64"),
        (CS_UP, _set("time", "yesterday"), "field time: 'yesterday' is not an RFC 3339 time"),
        (CS_UP, _set("time", "2022-02-30T09:34:15Z"), "field time"),
        (CS_UP, _set("deviceInfo", ["x"]), "field deviceInfo: expected an object"),
        (CS_UP, _set("rxInfo", "gateway"), "field rxInfo: expected a list"),
        (CS_UP, _set("object", [1, 2]), "field object: expected an object"),
        (CS_UP, _set("confirmed", "yes"), "field confirmed: expected true or false"),
        (CS_UP, _set("deviceInfo.devEui", "not-a-dev-eui!!"), "is not a 16-digit hex DevEUI"),
        (CS_UP, _set("deviceInfo.devEui", "01010101010101"), "deviceInfo.devEui"),
        (CS_UP, _set("deviceInfo.devEui", "01010101010101zz"), "deviceInfo.devEui"),
        (CS_STATUS, _set("margin", "high"), "field margin: expected an integer"),
        (CS_STATUS, _set("batteryLevel", "88%"), "field batteryLevel: expected a number"),
        (CS_STATUS, _set("batteryLevel", False), "field batteryLevel: expected a number"),
        (TTS_UP, _set("uplink_message.f_cnt", "x"), "field f_cnt: expected an integer"),
        (TTS_UP, _set("uplink_message.frm_payload", "gkH"), "field frm_payload: not valid base64"),
        (TTS_UP, _set("uplink_message.frm_payload", 17), "field frm_payload: expected a string"),
        (TTS_UP, _set("uplink_message", "up"), "field uplink_message: expected an object"),
        (TTS_UP, _set("uplink_message.decoded_payload", "{}"), "field decoded_payload: expected an object"),
        (TTS_UP, _set("uplink_message.rx_metadata", "gtw1"), "field rx_metadata: expected a list"),
        (TTS_UP, _set("uplink_message.received_at", "12/02/2020 15:15"), "field received_at"),
        (TTS_UP, _set("end_device_ids.dev_eui", "0004A30B001C053"), "end_device_ids.dev_eui"),
        (TTS_UP, _set("end_device_ids.dev_eui", 1234), "field dev_eui: expected a string"),
        (TTS_UP, _set("end_device_ids", "dev1"), "field end_device_ids: expected an object"),
    ],
)
def test_wrong_field_is_a_bad_message_with_a_reason(name: str, mutate: Any, reason: str) -> None:
    b = body(name)
    mutate(b)
    with pytest.raises(BadMessage) as info:
        parse_body(name, b)
    assert reason in str(info.value)


def test_bad_dev_eui_in_the_topic_is_a_bad_message() -> None:
    b = body(CS_UP)
    del b["deviceInfo"]["devEui"]
    with pytest.raises(BadMessage, match="topic DevEUI"):
        parse("chirpstack", cs_topic("up", "gateway-1"), encode(b))


@pytest.mark.parametrize("kind", ["chirpstack", "tts"])
@pytest.mark.parametrize("payload", [b"[]", b"[1, 2]", b"null", b"42", b'"up"', b"true"])
def test_json_that_is_not_an_object_is_a_bad_message(kind: str, payload: bytes) -> None:
    topic = cs_topic("up") if kind == "chirpstack" else tts_topic("up")
    with pytest.raises(BadMessage, match="not a JSON object"):
        parse(kind, topic, payload)


@pytest.mark.parametrize("payload", [b"", b"{", b"\xff\xfe{}", b"{'a': 1}", b'{"a": NaN}'])
def test_invalid_json_is_a_bad_message(payload: bytes) -> None:
    with pytest.raises(BadMessage, match="not JSON"):
        parse("chirpstack", cs_topic("up"), payload)


# --- bugs: the parser must turn every bad value into BadMessage, and what it accepts must be storable ---


@pytest.mark.parametrize("value", ["--1", "²", "1" * 5000])
def test_integer_field_with_odd_digit_string_is_a_bad_message(value: str) -> None:
    """``_fields.integer`` trusts ``str.isdigit``, which is true for "²" and for "--1" after lstrip,
    and int() refuses more than 4300 digits: all three escape as a plain ValueError."""
    b = body(CS_UP)
    b["fCnt"] = value
    with pytest.raises(BadMessage, match="fCnt"):
        parse_body(CS_UP, b)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_time_out_of_range_in_utc_is_a_bad_message(value: str) -> None:
    """timeutil.normalise raises OverflowError here, which _fields.timestamp does not catch."""
    b = body(CS_UP)
    b["time"] = value
    with pytest.raises(BadMessage, match="time"):
        parse_body(CS_UP, b)


def storable_or_rejected(kind: str, topic: str, payload: bytes) -> None:
    """What parse accepts, to_row turns into a row SQLite can take (integers fit in 64 bits)."""
    try:
        ev = parse(kind, topic, payload)
    except BadMessage:
        return
    if ev is None:
        return
    check_row(to_row(ev, {}), ev)


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (CS_UP, "dr", 1e30),
        (CS_UP, "dr", "99999999999999999999999"),
        (CS_UP, "fCnt", 18446744073709551615),
        (CS_UP, "fPort", 1e30),
        (TTS_UP, "uplink_message.f_cnt", 9223372036854775808),
        ("chirpstack_v4_event_ack.json", "fCntDown", 1e25),
    ],
)
def test_huge_integer_is_rejected_or_stored(name: str, path: str, value: Any) -> None:
    """``_fields.integer`` accepts any integral float or digit string. Beyond 64 bits, orjson (to_row's
    meta column) raises TypeError, and sqlite3 raises OverflowError (not sqlite3.Error) on insert."""
    b = body(name)
    _set(path, value)(b)
    kind, topic = MESSAGES[name]
    storable_or_rejected(kind, topic, encode(b))


# --- fuzzing ---------------------------------------------------------------------------------------------

TOPICS = [(kind, topic) for kind, topic in MESSAGES.values()] + [
    ("chirpstack", cs_topic("frobnicate")),
    ("tts", tts_topic("down/nack")),
    ("tts", tts_topic("down/queued")),
    ("tts", tts_topic("service/data")),
    ("tts", tts_topic("location/solved")),
]
PAYLOADS = [raw(name) for name in MESSAGES] + [raw(VERBATIM)]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(kind: str, topic: str, payload: bytes) -> NetworkEvent | None:
    """The parser's contract: an event, ``None``, or BadMessage with a reason; nothing else."""
    try:
        ev = parse(kind, topic, payload)
    except BadMessage as exc:
        assert str(exc), "BadMessage without a reason"
        return None
    assert ev is None or isinstance(ev, NetworkEvent)
    if ev is not None:
        assert ev.source == kind and ev.key
        assert ev.dev_eui is None or (len(ev.dev_eui) == 16 and ev.dev_eui == ev.dev_eui.lower())
        assert ev.time is None or ev.time.endswith("Z")
    return ev


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real message cut short, or with a few bytes overwritten."""
    data = bytearray(draw(st.sampled_from(PAYLOADS)))
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@FUZZ
@given(st.sampled_from(TOPICS), st.binary(max_size=300) | damaged())
def test_fuzz_arbitrary_bytes(where: tuple[str, str], payload: bytes) -> None:
    check(*where, payload)


@FUZZ
@given(st.sampled_from(["chirpstack", "tts"]), st.text(max_size=80), st.binary(max_size=64))
def test_fuzz_arbitrary_topic(kind: str, topic: str, payload: bytes) -> None:
    check(kind, topic, payload)


#: strings that look almost right: numbers, times, base64, DevEUIs
TRICKY = [
    "", "0", "-1", "--1", "²", "٣", "1e3", "12345678901234567890123", "NaN",
    "2022-07-18T09:34:15Z", "2022-02-30T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "qg==", "qg=", "====", "ÿ", "0101010101010101", "0101010101O10101",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(TRICKY)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=10,
)


def json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document: dict keys and list indices, at any depth."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    out = []
    for k, v in items:
        out.append((*prefix, k))
        out.extend(paths(v, (*prefix, k)))
    return out


def replace(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set ``path`` in ``doc`` if it still exists (an earlier replacement may have removed it)."""
    node = doc
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict) or (
        isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node)
    ):
        node[path[-1]] = value


def lookup(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


PARSABLE = sorted(MESSAGES)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """A real message with a few fields swapped for random JSON of another type, maybe with extras."""
    name = draw(st.sampled_from(PARSABLE))
    original = body(name)
    doc = copy.deepcopy(original)
    for path in draw(st.lists(st.sampled_from(paths(original)), min_size=1, max_size=4, unique=True)):
        was = json_type(lookup(original, path))
        value = draw(JSON_VALUES.filter(lambda v, was=was: json_type(v) != was) | st.sampled_from(TRICKY))
        replace(doc, path, value)
    doc.update(draw(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=2)))
    kind, topic = MESSAGES[name]
    return kind, topic, encode(doc)


@FUZZ
@given(mutated())
def test_fuzz_mutated_corpus_messages(message: tuple[str, str, bytes]) -> None:
    check(*message)


@FUZZ
@given(st.sampled_from(TOPICS), st.dictionaries(st.text(max_size=16), JSON_VALUES, max_size=6))
def test_fuzz_random_json_objects(where: tuple[str, str], doc: dict[str, Any]) -> None:
    check(*where, encode(doc))


@FUZZ
@given(mutated())
def test_fuzz_every_parsed_event_makes_a_row(message: tuple[str, str, bytes]) -> None:
    kind, topic, payload = message
    ev = check(kind, topic, payload)
    if ev is None:
        return
    check_row(to_row(ev, {}), ev)
