#!/usr/bin/env python3
"""Kiosk start-up benchmark: the Kivy kiosk against Chromium in kiosk mode showing the same home screen.

1. ``a2d kiosk`` is started cold (its own process, a kiosk.toml like a real one); we take the
   time from the start of the process to its first rendered frame (the kiosk logs the wall-clock
   time of its first ``on_flip``) and its RSS (and PSS) 10 s after the start.
2. In the same run Chromium (``--kiosk``, the flags of reference/toolchain.md) loads a static
   HTML page with the same home screen (same texts, colours and font), served from 127.0.0.1;
   the page reports its first contentful paint as wall-clock time (``performance.timeOrigin``
   + the paint entry). RSS and PSS are summed over all Chromium processes at 10 s.
3. Tap-to-stored-vote latency: simulated taps on a smiley in an offscreen kiosk, timed from the
   finger lifting (the button fires on release) to the vote committed in the kiosk's SQLite
   outbox, and to the vote acknowledged by a real edge agent (``a2d edge run``) on this machine.

Without an X server both run offscreen (Kivy: ``SDL_VIDEODRIVER=offscreen``; Chromium:
``--headless=new``); with ``DISPLAY`` set both open real windows.

    .venv/bin/python bench/kiosk_start.py [--runs 3] [--taps 100]
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import ports  # noqa: E402
from devtools.ports import free_port  # noqa: E402

HOLD_S = 10.0
WIDTH, HEIGHT = 1280, 800


def wait_port(port: int, timeout: float = 20) -> None:
    if not ports.wait_port(port, timeout):
        raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


# --- memory of a process tree from /proc ------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return kids


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def memory_mib(pid: int) -> tuple[float, float, int]:
    """(RSS, PSS, processes) of ``pid`` and all its descendants, in MiB."""
    rss = pss = 0
    pids = tree(pid)
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss / 1024, pss / 1024, len(pids)


def stop(proc: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- the kiosk ---------------------------------------------------------------------------------


def bench_key_text(tmp: Path) -> str:
    """The public key of the bench's own content signing key (made by :func:`edge_agent`)."""
    return (tmp / "bench-key.pub").read_text().strip()


def kiosk_toml(tmp: Path, agent_url: str) -> Path:
    from kiosk.lotsen import hash_pin

    path = tmp / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "kiosk-bench"\nagent_url = "{agent_url}"\ncache_dir = "{tmp / "kiosk-cache"}"\n'
        f'pin_hash = "{hash_pin("246802")}"\ntrusted_keys = ["{bench_key_text(tmp)}"]\n'
        + (f'token_file = "{tmp / "kiosk.token"}"\n' if (tmp / "kiosk.token").exists() else "")
        + f"[display]\nwidth = {WIDTH}\nheight = {HEIGHT}\n"
    )
    return path


def run_kiosk(config: Path, tmp: Path) -> dict[str, float]:
    env = {**os.environ, "KIVY_HOME": str(tmp / "kivy-home"), "A2D_LOG_LEVEL": "info"}
    if not env.get("DISPLAY"):
        env["SDL_VIDEODRIVER"] = "offscreen"
    t0 = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2d.cli", "kiosk", "--config", str(config)],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    first: float | None = None
    lines: list[str] = []

    def read() -> None:
        nonlocal first
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"first frame after [0-9.]+ s \(epoch ([0-9.]+)\)", line)
            if m and first is None:
                first = float(m.group(1)) - t0

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while time.time() - t0 < HOLD_S:
            if proc.poll() is not None:
                raise SystemExit("the kiosk ended early:\n" + "".join(lines[-20:]))
            time.sleep(0.05)
        rss, pss, n = memory_mib(proc.pid)
    finally:
        stop(proc)
    if first is None:
        raise SystemExit("the kiosk logged no first frame:\n" + "".join(lines[-20:]))
    return {"first_frame_s": first, "rss_mib": rss, "pss_mib": pss, "processes": n}


# --- Chromium with the same home screen --------------------------------------------------------


