"""Reading a settings reference page in docs/: its sections and how a default is written there."""

from __future__ import annotations

import re
from pathlib import Path

from a2d.config import Setting

_HEADING = re.compile(r"^#+ .*?`(\[\[?[a-z_.]+\]\]?)`")


def doc_sections(doc: Path) -> dict[str, str]:
    """The page split at its headings, keyed by the ``[section]`` a heading names ("" for none)."""
    sections: dict[str, str] = {}
    current = ""
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            m = _HEADING.match(line)
            current = m.group(1) if m else ""
        sections[current] = sections.get(current, "") + line + "\n"
    return sections


def toml_value(setting: Setting) -> str:
    """The default as the page writes it: TOML, or ``required``."""
    if setting.required:
        return "required"
    if isinstance(setting.default, bool):
        return "true" if setting.default else "false"
    if isinstance(setting.default, str):
        return f'"{setting.default}"'
    return str(setting.default)
