"""Help requests on the agent's side of the sync: opening and closing go into the outbox (stream
``help``), a close the server names on the live stream closes the request here once, and the help
stream keeps the 30 days the transparency records promise; the wire checks the snapshot's ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from a2d import livewire, retention
from a2d.localapi import HelpRequest
from edge_agent import outbox
from edge_agent.config import parse
from edge_agent.localapi import helpdesk
from edge_agent.store import Store

ASKED = "2026-06-02T08:15:00.000000Z"


def help_records(store: Store) -> list[tuple[str, str, dict]]:
    rows = store.db.execute("SELECT key, kind, decoded FROM events WHERE stream = 'help' ORDER BY id")
    return [(key, kind, json.loads(decoded)) for key, kind, decoded in rows]


def test_opening_and_closing_a_request_go_into_the_outbox_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "e.db")
    req = HelpRequest("h-1", "kiosk-foyer", ASKED, "ummelden")
    with store.atomic() as db:
        assert helpdesk.open_request(db, req, "2026-06-02T08:15:01.000000Z")
        assert not helpdesk.open_request(db, req)  # sent again by the kiosk: nothing new
    with store.atomic() as db:
        assert helpdesk.close(db, "h-1", "2026-06-02T08:20:00.000000Z") == "closed"
        assert helpdesk.close(db, "h-1", "2026-06-02T08:21:00.000000Z") == "already"
    [(k1, kind1, opened), (k2, kind2, closed)] = help_records(store)
    assert (k1, kind1, k2, kind2) == ("help:h-1:open", "help.open", "help:h-1:close", "help.close")
    assert opened == {"id": "h-1", "kiosk_id": "kiosk-foyer", "topic": "ummelden", "at": ASKED,
                      "state": "open", "closed_at": None}  # fmt: skip
    assert closed["state"] == "closed" and closed["closed_at"] == "2026-06-02T08:20:00.000000Z"
    assert closed["closed_by"] == "kiosk"
    # they are pending for the sync like any record, as the stream the server takes
    batch = outbox.read_batch(store.db, "help", 100, 1 << 20)
    assert [p.record_id for p in batch] == ["help:h-1:open", "help:h-1:close"]
    assert "help" in retention.STREAMS
    store.close()


def test_a_close_named_by_the_server_closes_the_request_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "e.db")
    with store.atomic() as db:
        helpdesk.open_request(db, HelpRequest("h-1", "kiosk-foyer", ASKED))
        helpdesk.open_request(db, HelpRequest("h-2", "kiosk-foyer", ASKED))
    with store.atomic() as db:
        assert helpdesk.close_from_server(db, ["h-1", "unknown"], "2026-06-02T08:30:00.000000Z") == ["h-1"]
    with store.atomic() as db:  # the next snapshot names it again until the server has the close
        assert helpdesk.close_from_server(db, ["h-1"], "2026-06-02T08:30:01.000000Z") == []
    assert [r["id"] for r in helpdesk.requests(store.db, "open")] == ["h-2"]
    closes = [doc for key, _kind, doc in help_records(store) if key.endswith(":close")]
    assert [(c["id"], c["closed_by"]) for c in closes] == [("h-1", "server")]
    store.close()


def test_help_records_go_after_the_help_days(tmp_path: Path) -> None:
    days = parse({"device": {"id": "ov-test"}}, env={}).retention_days()
    assert days["help"] == 30
    store = Store(tmp_path / "e.db")
    with store.atomic() as db:
        helpdesk.open_request(db, HelpRequest("h-1", "kiosk-foyer", ASKED), ASKED)
        helpdesk.close(db, "h-1", "2026-06-02T09:00:00.000000Z")
    store.prune(days, now="2026-07-01T00:00:00Z")
    assert len(help_records(store)) == 2
    store.prune(days, now="2026-07-03T00:00:00Z")
    assert help_records(store) == []
    store.close()


def test_a_snapshot_carries_the_closed_ids_and_refuses_bad_ones() -> None:
    snap = livewire.Snapshot((), {}, "2026-06-02T08:15:00Z", ("h-1", "h-2"))
    back = livewire.Snapshot.from_json(snap.as_json())
    assert back.help_closed == ("h-1", "h-2")
    older = {"questions": [], "town": {}, "at": "2026-06-02T08:15:00Z"}  # a server before issue 15
    assert livewire.Snapshot.from_json(older).help_closed == ()
    for bad in ("h-1", ["a\nb"], [""], ["x" * 65], [7], ["h"] * (livewire.MAX_HELP_CLOSED + 1)):
        with pytest.raises(livewire.LiveError, match="help"):
            livewire.Snapshot.from_json({**older, "help_closed": bad})


def test_the_vendored_chime_is_the_one_devtools_makes() -> None:
    from devtools import chime

    vendored = Path(__file__).resolve().parents[1] / "sync_server" / "console" / "static" / "help-chime.wav"
    assert vendored.read_bytes() == chime.wav_bytes()
    assert len(chime.samples()) == 16_000 * 36 // 100  # two tones of 0.18 s
