"""The Offenburg demo content pack: what the demo, the kiosk run as the demo, tests and benchmarks show.

Built from public facts about Offenburg (``docs/content-pack.md`` says which). A kiosk in an office
never falls back to it: it shows its agent's signed pack, its cached one, or "no content yet".
``a2d kiosk`` without ``--config`` runs the demo and takes this pack explicitly, and says so.
"""

from __future__ import annotations

from pathlib import Path

from a2d.contentpack import ContentPack, load

#: the pack's JSON file (package data of ``devtools``)
DEMO_PACK = Path(__file__).resolve().parent / "data" / "content-offenburg.json"


def demo_pack() -> ContentPack:
    """The demo pack, read and checked like any other pack."""
    return load(DEMO_PACK)
