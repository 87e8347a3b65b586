"""The sensor register: every device and sensor with its transparency record, from the newest
published content pack of each target (all devices, a site, a device) and the device registry.

Only what is public anyway goes in: device ids, names, sites, roles and the records' texts; no
tokens, no heartbeats, no times of life.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from a2d import bundles, contentpack
from a2d.logs import Once

from ..db import Database

log = logging.getLogger(__name__)
_once = Once(log)


@dataclass(frozen=True)
class Pack:
    target: str  # all, site:<id>, device:<id>
    version: str
    published_at: str
    pack: contentpack.ContentPack


def packs(db: Database) -> list[Pack]:
    """The current content pack of every target; a pack that cannot be read is left out (logged once)."""
    out = []
    for info in db.bundles():
        if info.kind != "content":
            continue
        found = db.bundle_document(info.target, "content")
        if found is None:
            continue
        try:
            bundle = bundles.parse(orjson.loads(found[2]))
            out.append(Pack(info.target, info.version, info.published_at, contentpack.loads(bundle.content)))
            _once.recovered(info.target, "the content pack of %s is readable again", info.target)
        except (ValueError, bundles.BundleError, contentpack.ContentError) as exc:
            _once.failed(info.target, "the register leaves out the content pack of %s: %s", info.target, exc)
    return out


def site_names(all_packs: list[Pack], lang: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for p in all_packs:
        for s in p.pack.sites:
            names.setdefault(s.id, contentpack.pick(s.name, lang))
    return names


def document(db: Database) -> dict[str, Any]:
    """``/register.json``: devices and the transparency records, every text in de, fr and en."""
    all_packs = packs(db)
    sites = {s.id: {"id": s.id, "name": dict(s.name), "address": s.address}
             for p in all_packs for s in p.pack.sites}  # fmt: skip
    return {
        "title": "Sensorregister / registre des capteurs / sensor register",
        "devices": [
            {"device_id": d.device_id, "name": d.name, "site": d.site or None, "role": d.role or None}
            for d in db.devices()
            if d.active
        ],
        "sites": list(sites.values()),
        "records": [
            {"applies_to": p.target, "pack_version": p.version, **contentpack.record_as_json(r)}
            for p in all_packs
            for r in p.pack.transparency
        ],
        "fields": list(contentpack.TRANSPARENCY_FIELDS),
    }
