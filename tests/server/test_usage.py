"""Uploaded ``usage`` records become daily totals per site on both backends: once per record,
bad reports stored but not counted, small sums left out of the dataset, the window checked."""

from __future__ import annotations

from a2d import syncwire

from .conftest import add_device, bearer


def _report(rid: str, day: str, sessions: int, **languages: int) -> dict[str, object]:
    doc = {"id": rid, "kiosk_id": "k1", "day": day, "sessions": sessions, "screens": {"home": sessions},
           "languages": languages}  # fmt: skip
    return {"record_id": f"usage:{rid}", "stream": "usage", "ts": f"{day}T20:00:00.000000Z",
            "payload": {"source": "kiosk", "kind": "usage", "decoded": doc}}  # fmt: skip


def test_usage_records_are_summed_per_site_and_day_once(client, db) -> None:
    rathaus, t1 = add_device(db, "kiosk-rathaus", site="rathaus")
    zell, t2 = add_device(db, "kiosk-zell", site="ov-zell")
    batch = {"records": [_report("a", "2026-06-02", 4, de=4), _report("b", "2026-06-02", 2, fr=2)]}
    for _ in range(2):  # the same batch twice: counted once
        assert client.post(syncwire.records_path(rathaus), json=batch, headers=bearer(t1)).status_code == 200
    bad = _report("c", "2026-06-02", 9)
    bad["payload"]["decoded"]["day"] = "gestern"  # type: ignore[index]
    other = {"records": [_report("d", "2026-06-01", 8, de=8), bad]}
    assert client.post(syncwire.records_path(zell), json=other, headers=bearer(t2)).status_code == 200
    assert {r.record_id for r in db.records(zell)} == {"usage:d", "usage:c"}  # stored, not counted

    r = client.get("/api/v1/opendata/usage.json", params={"from": "2026-06-01", "to": "2026-06-02"})
    assert r.status_code == 200
    rows = {(x["day"], x["site"], x["metric"], x["item"]): x["count"] for x in r.json()["rows"]}
    assert rows == {
        ("2026-06-01", "ov-zell", "sessions", ""): 8,
        ("2026-06-01", "ov-zell", "screen", "home"): 8,
        ("2026-06-01", "ov-zell", "language", "de"): 8,
        ("2026-06-02", "rathaus", "sessions", ""): 6,
        ("2026-06-02", "rathaus", "screen", "home"): 6,
    }  # fmt: skip  (de 4 and fr 2 are below 5: left out)
    only = client.get("/api/v1/opendata/usage.json", params={"from": "2026-06-02", "to": "2026-06-02"}).json()
    assert {x["day"] for x in only["rows"]} == {"2026-06-02"}
    assert (
        client.get(
            "/api/v1/opendata/usage.json", params={"from": "2026-06-03", "to": "2026-06-01"}
        ).status_code
        == 400
    )
    assert (
        client.get(
            "/api/v1/opendata/usage.csv", params={"from": "2020-01-01", "to": "2026-06-01"}
        ).status_code
        == 400
    )
