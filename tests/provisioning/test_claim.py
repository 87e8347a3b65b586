"""The claim over TCP on 127.0.0.1 (provisioning/claimd.py, claimclient.py, claimproto.py): the real
responder and the real admin side, a relay that records the wire, and clients that misbehave."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time

import pytest

from a2d import claimwire
from provisioning import claimd, claimproto
from provisioning.claimclient import ClaimError, claim
from provisioning.spake2 import Session, seal

from ..conftest import wait_for
from .conftest import SERIAL, start_device

BUNDLE = b'{"edge.toml": "...", "token": "tok-7f3a9c-SECRET-do-not-leak"}'


class Relay:
    """A TCP relay to the device that records what crosses it, each direction on its own."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.to_device = bytearray()
        self.to_admin = bytearray()
        self.thread = threading.Thread(target=self._run, name="a2d-test-relay")
        self.thread.start()

    def _pipe(self, src: socket.socket, dst: socket.socket, record: bytearray) -> None:
        while data := src.recv(65536):
            record += data
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)

    def _run(self) -> None:
        admin, _ = self.sock.accept()
        with admin, socket.create_connection(("127.0.0.1", self.target)) as dev:
            back = threading.Thread(target=self._pipe, args=(dev, admin, self.to_admin))
            back.start()
            self._pipe(admin, dev, self.to_device)
            back.join(10)
        self.sock.close()


def frames(data: bytes) -> list[bytes]:
    out = []
    while data:
        (n,) = struct.unpack(">I", data[:4])
        out.append(data[: 4 + n])
        data = data[4 + n :]
    return out


def test_the_right_code_delivers_the_bundle_and_ends_the_claim(device):
    code = device.code
    claim("127.0.0.1", device.port, SERIAL, code, BUNDLE)
    wait_for(lambda: device.result, 10, "the responder to return")
    assert device.installed == [BUNDLE]
    assert device.result == [True]
    assert claimwire.read(device.notice) is None  # the kiosk stops showing the code
    assert json.loads(device.lock_file.read_text())["failures"] == 0


def test_the_wire_holds_neither_the_code_nor_the_key_nor_the_bundle(device, monkeypatch):
    keys = []

    class Recording(Session):
        def finish(self, their_share):
            found = super().finish(their_share)
            keys.append(found.key)
            return found

    monkeypatch.setattr(claimd, "Session", Recording)
    relay = Relay(device.port)
    code = device.code
    claim("127.0.0.1", relay.port, SERIAL, code, BUNDLE)
    relay.thread.join(10)
    assert device.installed == [BUNDLE] and len(keys) == 1
    wire = bytes(relay.to_device + relay.to_admin)
    assert len(wire) > 1000  # the relay did see the conversation
    for secret in (code.encode(), keys[0], keys[0].hex().encode(), BUNDLE, b"tok-7f3a9c"):
        assert secret not in wire
    for chunk in frames(bytes(relay.to_device)) + frames(bytes(relay.to_admin)):
        for value in json.loads(chunk[4:]).values():
            if isinstance(value, str) and len(value) > 20:
                raw = base64.b64decode(value)
                assert code.encode() not in raw and keys[0] not in raw and b"tok-7f3a9c" not in raw


def test_a_wrong_code_is_refused_counted_and_installs_nothing(device):
    wrong = f"{(int(device.code) + 1) % 1_000_000:06d}"
    with pytest.raises(ClaimError, match=r"wrong code \(4 more tries"):
        claim("127.0.0.1", device.port, SERIAL, wrong, BUNDLE)
    assert device.installed == []
    assert json.loads(device.lock_file.read_text())["failures"] == 1
    claim("127.0.0.1", device.port, SERIAL, device.code, BUNDLE)  # the claim is still open
    assert device.installed == [BUNDLE]


def test_five_wrong_codes_lock_the_claim_even_for_the_right_code_and_across_a_restart(tmp_path):
    dev, thread, stop = start_device(tmp_path)
    try:
        code = dev.code
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(4):
            with pytest.raises(ClaimError, match="wrong code"):
                claim("127.0.0.1", dev.port, SERIAL, wrong, BUNDLE)
        with pytest.raises(ClaimError, match="locked after 5 wrong codes: try again in 10 min"):
            claim("127.0.0.1", dev.port, SERIAL, wrong, BUNDLE)
        with pytest.raises(ClaimError, match="locked"):
            claim("127.0.0.1", dev.port, SERIAL, code, BUNDLE)
        notice = claimwire.read(dev.notice)
        assert notice is not None and notice.locked_until is not None  # the kiosk can say so
    finally:
        stop.set()
        thread.join(10)
    assert dev.installed == [] and dev.result == [False]
    # the responder restarts (a new code, the same lock file): still locked
    dev2, thread2, stop2 = start_device(tmp_path, lock_file=dev.lock_file)
    try:
        with pytest.raises(ClaimError, match="locked"):
            claim("127.0.0.1", dev2.port, SERIAL, dev2.code, BUNDLE)
        assert dev2.installed == []
    finally:
        stop2.set()
        thread2.join(10)


def test_a_replayed_conversation_gets_nothing_installed(device):
    """Someone on the LAN recorded a claim the device refused (its install failed) and replays the
    admin's messages: the device's new share makes the old confirmation wrong."""
    device.refuse = "the disk is read-only"
    relay = Relay(device.port)
    with pytest.raises(ClaimError, match="read-only"):
        claim("127.0.0.1", relay.port, SERIAL, device.code, BUNDLE)
    relay.thread.join(10)
    device.refuse = ""
    recorded = frames(bytes(relay.to_device))
    assert len(recorded) == 3  # hello, confirmation, bundle
    deadline = time.monotonic() + 10
    with socket.create_connection(("127.0.0.1", device.port)) as conn:
        conn.sendall(recorded[0])
        assert "pB" in claimproto.receive(conn, claimproto.MAX_SMALL, deadline)
        conn.sendall(recorded[1])
        answer = claimproto.receive(conn, claimproto.MAX_SMALL, deadline)
        assert "wrong code" in answer["error"]
    assert device.installed == []


