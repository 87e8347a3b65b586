"""PressLogic with the clock in our hand: debounce, press on release, hold, cooldown."""

from __future__ import annotations

from buttons_firmware_bridge.presses import PressLogic


def run(logic: PressLogic, edges: list[tuple[float, bool]], until: float) -> list[tuple[float, str]]:
    """Feed pin edges (time, pressed) and fire the timers the logic asks for, in time order."""
    timers: list[tuple[float, str]] = []
    level = False
    out: list[tuple[float, str]] = []
    pending = sorted(edges)
    while pending or timers:
        timers.sort()
        if pending and (not timers or pending[0][0] <= timers[0][0]):
            t, level = pending.pop(0)
            timers.append((logic.edge(t), "settle"))
            continue
        t, what = timers.pop(0)
        if t > until:
            break
        if what == "settle":
            ev, hold_at = logic.settle(t, level)
            if hold_at is not None:
                timers.append((hold_at, "hold"))
        else:
            ev = logic.hold_due(t)
        if ev:
            out.append((round(t, 3), ev))
    return out


def test_bounces_and_glitches() -> None:
    logic = PressLogic(debounce_s=0.02, hold_s=1.0, cooldown_s=0.0)
    bouncy = [(0.000, True), (0.002, False), (0.004, True), (0.2, False), (0.203, True), (0.205, False)]
    assert run(logic, bouncy, 5) == [(0.225, "press")]
    assert run(PressLogic(0.02, 1.0, 0.0), [(0.0, True), (0.005, False)], 5) == []


def test_hold_is_its_own_event() -> None:
    assert run(PressLogic(0.02, 1.0, 0.0), [(0.0, True), (1.5, False)], 5) == [(1.0, "hold")]


def test_cooldown_drops_quick_repeats() -> None:
    logic = PressLogic(0.02, 1.0, cooldown_s=0.5)
    edges = [(0.0, True), (0.1, False), (0.2, True), (0.3, False), (0.8, True), (0.9, False)]
    assert run(logic, edges, 5) == [(0.12, "press"), (0.92, "press")]
    assert logic.suppressed == 1
