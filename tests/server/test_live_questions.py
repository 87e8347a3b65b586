"""Live questions on the server, on both backends: the CLI, the admin API, town-wide tallies."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from a2d.cli import main as a2d
from a2d.syncwire import records_path
from sync_server.db import Database

from .conftest import ADMIN_TOKEN, add_device, bearer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = a2d(["server", *args])
    out, err = capsys.readouterr()
    return code, out, err


def vote_record(record_id: str, poll: str, choice: str, **extra: object) -> dict[str, object]:
    """A ``feedback`` record as the agent uploads a kiosk vote (its event as JSON)."""
    payload = {"source": "kiosk", "kind": "vote", "stream": "feedback", "device_name": "kiosk-1",
               "decoded": {"id": record_id, "kiosk_id": "kiosk-1", "poll_id": poll, "choice": choice,
                           "at": "2026-06-02T08:15:00Z", "lang": "de"},
               "measurements": [{"quantity": "button_press", "value": 1, "unit": "count",
                                 "channel": f"{poll}:{choice}"}], **extra}  # fmt: skip
    return {"record_id": f"vote:{record_id}", "stream": "feedback", "ts": "2026-06-02T08:15:00.000000Z",
            "payload": payload}  # fmt: skip


def test_start_list_close_through_the_cli(
    capsys: pytest.CaptureFixture[str], db: Database, db_url: str
) -> None:
    add_device(db, "edge-bb", site="buergerbuero")
    code, out, err = run(capsys, "poll", "live", "--db", db_url, "--question", "Soll der Marktplatz autofrei werden?",
                         "--answers", "Ja, Nein ,Weiß nicht", "--sites", "buergerbuero", "--minutes", "10")  # fmt: skip
    assert code == 0, err
    qid = out.splitlines()[0]
    assert qid.startswith("live-")
    shown = [
        json.loads(line) for line in run(capsys, "poll", "list", "--db", db_url, "--json")[1].splitlines()
    ]
    assert len(shown) == 1
    q = shown[0]
    assert q["id"] == qid and q["state"] == "open" and q["sites"] == ["buergerbuero"]
    assert [a["id"] for a in q["answers"]] == ["ja", "nein", "weiss-nicht"]
    assert q["counts"] == {"ja": 0, "nein": 0, "weiss-nicht": 0} and "poll live" in q["started_by"]
    code, out, _ = run(capsys, "poll", "close", qid, "--db", db_url, "--json")
    closed = json.loads(out)
    assert code == 0 and closed["state"] == "closed" and closed["closed_by"] == "a2d server poll close"
    assert "closed" in run(capsys, "poll", "list", "--db", db_url)[1]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--answers", "Ja"], "at least 2 answers"),
        (["--answers", "Ja,ja"], "the same"),
        (["--answers", "Ja,,Nein"], "empty"),
        (["--answers", "Ja,Nein", "--minutes", "0"], "minutes must lie between 1 and"),
        (["--answers", "Ja,Nein", "--minutes", "20000"], "minutes must lie between 1 and"),
        (["--answers", "Ja,Nein", "--sites", "rathaus"], "no device stands at site 'rathaus'"),
        (["--answers", "Ja,Nein", "--sites", "Not A Slug"], "lower-case letters"),
    ],
)
def test_bad_questions_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], db: Database, db_url: str, args: list[str], says: str
) -> None:
    add_device(db, "edge-bb", site="buergerbuero")
    code, out, err = run(capsys, "poll", "live", "--db", db_url, "--question", "Frage?", *args)
    assert code == 1 and says in err and len(err.strip().splitlines()) == 1, err
    assert run(capsys, "poll", "list", "--db", db_url, "--json")[1] == ""  # nothing was stored


def test_admin_api_starts_lists_and_closes(client: TestClient, db: Database) -> None:
    admin = bearer(ADMIN_TOKEN)
    body = {"question": "Mehr Bänke am Bahnhof?", "answers": ["Ja", "Nein"], "minutes": 5, "by": "Bürgerbüro"}
    assert client.post("/api/v1/admin/live", json=body).status_code == 401
    r = client.post("/api/v1/admin/live", json=body, headers=admin)
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["state"] == "open" and q["started_by"] == "admin API (Bürgerbüro)" and q["sites"] == []
    assert [x["id"] for x in client.get("/api/v1/admin/live", headers=admin).json()["questions"]] == [q["id"]]
    bad = client.post("/api/v1/admin/live", json={**body, "answers": ["Ja"]}, headers=admin)
    assert bad.status_code == 422 and "at least 2 answers" in bad.json()["detail"]
    assert client.post("/api/v1/admin/live", json={**body, "minutes": "5"}, headers=admin).status_code == 400
    closed = client.post(f"/api/v1/admin/live/{q['id']}/close", headers=admin)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert client.post("/api/v1/admin/live/live-00000000/close", headers=admin).status_code == 404


def test_town_tallies_count_each_vote_once_and_skip_uncounted(client: TestClient, db: Database) -> None:
    dev1, tok1 = add_device(db, "edge-1")
    dev2, tok2 = add_device(db, "edge-2")
    batch1 = {"records": [vote_record("a", "live-0a0b0c0d", "ja"), vote_record("b", "live-0a0b0c0d", "nein"),
                          vote_record("c", "live-0a0b0c0d", "ja", counted=False),
                          vote_record("d", "zufriedenheit", "5")]}  # fmt: skip
    for _ in range(2):  # sent twice: counted once
        assert client.post(records_path(dev1), json=batch1, headers=bearer(tok1)).status_code == 200
    batch2 = {"records": [vote_record("a", "live-0a0b0c0d", "ja")]}  # another device's record "a"
    assert client.post(records_path(dev2), json=batch2, headers=bearer(tok2)).status_code == 200
    assert db.poll_tallies(["live-0a0b0c0d", "zufriedenheit", "other"]) == {
        "live-0a0b0c0d": {"ja": 2, "nein": 1},
        "zufriedenheit": {"5": 1},
    }


def test_tallies_stay_cheap_on_a_big_database(db: Database) -> None:
    """100k feedback records: reading a poll's town totals stays a look-up (well under 10 ms)."""
    dev, _ = add_device(db, "edge-big")
    from sync_server.db import Vote

    rows, votes = [], []
    for i in range(100_000):
        poll = f"poll-{i % 50}"
        rows.append(
            (dev, f"r{i}", "feedback", "2026-06-02T08:15:00.000000Z", "{}", "2026-06-02T08:15:01.000000Z")
        )
        votes.append(Vote(dev, f"r{i}", poll, "ja" if i % 3 else "nein"))
        if len(rows) == 5000:
            db.store_records(rows, (), votes)
            rows, votes = [], []
    started = time.perf_counter()
    found = db.poll_tallies(["poll-7"])
    took = time.perf_counter() - started
    assert found == {"poll-7": {"ja": 1333, "nein": 667}}
    print(f"{db.backend}: one poll's town totals among 100k feedback records in {took * 1000:.2f} ms")
    assert took < 0.05, f"reading one poll's tallies took {took * 1000:.1f} ms"
