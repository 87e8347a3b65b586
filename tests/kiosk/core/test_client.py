"""kiosk.client.AgentClient against a real edge agent: offline votes, content cache, ETag, discovery."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.client import CONTENT_FILE, ETAG_FILE, OUTBOX_FILE, AgentClient, discover_agent
from kiosk.outbox import Outbox
from tests.conftest import wait_for
from tests.signedpack import kiosk_trust, pack_of, write_signed_pack

from .conftest import EdgeAgent


def set_version(pack: Path, version: str) -> None:
    """Change the signed pack's version: signed again, with the next counter."""
    doc = pack_of(pack)
    doc["version"] = version
    write_signed_pack(pack, doc)


def counted(results: dict[str, int] | None) -> dict[str, int]:
    """The choices that got votes (the agent also lists the pack's choices with 0)."""
    assert results is not None
    return {k: v for k, v in results.items() if v}


def client_for(target: EdgeAgent | str | None, cache: Path, **kw: object) -> AgentClient:
    """A kiosk's client for an agent (paired with it), a bare URL, or None (discovery)."""
    kw.setdefault("interval_s", 0.1)
    kw.setdefault("timeout", 2.0)
    url = target
    if isinstance(target, EdgeAgent):
        url = target.url
        kw = {**target.client_settings(), **kw}
    kw.setdefault("trust", kiosk_trust())
    return AgentClient(url, cache, "kiosk-demo", discover=url is None, **kw)  # type: ignore[arg-type]


def test_without_agent_or_cache_there_is_no_content_and_never_the_demo(
    tmp_path: Path, edge_factory: Callable[..., EdgeAgent]
) -> None:
    edge = edge_factory(start=False)  # nothing listens on its port
    with client_for(edge, tmp_path / "cache") as client:
        assert client.refresh() is False
        assert client.online is False
        assert client.content_source == "none"
        assert client.content() is None
        assert client.results("zufriedenheit") is None
        assert client.status() is None
        assert client.help_requests() == []
        assert client.close_help("x") is False
        assert client.forecast() is None
        assert client.transparency() == []


def test_content_is_cached_and_served_offline(
    tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    set_version(pack_file, "agent-1")
    edge = edge_factory(pack_file)
    cache = tmp_path / "cache"
    with client_for(edge, cache) as client:
        assert client.content_source == "none"
        assert client.refresh() is True
        assert client.online is True
        assert client.content_source == "agent"
        assert client.content().version == "agent-1"
    assert (cache / CONTENT_FILE).exists()
    edge.stop()
    with client_for(edge, cache) as offline:  # a kiosk restarted while the agent is down
        assert offline.content().version == "agent-1"
        assert offline.content_source == "cache"
        assert offline.refresh() is False
        assert offline.online is False
        assert offline.content().version == "agent-1"
        # the transparency screen still works, from the cached pack
        assert {r.id for r in offline.transparency()} >= {"kiosk", "baumscheibe"}


def test_etag_revalidation(tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path) -> None:
    set_version(pack_file, "etag-1")
    edge = edge_factory(pack_file)
    cache = tmp_path / "cache"
    with client_for(edge, cache) as client:
        assert client.refresh() is True
        req = urllib.request.Request(edge.url + "/v1/content", headers=edge.kiosk.headers)
        with urllib.request.urlopen(req, timeout=5) as resp:
            served_etag = resp.headers["ETag"]
        assert (cache / ETAG_FILE).read_text() == served_etag
        stamp = (cache / CONTENT_FILE).stat().st_mtime_ns
        assert client.refresh() is False  # 304: nothing downloaded, nothing rewritten
        assert (cache / CONTENT_FILE).stat().st_mtime_ns == stamp
        set_version(pack_file, "etag-2")
        got: list[str] = []
        client.on_content = lambda pack: got.append(pack.version)
        wait_for(client.refresh, what="the changed pack")
        assert client.content().version == "etag-2" and got == ["etag-2"]
        assert (cache / ETAG_FILE).read_text() != served_etag
    # a restarted kiosk revalidates its cache: the agent answers 304 and the cache is confirmed
    with client_for(edge, cache) as again:
        assert again.content_source == "cache"
        assert again.refresh() is False
        assert again.content_source == "agent"
        assert again.content().version == "etag-2"


def test_a_broken_cache_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CONTENT_FILE).write_text('{"format": "a2d-content/1"}')
    with client_for("http://127.0.0.1:9", cache) as client:
        assert client.content_source == "none" and client.content() is None