def home_html() -> str:
    """The kiosk's home screen as a static page: the same texts (German), colours and font."""
    from a2d.contentpack import load
    from devtools.demopack import DEMO_PACK
    from kiosk.i18n import Translator
    from kiosk.theme import NORMAL, RGB
    from kiosk.views import home

    pack = load(DEMO_PACK)
    tr = Translator("de")
    v = home(pack, "de", tr)
    t = NORMAL

    def c(rgb: RGB) -> str:
        return "#" + "".join(f"{round(x * 255):02x}" for x in rgb)

    tiles = "".join(
        f'<button class="tile"><span class="icon"></span><b>{html.escape(x.title)}</b>'
        f"<small>{html.escape(x.summary)}</small></button>"
        for x in v.tiles
    )
    head = "".join(
        f'<button class="h">{html.escape(x)}</button>'
        for x in (tr("Start"), "DE", "FR", "EN", tr("Vorlesen"), tr("Einstellungen"))
    )
    return f"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Kiosk</title><style>
@font-face {{ font-family: Roboto; src: url(/Roboto-Regular.ttf); }}
@font-face {{ font-family: Roboto; font-weight: bold; src: url(/Roboto-Bold.ttf); }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; width: {WIDTH}px; height: {HEIGHT}px; display: flex; flex-direction: column;
  background: {c(t.background)}; color: {c(t.text)}; font-family: Roboto, sans-serif; }}
header {{ display: flex; gap: 12px; padding: 10px 16px; background: {c(t.header_bg)}; min-height: 92px; }}
header .h {{ background: none; border: 0; color: {c(t.on_header)}; font: bold 24px Roboto; min-width: 72px; }}
header .h:first-child {{ margin-right: auto; }}
main {{ flex: 1; overflow-y: auto; padding: 24px; }}
h1 {{ font-size: 34px; margin: 0 0 18px; }}
.tiles {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 20px; }}
.tile {{ display: flex; flex-direction: column; align-items: flex-start; gap: 8px; text-align: left;
  min-height: 150px; padding: 14px 20px; background: {c(t.card)}; color: {c(t.text)};
  border: 1.5px solid {c(t.border)}; border-radius: 14px; font-family: Roboto; }}
