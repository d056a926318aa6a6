"""Settings: one TOML file read once at start, checked, and frozen.

Every section is a frozen dataclass; every field carries its meaning, unit and allowed
range in ``metadata`` so that validation, ``looksay config show`` and the example file all
speak from the same place. Unknown keys, wrong types and out-of-range values are refused with
a message that names the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from looksay import paths

#: Exit status for a bad configuration (sysexits.h EX_CONFIG). The systemd unit's
#: ``RestartPreventExitStatus=78`` keeps a broken config from becoming a restart loop.
EX_CONFIG = 78

#: A Space id (owner/name), or an http(s) URL of a Gradio server.
_SPACE_SRC = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/[\w.-]+|https?://[^\s/]+(?:/\S*)?)$")

ACTIONS = (
    "describe",
    "smile",
    "repeat",
    "status",
    "volume_up",
    "volume_down",
    "cancel",
    "none",
)


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and what to do."""


def setting(default: Any, doc: str, *, lo: float | None = None, hi: float | None = None,
            choices: tuple[Any, ...] | None = None, secret: bool = False) -> Any:
    """A dataclass field with its documentation and allowed values attached."""
    return field(default=default, metadata={
        "doc": doc, "lo": lo, "hi": hi, "choices": choices, "secret": secret,
    })


@dataclass(frozen=True)
class SpaceSettings:
    """Where one remote model lives and how long it may take."""

    space: str = setting("", "Hugging Face Space id (owner/name) or the URL of a Gradio server.")
    api_name: str = setting("", "Endpoint name on that Space, with the leading slash.")
    timeout: float = setting(60.0, "Deadline for one call, in seconds.", lo=1, hi=900)


@dataclass(frozen=True)
class CaptionSettings(SpaceSettings):
    """The image-captioning model."""

    space: str = setting("aifeifei798/Image-To-Flux-Prompt",
                         "Hugging Face Space id (owner/name) or the URL of a Gradio server.")
    api_name: str = setting("/feifeichat", "Endpoint name, with the leading slash.")
    timeout: float = setting(60.0, "Deadline for one caption, in seconds.", lo=1, hi=900)
    max_sentences: int = setting(
        2, "Speak at most this many sentences of the caption (0 = no sentence limit).",
        lo=0, hi=50)
    max_chars: int = setting(
        300, "Speak at most this many characters of the caption (cut at a word).",
        lo=40, hi=5000)


@dataclass(frozen=True)
class SpeechSettings(SpaceSettings):
    """The remote voice (MeloTTS) and the local fallback voice."""

    space: str = setting("mrfakename/MeloTTS",
                         "Hugging Face Space id (owner/name) or the URL of a Gradio server.")
    api_name: str = setting("/synthesize", "Endpoint name, with the leading slash.")
    timeout: float = setting(30.0, "Deadline for one spoken chunk, in seconds.", lo=1, hi=900)
    speaker: str = setting("EN-US", "MeloTTS speaker: EN-US, EN-BR, EN_INDIA, EN-AU, "
                           "EN-Default, ES, FR, ZH, JP or KR.")
    language: str = setting("EN", "MeloTTS language.",
                            choices=("EN", "ES", "FR", "ZH", "JP", "KR"))
    speed: float = setting(1.0, "Speaking speed, 1.0 is normal.", lo=0.1, hi=10.0)
    chunk_chars: int = setting(
        220, "Longest piece of text sent in one call; the first piece plays while the next "
        "is made.", lo=40, hi=1000)
    local_voice: str = setting(
        "en-us", "espeak-ng voice of the on-device voice, which speaks failures and "
        "takes over when the remote voice fails (see `espeak-ng --voices`).")


@dataclass(frozen=True)
class SmileSettings(SpaceSettings):
    """The image-to-image model."""

    space: str = setting("diffusers/unofficial-SDXL-Turbo-i2i-t2i",
                         "Hugging Face Space id (owner/name) or the URL of a Gradio server.")
    api_name: str = setting("/predict", "Endpoint name, with the leading slash.")
    timeout: float = setting(90.0, "Deadline for one picture, in seconds.", lo=1, hi=900)
    prompt: str = setting("Make them smile", "What to change in the picture.")
    strength: float = setting(0.7, "How far the result may move from the photo.",
                              lo=0.1, hi=1.0)
    steps: int = setting(2, "Diffusion steps; steps x strength must be at least 1.",
                         lo=1, hi=10)
    seed: int = setting(0, "Random seed, for repeatable results.", lo=0, hi=2**32 - 1)
    keep_results: int = setting(
        20, "How many recent results to keep in the state directory's results/ folder.",
        lo=0, hi=1000)


