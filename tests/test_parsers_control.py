"""Text from the network reaches the store without control characters: names are cleaned, ids with
one are quarantined, nested objects are cleaned at any depth (PostgreSQL refuses NUL; a terminal
obeys ESC)."""

from __future__ import annotations

import copy
import json
import re
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_agent import queries
from edge_agent.ingest import Inbound, Ingest
from edge_agent.parsers import BadMessage, parse
from edge_agent.store import Store
from tests.test_parsers import MESSAGES, PARSABLE, body, cs_topic, paths, replace

POISON_NAME = "evil\u0000name\u001b[31m"
#: one of each kind the store must never hold
CONTROLS = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u202e", "\u2066", "\t", "\n", "\r"]
#: what the store must not hold, written out here apart from the parser's own table: C0, DEL, C1,
#: surrogates, line and paragraph separators, bidirectional overrides and isolates
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
DIRTY = st.lists(st.sampled_from(CONTROLS) | st.text(max_size=4), min_size=1, max_size=6).map("".join)


def status_event(name: str = POISON_NAME, **extra: Any) -> bytes:
    """A ChirpStack v4 ``status`` event as the corpus shows it, with our device name."""
    b = body("chirpstack_v4_event_status.json")
    b["deviceInfo"]["deviceName"] = name
    b.update(extra)
    return json.dumps(b).encode()


def test_a_nul_and_esc_in_a_device_name_are_cleaned_and_the_event_stored() -> None:
    ev = parse("chirpstack", cs_topic("status"), status_event())
    assert ev is not None and ev.device_id == "evilname[31m"


def test_line_breaks_in_free_text_become_spaces() -> None:
    ev = parse("chirpstack", cs_topic("status"), status_event("Rathaus\nEG\u2028links\tTür"))
    assert ev is not None and ev.device_id == "Rathaus EG links Tür"


@pytest.mark.parametrize(
    ("name", "path", "value", "reason"),
    [
        ("chirpstack_v4_event_up.json", "deduplicationId", "abc\x1b[2J", "deduplicationId"),
        ("chirpstack_v4_event_ack.json", "queueItemId", "q\x00", "queueItemId"),
        ("chirpstack_v4_event_up.json", "devAddr", "00\x7f", "devAddr"),
        ("tts_v3_uplink_message.json", "end_device_ids.device_id", "dev\x00one", "device_id"),
        ("tts_v3_uplink_message.json", "uplink_message.session_key_id", "k\x9b", "session_key_id"),
    ],
)
def test_an_id_with_a_control_character_is_quarantined(name: str, path: str, value: str, reason: str) -> None:
    b = body(name)
    node = b
    *parents, last = path.split(".")
    for step in parents:
        node = node[step]
    node[last] = value
    kind, topic = MESSAGES[name]
    with pytest.raises(BadMessage, match=f"{reason}.*control character"):
        parse(kind, topic, json.dumps(b).encode())


def test_control_characters_as_raw_utf8_bytes_are_cleaned_too() -> None:
    b = body("chirpstack_v4_event_up.json")
    b["object"] = {"note": ["a\x7fb\x85c", {"k\u2028": "d\u202ee"}]}
    payload = json.dumps(b, ensure_ascii=False).encode()
    assert b"\\" not in payload  # no escape anywhere: only the bytes tell
    ev = parse("chirpstack", cs_topic("up"), payload)
    assert ev is not None and ev.ns_decoded == {"note": ["ab c", {"k ": "de"}]}


def test_strings_nested_anywhere_in_the_object_are_cleaned() -> None:
    b = body("chirpstack_v4_event_up.json")
    b["object"] = {"a\x00b": [{"deep": ["x\x00y", {"z": "\x1b[0m ok"}]}], "n": 1.5}
    ev = parse("chirpstack", cs_topic("up"), json.dumps(b).encode())
    assert ev is not None and ev.ns_decoded == {"ab": [{"deep": ["xy", {"z": "[0m ok"}]}], "n": 1.5}


def test_an_object_nested_too_deep_is_quarantined() -> None:
    b = body("chirpstack_v4_event_up.json")
    deep: Any = 1
    for _ in range(100):
        deep = {"a": deep}
    b["object"] = deep
    with pytest.raises(BadMessage, match="nested deeper"):
        parse("chirpstack", cs_topic("up"), json.dumps(b).encode())


# --- hypothesis: no control character in any stored row ---------------------------------------------


def string_paths(doc: Any) -> list[tuple[Any, ...]]:
    found = []
    for p in paths(doc):
        node = doc
        for step in p:
            node = node[step]
        if isinstance(node, str):
            found.append(p)
    return found


@st.composite
def dirty_message(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """A real message with some of its strings, and maybe an extra nested key, full of control characters."""
    name = draw(st.sampled_from(PARSABLE))
    original = body(name)
    doc = copy.deepcopy(original)
    where = string_paths(original)
    for p in draw(st.lists(st.sampled_from(where), min_size=1, max_size=5, unique=True)) if where else []:
        replace(doc, p, draw(DIRTY))
    if draw(st.booleans()):
        doc[draw(DIRTY)] = {draw(DIRTY): [draw(DIRTY), {draw(DIRTY): draw(DIRTY)}]}
    for key in ("object", "decoded_payload"):
        if draw(st.booleans()):
            target = doc.get("uplink_message", doc) if key == "decoded_payload" else doc
            if isinstance(target, dict):
                target[key] = {draw(DIRTY): draw(DIRTY), "list": [draw(DIRTY), {"k": draw(DIRTY)}]}
    kind, topic = MESSAGES[name]
    # written as ASCII with escapes, or as UTF-8 with DEL, C1 and the separators as raw bytes
    return kind, topic, json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _walk(value: Any, where: str) -> None:
    if isinstance(value, str):
        assert not CONTROL.search(value), f"{where}: {value!r}"
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k, where)
            _walk(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{where}[{i}]")


def assert_clean(db: sqlite3.Connection) -> int:
    """Every text of every stored event (the JSON columns read as JSON) and device is clean; returns the count."""
    events = list(queries.events(db))
    for e in events:
        for column, value in e.items():
            if column != "raw":  # the radio bytes, base64 on the wire
                _walk(value, column)
    for row in db.execute("SELECT * FROM devices"):
        _walk(list(row), "devices")
    return len(events)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(dirty_message(), min_size=1, max_size=4))
def test_messages_with_control_characters_never_put_one_into_a_stored_row(
    messages: list[tuple[str, str, bytes]],
) -> None:
    ing = Ingest(Store(":memory:"), {})
    try:
        for kind, topic, payload in messages:
            ing.add(Inbound(kind, kind, topic, payload))
        ing.flush()
        stored = assert_clean(ing.store.db)
        quarantined = ing.store.db.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
        assert stored + quarantined >= 1 or all(t.endswith("down/push") for _, t, _ in messages)
    finally:
        ing.store.close()


def test_the_poisoned_status_event_is_stored_clean() -> None:
    ing = Ingest(Store(":memory:"), {})
    try:
        ing.add(Inbound("chirpstack", "chirpstack", cs_topic("status"), status_event()))
        ing.flush()
        assert assert_clean(ing.store.db) == 1
        (e,) = queries.events(ing.store.db)
        assert e["device_name"] == "evilname[31m" and e["kind"] == "status"
    finally:
        ing.store.close()