def test_vote_while_agent_down_survives_a_kiosk_restart_and_arrives_once(
    tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file, start=False)
    cache = tmp_path / "cache"
    first = client_for(edge, cache)
    first.start()
    vote_id = first.vote("zufriedenheit", "4", "de")
    help_id = first.help("ummelden")
    assert first.pending() == 2
    assert first.flush(0.3) is False  # the agent is down: kept
    assert first.online is False
    first.stop()  # the kiosk is switched off

    second = client_for(edge, cache)
    try:
        assert second.pending() == 2  # survived the restart, on disk
        edge.start()
        second.start()
        wait_for(lambda: second.pending() == 0, what="the outbox to drain")
        assert second.online is True
        votes = edge.stored_votes()
        assert [v["id"] for v in votes] == [vote_id]
        assert votes[0]["choice"] == "4" and votes[0]["kiosk_id"] == "kiosk-eg"  # the token's, not kiosk-demo
        assert counted(second.results("zufriedenheit")) == {"4": 1}
        assert [r["id"] for r in second.help_requests()] == [help_id]

        # the agent's answer got lost (kiosk died before deleting): the vote is sent again
        body = {**votes[0], "lang": "de"}
        box = Outbox(cache / OUTBOX_FILE)
        box.put("vote", body)
        box.close()
        assert second.flush(5) is True
        assert [v["id"] for v in edge.stored_votes()] == [vote_id]  # still stored once
        assert counted(second.results("zufriedenheit")) == {"4": 1}
    finally:
        second.stop()


def test_a_vote_reaches_the_agent_fast_while_online(tmp_path: Path, edge: EdgeAgent) -> None:
    with client_for(edge, tmp_path / "cache", interval_s=5.0) as client:
        client.start()
        wait_for(lambda: client.online, what="the client to reach the agent")
        t0 = time.monotonic()
        vote_id = client.vote("innenstadt-wunsch", "baeume", "fr")
        wait_for(lambda: any(v["id"] == vote_id for v in edge.stored_votes()), what="the vote")
        # the background thread is woken by the vote, not by its 5 s retry timer
        assert time.monotonic() - t0 < 2.0
        stored = next(v for v in edge.stored_votes() if v["id"] == vote_id)
        assert stored["lang"] == "fr" and stored["poll_id"] == "innenstadt-wunsch"


def test_a_malformed_item_is_set_aside_and_does_not_block_the_rest(tmp_path: Path, edge: EdgeAgent) -> None:
    cache = tmp_path / "cache"
    with client_for(edge, cache) as client:
        box = Outbox(cache / OUTBOX_FILE)
        box.put("vote", {"id": "bad-1", "kiosk_id": "kiosk-eg", "poll_id": "zufriedenheit", "choice": "x" * 80,
                         "at": "2026-06-02T08:00:00Z"})  # fmt: skip
        box.close()
        good = client.vote("zufriedenheit", "5", "en")
        assert client.flush(5) is True
        assert [v["id"] for v in edge.stored_votes()] == [good]
        check = Outbox(cache / OUTBOX_FILE)
        assert check.refused_count() == 1
        check.close()


