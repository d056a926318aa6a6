"""The device's parts, built from the settings and owned by one ExitStack.

The command line and the daemon both build a :class:`Parts` and hand it to the pipelines.
The factories (``make_camera``, ``make_player``, ``make_display``) are the seams where a
test or a laptop swaps in the file backends.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from looksay import paths
from looksay.audio.players import Player, make_player
from looksay.audio.voice import LocalVoice
from looksay.audio.wav import Sound
from looksay.camera import Camera, make_camera
from looksay.config import CameraSettings, Settings
from looksay.display import Display, make_display
from looksay.errors import Failure, Kind
from looksay.remote.models import RemoteModels
from looksay.remote.token import read_token
from looksay.results import ResultStore

log = logging.getLogger(__name__)


@dataclass
class Parts:
    """Everything a pipeline needs. Build with :func:`open_parts`."""

    settings: Settings
    models: RemoteModels
    player: Player
    voice: LocalVoice
    display: Display
    results: ResultStore
    make_camera: Callable[[CameraSettings], Camera] = make_camera
    _camera: Camera | None = None
    _camera_lock: threading.Lock = field(default_factory=threading.Lock)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def camera(self) -> Camera:
        """The camera, opened on first use and kept open; raises a camera Failure."""
        with self._camera_lock:
            if self._camera is None:
                self._camera = self.make_camera(self.settings.camera)
                self._stack.callback(self._close_camera)
            return self._camera

    def _close_camera(self) -> None:
        with self._camera_lock:
            if self._camera is not None:
                self._camera.close()
                self._camera = None

    def say_locally(self, sentence: str) -> None:
        """Speak ``sentence`` with the on-device voice.

        A voice that cannot speak is logged (the sentence is in the log too); a speaker
        that cannot play raises ``Failure(SPEAKER)``, so no one reports success in silence.
        """
        try:
            sound = self.voice.synthesize(sentence)
        except Exception as exc:  # the words are logged; the speaker check is below
            log.error("local voice failed (%s); could not say: %s", exc, sentence)
            return
        self.play(sound)

    def play(self, sound: Sound) -> None:
        """Play ``sound``; a broken speaker raises ``Failure(SPEAKER)`` naming the cause."""
        try:
            self.player.play(sound)
        except Exception as exc:
            raise Failure(Kind.SPEAKER, f"{exc}. Check audio.device "
                          "(looksay doctor --list-audio).") from exc

    def close(self) -> None:
        """Release every part, last opened first."""
        self._stack.close()


@contextlib.contextmanager
def open_parts(settings: Settings, *,
               camera: Callable[[CameraSettings], Camera] = make_camera) -> Iterator[Parts]:
    """Build the parts for ``settings`` and close them all on exit."""
    stack = contextlib.ExitStack()
    with stack:
        cache = paths.ensure(paths.cache_dir())
        models = RemoteModels(settings, cache, read_token(settings))
        stack.callback(models.close)
        player = make_player(settings.audio)
        stack.callback(player.close)
        display = make_display(settings.display)
        stack.callback(display.close)
        parts = Parts(
            settings=settings,
            models=models,
            player=player,
            voice=LocalVoice(settings.speech.local_voice or "en-us"),
            display=display,
            results=ResultStore(paths.state_dir() / "results", settings.smile.keep_results),
            make_camera=camera,
            _stack=stack,
        )
        yield parts

