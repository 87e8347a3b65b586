"""The kiosk checks the content its agent serves: only packs signed with its keys, for it, and not
older than the one it shows, reach the screen; the last good pack stays. The agent here is a fake
(a real HTTP server on 127.0.0.1) that serves whatever the test tells it to."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from a2d import bundles
from devtools.demopack import DEMO_PACK
from kiosk.client import CONTENT_FILE, AgentClient
from kiosk.signedcontent import KEYS_FILE
from tests.signedpack import KEY, PUBLIC, kiosk_trust, signed

DEMO = json.loads(DEMO_PACK.read_text(encoding="utf-8"))


def pack(version: str) -> dict[str, Any]:
    return {**DEMO, "version": version}


class FakeAgent:
    """``documents`` maps a path (``/v1/content``, ``/v1/keys``) to the JSON served there (404 if absent)."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                doc = agent.documents.get(self.path)
                body = json.dumps(doc if doc is not None else {"error": "none"}).encode()
                self.send_response(200 if doc is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if isinstance(doc, dict) and "counter" in doc:
                    self.send_header("ETag", bundles.etag(doc["counter"], doc["sha256"]))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    a = FakeAgent()
    yield a
    a.close()


def kiosk(agent: FakeAgent, cache: Path, **trust: Any) -> AgentClient:
    return AgentClient(agent.url, cache, "kiosk-eg", discover=False, timeout=2.0,
                       trust=kiosk_trust(trust.get("agent", "edge-rathaus-1"), trust.get("site", "rathaus"),
                                         *trust.get("keys", ())))  # fmt: skip


def shown(client: AgentClient) -> tuple[str | None, str]:
    """(version on screen, where it came from); (None, "none"): the kiosk shows "no content yet"."""
    pack = client.content()
    return (pack.version if pack is not None else None), client.content_source


def test_an_unsigned_or_wrongly_signed_pack_is_never_shown(
    agent: FakeAgent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with kiosk(agent, tmp_path / "cache") as client:
        agent.documents["/v1/content"] = pack("unsigned")  # a plain pack, as agents served it before
        assert client.refresh() is False and shown(client) == (None, "none")
        agent.documents["/v1/content"] = signed(pack("good"), counter=3)
        assert client.refresh() is True and shown(client) == ("good", "agent")
        caplog.clear()
        for bad in (
            pack("unsigned again"),
            signed(pack("rogue"), counter=4, key=bundles.new_private_key()),
            {**signed(pack("tampered"), counter=5), "version": "edited"},
        ):
            agent.documents["/v1/content"] = bad
            assert client.refresh() is False and shown(client) == ("good", "agent")
    warned = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and "refused the agent's content" in r.message
    ]
    assert len(warned) == 1  # once, not for every refusal (the others at debug level)


def test_a_pack_for_another_site_or_agent_is_refused(agent: FakeAgent, tmp_path: Path) -> None:
    with kiosk(agent, tmp_path / "cache") as client:
        for target in ("site:ov-zell-weierbach", "device:edge-elsewhere"):
            agent.documents["/v1/content"] = signed(pack(target), target=target)
            assert client.refresh() is False and shown(client)[1] == "none"
        for counter, target in enumerate(("all", "site:rathaus", "device:edge-rathaus-1"), start=1):
            agent.documents["/v1/content"] = signed(pack(target), target=target, counter=counter)
            assert client.refresh() is True and shown(client) == (target, "agent")


def test_an_older_pack_is_a_replay_and_refused(agent: FakeAgent, tmp_path: Path) -> None:
    old = signed(pack("2025"), counter=4)
    with kiosk(agent, tmp_path / "cache") as client:
        agent.documents["/v1/content"] = old
        assert client.refresh() is True
        agent.documents["/v1/content"] = signed(pack("2026"), counter=5)
        assert client.refresh() is True and shown(client) == ("2026", "agent")
        agent.documents["/v1/content"] = old  # validly signed, but older than what is on screen
        assert client.refresh() is False and shown(client) == ("2026", "agent")
    with kiosk(agent, tmp_path / "cache") as again:  # a restart: the cached counter still counts
        assert shown(again) == ("2026", "cache")
        assert again.refresh() is False and again.content().version == "2026"


def test_a_restarted_kiosk_checks_its_cache_again(agent: FakeAgent, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with kiosk(agent, cache) as client:
        agent.documents["/v1/content"] = signed(pack("cached"), target="site:rathaus")
        assert client.refresh() is True
    doc = json.loads((cache / CONTENT_FILE).read_text())
    assert doc["signature"] and doc["key_id"] == bundles.key_id(KEY)  # the signed document is kept
    agent.close()  # the agent is gone from now on
    with kiosk(agent, cache) as offline:
        assert shown(offline) == ("cached", "cache")
    with kiosk(agent, cache, site="ov-zell-weierbach") as moved:  # the kiosk now stands elsewhere
        assert shown(moved)[1] == "none"
    pack_bytes = json.dumps(pack("edited in the cache")).encode()
    edited_doc = {**doc, "content": base64.b64encode(pack_bytes).decode(), "size": len(pack_bytes)}
    (cache / CONTENT_FILE).write_text(json.dumps(edited_doc))
    with kiosk(agent, cache) as edited:
        assert shown(edited)[1] == "none"


def test_the_kiosk_follows_a_key_rotation_through_its_agent(agent: FakeAgent, tmp_path: Path) -> None:
    new = bundles.new_private_key()
    until = datetime.now(UTC) + timedelta(days=30)
    listed = bundles.keys_content(
        [bundles.trusted_key(bundles.public_key_text(new)), bundles.trusted_key(PUBLIC, until)]
    )
    with kiosk(agent, tmp_path / "cache") as client:
        agent.documents["/v1/content"] = signed(pack("new key"), counter=2, key=new)
        assert client.refresh() is False  # the kiosk does not know the new key yet
        agent.documents["/v1/keys"] = signed(listed, kind="keys", counter=1, key=new)  # self-made: refused
        assert client.refresh() is False
        agent.documents["/v1/keys"] = signed(listed, kind="keys", counter=1)  # signed with the old key
        assert client.refresh() is True and shown(client) == ("new key", "agent")
    with kiosk(agent, tmp_path / "cache") as again:  # the list is kept: a restart still knows the new key
        assert shown(again) == ("new key", "cache")


def test_a_key_list_written_into_the_cache_is_not_trusted(
    agent: FakeAgent, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rogue = bundles.new_private_key()
    cache = tmp_path / "cache"
    cache.mkdir()
    own = signed(
        bundles.keys_content([bundles.trusted_key(bundles.public_key_text(rogue))]), kind="keys", key=rogue
    )
    (cache / KEYS_FILE).write_text(json.dumps([own]))  # a list naming its own key, signed by it
    with kiosk(agent, cache) as client:
        agent.documents["/v1/content"] = signed(pack("rogue"), key=rogue)
        assert client.refresh() is False and shown(client)[1] == "none"
        agent.documents["/v1/content"] = signed(pack("good"))  # the configured key still works
        assert client.refresh() is True and shown(client) == ("good", "agent")
    warned = [
        r for r in caplog.records if r.levelno >= logging.WARNING and "ignoring the cached keys" in r.message
    ]
    assert len(warned) == 1
