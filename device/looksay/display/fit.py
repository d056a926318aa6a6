"""Fitting pictures and words to a small screen.

:func:`fit` letterboxes a picture (aspect kept, black bars) and turns it for a panel that is
mounted sideways or upside down. :func:`caption_card` draws a caption in the largest type that
fits, white on black, for people who see a little.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

#: Allowed rotations, in degrees clockwise.
ROTATIONS = (0, 90, 180, 270)

#: Bold sans-serif faces tried in order. DejaVu comes with Raspberry Pi OS (fonts-dejavu-core).
FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
)

#: Smallest type a caption is set in, in pixels; below this, lines are cut instead.
MIN_FONT_PX = 10

_BLACK = (0, 0, 0)
_WHITE = (255, 255, 255)

# Pillow's transposes turn counter-clockwise; these are the clockwise turns.
_TURN = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}


def view_size(panel_size: tuple[int, int], rotation: int) -> tuple[int, int]:
    """The picture size as seen on a panel of ``panel_size`` turned by ``rotation``."""
    _check_rotation(rotation)
    w, h = panel_size
    return (h, w) if rotation in (90, 270) else (w, h)


def fit(image: Image.Image, size: tuple[int, int], rotation: int = 0) -> Image.Image:
    """A new RGB image of exactly ``size`` (the panel's pixels) showing all of ``image``.

    The picture keeps its aspect ratio, centred between black bars, and is then turned
    ``rotation`` degrees clockwise. For 90 and 270 it is fitted to the swapped size first,
    so that after turning it fills the panel.
    """
    tw, th = view_size(size, rotation)
    if tw < 1 or th < 1:
        raise ValueError(f"display size must be positive, not {size}")
    img = image if image.mode == "RGB" else image.convert("RGB")
    w, h = img.size
    scale = min(tw / w, th / h)
    nw = min(tw, max(1, round(w * scale)))
    nh = min(th, max(1, round(h * scale)))
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.Resampling.LANCZOS, reducing_gap=2.0)
    if (nw, nh) == (tw, th):
        canvas = img.copy() if img is image else img
    else:
        canvas = Image.new("RGB", (tw, th), _BLACK)
        canvas.paste(img, ((tw - nw) // 2, (th - nh) // 2))
    if rotation:
        canvas = canvas.transpose(_TURN[rotation])
    return canvas


def caption_card(text: str, size: tuple[int, int],
                 font: str | os.PathLike[str] | ImageFont.ImageFont | ImageFont.FreeTypeFont
                 | None = None) -> Image.Image:
    """``text`` in the largest type that fits ``size``, white on black, wrapped at words.

    ``font`` is a TrueType file, a Pillow font, or None for the first of
    :data:`FONT_CANDIDATES` found (else Pillow's own font). Text that does not fit even at
    :data:`MIN_FONT_PX` is cut and ends with an ellipsis.
    """
    w, h = size
    if w < 1 or h < 1:
        raise ValueError(f"card size must be positive, not {size}")
    card = Image.new("RGB", (w, h), _BLACK)
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        return card
    margin = max(2, round(min(w, h) * 0.04))
    box = (max(1, w - 2 * margin), max(1, h - 2 * margin))
    maker = _font_maker(font)
    if maker is not None:
        best = _largest(lambda px: _layout(paragraphs, maker(px), box) is not None,
                        MIN_FONT_PX, max(MIN_FONT_PX, box[1]))
        chosen = maker(best)
        lines = _layout(paragraphs, chosen, box) or _cut(paragraphs, chosen, box, "…")
        _draw(card, lines, chosen, (margin, margin), box)
        return card
    # A fixed-size bitmap font (old Pillow and no TrueType file): lay the text out on a
    # smaller canvas and enlarge it by a whole factor, which keeps the letters crisp.
    bitmap = font if isinstance(font, ImageFont.ImageFont) else ImageFont.load_default()
    k = _largest(lambda k: _layout(paragraphs, bitmap, (box[0] // k, box[1] // k)) is not None,
                 1, max(1, min(box) // 8))
    small_box = (max(1, box[0] // k), max(1, box[1] // k))
    lines = (_layout(paragraphs, bitmap, small_box)
             or _cut(paragraphs, bitmap, small_box, "..."))
    small = Image.new("RGB", small_box, _BLACK)
    _draw(small, lines, bitmap, (0, 0), small_box)
    big = small.resize((small_box[0] * k, small_box[1] * k), Image.Resampling.NEAREST)
    card.paste(big, ((w - big.width) // 2, (h - big.height) // 2))
    return card


def find_font() -> str | None:
    """The first TrueType file of :data:`FONT_CANDIDATES` that exists, or None."""
    return next((path for path in FONT_CANDIDATES if os.path.isfile(path)), None)


def _check_rotation(rotation: int) -> None:
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation must be one of {ROTATIONS}, not {rotation!r}")


def _font_maker(font: Any) -> Callable[[int], Any] | None:
    """A function giving the font at a pixel size, or None for a fixed-size bitmap font."""
    if isinstance(font, ImageFont.FreeTypeFont):
        return lambda px: font.font_variant(size=px)
    if isinstance(font, ImageFont.ImageFont):
        return None
    path = str(font) if font is not None else find_font()
    if path is not None:
        if font is not None and not Path(path).is_file():
            raise FileNotFoundError(f"font file {path} not found")
        return functools.partial(_truetype, path)
    try:
        ImageFont.load_default(size=MIN_FONT_PX)
    except TypeError:
        return None  # Pillow before 10.1 has no scalable built-in font
    return _default_font


@functools.lru_cache(maxsize=64)
def _truetype(path: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, px)


@functools.lru_cache(maxsize=64)
def _default_font(px: int) -> Any:
    return ImageFont.load_default(size=px)


def _largest(fits: Callable[[int], bool], lo: int, hi: int) -> int:
    """The largest value in [lo, hi] for which ``fits`` holds (lo if none does)."""
    if hi <= lo or not fits(lo):
        return lo
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _line_height(font: Any) -> tuple[int, int]:
    """(height of one line, gap between lines) in pixels."""
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        height = ascent + descent
        return height, max(1, round(font.size * 0.12))
    bbox = font.getbbox("Ag")
    return bbox[3], 1


def _wrap(paragraphs: list[str], font: Any, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in paragraphs:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if font.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            # A word wider than the screen is broken between letters.
            while font.getlength(word) > width and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and font.getlength(word[:cut]) > width:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        if line:
            lines.append(line)
    return lines


def _layout(paragraphs: list[str], font: Any, box: tuple[int, int]) -> list[str] | None:
    """The wrapped lines, or None when they do not fit in ``box``."""
    if box[0] < 1 or box[1] < 1:
        return None
    lines = _wrap(paragraphs, font, box[0])
    height, gap = _line_height(font)
    if len(lines) * height + (len(lines) - 1) * gap > box[1]:
        return None
    if any(font.getlength(line) > box[0] for line in lines):
        return None
    return lines


def _cut(paragraphs: list[str], font: Any, box: tuple[int, int], ellipsis: str) -> list[str]:
    """As many wrapped lines as fit, the last one ending with ``ellipsis``."""
    lines = _wrap(paragraphs, font, box[0])
    height, gap = _line_height(font)
    keep = max(1, (box[1] + gap) // (height + gap))
    if len(lines) <= keep:
        return lines
    lines = lines[:keep]
    last = lines[-1]
    while last and font.getlength(f"{last}{ellipsis}") > box[0]:
        last = last[:-1].rstrip()
    lines[-1] = f"{last}{ellipsis}"
    return lines


def _draw(card: Image.Image, lines: list[str], font: Any, origin: tuple[int, int],
          box: tuple[int, int]) -> None:
    height, gap = _line_height(font)
    block = len(lines) * height + (len(lines) - 1) * gap
    x0, y0 = origin
    y = y0 + max(0, (box[1] - block) // 2)
    draw = ImageDraw.Draw(card)
    for line in lines:
        x = x0 + max(0, round((box[0] - font.getlength(line)) / 2))
        draw.text((x, y), line, font=font, fill=_WHITE)
        y += height + gap
