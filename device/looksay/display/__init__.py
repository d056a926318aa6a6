"""The small screen: a kernel framebuffer, an SPI panel through luma, PNG files, or none.

``make_display(settings.display)`` picks the kind the settings name. Every display has
``size`` (the picture as seen, after rotation), ``show(image)`` (fits, letterboxes and turns
any picture) and ``close()``. A display that cannot be used raises :class:`DisplayError`
with what to do. :func:`caption_card` draws a caption in large type for ``show``.
"""

from __future__ import annotations

from looksay.config import DisplaySettings
from looksay.display.base import Display, DisplayError, NoDisplay
from looksay.display.file import FileDisplay
from looksay.display.fit import caption_card, fit, view_size
from looksay.display.framebuffer import FramebufferDisplay
from looksay.display.luma import LumaDisplay

__all__ = [
    "Display",
    "DisplayError",
    "FileDisplay",
    "FramebufferDisplay",
    "LumaDisplay",
    "NoDisplay",
    "caption_card",
    "fit",
    "make_display",
    "view_size",
]


def make_display(settings: DisplaySettings) -> Display:
    """The display ``settings.kind`` names (raises DisplayError if it cannot be used)."""
    size = (settings.width, settings.height)
    if settings.kind == "none":
        return NoDisplay(size, settings.rotation)
    if settings.kind == "file":
        return FileDisplay(settings.path, size, rotation=settings.rotation)
    if settings.kind == "framebuffer":
        return FramebufferDisplay(settings.path, rotation=settings.rotation)
    if settings.kind == "luma":
        return LumaDisplay(settings.driver, settings.width, settings.height,
                           rotation=settings.rotation, spi_port=settings.spi_port,
                           spi_device=settings.spi_device, gpio_dc=settings.gpio_dc,
                           gpio_rst=settings.gpio_rst)
    raise ValueError(f"unknown display.kind {settings.kind!r}")
