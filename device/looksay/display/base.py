"""What every display offers."""

from __future__ import annotations

from typing import Protocol

from PIL import Image

from looksay.display.fit import view_size

__all__ = ["Display", "DisplayError", "NoDisplay"]


class DisplayError(Exception):
    """The display cannot be used; the message says what to do about it."""


class Display(Protocol):
    """A small screen.

    ``size`` is the picture size as the person sees it (already turned by the rotation
    setting): make a caption card of this size and it fills the screen. ``show`` takes any
    picture, letterboxes and turns it for the panel.
    """

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture as seen, in pixels."""
        ...

    def show(self, image: Image.Image) -> None:
        """Put ``image`` on the screen, fitted (aspect kept, black bars) and turned."""

    def close(self) -> None:
        """Release the screen."""


class NoDisplay:
    """No screen: show() does nothing. The size is the configured one."""

    def __init__(self, size: tuple[int, int] = (320, 240), rotation: int = 0) -> None:
        self.panel_size = (int(size[0]), int(size[1]))
        self.rotation = rotation

    def __repr__(self) -> str:
        return "NoDisplay()"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) as seen, after the rotation."""
        return view_size(self.panel_size, self.rotation)

    def show(self, image: Image.Image) -> None:
        """Nothing is shown."""

    def close(self) -> None:
        """Nothing to release."""

