"""Settings: what the owner writes over SSH is either used as meant or refused clearly."""

import subprocess
import sys
from pathlib import Path

import pytest

from looksay import config
from looksay.config import EX_CONFIG, ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "device" / "looksay" / "looksay.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "looksay.toml"
    path.write_text(text)
    return path


def test_no_file_at_all_gives_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFIGURATION_DIRECTORY", str(tmp_path / "absent"))
    settings = config.load()
    assert settings.source is None
    assert settings.caption.space == "aifeifei798/Image-To-Flux-Prompt"
    assert settings.speech.speaker == "EN-US"
    assert settings.smile.prompt == "Make them smile"
    assert (settings.smile.strength, settings.smile.steps, settings.smile.seed) == (0.7, 2, 0)


def test_values_from_the_file_are_used(tmp_path):
    path = write(tmp_path, '[speech]\nspeaker = "EN-BR"\nspeed = 1\n[smile]\nsteps = 3\n')
    settings = config.load(path)
    assert settings.speech.speaker == "EN-BR"
    assert settings.speech.speed == 1.0 and isinstance(settings.speech.speed, float)
    assert settings.smile.steps == 3
    assert settings.source == path


def test_env_variable_chooses_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[audio]\nvolume = 40\n")
    monkeypatch.setenv("LOOKSAY_CONFIG", str(path))
    assert config.load().audio.volume == 40


def test_set_overrides_one_key_and_bare_words_are_strings(tmp_path):
    path = write(tmp_path, "[audio]\nvolume = 40\n")
    settings = config.load(path, ["audio.volume=55", "camera.source=file",
                                  "camera.path=/tmp/x.jpg", 'smile.prompt="Make them laugh"'])
    assert settings.audio.volume == 55
    assert settings.camera.source == "file"
    assert settings.smile.prompt == "Make them laugh"


@pytest.mark.parametrize(("text", "names"), [
    ("[audio]\nvolme = 3\n", ["audio.volme", "volume"]),
    ("[adio]\nvolume = 3\n", ["[adio]", "audio"]),
    ("[audio]\nvolume = \"loud\"\n", ["audio.volume", "whole number"]),
    ("[audio]\nvolume = 130\n", ["audio.volume", "0 to 100"]),
    ("[smile]\nsteps = 2.5\n", ["smile.steps", "whole number"]),
    ("[camera]\nsource = \"webcam\"\n", ["camera.source", "'picamera2', 'file'"]),
    ("[display]\nshow_caption = 1\n", ["display.show_caption", "true or false"]),
    ("[smile]\nsteps = 1\nstrength = 0.5\n", ["smile.steps", "smile.strength"]),
    ("[caption]\napi_name = \"feifeichat\"\n", ["caption.api_name", "'/'"]),
    ("[button2]\npin = 17\n", ["button2.pin", "button1.pin", "17"]),
    ("[camera]\nsource = \"file\"\n", ["camera.path"]),
    ("audio = 3\n", ["audio", "section"]),
    ("timeout = 5\n[audio]\nvolume = 30\n", ["'timeout' is outside any section",
                                               "[caption]"]),
    ("[audio\nvolume = 3\n", ["not valid TOML"]),
])
def test_bad_values_are_refused_naming_file_and_key(tmp_path, text, names):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert str(path) in message
    for name in names:
        assert name in message


def test_a_named_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "nope.toml")


def test_bad_set_syntax_is_explained():
    with pytest.raises(ConfigError, match=r"section\.key=value"):
        config.load(None, ["volume=3"])


def test_example_file_documents_every_key_at_its_default():
    text = EXAMPLE.read_text()
    assert text == config.example_toml(), "regenerate: looksay config example > " + str(EXAMPLE)
    loaded = config.load(EXAMPLE)
    assert loaded.as_dict() == config.Settings().as_dict()
    lines = text.splitlines()
    for name, section in config.sections(config.Settings()):
        assert f"[{name}]" in lines
        for key in section.__dataclass_fields__:
            index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} = ")
                         and _section_of(lines, i) == name)
            assert lines[index - 1].startswith("# "), f"{name}.{key} has no comment"


def _section_of(lines: list[str], index: int) -> str:
    for line in reversed(lines[:index]):
        if line.startswith("["):
            return line.strip("[]")
    return ""


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "looksay", *args], capture_output=True,
                          text=True, timeout=60)


def test_bad_config_exits_78_naming_the_key(tmp_path):
    path = write(tmp_path, "[speech]\nsped = 2\n")
    done = run_cli("config", "check", "--config", str(path))
    assert done.returncode == EX_CONFIG
    assert "speech.sped" in done.stderr and "speed" in done.stderr
    done = run_cli("describe", "--config", str(path), "--image", "x.jpg")
    assert done.returncode == EX_CONFIG


def test_config_show_prints_effective_settings(tmp_path):
    path = write(tmp_path, "[hub]\ntoken_file = \"/etc/looksay/hf_token\"\n")
    done = run_cli("--config", str(path), "config", "show", "--set", "audio.volume=33")
    assert done.returncode == 0, done.stderr
    assert "volume = 33" in done.stdout
    assert str(path) in done.stdout


def test_config_check_is_quiet_and_ok_for_the_example():
    done = run_cli("config", "check", "--config", str(EXAMPLE))
    assert done.returncode == 0
    assert "OK" in done.stdout


def test_readme_documents_every_key():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name, section in config.sections(config.Settings()):
        for key in section.__dataclass_fields__:
            assert f"`{name}.{key}`" in readme, f"README lacks {name}.{key}"


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "looksay.toml"
    path.write_bytes("\ufeff[audio]\nvolume = 30\n".encode())
    assert config.load(path).audio.volume == 30
