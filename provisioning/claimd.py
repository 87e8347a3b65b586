"""The device's side of the claim: wait for an admin who knows the code, take the bundle, install it.

:class:`Responder` listens on one TCP port and talks :mod:`.claimproto`, one conversation at a time
(a second connection meanwhile is told so and closed). It refuses, with a one-line reason the admin
sees: another protocol version, another serial, a locked claim (:mod:`.lockout`), a share that is not
a group element, a message over its size, a client slower than :data:`~.claimproto.SESSION_S` for
the whole conversation. A wrong code is counted before it is answered. A bundle that
authenticates goes to the :data:`~.seams.Install`; once that returned, the device is claimed and
:meth:`Responder.serve` returns. If the install refuses the bundle, the admin is told why and the
claim stays open.

:func:`await_claim` is ``a2d provision await-claim``: a fresh code, the notice for the kiosk
(:mod:`a2d.claimwire`) and, when given a ``display``, the code on the console
(:mod:`.claimscreen`), the advert (:mod:`.advert`), the responder, and the notice removed again
whatever happens.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from a2d import claimwire
from a2d.errors import KnownError

from . import claimproto as proto
from .lockout import MAX_FAILURES, Lockout
from .seams import Install
from .spake2 import PakeError, Session, seal, unseal

log = logging.getLogger(__name__)

#: how long a second client waits to be told "busy"
_BUSY_S = 2.0
#: how long a new connection waits for the conversation before it to finish closing
_FINISHING_S = 0.5


def new_code() -> str:
    """Six random digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**claimwire.CODE_DIGITS):0{claimwire.CODE_DIGITS}d}"


class Refused(Exception):
    """The device says no; the message goes to the admin as it is."""