@dataclass(frozen=True)
class CameraSettings:
    """Where frames come from."""

    source: str = setting("picamera2", "picamera2 (the Camera Module) or file (an image or "
                          "a folder of images, taken in turn).", choices=("picamera2", "file"))
    path: str = setting("", "The image file or folder, for source = file.")
    index: int = setting(0, "Which camera, for picamera2 (0 = the first).", lo=0, hi=7)
    timeout: float = setting(5.0, "Deadline for one capture, in seconds.", lo=0.5, hi=60)
    max_side: int = setting(1024, "Longest side of the frame sent to a model, in pixels.",
                            lo=256, hi=4096)
    jpeg_quality: int = setting(85, "JPEG quality of the uploaded frame.", lo=50, hi=95)


@dataclass(frozen=True)
class AudioSettings:
    """The speaker."""

    player: str = setting(
        "auto", "auto (aplay, or simpleaudio where safe), simpleaudio, aplay, or file "
        "(WAV files into a folder).", choices=("auto", "simpleaudio", "aplay", "file"))
    device: str = setting(
        "default", "ALSA device for aplay, e.g. plughw:CARD=Headphones,DEV=0. A system "
        "service cannot reach PipeWire's 'default': name the card.")
    path: str = setting("", "Folder for WAV files, for player = file.")
    volume: int = setting(80, "Starting volume in percent (later changes are remembered; "
                          "never below 10, so the device is never mute).", lo=10, hi=100)
    max_volume: int = setting(100, "The buttons and commands never go above this, in percent.",
                              lo=10, hi=100)
    volume_step: int = setting(10, "How much volume up/down changes it, in percent.",
                               lo=1, hi=50)


@dataclass(frozen=True)
class DisplaySettings:
    """The small screen."""

    kind: str = setting("none", "none, framebuffer (/dev/fbN), luma (SPI panel through "
                        "luma.lcd / luma.oled) or file (PNG files into a folder).",
                        choices=("none", "framebuffer", "luma", "file"))
    path: str = setting("", "/dev/fbN for framebuffer; a folder for file.")
    width: int = setting(320, "Panel width in pixels, for luma and file.", lo=8, hi=4096)
    height: int = setting(240, "Panel height in pixels, for luma and file.", lo=8, hi=4096)
    rotation: int = setting(0, "Turn the picture by this many degrees clockwise.",
                            choices=(0, 90, 180, 270))
    driver: str = setting("st7789", "luma driver: st7789, ili9341, st7735, ssd1306, sh1106, "
                          "ssd1351.", choices=("st7789", "ili9341", "st7735", "ssd1306",
                                               "sh1106", "ssd1351"))
    spi_port: int = setting(0, "luma SPI port.", lo=0, hi=6)
    spi_device: int = setting(0, "luma SPI chip select.", lo=0, hi=2)
    gpio_dc: int = setting(24, "luma data/command pin (BCM).", lo=0, hi=27)
    gpio_rst: int = setting(25, "luma reset pin (BCM).", lo=0, hi=27)
    show_caption: bool = setting(True, "After describe, show the caption in large type.")


@dataclass(frozen=True)
class ButtonSettings:
    """One push button and what each gesture does."""

    pin: int = setting(17, "BCM pin; wire the button between it and ground.", lo=0, hi=27)
    short: str = setting("describe", "Action for a short press.", choices=ACTIONS)
    long: str = setting("repeat", "Action for a long press.", choices=ACTIONS)
    double: str = setting("none", "Action for a double press.", choices=ACTIONS)


@dataclass(frozen=True)
class Button2Settings(ButtonSettings):
    """The second push button."""

    pin: int = setting(27, "BCM pin; wire the button between it and ground.", lo=0, hi=27)
    short: str = setting("smile", "Action for a short press.", choices=ACTIONS)
    long: str = setting("status", "Action for a long press.", choices=ACTIONS)
    double: str = setting("none", "Action for a double press.", choices=ACTIONS)


@dataclass(frozen=True)
class ButtonsSettings:
    """Timing shared by both buttons."""

    bounce_time: float = setting(0.02, "Debounce time in seconds (0 = off).", lo=0, hi=0.5)
    hold_time: float = setting(1.0, "Held this long (seconds) counts as a long press.",
                               lo=0.3, hi=10)
    double_time: float = setting(0.3, "A second press within this many seconds is a double "
                                 "press.", lo=0.1, hi=1.0)


@dataclass(frozen=True)
class FeedbackSettings:
    """Sounds and lights that tell the person what the device is doing."""

    working_interval: float = setting(2.0, "Seconds between 'working' ticks.", lo=0.5, hi=10)
    status_led_pin: int = setting(0, "BCM pin of the status LED (0 = no LED).", lo=0, hi=27)
    privacy_led_pin: int = setting(0, "BCM pin of the LED lit while the camera captures "
                                   "(0 = no LED).", lo=0, hi=27)