.tile b {{ font-size: 28px; }} .tile small {{ font-size: 18px; color: {c(t.muted)}; }}
.icon {{ width: 48px; height: 48px; border: 3px solid {c(t.primary_bg)}; border-radius: 8px; }}
footer {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 20px; padding: 12px 24px 20px; }}
footer button {{ min-height: 88px; border-radius: 14px; font: bold 24px Roboto; border: 0; }}
</style></head><body><header>{head}</header><main><h1>{html.escape(v.heading)}</h1>
<div class="tiles">{tiles}</div></main><footer>
<button style="background:{c(t.primary_bg)};color:{c(t.on_primary)}">{html.escape(v.feedback)}</button>
<button style="background:{c(t.secondary_bg)};color:{c(t.on_secondary)}">{html.escape(v.transparency)}</button>
<button style="background:{c(t.alert_bg)};color:{c(t.on_alert)}">{html.escape(v.help)}</button></footer>
<script>
new PerformanceObserver((list) => {{
  for (const e of list.getEntries()) {{
    if (e.name === "first-contentful-paint") {{
      fetch("/painted?t=" + (performance.timeOrigin + e.startTime));
    }}
  }}
}}).observe({{ type: "paint", buffered: true }});
</script></body></html>"""


class _Page(BaseHTTPRequestHandler):
    page = b""
    fonts: Path = Path()
    painted: list[float] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.startswith("/painted?t="):
            self.painted.append(float(self.path.split("=", 1)[1]) / 1000)
            body, kind = b"ok", "text/plain"
        elif self.path.endswith(".ttf"):
            body, kind = (self.fonts / self.path.lstrip("/")).read_bytes(), "font/ttf"
        else:
            body, kind = self.page, "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def run_chromium(tmp: Path, run: int) -> dict[str, float] | None:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        return None
    import importlib.util

    spec = importlib.util.find_spec("kivy")  # the font files only: importing kivy here would make ~/.kivy
    assert spec is not None and spec.origin is not None
    _Page.page = home_html().encode()
    _Page.fonts = Path(spec.origin).parent / "data" / "fonts"
    _Page.painted = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    profile = tmp / f"chromium-profile-{run}"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps({"translate": {"enabled": False}}))
    flags = [
        "--kiosk", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-position=0,0", f"--window-size={WIDTH},{HEIGHT}",
    ]  # fmt: skip
    if not os.environ.get("DISPLAY"):
        flags.append("--headless=new")
    t0 = time.time()
    proc = subprocess.Popen(
        [exe, *flags, f"http://127.0.0.1:{server.server_address[1]}/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        while time.time() - t0 < HOLD_S:
            time.sleep(0.05)
        rss, pss, n = memory_mib(proc.pid)
    finally:
        stop(proc)
        server.shutdown()
        server.server_close()
    if not _Page.painted:
        raise SystemExit("Chromium reported no first paint")
    return {"first_frame_s": _Page.painted[0] - t0, "rss_mib": rss, "pss_mib": pss, "processes": n}


# --- tap to stored vote ------------------------------------------------------------------------


def edge_agent(tmp: Path) -> tuple[subprocess.Popen[Any], str]:
    """The agent serving the demo pack, signed with a key made for this run (kiosks trust it)."""
    from a2d import bundles
    from devtools.demopack import DEMO_PACK

    key = bundles.new_private_key()
    (tmp / "bench-key.pub").write_text(bundles.public_key_text(key) + "\n")
    pack = tmp / "pack.signed.json"
    pack.write_text(
        json.dumps(bundles.sign(key, "content", "bench", 1, bundles.ALL, DEMO_PACK.read_bytes()).as_dict())
    )
    port = free_port()
    (tmp / "edge-data").mkdir()
    config = tmp / "edge.toml"
    config.write_text(
        f'[device]\nid = "edge-bench"\ndata_dir = "{tmp / "edge-data"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {free_port()}\n'
        f'[sync]\ntrusted_keys = ["{bundles.public_key_text(key)}"]\n'
        f'[api]\nhost = "127.0.0.1"\nport = {port}\n[content]\npack = "{pack}"\n'
    )
    env = {**os.environ, "A2D_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "a2d.cli", "edge", "run", "--config", str(config)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_port(port)
    paired = subprocess.run(  # the kiosk's token (a2d edge kiosk add), kept in a private file
        [sys.executable, "-m", "a2d.cli", "edge", "kiosk", "add", "kiosk-bench", "--config", str(config), "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    token = tmp / "kiosk.token"
    token.touch(mode=0o600)
    token.write_text(json.loads(paired.stdout)["token"])
    return proc, f"http://127.0.0.1:{port}"


def tap_latency(tmp: Path, taps: int, agent_url: str) -> dict[str, list[float]]:
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(tmp / "kivy-home-taps"))
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    from kivy.base import EventLoop
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from kiosk.app import Kiosk
    from kiosk.client import AgentClient
    from kiosk.config import load
    from kiosk.screens.widgets import named

    cfg = load(kiosk_toml(tmp, agent_url))
    EventLoop.ensure_window()
    Window.size = (WIDTH, HEIGHT)
    kiosk = Kiosk(cfg)
    Window.add_widget(kiosk.root)
    client = AgentClient.from_config(cfg, discover=False)
    client.start()
    kiosk.after_first_frame(client)
    stored_at: list[float] = []
    real_vote = client.vote

    def timed_vote(poll_id: str, choice: str, lang: str) -> str:
        vote_id = real_vote(poll_id, choice, lang)
        stored_at.append(time.perf_counter())
        return vote_id

    client.vote = timed_vote  # type: ignore[method-assign]
    poll = kiosk.ctl.pack.polls[0]
    outbox: list[float] = []
    agent: list[float] = []
    try:
        for i in range(taps):
            kiosk.ctl.session.wipe()
            kiosk.ctl.start()
            kiosk.ctl.go("feedback", index=0)
            for _ in range(4):
                EventLoop.idle()
            button = named(kiosk.root, f"choice-{poll.choices[i % len(poll.choices)].id}")
            touch = UnitTestTouch(*button.to_window(*button.center))
            touch.touch_down()
            EventLoop.idle()
            lifted = time.perf_counter()
            touch.touch_up()
            outbox.append(stored_at[-1] - lifted)
            while client.pending() and time.perf_counter() - lifted < 5:
                time.sleep(0.0005)
            if client.pending() == 0:
                agent.append(time.perf_counter() - lifted)
    finally:
        Window.remove_widget(kiosk.root)
        kiosk.stop()
    return {"outbox": outbox, "agent": agent}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--runs", type=int, default=3, help="start-ups of each (default 3; the median is compared)"
    )
    ap.add_argument("--taps", type=int, default=100, help="simulated smiley taps (default 100)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="a2d-kiosk-bench-"))
    mode = "X display" if os.environ.get("DISPLAY") else "offscreen (Kivy) / headless (Chromium)"
    print(
        f"kiosk start-up vs Chromium --kiosk, {WIDTH}x{HEIGHT}, {mode}, {args.runs} runs each, RSS at {HOLD_S:g} s"
    )
    agent, agent_url = edge_agent(tmp)
    try:
        config = kiosk_toml(tmp, agent_url)
        kiosk_runs, chrome_runs = [], []
        for run in range(args.runs):
            k = run_kiosk(config, tmp)
            c = run_chromium(tmp, run)
            kiosk_runs.append(k)
            line = (f"  run {run + 1}: kiosk first frame {k['first_frame_s']:.3f} s, RSS {k['rss_mib']:.0f} MiB "
                    f"(PSS {k['pss_mib']:.0f}, {k['processes']:.0f} proc)")  # fmt: skip
            if c is not None:
                chrome_runs.append(c)
                line += (f" | Chromium first paint {c['first_frame_s']:.3f} s, RSS {c['rss_mib']:.0f} MiB "
                         f"(PSS {c['pss_mib']:.0f}, {c['processes']:.0f} proc)")  # fmt: skip
            print(line, flush=True)

        def med(runs: list[dict[str, float]], key: str) -> float:
            return statistics.median(r[key] for r in runs)

        kf, kr, kp = med(kiosk_runs, "first_frame_s"), med(kiosk_runs, "rss_mib"), med(kiosk_runs, "pss_mib")
        print(f"kiosk    : first frame {kf:.3f} s, RSS {kr:.0f} MiB, PSS {kp:.0f} MiB (medians)")
        if chrome_runs:
            cf, cr, cp = (
                med(chrome_runs, "first_frame_s"),
                med(chrome_runs, "rss_mib"),
                med(chrome_runs, "pss_mib"),
            )
            print(f"Chromium : first paint {cf:.3f} s, RSS {cr:.0f} MiB, PSS {cp:.0f} MiB (medians)")
            print(f"ratios   : first frame kiosk/Chromium {kf / cf:.2f} (aim <= 1.0), "
                  f"RSS kiosk/Chromium {kr / cr:.2f} (aim <= 0.30), PSS {kp / cp:.2f}")  # fmt: skip
        else:
            print("Chromium : not installed, no reference")
        lat = tap_latency(tmp, args.taps, agent_url)
        print(f"tap -> vote in the kiosk's outbox (SQLite, synchronous=FULL): p50 {statistics.median(lat['outbox']) * 1000:.1f} ms, "
              f"p95 {p95(lat['outbox']) * 1000:.1f} ms over {len(lat['outbox'])} taps (aim p95 <= 50 ms)")  # fmt: skip
        if lat["agent"]:
            print(f"tap -> vote acknowledged by the edge agent: p50 {statistics.median(lat['agent']) * 1000:.1f} ms, "
                  f"p95 {p95(lat['agent']) * 1000:.1f} ms over {len(lat['agent'])} taps")  # fmt: skip
    finally:
        stop(agent)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
