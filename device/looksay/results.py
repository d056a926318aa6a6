"""Recent results kept on disk, so the owner can fetch them over SSH.

Files go to ``<state>/results/`` named by time and kind; only the newest ``keep`` are
kept. Writes are atomic (temp file, then rename) so a power cut never leaves half a file
under a real name.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PIL import Image


class ResultStore:
    """A bounded folder of recent results."""

    def __init__(self, folder: Path, keep: int) -> None:
        self.folder = folder
        self.keep = keep

    def save_image(self, image: Image.Image, kind: str) -> Path | None:
        """Save ``image`` as PNG; returns its path (None when keeping nothing)."""
        if self.keep <= 0:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{kind}.png"
        n = 1
        while path.exists():
            n += 1
            path = self.folder / f"{stamp}-{kind}-{n}.png"
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            image.save(tmp, format="PNG")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self._prune()
        return path

    def _prune(self) -> None:
        files = sorted((p for p in self.folder.iterdir() if p.is_file()
                        and not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
        for old in files[:-self.keep]:
            old.unlink(missing_ok=True)
