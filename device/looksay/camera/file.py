"""A camera that reads pictures from disk: for laptops, demonstrations and tests.

``path`` is one image (every capture returns it) or a folder of images, taken in turn in
name order and starting again after the last. The folder is read again at each capture, so
pictures can be added while the device runs.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PIL import Image

from looksay.camera.base import CaptureHook, notify
from looksay.camera.frames import shrink, upright
from looksay.errors import Failure, Kind

#: Picture files the folder camera takes; anything else in the folder is ignored.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

#: Frames are never larger than the Camera Module's frames (about 2028x1520), so a folder of
#: 12 MP photos costs no more memory or time than the real camera does.
FRAME_MAX_SIDE = 2028


class FileCamera:
    """Frames from an image file, or from a folder of images taken in turn (sorted, cycling).

    A missing path gives a :class:`Failure` CAMERA_MISSING naming it; a file that is not a
    readable picture gives CAMERA_FAILED naming the file. ``on_capture`` is called with True
    before and False after each capture, as for the real camera.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_side: int | None = FRAME_MAX_SIDE,
                 on_capture: CaptureHook | None = None) -> None:
        self.path = Path(path)
        self.max_side = max_side
        self.on_capture = on_capture
        self._next = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileCamera({str(self.path)!r})"

    def open(self) -> None:
        """Check now that there is a picture to take (raises :class:`Failure`)."""
        self._pick(advance=False)

    def capture(self) -> Image.Image:
        """The next picture, as an upright RGB image."""
        with self._lock:
            notify(self.on_capture, True)
            try:
                return self._load(self._pick(advance=True))
            finally:
                notify(self.on_capture, False)

    def close(self) -> None:
        """Nothing to release: files are opened and closed at each capture."""

    def _pick(self, advance: bool) -> Path:
        path = self.path
        try:
            if path.is_dir():
                images = sorted(p for p in path.iterdir()
                                if p.suffix.lower() in IMAGE_SUFFIXES
                                and not p.name.startswith(".") and p.is_file())
                if not images:
                    raise Failure(Kind.CAMERA_MISSING,
                                  f"camera.path {path} is a folder with no pictures in it "
                                  f"({', '.join(sorted(IMAGE_SUFFIXES))}).")
                index = self._next % len(images)
                if advance:
                    self._next = index + 1
                return images[index]
            if path.exists():
                return path
        except PermissionError:
            raise Failure(Kind.CAMERA_FAILED,
                          f"camera.path {path}: not allowed to read it.") from None
        raise Failure(Kind.CAMERA_MISSING,
                      f"camera.path {path}: no such file or folder. Set camera.path to an image "
                      "or a folder of images.")

    def _load(self, file: Path) -> Image.Image:
        try:
            with Image.open(file) as img:
                frame = upright(img, max_side=self.max_side)
                if self.max_side:
                    frame = shrink(frame, self.max_side)
                frame.load()
                # The frame must not depend on the file, which is closed on leaving.
                return frame if frame is not img else frame.copy()
        except FileNotFoundError:
            raise Failure(Kind.CAMERA_MISSING,
                          f"{file}: the picture went away while being read.") from None
        except PermissionError:
            raise Failure(Kind.CAMERA_FAILED, f"{file}: not allowed to read it.") from None
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            # Pillow reports broken or non-image files as OSError (UnidentifiedImageError) or,
            # for some truncated formats, ValueError/SyntaxError.
            raise Failure(Kind.CAMERA_FAILED,
                          f"{file}: not a readable picture ({exc}).") from None

