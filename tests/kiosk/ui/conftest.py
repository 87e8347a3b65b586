"""Kivy rendering offscreen (real GL through EGL/llvmpipe) with one window for the whole run.

Kivy can make one window per process: the session fixture makes it, each test gets a fresh
:class:`kiosk.app.Kiosk` on it (its own cache dir, outbox and agent client) and removes it again.
``k.ctl`` is its controller (the visit, navigation, actions), ``k.root`` and ``k.page`` what is drawn.
The environment is set here, before any test module imports Kivy.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

_KIVY_HOME = tempfile.mkdtemp(prefix="a2d-kivy-home-")
atexit.register(shutil.rmtree, _KIVY_HOME, True)
for key, value in {
    "KIVY_NO_ARGS": "1",
    "KIVY_NO_CONSOLELOG": "1",
    "KIVY_NO_FILELOG": "1",
    "SDL_VIDEODRIVER": "offscreen",
    "KIVY_HOME": _KIVY_HOME,
}.items():
    os.environ.setdefault(key, value)

# the real edge agent of the kiosk-core tests (its fixtures are re-used here)
from tests.conftest import wait_for  # noqa: E402
from tests.edgeharness import LocalEdge  # noqa: E402
from tests.kiosk.core.conftest import EdgeAgent, edge_factory, pack_file  # noqa: E402
from tests.signedpack import PUBLIC  # noqa: E402

__all__ = ["EdgeAgent", "edge_factory", "pack_file", "wait_for"]

WIDTH, HEIGHT = 1280, 800
PIN = "246802"


@pytest.fixture(scope="session")
def window() -> Any:
    from kivy.config import Config

    Config.set("graphics", "width", str(WIDTH))
    Config.set("graphics", "height", str(HEIGHT))
    from kivy.base import EventLoop
    from kivy.core.window import Window

    EventLoop.ensure_window()
    Window.size = (WIDTH, HEIGHT)
    return Window


@pytest.fixture(scope="session")
def pin_hash() -> str:
    from kiosk.lotsen import hash_pin

    return hash_pin(PIN)


def pump(frames: int = 4) -> None:
    from kivy.base import EventLoop

    for _ in range(frames):
        EventLoop.idle()


def until(pred: Callable[[], object], timeout: float = 10, what: str = "condition") -> None:
    """Pump Kivy frames until ``pred()`` holds (results from the worker arrive through the Clock)."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pump(1)
        if pred():
            return
    raise AssertionError(f"timed out waiting for {what}")


def find(root: Any, name: str) -> Any:
    """The first widget with ``name`` (buttons are named: tile-<id>, choice-<id>, vorlesen ...)."""
    from kiosk.screens.widgets import named

    return named(root, name)


def texts(root: Any) -> list[str]:
    from kivy.uix.label import Label

    out, stack = [], [root]
    while stack:
        w = stack.pop()
        if isinstance(w, Label) and w.text:
            out.append(w.text)
        stack.extend(w.children)
    return out


def tap(widget: Any) -> None:
    """A finger down and up at the widget's centre, through the window like a real touch."""
    from kivy.tests.common import UnitTestTouch
    from kivy.uix.scrollview import ScrollView

    pump(2)  # let a page that was just built finish its layout
    parent = widget.parent
    while parent is not None and parent is not parent.parent:
        if isinstance(parent, ScrollView):
            parent.scroll_to(widget, padding=10, animate=False)  # as a citizen would scroll to it
            pump(2)
            break
        parent = parent.parent
    x, y = widget.to_window(*widget.center)
    touch = UnitTestTouch(x, y)
    touch.touch_down()
    pump(1)
    touch.touch_up()
    pump(2)


@pytest.fixture
def make_kiosk(window: Any, tmp_path: Path, pin_hash: str) -> Iterator[Callable[..., Any]]:
    from devtools.demopack import demo_pack
    from kiosk.app import Kiosk
    from kiosk.client import AgentClient
    from kiosk.config import parse

    made: list[Any] = []

    def make(
        agent: LocalEdge | None = None, clock: Callable[[], float] | None = None, *, demo: bool = True,
        **kiosk: Any,
    ) -> Kiosk:  # fmt: skip
        """A kiosk on the test's window, paired with ``agent`` when one is given. It shows the demo
        pack, given explicitly, until the agent's pack arrives; ``demo=False``: no pack at all."""
        paired = (
            agent.pair(f"kiosk-test-{len(made)}" if made else "kiosk-test") if agent is not None else None
        )
        agent_url = agent.url if agent is not None else None
        settings = {"id": "kiosk-test", "agent_url": agent_url or "", "cache_dir": str(tmp_path / "cache"),
                    "pin_hash": pin_hash, "token": paired.token if paired else "", "trusted_keys": [PUBLIC],
                    **kiosk}  # fmt: skip
        cfg = parse({"kiosk": settings, "display": {"width": WIDTH, "height": HEIGHT}}, env={})
        k = Kiosk(cfg, pack=demo_pack() if demo else None, clock=clock or __import__("time").monotonic,
                  speech_dir=tmp_path / "speech")  # fmt: skip
        made.append(k)
        window.add_widget(k.root)
        k.ctl.go("attract")
        pump(2)
        client = AgentClient.from_config(cfg, discover=False, timeout=1.0, interval_s=0.1)
        client.start()
        k.after_first_frame(client)
        pump(2)
        return k

    yield make
    for k in made:
        window.remove_widget(k.root)
        k.stop()
