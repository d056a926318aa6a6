"""A pretend screen that writes what it would show as PNG files: for laptops and tests.

Each picture becomes ``frame-000001.png``, ``frame-000002.png``... (numbering goes on after
the files already there), and ``latest.png`` always holds the newest one. Both are written
under a temporary name and renamed, so a program watching the folder never reads half a file.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

from PIL import Image

from looksay.display.base import DisplayError
from looksay.display.fit import fit, view_size

_NUMBERED = re.compile(r"^frame-(\d+)\.png$")


class FileDisplay:
    """PNG files in ``folder``, each exactly ``size`` (the panel's pixels, turned as a panel
    mounted at ``rotation`` would be)."""

    def __init__(self, folder: str | os.PathLike[str], size: tuple[int, int] = (320, 240), *,
                 rotation: int = 0) -> None:
        self.folder = Path(folder)
        self.panel_size = (int(size[0]), int(size[1]))
        self.rotation = rotation
        view_size(self.panel_size, rotation)  # checks the rotation now
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            existing = [int(m.group(1)) for p in self.folder.iterdir()
                        if (m := _NUMBERED.match(p.name))]
        except OSError as exc:
            raise DisplayError(f"display.path {self.folder}: cannot use it as a folder for "
                               f"pictures ({exc}).") from exc
        self._count = max(existing, default=0)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileDisplay({str(self.folder)!r})"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture as seen, after the rotation."""
        return view_size(self.panel_size, self.rotation)

    @property
    def latest(self) -> Path:
        """The file that always holds the newest picture."""
        return self.folder / "latest.png"

    def show(self, image: Image.Image) -> Path:
        """Write the fitted picture as the next numbered PNG and as latest.png; its path."""
        frame = fit(image, self.panel_size, self.rotation)
        with self._lock:
            self._count += 1
            numbered = self.folder / f"frame-{self._count:06d}.png"
            try:
                _write_atomically(frame, numbered)
                _write_atomically(frame, self.latest)
            except OSError as exc:
                raise DisplayError(f"display.path {self.folder}: writing failed: {exc}") from exc
        return numbered

    def close(self) -> None:
        """Nothing to release."""


def _write_atomically(image: Image.Image, target: Path) -> None:
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        image.save(temp, format="PNG")
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
