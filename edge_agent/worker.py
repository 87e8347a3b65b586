"""A daemon thread that runs one loop until it is told to stop: what the agent's background jobs
(the sync client, the forecast runner, the zeroconf advert) share."""

from __future__ import annotations

import threading


class Worker:
    """``start()`` runs :meth:`_run` in a daemon thread named ``thread_name``; ``_run`` watches
    ``self._stop`` (a :class:`threading.Event`, also good for waiting) and returns once it is set;
    ``stop()`` sets it and waits up to ``timeout`` seconds for the thread."""

    thread_name = "a2d-worker"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 20) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError
