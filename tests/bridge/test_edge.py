"""The edge agent's side: it always subscribes to a2d/v1/buttons/# and stores bridge events once,
quarantines bad ones, and `a2d edge events --json` shows them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from a2d.buttons import ButtonEvent
from edge_agent.parsers import BadMessage, parse

from .conftest import A2D, ROOT, Edge, wait_for

AT = "2026-06-02T08:15:31.412883Z"


def test_parser_maps_events_to_rows() -> None:
    press = ButtonEvent("e1", "box7", "2", "press", AT, 17)
    ev = parse("bridge", press.topic, press.to_json())
    assert ev is not None
    assert (ev.source, ev.kind, ev.stream, ev.key, ev.device_id, ev.time) == (
        "bridge", "press", "button", "bridge:e1", "box7", AT,
    )  # fmt: skip
    assert ev.measurements == [{"quantity": "button_press", "value": 1, "unit": "count", "channel": "2"}]
    battery = ButtonEvent("e2", "box7", "3712", "battery", AT, 18)
    ev = parse("bridge", battery.topic, battery.to_json())
    assert ev is not None and ev.measurements == [
        {"quantity": "battery_voltage", "value": 3.712, "unit": "V"}
    ]
    for topic, payload in [
        ("a2d/v1/buttons/box7", b"not json"),
        ("a2d/v1/buttons/box8", press.to_json()),
        ("a2d/v1/buttons/box7", press.to_json().replace(b'"press"', b'"wave"')),
    ]:
        try:
            parse("bridge", topic, payload)
        except BadMessage:
            continue
        raise AssertionError(f"{payload!r} on {topic} was accepted")


def test_agent_without_sources_stores_bridge_events_once_and_quarantines_bad_ones(
    edge: Edge, publisher, tmp_path: Path
) -> None:
    press = ButtonEvent("p1", "kiosk-1", "happy", "press", AT, None)
    hold = ButtonEvent("h1", "box7", "1", "hold", AT, 65535)

    def press_stored() -> bool:
        # sent again until it is stored: the agent's SUBSCRIBE may still be on its way to the broker
        publisher.publish(press.topic, press.to_json(), qos=1).wait_for_publish(5)
        return bool(edge.presses())

    wait_for(press_stored, 10, "the first event")
    for ev in (press, hold, press):  # redelivered: stored once
        publisher.publish(ev.topic, ev.to_json(), qos=1).wait_for_publish(5)
    publisher.publish("a2d/v1/buttons/box7", b"{", qos=1).wait_for_publish(5)
    publisher.publish("a2d/v1/buttons/box7", press.to_json(), qos=1).wait_for_publish(5)  # wrong topic
    wait_for(lambda: len(edge.query("SELECT id FROM quarantine")) >= 2, 10, "two quarantined messages")
    wait_for(lambda: len(edge.presses()) >= 2, 10, "two events")
    out = subprocess.run(
        [*A2D, "edge", "events", "--config", str(tmp_path / "edge.toml"), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["source"], r["kind"], r["stream"], r["device_name"]) for r in rows] == [
        ("bridge", "press", "button", "kiosk-1"),
        ("bridge", "hold", "button", "box7"),
    ]
    assert rows[1]["decoded"] == hold.as_dict()
    assert rows[1]["measurements"] == [
        {"quantity": "button_press", "value": 1, "unit": "count", "channel": "1"}
    ]
    reasons = [r[0] for r in edge.query("SELECT reason FROM quarantine ORDER BY id")]
    assert reasons[0].startswith("not JSON") and "differs from the topic" in reasons[1]