def test_a_device_that_does_not_know_the_code_never_gets_the_bundle():
    """A fake advert answers as the device and confirms with a guess: the admin stops before the bundle."""
    server = socket.create_server(("127.0.0.1", 0))
    got: list[dict] = []

    def fake() -> None:
        deadline = time.monotonic() + 10
        conn, _ = server.accept()
        with conn:
            hello = claimproto.receive(conn, claimproto.MAX_SMALL, deadline)
            run = Session("device", "000000", SERIAL)
            keys = run.finish(claimproto.unb64(hello, "pA"))
            claimproto.send(conn, {"pB": claimproto.b64(run.share)}, deadline)
            claimproto.receive(conn, claimproto.MAX_SMALL, deadline)
            claimproto.send(conn, {"cB": claimproto.b64(keys.mine)}, deadline)
            try:
                got.append(claimproto.receive(conn, claimproto.MAX_BUNDLE_BYTES, deadline))
            except claimproto.ProtocolError:
                pass

    thread = threading.Thread(target=fake, name="a2d-test-fake")
    thread.start()
    try:
        with pytest.raises(ClaimError, match="does not know the code"):
            claim("127.0.0.1", server.getsockname()[1], SERIAL, "493027", BUNDLE)
    finally:
        thread.join(10)
        server.close()
    assert got == []


def test_a_bundle_changed_on_the_way_is_refused(device):
    deadline = time.monotonic() + 10
    with socket.create_connection(("127.0.0.1", device.port)) as conn:
        run = Session("admin", device.code, SERIAL)
        claimproto.send(conn, {"v": 1, "serial": SERIAL, "pA": claimproto.b64(run.share)}, deadline)
        keys = run.finish(claimproto.unb64(claimproto.receive(conn, 4096, deadline), "pB"))
        claimproto.send(conn, {"cA": claimproto.b64(keys.mine)}, deadline)
        assert keys.confirms(claimproto.unb64(claimproto.receive(conn, 4096, deadline), "cB"))
        sealed = bytearray(seal(keys.key, claimproto.BUNDLE_PURPOSE, BUNDLE))
        sealed[20] ^= 1
        claimproto.send(conn, {"bundle": claimproto.b64(bytes(sealed))}, deadline)
        answer = claimproto.receive(conn, 4096, deadline)
    assert "did not arrive intact" in answer["error"]
    assert device.installed == []


def test_one_claim_at_a_time_and_a_silent_client_is_dropped_at_the_deadline(tmp_path):
    dev, thread, stop = start_device(tmp_path, session_s=4.0)
    try:
        with socket.create_connection(("127.0.0.1", dev.port)) as silent:
            opened = time.monotonic()
            wait_for(lambda: dev.responder._busy.locked(), 5, "the first conversation to start")
            with pytest.raises(ClaimError, match="another claim is under way"):
                claim("127.0.0.1", dev.port, SERIAL, dev.code, BUNDLE)
            answer = claimproto.receive(silent, 4096, opened + 10)
            assert "too slow" in answer["error"]  # the device's deadline, not ours
            assert 4 <= time.monotonic() - opened < 8
        claim("127.0.0.1", dev.port, SERIAL, dev.code, BUNDLE)
        assert dev.installed == [BUNDLE]
    finally:
        stop.set()
        thread.join(10)


def test_an_oversized_or_foreign_message_is_refused_without_reading_it(device):
    deadline = time.monotonic() + 5
    with socket.create_connection(("127.0.0.1", device.port)) as conn:
        conn.sendall(struct.pack(">I", 100_000_000))  # announces 100 MB
        assert "over the limit of 4096" in claimproto.receive(conn, 4096, deadline)["error"]
    with socket.create_connection(("127.0.0.1", device.port)) as conn:
        claimproto.send(conn, {"v": 1, "serial": "somebodyelse"}, deadline)
        assert "not 'somebodyelse'" in claimproto.receive(conn, 4096, deadline)["error"]
    with socket.create_connection(("127.0.0.1", device.port)) as conn:
        claimproto.send(conn, {"v": 1, "serial": SERIAL, "pA": claimproto.b64(b"\0" * 256)}, deadline)
        assert "key exchange failed" in claimproto.receive(conn, 4096, deadline)["error"]
    assert (
        json.loads(device.lock_file.read_text() if device.lock_file.exists() else '{"failures": 0}')[
            "failures"
        ]
        == 0
    )
    claim("127.0.0.1", device.port, SERIAL, device.code, BUNDLE)  # still answering
    assert device.installed == [BUNDLE]


def test_the_notice_stops_saying_locked_when_the_lock_ends(tmp_path):
    now = [time.time()]
    dev, thread, stop = start_device(tmp_path, clock=lambda: now[0])
    try:
        wrong = f"{(int(dev.code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            with pytest.raises(ClaimError):
                claim("127.0.0.1", dev.port, SERIAL, wrong, BUNDLE)
        assert claimwire.read(dev.notice).locked_until is not None
        now[0] += 600
        wait_for(lambda: claimwire.read(dev.notice).locked_until is None, 5, "the notice without the lock")
        claim("127.0.0.1", dev.port, SERIAL, dev.code, BUNDLE)
        assert dev.installed == [BUNDLE]
    finally:
        stop.set()
        thread.join(10)