class Responder:
    """See the module docstring. :meth:`bind`, then :meth:`serve` until claimed or ``stop`` is set."""

    def __init__(
        self,
        serial: str,
        code: str,
        lockout: Lockout,
        install: Install,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - the admin's laptop is on the LAN; the code guards it
        port: int = claimwire.DEFAULT_PORT,
        notice: Path | None = None,
        session_s: float = proto.SESSION_S,
        max_bundle: int = proto.MAX_BUNDLE_BYTES,
        display: Callable[[claimwire.ClaimNotice | None], None] | None = None,
    ) -> None:
        if not claimwire.valid_code(code):
            raise ValueError("a claim code is six digits")
        self.serial, self.code, self.lockout, self.install = serial, code, lockout, install
        self.host, self.port, self.notice = host, port, notice
        self.session_s, self.max_bundle = session_s, max_bundle
        self.display = display  # draws each notice (the console); called with None once it ends
        self.claimed = threading.Event()
        self._busy = threading.Lock()
        self._sock: socket.socket | None = None
        self._notice_locked = False  # the notice says "locked": written again when the lock ends

    def bind(self) -> int:
        """Listen (once; again is a no-op); returns the port (the one asked for, or the one chosen for port 0)."""
        if self._sock is not None:
            return self.port
        sock = socket.create_server((self.host, self.port), reuse_port=False)
        sock.settimeout(0.25)  # accept wakes up this often to see whether to stop
        self._sock = sock
        self.port = sock.getsockname()[1]
        self.publish()
        return self.port

    def publish(self) -> None:
        """Write the kiosk's notice (with the lock's end, if locked) and draw it on the display."""
        if self.notice is None and self.display is None:
            return
        verdict = self.lockout.check()
        until = None
        if not verdict.allowed:
            until = datetime.fromtimestamp(time.time() + verdict.locked_for_s, UTC).isoformat(
                timespec="seconds"
            )
        notice = claimwire.ClaimNotice(self.code, self.serial, until)
        if self.notice is not None:
            claimwire.write(self.notice, notice)
        if self.display is not None:
            self.display(notice)
        self._notice_locked = until is not None

    def serve(self, stop: threading.Event | None = None) -> bool:
        """Answer claims until one succeeded (True) or ``stop`` is set (False)."""
        if self._sock is None:
            self.bind()
        assert self._sock is not None
        stop = stop or threading.Event()
        try:
            while not self.claimed.is_set() and not stop.is_set():
                try:
                    conn, peer = self._sock.accept()
                except TimeoutError:
                    if self._notice_locked and self.lockout.check().allowed:
                        self.publish()  # the lock ran out: the kiosk stops saying "wait"
                    continue
                # a conversation that just answered may still be closing: give it a moment
                if not self._busy.acquire(timeout=_FINISHING_S):
                    threading.Thread(target=self._busy_answer, args=(conn,), daemon=True).start()
                    continue
                threading.Thread(
                    target=self._conversation, args=(conn, peer), name="a2d-claim", daemon=True
                ).start()
            return self.claimed.is_set()
        finally:
            self._sock.close()
            self._sock = None

    def _busy_answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                proto.send(conn, {"error": "another claim is under way on this device: try again in a minute"},
                           time.monotonic() + _BUSY_S)  # fmt: skip
            except proto.ProtocolError:
                pass

    def _conversation(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        deadline = time.monotonic() + self.session_s
        try:
            with conn:
                try:
                    self._talk(conn, deadline)
                except (Refused, proto.ProtocolError) as exc:
                    log.info("claim from %s refused: %s", peer[0], exc)
                    try:  # say why, if the other side still listens
                        proto.send(conn, {"error": str(exc)}, max(deadline, time.monotonic() + 1))
                    except proto.ProtocolError:
                        pass
        finally:
            self._busy.release()

    def _talk(self, conn: socket.socket, deadline: float) -> None:
        hello = proto.receive(conn, proto.MAX_SMALL, deadline)
        if hello.get("v") != proto.VERSION:
            raise Refused(
                f"this device speaks claim protocol version {proto.VERSION}, not {hello.get('v')!r}"
            )
        if hello.get("serial") != self.serial:
            raise Refused(f"this is device {self.serial}, not {str(hello.get('serial'))[:64]!r}")
        verdict = self.lockout.check()
        if not verdict.allowed:
            raise Refused(_locked(verdict.locked_for_s))
        run = Session("device", self.code, self.serial)
        try:
            keys = run.finish(proto.unb64(hello, "pA"))
        except PakeError as exc:
            raise Refused(f"the key exchange failed: {exc}") from None
        proto.send(conn, {"pB": proto.b64(run.share)}, deadline)
        confirm = proto.unb64(proto.receive(conn, proto.MAX_SMALL, deadline), "cA")
        if not keys.confirms(confirm):
            verdict = self.lockout.failed()  # counted (durably) before it is answered
            if not verdict.allowed:
                self.publish()
                raise Refused("wrong code; " + _locked(verdict.locked_for_s))
            log.info("claim: a wrong code (%d more before the claim locks)", verdict.tries_left)
            proto.send(conn, {"error": f"wrong code ({verdict.tries_left} more tries before the claim locks "
                                       "for 10 minutes)", "tries_left": verdict.tries_left}, deadline)  # fmt: skip
            return
        self.lockout.succeeded()
        proto.send(conn, {"cB": proto.b64(keys.mine)}, deadline)
        limit = math.ceil(self.max_bundle * 4 / 3) + 64 + proto.MAX_SMALL  # base64, the nonce and tag
        sealed = proto.unb64(proto.receive(conn, limit, deadline), "bundle")
        try:
            bundle = unseal(keys.key, proto.BUNDLE_PURPOSE, sealed)
        except PakeError as exc:
            raise Refused(f"the bundle did not arrive intact: {exc}") from None
        if len(bundle) > self.max_bundle:
            raise Refused(f"the bundle is over {self.max_bundle} bytes")
        try:
            self.install(bundle)
            result: dict[str, object] = {"ok": True}
        except (KnownError, ValueError, OSError) as exc:
            log.warning("claim: the bundle was not installed: %s", exc)
            result = {"ok": False, "error": f"the device did not install the bundle: {exc}"}
        proto.send(conn, {"result": proto.b64(seal(keys.key, proto.RESULT_PURPOSE, json.dumps(result).encode()))},
                   deadline)  # fmt: skip
        if result["ok"]:
            log.info("claimed: the bundle (%d bytes) is installed", len(bundle))
            self.claimed.set()


def _locked(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"the claim is locked after {MAX_FAILURES} wrong codes: try again in {minutes} min"


def await_claim(
    responder: Responder,
    *,
    advertise: Callable[[int], Callable[[], None]] | None = None,
    stop: threading.Event | None = None,
) -> bool:
    """Bind, write the notice, advertise (``advertise(port)`` returns what ends the advert), answer
    until claimed; the notice, the advert and the display's code go whatever happens. True: claimed."""
    try:
        port = responder.bind()
        log.info("waiting to be claimed: serial %s, port %d", responder.serial, port)
        end_advert = advertise(port) if advertise is not None else None
        try:
            return responder.serve(stop)
        finally:
            if end_advert is not None:
                end_advert()
    finally:
        if responder.notice is not None:
            claimwire.remove(responder.notice)
        if responder.display is not None:
            responder.display(None)
