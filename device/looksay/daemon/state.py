"""Runtime state that outlives the process: the volume and the last caption.

The file is small JSON in the state directory, replaced atomically (temp file, fsync,
rename, fsync of the folder), so a power cut mid-write leaves either the old or the new
file, never half of one. A file that cannot be read anyway (corrupted card, hand edits)
never stops the daemon: it starts from the defaults and says so in the log.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILENAME = "state.json"


@dataclass
class State:
    """What the daemon remembers across restarts."""

    #: Volume in percent, None until the person first changes it.
    volume: int | None = None
    #: The audio.volume of the config when ``volume`` was saved: an owner who edits the
    #: config later means the new value, so a changed config wins over the memory.
    config_volume: int | None = None
    last_caption: str = ""
    #: Wall-clock time of the last caption (ISO 8601), for `looksay status`.
    last_caption_at: str = ""


class StateFile:
    """Loads and saves :class:`State` in ``folder``; thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILENAME
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: State | None = None
        self._busy = False
        self._writer: threading.Thread | None = None

    def load(self) -> State:
        """The saved state, or the defaults when there is none or it cannot be used."""
        _remove_leftovers(self.path)
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return State()
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.warning("state file %s unreadable (%s); starting from the defaults",
                        self.path, exc)
            return State()
        if not isinstance(raw, dict):
            log.warning("state file %s holds %s, not an object; starting from the defaults",
                        self.path, type(raw).__name__)
            return State()
        state = State()
        for name, kind in (("volume", int), ("config_volume", int), ("last_caption", str),
                           ("last_caption_at", str)):
            value = raw.get(name)
            if value is None:
                continue
            if type(value) is not kind or (kind is int and not 0 <= value <= 100):
                log.warning("state file %s: ignoring %s = %r", self.path, name, value)
                continue
            setattr(state, name, value)
        return state

    def save(self, state: State) -> None:
        """Replace the file with ``state`` atomically; errors are logged, not raised."""
        data = json.dumps(asdict(state), ensure_ascii=False, indent=1).encode("utf-8")
        with self._lock:
            try:
                _write_atomically(self.path, data)
            except OSError as exc:
                # A full or read-only card must not take the device down with it.
                log.error("could not save the state to %s: %s", self.path, exc)


    def save_later(self, state: State) -> None:
        """Save a copy of ``state`` from a background thread, so a button never waits for
        an SD card's fsync; later calls replace a save that has not happened yet."""
        with self._cond:
            self._pending = dataclasses.replace(state)
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_pending, name="state",
                                                daemon=True)
                self._writer.start()
            self._cond.notify_all()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until saves asked for with :meth:`save_later` are on disk."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _write_pending(self) -> None:
        while True:
            with self._cond:
                if self._pending is None:
                    self._writer = None
                    return
                state, self._pending, self._busy = self._pending, None, True
            try:
                self.save(state)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself lives in the folder: sync it so it survives a power cut too.
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _remove_leftovers(path: Path) -> None:
    # Temp files a power cut left behind mid-write: never renamed, so never the state.
    if not path.parent.is_dir():
        return
    for leftover in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