@dataclass(frozen=True)
class HubSettings:
    """Hugging Face account settings."""

    token_file: str = setting(
        "", "File holding a Hugging Face token (raises the free GPU quota). Empty: "
        "$CREDENTIALS_DIRECTORY/hf_token when systemd provides it. Sent only to "
        "Hugging Face hosts.")


@dataclass(frozen=True)
class LogSettings:
    """Logging."""

    level: str = setting("info", "debug, info, warning or error.",
                         choices=("debug", "info", "warning", "error"))


@dataclass(frozen=True)
class Settings:
    """The whole configuration, built once at start."""

    caption: CaptionSettings = field(default_factory=CaptionSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    smile: SmileSettings = field(default_factory=SmileSettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    audio: AudioSettings = field(default_factory=AudioSettings)
    display: DisplaySettings = field(default_factory=DisplaySettings)
    button1: ButtonSettings = field(default_factory=ButtonSettings)
    button2: Button2Settings = field(default_factory=Button2Settings)
    buttons: ButtonsSettings = field(default_factory=ButtonsSettings)
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    hub: HubSettings = field(default_factory=HubSettings)
    log: LogSettings = field(default_factory=LogSettings)
    #: The file these settings came from (None: built-in defaults only).
    source: Path | None = field(default=None, compare=False)

    def as_dict(self, redact: bool = True) -> dict[str, dict[str, Any]]:
        """The effective settings as plain data, secrets replaced by a marker."""
        out: dict[str, dict[str, Any]] = {}
        for name, section in sections(self):
            values = {}
            for f in dataclasses.fields(section):
                value = getattr(section, f.name)
                if redact and f.metadata.get("secret") and value:
                    value = "<redacted>"
                values[f.name] = value
            out[name] = values
        return out


def sections(settings: Settings) -> list[tuple[str, Any]]:
    """(name, section) pairs in file order."""
    return [(f.name, getattr(settings, f.name)) for f in dataclasses.fields(settings)
            if f.name != "source"]


def default_config_path() -> Path:
    """Where the config is read from when neither --config nor LOOKSAY_CONFIG says."""
    return paths.config_dir() / "looksay.toml"


def load(path: str | os.PathLike[str] | None = None, overrides: list[str] | None = None,
         ) -> Settings:
    """Read, check and freeze the settings.

    ``path`` None means LOOKSAY_CONFIG, then the default file; a missing default file gives
    the built-in defaults, a missing file the user named is an error. ``overrides`` are
    ``section.key=value`` strings from ``--set``.
    """
    explicit = path is not None or bool(os.environ.get("LOOKSAY_CONFIG"))
    chosen = Path(path if path is not None else
                  os.environ.get("LOOKSAY_CONFIG") or default_config_path())
    raw: dict[str, Any] = {}
    source: Path | None = None
    try:
        # utf-8-sig: some editors on other systems start the file with a byte-order mark.
        raw = tomllib.loads(chosen.read_bytes().decode("utf-8-sig"))
        source = chosen
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{chosen}: no such file. Check the path given with --config "
                              "or LOOKSAY_CONFIG.") from None
    except PermissionError:
        raise ConfigError(f"{chosen}: not allowed to read it. Make it readable by this user "
                          "(the service runs as 'looksay').") from None
    except IsADirectoryError:
        raise ConfigError(f"{chosen}: is a folder, not a TOML file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}. Fix the line it names.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{chosen}: not a text file. It must be UTF-8 TOML.") from None

    where = str(chosen) if source else "built-in defaults"
    if overrides:
        where += " with --set"
    for item in overrides or []:
        _apply_override(raw, item)
    return _build(raw, where, source)


def _apply_override(raw: dict[str, Any], item: str) -> None:
    key, sep, text = item.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not section or not name:
        raise ConfigError(f"--set {item!r}: expected section.key=value, for example "
                          "--set audio.volume=60")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()  # a bare word is taken as a string: --set camera.source=file
    target = raw.setdefault(section, {})
    if not isinstance(target, dict):
        raise ConfigError(f"--set {item!r}: [{section}] is not a section.")
    target[name] = value


def _build(raw: dict[str, Any], where: str, source: Path | None) -> Settings:
    defaults = Settings()
    known = dict(sections(defaults))
    built: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(value, dict) and name not in known:
            owner = next((s for s, sec in known.items() if name in
                          sec.__dataclass_fields__), None)
            hint = f"put it under [{owner}]" if owner else "keys belong under a [section]"
            raise ConfigError(f"{where}: '{name}' is outside any section: {hint}.")
        if name not in known:
            raise ConfigError(f"{where}: unknown section [{name}]{_did_you_mean(name, known)}. "
                              f"Sections are: {', '.join(known)}.")
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: '{name}' must be a section, written [{name}].")
        built[name] = _build_section(name, known[name], value, where)
    settings = dataclasses.replace(defaults, source=source, **built)
    _check_across(settings, where)
    return settings


def _build_section(name: str, default: Any, values: dict[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(default)}
    changes = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"{where}: unknown key {name}.{key}"
                              f"{_did_you_mean(key, fields)}. Keys in [{name}] are: "
                              f"{', '.join(fields)}.")
        changes[key] = _check_value(f"{name}.{key}", fields[key], value, where)
    return dataclasses.replace(default, **changes)


def _check_value(key: str, f: dataclasses.Field[Any], value: Any, where: str) -> Any:
    default = f.default
    meta = f.metadata
    kind = type(default)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: {key} = {value!r} must be a finite number"
                          f"{_allowed(meta)}.")
    if type(value) is not kind:
        raise ConfigError(f"{where}: {key} = {value!r} must be {_kind_name(kind)}"
                          f"{_allowed(meta)}.")
    choices = meta.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where}: {key} = {value!r} is not allowed{_allowed(meta)}.")
    lo, hi = meta.get("lo"), meta.get("hi")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{where}: {key} = {value!r} is out of range{_allowed(meta)}.")
    return value


