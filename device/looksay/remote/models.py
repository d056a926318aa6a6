"""The three remote models the device uses, with their answers checked.

A Space can answer "successfully" with something useless: the caption Space returns its
error messages as the caption ("Please upload a photo"), the image Space sends a black
picture when its safety filter trips, and any of them may send an empty or broken file.
Each of those becomes a :class:`~looksay.errors.Failure` here, so the pipelines only ever
see a usable caption, a playable sound or a real picture.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from looksay.audio.wav import Sound
from looksay.config import Settings
from looksay.errors import Failure, Kind
from looksay.remote.spaces import RemoteFile, Space, clean_cache

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

#: Keyword parameters each endpoint must accept (checked against the Space's API).
PARAMS = {
    "caption": ("image",),
    "speech": ("speaker", "text", "speed", "language"),
    "smile": ("init_image", "prompt", "strength", "steps", "seed"),
}

#: How the caption Space's error messages begin (it returns them as the caption).
ERROR_CAPTIONS = (
    "please upload a photo",
    "please upload an image",
    "an error occurred",
    "error occurred",
    "failed to encode",
    "failed to generate",
    "error:",
    "error -",
    "exception:",
    "traceback",
    "blocked due to",
    "blocked:",
    "the response was blocked",
    "content blocked",
    "you have exceeded",
    "sorry, i can't",
    "sorry, i cannot",
)
#: A real description is a few sentences; fewer words than this is not one.
MIN_CAPTION_WORDS = 3
#: Brightest channel value that still counts as black (lossy formats add a little noise).
BLACK_LEVEL = 8


class RemoteModels:
    """The caption, speech and smile Spaces, one reused client each.

    ``cache_dir`` holds transfers while they happen (emptied after each use and at start);
    ``token`` is the optional Hugging Face token, sent only to Hugging Face hosts.
    """

    def __init__(self, settings: Settings, cache_dir: Path, token: str | None) -> None:
        self._settings = settings
        clean_cache(cache_dir)
        self.spaces: dict[str, Space] = {
            name: Space(name, section.space, section.api_name, PARAMS[name],
                        cache_dir=cache_dir, token=token)
            for name, section in (("caption", settings.caption), ("speech", settings.speech),
                                  ("smile", settings.smile))
        }

    def __repr__(self) -> str:
        return "RemoteModels(" + ", ".join(repr(s) for s in self.spaces.values()) + ")"

    def caption(self, jpeg: bytes, cancel: threading.Event | None = None) -> str:
        """Describe the JPEG photo; the raw caption text, checked for error messages."""
        s = self._settings.caption
        result = self.spaces["caption"].call(s.timeout, cancel, files={"image": (jpeg, ".jpg")})
        return check_caption(result, f"{s.space} {s.api_name}")

    def synthesize(self, text: str, cancel: threading.Event | None = None) -> Sound:
        """Speak ``text`` with the remote voice; the WAV it sends, decoded."""
        if not text.strip():
            raise ValueError("nothing to say: the text is empty")
        s = self._settings.speech
        result = self.spaces["speech"].call(s.timeout, cancel, speaker=s.speaker, text=text,
                                            speed=float(s.speed), language=s.language)
        return check_sound(result, f"{s.space} {s.api_name}")

    def smile(self, jpeg: bytes, cancel: threading.Event | None = None) -> Image.Image:
        """The JPEG photo changed by the image model (RGB); a black answer is BLANKED."""
        s = self._settings.smile
        # steps and seed must be ints: old Gradio passes slider values through unchanged
        # and the model uses them as counts and a seed.
        result = self.spaces["smile"].call(
            s.timeout, cancel, files={"init_image": (jpeg, ".jpg")}, prompt=s.prompt,
            strength=float(s.strength), steps=int(s.steps), seed=int(s.seed))
        return check_image(result, f"{s.space} {s.api_name}")

    def probe(self, service: str, timeout: float) -> str:
        """A few words on whether ``service`` answers ("answers", "not reachable: ...",
        "changed: ...", "busy: ..."); never raises."""
        space = self.spaces.get(service)
        if space is None:
            return f"unknown service {service!r}"
        return space.probe(timeout)

    def close(self) -> None:
        """Close every client."""
        for space in self.spaces.values():
            space.close()


def check_caption(result: Any, where: str = "caption") -> str:
    """``result`` if it is a real description; otherwise Failure NONSENSE."""
    if not isinstance(result, str):
        raise Failure(Kind.NONSENSE, f"{where}: expected text, got {type(result).__name__}",
                      service="caption")
    text = result.strip()
    words = re.findall(r"\w+", text)
    if len(words) < MIN_CAPTION_WORDS:
        raise Failure(Kind.NONSENSE, f"{where}: caption too short: {text[:80]!r}",
                      service="caption")
    # Markdown emphasis or quotes around the message do not make it a description.
    head = text.lstrip(" \t\r\n*_#>\"'`").lower()
    if head.startswith(ERROR_CAPTIONS):
        raise Failure(Kind.NONSENSE, f"{where}: sent an error message as the caption: "
                      f"{text[:120]!r}", service="caption")
    return text


def check_sound(result: Any, where: str = "speech") -> Sound:
    """The decoded WAV in ``result``; otherwise Failure NONSENSE (empty, not WAV, silent)."""
    if not isinstance(result, RemoteFile):
        raise Failure(Kind.NONSENSE, f"{where}: expected an audio file, got "
                      f"{type(result).__name__}", service="speech")
    if not result.data:
        raise Failure(Kind.NONSENSE, f"{where}: sent an empty audio file", service="speech")
    try:
        sound = Sound.from_wav(result.data)
    except ValueError as exc:
        raise Failure(Kind.NONSENSE, f"{where}: {exc}", service="speech") from exc
    if sound.frame_count == 0:
        raise Failure(Kind.NONSENSE, f"{where}: sent a WAV without samples", service="speech")
    return sound


def check_image(result: Any, where: str = "smile") -> Image.Image:
    """The picture in ``result`` as RGB; Failure NONSENSE if unreadable, BLANKED if black."""
    from PIL import Image, UnidentifiedImageError  # keep imports light

    if not isinstance(result, RemoteFile):
        raise Failure(Kind.NONSENSE, f"{where}: expected an image file, got "
                      f"{type(result).__name__}", service="smile")
    try:
        with Image.open(io.BytesIO(result.data)) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise Failure(Kind.NONSENSE, f"{where}: the answer is not a readable picture "
                      f"({len(result.data)} bytes: {exc})", service="smile") from exc
    if max(high for _low, high in image.getextrema()) <= BLACK_LEVEL:
        raise Failure(Kind.BLANKED, f"{where}: sent back an all-black {image.width}x"
                      f"{image.height} picture (its safety filter?)", service="smile")
    return image
