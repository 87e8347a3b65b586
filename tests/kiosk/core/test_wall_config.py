"""The wall's settings: kiosk.role, the [wall] table, its limits, its documentation in docs/wall.md,
and what provisioning writes for a wall."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from a2d.config import ConfigError
from kiosk.config import env_name, parse
from kiosk.wall.settings import WALL_SETTINGS, WallSettings
from provisioning import configs
from tests.docsettings import doc_sections, toml_value

DOC = Path(__file__).resolve().parents[3] / "docs" / "wall.md"
#: the files name the token file a Pi has; here there is none
NO_TOKEN_FILE = {"A2D_KIOSK_TOKEN_FILE": ""}


def test_role_wall_and_the_wall_table_are_read() -> None:
    cfg = parse({"kiosk": {"role": "wall"}, "wall": {"view_s": 30, "register_url": "https://x.example/register"}},
                env={})  # fmt: skip
    w = WallSettings.from_raw(cfg.raw)
    assert cfg.role == "wall" and (w.view_s, w.poll_s, w.register_url) == (
        30.0,
        2.0,
        "https://x.example/register",
    )
    assert parse({}, env={}).role == "kiosk"
    assert (
        parse({}, env={"A2D_KIOSK_ROLE": "wall", "A2D_KIOSK_WALL_POLL_S": "1.5"}).raw["wall"]["poll_s"] == 1.5
    )


@pytest.mark.parametrize(
    ("wall", "says"),
    [
        ({"view_s": 5}, "wall.view_s must be at least 10"),
        ({"fade_s": 4}, "wall.fade_s must be 0-3"),
        ({"poll_s": 10}, "wall.poll_s must be 1-4"),
        ({"register_url": "http://sync.example/register"}, "wall.register_url must be an https://"),
        ({"second_language": "xx"}, "wall.second_language must be one of"),
        ({"colour": "red"}, "unknown setting wall.colour"),
    ],
)
def test_a_wall_setting_that_breaks_a_promise_is_refused(wall: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        parse({"wall": wall}, env={})


def test_role_must_be_kiosk_or_wall() -> None:
    with pytest.raises(ConfigError, match="kiosk.role must be one of kiosk, wall"):
        parse({"kiosk": {"role": "tv"}}, env={})


@pytest.mark.parametrize("setting", WALL_SETTINGS, ids=lambda s: s.key)
def test_every_wall_setting_is_documented(setting) -> None:
    section = doc_sections(DOC)["[wall]"]
    rows = [line for line in section.splitlines() if line.startswith(f"| `{setting.key}` |")]
    assert len(rows) == 1, f"docs/wall.md: one row for {setting.key}"
    cells = [c.strip() for c in rows[0].strip().strip("|").split("|")]
    assert cells[1] == f"`{toml_value(setting)}`" and cells[2] == f"`{env_name(setting)}`"


def test_docs_document_no_other_wall_setting_and_the_example_parses() -> None:
    documented = set(re.findall(r"^\| `(wall\.[a-z_]+)` \|", doc_sections(DOC)["[wall]"], re.M))
    assert documented == {s.key for s in WALL_SETTINGS}
    example = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert example is not None
    data = tomllib.loads(example.group(1).replace('["..."]', "[]"))
    assert parse(data, env=NO_TOKEN_FILE).role == "wall"


def test_provisioning_writes_a_walls_role_and_the_register_of_its_server() -> None:
    pairing = configs.KioskPairing("edge-1-kiosk", "edge-1", "http://127.0.0.1:8780")
    d = configs.Device("edge-1", "Foyer", "rathaus", "https://sync.offenburg.de/")
    wall = parse(tomllib.loads(configs.kiosk_toml(d, pairing, wall=True)), env=NO_TOKEN_FILE)
    assert wall.role == "wall" and wall.raw["wall"]["register_url"] == "https://sync.offenburg.de/register"
    kiosk = parse(tomllib.loads(configs.kiosk_toml(d, pairing)), env=NO_TOKEN_FILE)
    assert kiosk.role == "kiosk" and kiosk.raw["wall"]["register_url"] == ""
    test_server = configs.Device("edge-1", "Foyer", "rathaus", "http://127.0.0.1:9")
    assert (
        parse(tomllib.loads(configs.kiosk_toml(test_server, pairing, wall=True)), env=NO_TOKEN_FILE).role
        == "wall"
    )