def test_lotsen_queries(tmp_path: Path, edge: EdgeAgent) -> None:
    with client_for(edge, tmp_path / "cache") as client:
        first = client.help("familienwegweiser")
        second = client.help()
        assert client.flush(5) is True
        open_ids = [r["id"] for r in client.help_requests()]
        assert set(open_ids) == {first, second}
        assert client.close_help(first) is True
        assert [r["id"] for r in client.help_requests()] == [second]
        assert {r["id"] for r in client.help_requests("all")} == {first, second}
        assert client.close_help("no-such-request") is False
        status = client.status()
        assert status is not None and status.device_id == edge.device_id
        assert status.open_help_requests == 1
        records = client.transparency()
        assert "kiosk" in {r.id for r in records}
        assert all(len(r.fields) == 11 for r in records)


def test_discovery_finds_the_agent_on_loopback(
    tmp_path: Path, edge_factory: Callable[..., EdgeAgent], pack_file: Path
) -> None:
    edge = edge_factory(pack_file, advertise=True)
    assert edge.agent is not None and edge.agent.api is not None and edge.agent.api.advert is not None
    assert edge.agent.api.advert.registered.wait(10), "the agent did not advertise"
    settings = edge.client_settings()
    with client_for(
        None, tmp_path / "cache", zeroconf_interfaces=["127.0.0.1"], discover_timeout=5, **settings
    ) as client:
        t0 = time.monotonic()
        vote_id = client.vote("zufriedenheit", "3", "de")
        assert client.flush(8) is True
        assert client.base_url == edge.url
        assert time.monotonic() - t0 < 8
        assert [v["id"] for v in edge.stored_votes()] == [vote_id]


def test_discovery_gives_up_in_time_when_nobody_announces() -> None:
    t0 = time.monotonic()
    assert discover_agent(0.5, ["127.0.0.1"]) is None
    assert time.monotonic() - t0 < 3


@pytest.mark.parametrize("bad", ["", "x" * 65])
def test_a_bad_vote_is_refused_at_the_tap(tmp_path: Path, bad: str) -> None:
    with client_for("http://127.0.0.1:9", tmp_path / "cache") as client:
        with pytest.raises(ValueError):
            client.vote("zufriedenheit", bad, "de")
        assert client.pending() == 0


def test_concurrent_refreshes_do_not_trip_over_the_cache_file(tmp_path: Path, edge: EdgeAgent) -> None:
    errors: list[BaseException] = []
    with client_for(edge, tmp_path / "cache") as client:

        def refresh() -> None:
            try:
                client.refresh()
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=refresh) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert errors == []
        assert client.content_source == "agent"
        assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp") == []


def test_a_read_only_client_reads_the_agent_and_never_sends_to_it(tmp_path: Path, edge: EdgeAgent) -> None:
    """What the selftest uses: the agent's content and results, but no vote, help or closing leaves."""
    with client_for(edge, tmp_path / "cache", send=False) as client:
        assert client.refresh() is True and client.content_source == "agent"
        client.vote("zufriedenheit", "5", "de")
        client.help()
        assert client.flush(1) is False and client.pending() == 2
        assert client.results("zufriedenheit") is not None  # reading works
        assert client.close_help("anything") is False
    assert edge.stored_votes() == []


def test_the_client_prunes_its_outbox_when_it_starts(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from a2d.timeutil import iso, utc_now

    cache = tmp_path / "cache"
    box = Outbox(cache / OUTBOX_FILE)
    for item_id in ("refused-long-ago", "waiting"):
        box.put("vote", {"id": item_id, "kiosk_id": "k", "poll_id": "p", "choice": "1", "at": utc_now()})
    box.refuse("refused-long-ago", "bad")
    box._db.execute("UPDATE refused SET at = ?", (iso(datetime.now(UTC) - timedelta(days=31)),))
    box.close()

    def refused() -> int:
        check = Outbox(cache / OUTBOX_FILE)
        try:
            return check.refused_count()
        finally:
            check.close()

    with client_for("http://127.0.0.1:9", cache, refused_days=30) as client:
        client.start()
        wait_for(lambda: refused() == 0, 5, "the refused item pruned")
        assert client.pending() == 1  # the vote still waiting for its agent stays
