"""One event row and one JSON form: the row is the table, and `a2d edge events --json` prints, byte
for byte, the payloads the sync upload carries and the server stores."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

import pytest

from a2d.localapi import Vote
from a2d.syncwire import read_upload, upload_body
from devtools.uplinks import encode_ws101
from edge_agent import cli, eventrow, outbox
from edge_agent.config import Device
from edge_agent.eventrow import EventRow, event_json
from edge_agent.ingest import Inbound, Ingest
from edge_agent.localapi import votes
from edge_agent.store import Store
from tests.test_ingest import CS_TOPIC, cs_up

EUI = "24e124538b223344"


def row(**values: object) -> EventRow:
    base = {name: None for name in eventrow.COLUMNS}
    return EventRow(
        **{**base, "decode_errors": "[]", "measurements": "[]", "meta": "{}", "counted": 1, **values}
    )  # type: ignore[arg-type]


def test_the_rows_fields_are_the_tables_columns_in_order() -> None:
    store = Store(":memory:")
    columns = tuple(r[1] for r in store.db.execute("PRAGMA table_info(events)"))
    assert eventrow.COLUMNS == columns
    with pytest.raises(TypeError):  # no positional access: a column is read by its name
        row(key="k")[7]  # type: ignore[index]


def test_a_row_comes_back_as_it_went_in() -> None:
    store = Store(":memory:")
    sent = row(key="k-1", source="chirpstack", kind="up", stream="uplink", dev_eui=EUI, device_name="Bürgerbüro Süd",
               application="app", received_at="2026-06-02T08:15:31.412883Z", stored_at="2026-06-02T08:15:32.000000Z",
               f_cnt=7, f_port=85, codec="milesight-iot/ws101", decoded='{"button":"short"}',
               measurements='[{"quantity":"button_press","value":1,"unit":"count"}]', raw=b"\xff\x2e\x01",
               meta='{"rssi":-87}')  # fmt: skip
    with store.atomic() as db:
        again = row(key="k-1", source="x", kind="up", stream="uplink", received_at="t", stored_at="t")
        assert store.insert_events(db, [sent, again]) == 1  # a key stored already stores nothing
    (back,) = eventrow.select(store.db, "key = ?", ("k-1",))
    assert back.id == 1 and back == EventRow(**{**{n: getattr(sent, n) for n in eventrow.COLUMNS}, "id": 1})


def test_the_json_form_holds_the_rows_values() -> None:
    r = row(id=3, key="k", source="kiosk", kind="vote", stream="feedback", device_name="Kiosk «Süd»",
            received_at="2026-06-02T08:15:31.412883Z", decoded='{"choice":"gut"}', raw=b"\x00\x01")  # fmt: skip
    text = event_json(r)
    assert "\n" not in text and "Kiosk «Süd»" in text  # one line, UTF-8 as it is
    doc = json.loads(text)
    assert list(doc) == [n for n in eventrow.COLUMNS if n != "key"]
    assert doc["decoded"] == {"choice": "gut"} and doc["decode_errors"] == [] and doc["meta"] == {}
    assert base64.b64decode(doc["raw"]) == b"\x00\x01" and doc["id"] == 3 and doc["f_cnt"] is None
    assert json.loads(event_json(row(key="k", decoded=None, raw=None)))["decoded"] is None


def test_the_cli_prints_what_the_upload_carries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    ing = Ingest(Store(data / "edge.db"), {EUI: Device(EUI, "milesight-iot/ws101", "Knopf Bürgerbüro")})
    ing.start()
    for k in range(3):
        body = cs_up(EUI, k, 85, encode_ws101("short"), f"o-{k}")
        ing.add(Inbound("chirpstack", "chirpstack", CS_TOPIC.format(eui=EUI, event="up"), body))
    status = {"deduplicationId": "h-1", "deviceInfo": {"devEui": EUI}, "margin": 5, "batteryLevel": 80}
    ing.add(
        Inbound(
            "chirpstack", "chirpstack", CS_TOPIC.format(eui=EUI, event="status"), json.dumps(status).encode()
        )
    )
    ing.flush()
    with ing.store.atomic() as db:
        votes.store(
            db, Vote("v-1", "kiosk-süd", "poll-1", "gut", "2026-06-02T08:00:00Z"), "2026-06-02T08:00:01Z"
        )
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'[device]\nid = "t"\ndata_dir = "{data}"\n')

    assert cli.main(["events", "--config", str(cfg), "--json"]) == 0
    printed = capsys.readouterr().out.splitlines()
    carried: dict[str, str] = {}
    for stream in outbox.streams(ing.store.db):
        raw, headers = upload_body([p.text for p in outbox.read_batch(ing.store.db, stream, 100, 1 << 20)])
        body = gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
        carried.update((r.record_id, r.text) for r in read_upload(body))
    keys = [r.key for r in eventrow.select(ing.store.db, "1 ORDER BY id", ())]
    assert len(printed) == len(keys) == 5 and {"vote:v-1", "cs:status:h-1"} <= set(keys)
    assert printed == [carried[k] for k in keys]
