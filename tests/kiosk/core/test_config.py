"""kiosk.config: kiosk.toml, A2D_KIOSK_* overrides, clear errors, and the documented settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from a2d.config import ConfigError
from kiosk.config import SETTINGS, env_name, load, parse
from kiosk.lotsen import hash_pin, verify_pin

DOC = Path(__file__).resolve().parents[3] / "docs" / "kiosk.md"


def configuration_section() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"^## Configuration\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, "docs/kiosk.md has no '## Configuration' section"
    return match.group(1)


#: the wall's settings are documented in docs/wall.md (tests/kiosk/core/test_wall_config.py)
KIOSK_SETTINGS = [s for s in SETTINGS if not s.key.startswith("wall.")]


def test_every_setting_is_documented_with_default_and_variable() -> None:
    section = configuration_section()
    for s in KIOSK_SETTINGS:
        row = next((line for line in section.splitlines() if line.startswith(f"| `{s.key}` |")), None)
        assert row is not None, f"docs/kiosk.md does not document {s.key}"
        default = str(s.default).lower() if isinstance(s.default, bool) else s.default
        shown = (
            f'`"{default}"`'
            if isinstance(default, str) and not isinstance(s.default, bool)
            else f"`{default}`"
        )
        assert shown in row, f"{s.key}: the documented default is not {shown}"
        assert f"`{env_name(s)}`" in row, f"{s.key}: {env_name(s)} is not documented"
        assert s.help, s.key


def test_every_documented_setting_exists() -> None:
    keys = {s.key for s in KIOSK_SETTINGS}
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_0-9]+)` \|", configuration_section(), re.M))
    assert documented == keys


def test_environment_variables_all_start_with_a2d_kiosk() -> None:
    assert {env_name(s) for s in SETTINGS} >= {"A2D_KIOSK_IDLE_S", "A2D_KIOSK_DISPLAY_WIDTH"}
    assert all(env_name(s).startswith("A2D_KIOSK_") for s in SETTINGS)


def test_demo_configuration_has_every_default_and_a_demo_pin() -> None:
    cfg = load(None, env={})
    assert cfg.demo is True
    assert cfg.kiosk_id == "kiosk-demo" and cfg.agent_url is None
    assert cfg.idle_s == 90 and cfg.prompt_s == 30 and cfg.lotsen_session_s == 1800
    assert cfg.default_language == "de" and cfg.speech is True and cfg.volume == 50
    assert (cfg.fullscreen, cfg.width, cfg.height) == (False, 1280, 800)
    assert cfg.cache_dir.name == "a2d-kiosk"
    assert cfg.lotsen_log == cfg.cache_dir / "lotsen.log"
    assert verify_pin("123456", cfg.pin_hash)
    assert cfg.token == "" and cfg.refused_days == 30 and cfg.site == ""


def test_a_file_and_overrides(tmp_path: Path) -> None:
    pin = hash_pin("864208")
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "kiosk-rathaus-eg"\nagent_url = "http://127.0.0.1:8780/"\ncache_dir = "{tmp_path / "c"}"\n'
        f'idle_s = 60\nprompt_s = 25\ndefault_language = "fr"\npin_hash = "{pin}"\nspeech = false\n'
        "[display]\nfullscreen = true\n"
    )
    cfg = load(path, env={"A2D_KIOSK_VOLUME": "35", "A2D_KIOSK_DISPLAY_WIDTH": "1024", "A2D_VOLUME": "99"})
    assert cfg.demo is False
    assert cfg.kiosk_id == "kiosk-rathaus-eg"
    assert cfg.agent_url == "http://127.0.0.1:8780"
    assert cfg.cache_dir == tmp_path / "c"
    assert (cfg.idle_s, cfg.prompt_s, cfg.default_language) == (60.0, 25.0, "fr")
    assert cfg.pin_hash == pin and cfg.speech is False
    assert cfg.volume == 35 and cfg.width == 1024 and cfg.fullscreen is True


def test_no_pin_hash_means_lotsen_mode_off(tmp_path: Path) -> None:
    assert parse({"kiosk": {"id": "k"}}, env={}).pin_hash == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kiosk": {"prompt_s": 10}}, "kiosk.prompt_s must be at least 20"),
        ({"kiosk": {"idle_s": "lang"}}, "kiosk.idle_s must be a number"),
        ({"kiosk": {"default_language": "es"}}, "kiosk.default_language must be one of"),
        ({"kiosk": {"volume": 150}}, "kiosk.volume must be 0-100"),
        ({"kiosk": {"agent_url": "127.0.0.1:8780"}}, "kiosk.agent_url must start with http"),
        ({"kiosk": {"idel_s": 30}}, "unknown setting kiosk.idel_s"),
        ({"screen": {"width": 30}}, r"unknown section \[screen\]"),
        ({"display": {"width": 100}}, "at least 320 x 240"),
        ({"display": {"fullscreen": "vielleicht"}}, "display.fullscreen must be bool"),
    ],
)
def test_bad_values_name_the_setting(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(data, env={})


def test_missing_file_is_a_known_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "kiosk.toml", env={})


def test_the_pairing_settings(tmp_path: Path) -> None:
    token_file = tmp_path / "kiosk.token"
    token_file.write_text("a2dk_from-the-file\n")
    token_file.chmod(0o600)
    cfg = parse({"kiosk": {"token_file": str(token_file), "agent_url": "https://192.168.10.20:8780",
                           "agent_device_id": "edge-rathaus-1", "agent_pin_sha256": "ab:" * 31 + "ab"},
                 "device": {"site": "rathaus"}}, env={})  # fmt: skip
    assert cfg.token == "a2dk_from-the-file" and cfg.agent_device_id == "edge-rathaus-1"
    assert cfg.agent_url == "https://192.168.10.20:8780" and cfg.site == "rathaus"
    assert parse({"kiosk": {"token": "a2dk_x"}}, env={}).token == "a2dk_x"
    assert parse({}, env={"A2D_KIOSK_TOKEN": "a2dk_y", "A2D_KIOSK_DEVICE_SITE": "foyer"}).site == "foyer"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_token_file_others_may_read_stops_the_kiosk(tmp_path: Path, mode: int) -> None:
    token_file = tmp_path / "kiosk.token"
    token_file.write_text("a2dk_secret")
    token_file.chmod(mode)
    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*must be mode 0600"):
        parse({"kiosk": {"token_file": str(token_file)}}, env={})


@pytest.mark.parametrize(
    ("kiosk", "message"),
    [
        ({"agent_url": "https://192.168.10.20:8780"}, "set kiosk.agent_pin_sha256"),
        ({"agent_url": "http://192.168.10.20:8780"}, "plain http:// only on this machine"),
        ({"agent_url": "http://edge.local:8780"}, "plain http:// only on this machine"),
        ({"agent_pin_sha256": "abc"}, "kiosk.agent_pin_sha256 is no SHA-256 fingerprint"),
        ({"token": "a2dk_x", "token_file": "/x"}, "not both"),
        ({"token": "a2dk x"}, "not one a2d edge kiosk add prints"),
        ({"token_file": "/nonexistent/kiosk.token"}, "cannot read kiosk.token_file"),
        ({"refused_days": 0}, "kiosk.refused_days must be 1-400"),
        ({"refused_days": 401}, "kiosk.refused_days must be 1-400"),
    ],
)
def test_bad_pairing_settings_name_the_setting(kiosk: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse({"kiosk": kiosk}, env={})


def test_plain_http_on_loopback_is_fine() -> None:
    for url in ("http://127.0.0.1:8780", "http://localhost:8780", "http://[::1]:8780"):
        assert parse({"kiosk": {"agent_url": url}}, env={}).agent_url == url
