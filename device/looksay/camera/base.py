"""What every camera offers, and the privacy-light hook they share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from PIL import Image

log = logging.getLogger(__name__)

#: Called with True just before a picture is taken and False just after (a privacy light).
CaptureHook = Callable[[bool], None]


class Camera(Protocol):
    """A source of pictures. Failures the person should hear about are raised as Failure."""

    def open(self) -> None:
        """Get the camera ready now, so the first capture is quick (raises Failure)."""

    def capture(self) -> Image.Image:
        """A fresh picture, upright, in RGB (raises Failure)."""

    def close(self) -> None:
        """Release the camera; a later capture opens it again."""


def notify(hook: CaptureHook | None, capturing: bool) -> None:
    """Tell the privacy light; a broken light must not stop the camera."""
    if hook is None:
        return
    try:
        hook(capturing)
    except Exception:
        log.exception("the on_capture hook failed")
