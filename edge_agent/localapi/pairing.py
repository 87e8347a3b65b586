"""``a2d edge kiosk add``: pair a kiosk and say what it needs to trust this agent and be trusted.

The answer holds the kiosk's id and token (shown this once), the agent's device id (the kiosk checks
it with ``GET /v1/healthz`` before it sends its token to an agent it found), ``device.site`` when
the agent has one, and, when the API listens beyond loopback, the pin of the agent's certificate.
"""

from __future__ import annotations

import json
from typing import Any

from ..config import EdgeConfig
from . import kiosks, tls
from .service import ApiSettings


def pair(config: EdgeConfig, name: str) -> dict[str, Any]:
    """Add the kiosk ``name`` to the agent of ``config``; the JSON ``kiosk add --json`` prints."""
    kiosk, token = kiosks.add(config.data_dir, name)
    doc: dict[str, Any] = {"kiosk_id": kiosk.kiosk_id, "name": kiosk.name, "token": token,
                           "device_id": config.device_id}  # fmt: skip
    site = dict(config.raw.get("device", {})).get("site")
    if site:
        doc["site"] = str(site)
    api = ApiSettings.from_config(dict(config.raw))
    if api is None:
        doc["agent_url"] = ""
        return doc
    if api.tls:
        doc["pin_sha256"] = tls.pin(tls.certificate(config.data_dir, api.host, config.device_id))
    wildcard = api.host in ("0.0.0.0", "::")
    host = f"[{api.host}]" if ":" in api.host else api.host
    doc["agent_url"] = (
        "" if wildcard or not api.port else f"{'https' if api.tls else 'http'}://{host}:{api.port}"
    )
    return doc


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def summary(doc: dict[str, Any]) -> str:
    """What ``kiosk add`` prints for a person: the facts, then a ``kiosk.toml`` to copy."""
    lines = [
        f"paired kiosk {doc['kiosk_id']} with the edge agent {doc['device_id']}",
        f"token (shown only this once; the agent keeps only its hash): {doc['token']}",
    ]
    if doc.get("pin_sha256"):
        lines.append(f"the agent's certificate pin (SHA-256): {doc['pin_sha256']}")
    lines += ["", "kiosk.toml for this kiosk (keep it, or the token file, readable by the kiosk alone):", "",
              "[kiosk]", f"id = {_toml(doc['kiosk_id'])}", f"token = {_toml(doc['token'])}"]  # fmt: skip
    if doc.get("agent_url"):
        lines.append(f"agent_url = {_toml(doc['agent_url'])}")
    else:
        lines.append(
            'agent_url = ""   # found with zeroconf (api.advertise), or https://<this Pi>:<api.port>'
        )
    lines.append(f"agent_device_id = {_toml(doc['device_id'])}")
    if doc.get("pin_sha256"):
        lines.append(f"agent_pin_sha256 = {_toml(doc['pin_sha256'])}")
    if doc.get("site"):
        lines += ["", "[device]", f"site = {_toml(doc['site'])}"]
    return "\n".join(lines) + "\n"