def _check_across(s: Settings, where: str) -> None:
    if s.smile.steps * s.smile.strength < 1:
        raise ConfigError(f"{where}: smile.steps x smile.strength = "
                          f"{s.smile.steps} x {s.smile.strength} is below 1; SDXL-Turbo then "
                          "does nothing. Raise smile.steps or smile.strength.")
    if s.camera.source == "file" and not s.camera.path:
        raise ConfigError(f"{where}: camera.source = 'file' needs camera.path (an image or a "
                          "folder of images).")
    if s.audio.player == "file" and not s.audio.path:
        raise ConfigError(f"{where}: audio.player = 'file' needs audio.path (a folder).")
    if s.display.kind in ("framebuffer", "file") and not s.display.path:
        example = "/dev/fb1" if s.display.kind == "framebuffer" else "a folder"
        raise ConfigError(f"{where}: display.kind = '{s.display.kind}' needs display.path "
                          f"({example}).")
    for name in ("caption", "speech", "smile"):
        section = getattr(s, name)
        if not section.space.strip():
            raise ConfigError(f"{where}: {name}.space is empty: give a Space id such as "
                              f"'{getattr(Settings(), name).space}' or a server URL.")
        if not _SPACE_SRC.match(section.space.strip()):
            raise ConfigError(f"{where}: {name}.space = {section.space!r} is neither a Space id "
                              f"(owner/name, such as '{getattr(Settings(), name).space}') "
                              "nor a server URL (http://host:port/ or https://...).")
        if not section.api_name.startswith("/"):
            raise ConfigError(f"{where}: {name}.api_name = {section.api_name!r} must start "
                              f"with '/', for example '{getattr(Settings(), name).api_name}'.")
    if s.audio.volume > s.audio.max_volume:
        raise ConfigError(f"{where}: audio.volume = {s.audio.volume} is above "
                          f"audio.max_volume = {s.audio.max_volume}.")
    pins = [("button1.pin", s.button1.pin), ("button2.pin", s.button2.pin)]
    pins += [(k, v) for k, v in (("feedback.status_led_pin", s.feedback.status_led_pin),
                                 ("feedback.privacy_led_pin", s.feedback.privacy_led_pin))
             if v]
    seen: dict[int, str] = {}
    for key, pin in pins:
        if pin in seen:
            raise ConfigError(f"{where}: {key} and {seen[pin]} both use BCM pin {pin}; "
                              "give each its own pin.")
        seen[pin] = key


def _kind_name(kind: type) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number",
            str: "a quoted string"}.get(kind, kind.__name__)


def _allowed(meta: Any) -> str:
    if meta.get("choices"):
        return " (allowed: " + ", ".join(repr(c) for c in meta["choices"]) + ")"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f" (allowed: {_number(lo)} to {_number(hi)})"
    return ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _did_you_mean(word: str, options: Any) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def example_toml() -> str:
    """A complete settings file at the defaults, every key with its meaning and range."""
    lines = ["# looksay settings. Every key is shown at its default; change what you need,",
             "# then run `looksay config check` and `sudo systemctl restart looksay`.",
             "# A key left out keeps its default."]
    for name, section in sections(Settings()):
        lines += ["", f"# {type(section).__doc__.strip()}", f"[{name}]"]
        for f in dataclasses.fields(section):
            meta = f.metadata
            lines.append(f"# {meta['doc']}{_allowed(meta)}")
            value = getattr(section, f.name)
            if isinstance(value, bool):
                shown = "true" if value else "false"
            elif isinstance(value, str):
                shown = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            else:
                shown = repr(value)
            lines.append(f"{f.name} = {shown}")
    return "\n".join(lines) + "\n"
