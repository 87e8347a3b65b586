"""A TCP proxy on 127.0.0.1 that breaks connections on purpose, for the sync fault tests.

Modes (change ``proxy.mode`` at any time; it applies to the next response):

* ``"pass"``     forward both ways;
* ``"reset"``    forward the request, wait until the server starts answering (so it has
                 committed), then reset the client's connection without passing the answer on;
* ``"503"``      answer ``503 Service Unavailable`` without asking the server;
* ``"hang"``     forward the request but never pass the answer on (a slow server);
* ``"refuse"``   close every new connection at once (the server looks down);
* ``"cut"``      a cut cable: nothing passes either way on open connections, new ones are refused.

``proxy.resets`` counts the answers it swallowed.
"""

from __future__ import annotations

import select
import socket
import struct
import threading


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.mode = "pass"
        self.resets = 0
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = int(self._server.getsockname()[1])
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        self._accept.start()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._accept.join(5)
        for t in self._threads:
            t.join(5)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.mode in ("refuse", "cut"):
                _reset(client)
                continue
            t = threading.Thread(target=self._serve, args=(client,), name="faultproxy-conn", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            if self.mode != "503":
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            while not self._stop.is_set():
                socks = [client] + ([upstream] if upstream else [])
                ready, _, _ = select.select(socks, [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if self.mode == "cut":
                        continue
                    if s is client:
                        if self.mode == "503":
                            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                        elif upstream is not None:
                            upstream.sendall(data)
                    elif self.mode == "reset":
                        self.resets += 1
                        _reset(client)
                        return
                    elif self.mode != "hang":
                        client.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a dropped connection looks to the other side."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
