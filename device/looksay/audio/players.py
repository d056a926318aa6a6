"""Playing sounds on the speaker.

Every backend follows :class:`Player`: ``play()`` blocks until the sound has been played or
``stop()`` is called from another thread; ``volume`` (0-100) is applied to each sound as it
is played. Backends:

- :class:`AplayPlayer` — an ``aplay`` subprocess on a named ALSA device. The default: it
  runs on every Python version, a crash cannot take the daemon down, and the device can be
  named (a system service cannot reach PipeWire's "default", see the notes on the Pi).
- :class:`SimpleaudioPlayer` — in-process, always on ALSA's "default"; only on Python < 3.12,
  because simpleaudio (archived) crashes on 3.12 and later (py-simple-audio#72, #74).
- :class:`FilePlayer` — numbered WAV files in a folder, for trying things out and for tests.
- :class:`LogPlayer` — only logs; "auto" falls back on it when nothing can make a sound.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from looksay.audio import AudioError
from looksay.audio.wav import Sound

if TYPE_CHECKING:
    from looksay.config import AudioSettings

log = logging.getLogger(__name__)

#: How long a terminated aplay may take to close the device before it is killed.
_TERM_GRACE = 0.2
#: Extra time allowed, beyond the sound's own length, before playback counts as stalled.
_STALL_SLACK = 5.0
#: After stop(), how long simpleaudio's play() waits for ALSA to let go of the device.
_DRAIN_WAIT = 0.3

_DEVICE_HINT = ("Set audio.device to a device that `aplay -L` lists, "
                "e.g. plughw:CARD=Headphones,DEV=0")


@runtime_checkable
class Player(Protocol):
    """Something that plays a :class:`Sound` on the speaker (or stands in for it)."""

    volume: int

    def play(self, sound: Sound) -> None:
        """Play ``sound`` at ``volume``; return when it has played or stop() was called."""
        ...

    def stop(self) -> None:
        """Cut short the sound being played, if any; safe to call from any thread."""
        ...

    def close(self) -> None:
        """Stop and release the player; it cannot play afterwards."""
        ...


def volume_gain(volume: int) -> float:
    """Amplitude in percent (for :meth:`Sound.scaled`) for a volume setting in percent.

    The ear hears loudness roughly logarithmically, so the setting is squared: each step of
    a volume button then sounds like a similar change at the top and at the bottom of the
    range (100 -> 90 is about -1.8 dB, 20 -> 10 about -6 dB), and 50% is clearly quieter.
    """
    v = min(100, max(0, volume))
    return v * v / 100.0


class _BasePlayer:
    """The volume attribute, closing and sound preparation shared by the backends."""

    def __init__(self, volume: int = 100) -> None:
        self._volume = 100
        self.volume = volume
        self._closed = False

    @property
    def volume(self) -> int:
        """Volume in percent, 0 to 100 (values outside are clamped)."""
        return self._volume

    @volume.setter
    def volume(self, value: int) -> None:
        self._volume = min(100, max(0, int(value)))

    def _prepared(self, sound: Sound) -> Sound:
        """``sound`` as 16-bit mono/stereo at the current volume."""
        if sound.width != 2 or sound.channels > 2:
            sound = sound.converted()
        return sound.scaled(volume_gain(self._volume))

    def _check_open(self) -> None:
        if self._closed:
            raise AudioError(f"{type(self).__name__} is closed")

    def stop(self) -> None:
        """Nothing to stop in the base class."""

    def close(self) -> None:
        """Stop playing and refuse to play again."""
        self.stop()
        self._closed = True

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AplayPlayer(_BasePlayer):
    """Plays through ``aplay -D DEVICE``, one process per sound, fed a WAV on stdin."""

    def __init__(self, device: str = "default", volume: int = 100) -> None:
        """Find aplay; raises AudioError if it is not installed."""
        super().__init__(volume)
        exe = shutil.which("aplay")
        if exe is None:
            raise AudioError(
                "aplay is not installed: install alsa-utils (sudo apt install alsa-utils), "
                "or choose another audio.player")
        self.aplay = exe
        self.device = device
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = False

    def __repr__(self) -> str:
        return f"AplayPlayer(device={self.device!r}, volume={self.volume})"

    def play(self, sound: Sound) -> None:
        """Play ``sound``; raises AudioError (with aplay's words) if the device fails."""
        prepared = self._prepared(sound)
        if not prepared.frame_count:
            return
        wav = prepared.to_wav()
        cmd = [self.aplay, "-q", "-D", self.device, "-t", "wav", "-"]
        with self._lock:
            self._check_open()
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            self._proc = proc
            self._stopping = False
        # Feed and read in helper threads rather than communicate(): a process that an ALSA
        # plugin starts inherits aplay's pipes and may keep them open after aplay is gone.
        said: list[bytes] = []
        feeder = threading.Thread(target=_feed, args=(proc.stdin, wav), daemon=True,
                                  name="aplay-stdin")
        reader = threading.Thread(target=_slurp, args=(proc.stderr, said), daemon=True,
                                  name="aplay-stderr")
        feeder.start()
        reader.start()
        try:
            proc.wait(prepared.duration * 1.5 + _STALL_SLACK)
        except subprocess.TimeoutExpired:
            _end(proc)
            raise AudioError(
                f"aplay on ALSA device {self.device!r} did not finish a "
                f"{prepared.duration:.1f} s sound in time: the device seems stuck") from None
        finally:
            with self._lock:
                self._proc = None
                stopped = self._stopping
            failed = bool(proc.returncode) and not stopped
            feeder.join(0.1)
            reader.join(1.0 if failed else 0.1)
        if failed:
            raise AudioError(self._failure_text(proc.returncode, b"".join(said)))

    def _failure_text(self, status: int, err: bytes) -> str:
        lines = [ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        # ALSA's own "ALSA lib ..." lines come first; aplay's summary line says it best.
        said = "; ".join(lines[-3:]) or f"exit status {status}, no message"
        known = list_alsa_devices()
        listed = f" This machine lists: {', '.join(known[:12])}." if known else ""
        return (f"aplay could not play on ALSA device {self.device!r}: {said}. "
                f"{_DEVICE_HINT}.{listed}")

    def stop(self) -> None:
        """End the aplay process playing now (SIGTERM, then SIGKILL after a moment)."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            self._stopping = True
        _end(proc)


class SimpleaudioPlayer(_BasePlayer):
    """Plays in-process with simpleaudio on ALSA's "default" device (Python < 3.12 only)."""

    def __init__(self, volume: int = 100) -> None:
        """Import simpleaudio; raises AudioError where it is unsafe or not installed."""
        super().__init__(volume)
        if not simpleaudio_is_safe():
            raise AudioError(
                "simpleaudio crashes on Python 3.12 and later (py-simple-audio#72, #74); "
                "set audio.player = aplay")
        try:
            self._sa = importlib.import_module("simpleaudio")
        except ImportError as exc:
            raise AudioError(
                "simpleaudio is not installed (it needs libasound2-dev to build); "
                "set audio.player = aplay") from exc
        self._lock = threading.Lock()
        self._playing: Any = None
        self._stopped: dict[int, float] = {}

    def play(self, sound: Sound) -> None:
        """Play ``sound``; raises AudioError if ALSA's default device cannot be opened."""
        prepared = self._prepared(sound)
        if not prepared.frame_count:
            return
        with self._lock:
            self._check_open()
            try:
                handle = self._sa.play_buffer(prepared.frames, prepared.channels,
                                              prepared.width, prepared.rate)
            except Exception as exc:  # simpleaudio's own SimpleaudioError, from C
                raise AudioError(
                    f"simpleaudio could not play on ALSA's default device: {exc}. "
                    "simpleaudio cannot choose a device: set audio.player = aplay and "
                    f"audio.device, or ALSA_CARD in the environment. {_DEVICE_HINT}."
                ) from exc
            self._playing = handle
        deadline = time.monotonic() + prepared.duration * 1.5 + _STALL_SLACK
        try:
            while handle.is_playing():
                now = time.monotonic()
                stopped_at = self._stopped.get(id(handle))
                if stopped_at is not None and now - stopped_at > _DRAIN_WAIT:
                    # simpleaudio drains (not drops) ALSA's buffer after a stop; do not
                    # make the caller wait for a slow device to play that out.
                    break
                if now > deadline:
                    handle.stop()
                    raise AudioError(
                        "simpleaudio did not finish a "
                        f"{prepared.duration:.1f} s sound in time: the device seems stuck")
                time.sleep(0.01)
        finally:
            with self._lock:
                if self._playing is handle:
                    self._playing = None
                self._stopped.pop(id(handle), None)

    def stop(self) -> None:
        """Ask simpleaudio's playback thread to stop; play() returns within moments."""
        with self._lock:
            handle = self._playing
            if handle is None:
                return
            self._stopped[id(handle)] = time.monotonic()
        handle.stop()


class FilePlayer(_BasePlayer):
    """Writes each sound to a new numbered WAV file in ``folder`` and returns at once.

    Names are ``0001-1234ms.wav`` (number, then length); an existing file is never
    overwritten, and numbering continues after the highest number already in the folder.
    """

    _NAME = re.compile(r"^(\d{4,})-.*\.wav$")

    def __init__(self, folder: str | os.PathLike[str], volume: int = 100) -> None:
        """Create ``folder`` if needed."""
        super().__init__(volume)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.written: list[Path] = []
        self._lock = threading.Lock()

    def play(self, sound: Sound) -> None:
        """Write ``sound`` (at the current volume) as the next numbered WAV file."""
        prepared = self._prepared(sound)
        data = prepared.to_wav()
        with self._lock:
            self._check_open()
            taken = {int(m.group(1)) for p in self.folder.iterdir()
                     if (m := self._NAME.match(p.name))}
            number = max(taken, default=0) + 1
            tmp = self.folder / f".{number:04d}-{os.getpid()}.partial"
            tmp.write_bytes(data)
            try:
                while True:
                    target = self.folder / f"{number:04d}-{round(prepared.duration * 1000)}ms.wav"
                    try:
                        # A hard link appears whole and fails rather than overwrite.
                        os.link(tmp, target)
                        break
                    except FileExistsError:
                        number += 1
            finally:
                tmp.unlink()
            self.written.append(target)
        log.debug("wrote %s (%s)", target, prepared)


class LogPlayer(_BasePlayer):
    """Plays nothing and logs what it would have played."""

    def play(self, sound: Sound) -> None:
        """Log the sound and return."""
        self._check_open()
        log.info("no speaker: would play %s at volume %d%%", sound, self.volume)


def _feed(pipe: Any, data: bytes) -> None:
    """Write ``data`` to a child's stdin and close it; a child that quit early is fine."""
    try:
        pipe.write(data)
    except (OSError, ValueError):
        pass  # aplay was stopped (broken pipe) or the pipe was closed under us
    finally:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()


def _slurp(pipe: Any, into: list[bytes]) -> None:
    """Read a child's stderr to the end."""
    try:
        into.append(pipe.read())
    except (OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc``, and kill it if it does not go at once."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(_TERM_GRACE)
    except subprocess.TimeoutExpired:
        # aplay stuck in a blocking write (or a plugin flushing its buffer) can take
        # seconds to honour SIGTERM; the kernel closes the PCM when it is killed.
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2.0)


def simpleaudio_is_safe() -> bool:
    """True on Python versions where simpleaudio does not crash (before 3.12)."""
    return sys.version_info < (3, 12)


def list_alsa_devices() -> list[str]:
    """ALSA playback device names as ``aplay -L`` lists them ([] if aplay is missing)."""
    exe = shutil.which("aplay")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    # Names start at the left margin; their descriptions follow, indented.
    return [line.strip() for line in out.splitlines() if line.strip() and not line[0].isspace()]


def make_player(settings: AudioSettings) -> Player:
    """The player that ``settings.player`` asks for, at the starting volume.

    "auto" means aplay if it is installed, else simpleaudio where that is safe and
    installed, else a :class:`LogPlayer` (with a warning, as the device is then mute).
    Raises AudioError if the chosen backend cannot work here, ConfigError for settings
    that cannot work anywhere.
    """
    from looksay.config import ConfigError

    kind = settings.player
    player: Player
    if kind == "aplay":
        player = AplayPlayer(settings.device)
    elif kind == "simpleaudio":
        player = SimpleaudioPlayer()
    elif kind == "file":
        if not settings.path:
            raise ConfigError("audio.path must name a folder when audio.player = file")
        player = FilePlayer(Path(settings.path).expanduser())
    elif kind == "auto":
        if shutil.which("aplay"):
            player = AplayPlayer(settings.device)
        elif simpleaudio_is_safe() and importlib.util.find_spec("simpleaudio"):
            if settings.device != "default":
                log.warning("aplay is not installed, so audio.device = %r is ignored: "
                            "simpleaudio always plays on ALSA's default device",
                            settings.device)
            player = SimpleaudioPlayer()
        else:
            log.warning("no way to play sound here (install alsa-utils for aplay): "
                        "sounds will only be logged")
            player = LogPlayer()
    else:
        raise ConfigError(f"audio.player = {kind!r}: choose auto, aplay, simpleaudio or file")
    player.volume = min(settings.volume, settings.max_volume)
    return player
