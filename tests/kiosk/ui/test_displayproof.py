"""Proof of display in the real kiosk window: the frames Kivy draws are counted, the picture read
back with glReadPixels is hashed, and the report reaches a real agent through its local API."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kiosk.app import read_window
from kiosk.displayproof import grey_grid, picture_hash
from tests.kiosk.ui.conftest import HEIGHT, WIDTH, EdgeAgent, pump, until


def test_the_kiosk_reports_what_its_window_draws_to_its_agent(
    make_kiosk: Callable[..., Any], edge_factory: Callable[..., EdgeAgent], pack_file: Any, window: Any
) -> None:
    edge = edge_factory(pack_file)
    k = make_kiosk(edge)
    reporter = k.reporter
    assert reporter is not None and reporter.interval_s == 120  # kiosk.display_report_s by default
    reporter.quiet_s = 0  # a page change reports at once (the default waits 10 s after a report)

    def shown() -> list[dict[str, Any]]:
        status, body = edge.get("/v1/display")
        assert status == 200
        return [d for d in body["displays"] if d["kiosk_id"] == "kiosk-test"]

    window.canvas.ask_update()
    until(lambda: reporter.last is not None, what="the first report")
    until(lambda: bool(shown()), what="the report at the agent")
    first = shown()[0]
    assert first["page"] == "attract" and first["hash"] == reporter.hash and first["frames"] >= 1
    assert first["reported_at"].endswith("Z") and first["wall"] is False and first["mode"] == "open"

    k.ctl.go("home")
    until(lambda: reporter.last is not None and reporter.last.page == "home", what="the page change reported")
    until(lambda: any(d["page"] == "home" for d in shown()), what="the home page at the agent")
    home = shown()[0]
    assert home["hash"] != first["hash"] and home["changed_at"] > first["changed_at"]
    assert home["frames"] > first["frames"]


def test_the_hash_is_of_the_pixels_on_screen_and_stable_while_they_stay(
    make_kiosk: Callable[..., Any], window: Any
) -> None:
    k = make_kiosk(None)
    k.ctl.go("home")
    pump(6)  # the page is built and laid out
    pictures: list[Any] = []

    def grab(*_: Any) -> None:
        pictures.append(read_window(WIDTH, HEIGHT))

    window.bind(on_flip=grab)

    def settled() -> str:
        """Redraw until two frames in a row hash alike (the worker's answers may still change the
        page for a few frames on a busy machine); the hash of that picture."""
        for _ in range(40):
            window.canvas.ask_update()
            pump(1)
            if len(pictures) >= 2 and picture_hash(pictures[-1]) == picture_hash(pictures[-2]):
                return picture_hash(pictures[-1])
        raise AssertionError("the same page never gave the same hash twice in a row")

    try:
        home = settled()
        grid = grey_grid(pictures[-1])
        assert len(set(grid)) > 3  # a drawn page, not an empty buffer
        k.ctl.go("transparency")
        pump(6)
        assert settled() != home
        # the time one hash of a frame this size takes (read back + pure Python), printed for the report
        started = time.perf_counter()
        for _ in range(5):
            picture_hash(read_window(WIDTH, HEIGHT))
        print(f"display hash at {WIDTH}x{HEIGHT}: {(time.perf_counter() - started) / 5 * 1000:.1f} ms")
    finally:
        window.unbind(on_flip=grab)
