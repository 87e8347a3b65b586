"""A throwaway signing key for the tests, and content packs signed with it as agents serve them.

Agents take only signed content packs (``[content] pack`` is a signed bundle document) and kiosks
show only signed ones, so every test that starts an agent with a pack signs it here; the agent
trusts :data:`PUBLIC` through :data:`EDGE_TRUST`, a kiosk through :func:`kiosk_trust`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from a2d import bundles

KEY = bundles.new_private_key()
PUBLIC = bundles.public_key_text(KEY)
#: the ``[sync]`` table of an edge.toml that trusts :data:`KEY`
EDGE_TRUST = f'[sync]\ntrusted_keys = ["{PUBLIC}"]\n'


def demo_pack_bytes(town: str) -> bytes:
    """The demo's content pack as another town's: what `a2d server bundle publish|export|sign content`
    take (they refuse a file that is no content pack, or one whose hours do not parse)."""
    path = Path(__file__).resolve().parent.parent / "devtools" / "data" / "content-offenburg.json"
    return json.dumps({**json.loads(path.read_text()), "town": town}, ensure_ascii=False).encode()


def signed(content: bytes | dict[str, Any], *, counter: int = 1, target: str = bundles.ALL,
           kind: str = "content", version: str = "test", key: Any = KEY) -> dict[str, Any]:  # fmt: skip
    """A bundle document of ``content`` (a dict is written as JSON) signed with ``key``."""
    data = content if isinstance(content, bytes) else json.dumps(content, ensure_ascii=False).encode()
    return bundles.sign(key, kind, version, counter, target, data).as_dict()


def write_signed_pack(
    path: Path, pack: bytes | dict[str, Any], counter: int | None = None, **kw: Any
) -> Path:
    """Write ``pack`` to ``path`` as a signed content bundle; its counter is one above the file's
    current one unless given, so a rewritten pack is newer for kiosks."""
    if counter is None:
        counter = counter_of(path) + 1 if path.exists() else 1
    path.write_text(json.dumps(signed(pack, counter=counter, **kw)), encoding="utf-8")
    return path


def counter_of(path: Path) -> int:
    return int(json.loads(path.read_text(encoding="utf-8"))["counter"])


def pack_in(doc: dict[str, Any]) -> dict[str, Any]:
    """The content pack a signed document carries."""
    return dict(json.loads(base64.b64decode(doc["content"])))


def pack_of(path: Path) -> dict[str, Any]:
    return pack_in(json.loads(path.read_text(encoding="utf-8")))


def kiosk_trust(agent_device_id: str = "", site: str = "", *keys: str) -> Any:
    """A kiosk's :class:`kiosk.signedcontent.ContentTrust` trusting :data:`KEY` (and ``keys``)."""
    from kiosk.signedcontent import ContentTrust

    return ContentTrust(
        bundles.TrustedKeys.configured([PUBLIC, *keys]), bundles.Identity(agent_device_id, site)
    )
