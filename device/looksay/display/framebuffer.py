"""A screen driven by the kernel: ``/dev/fbN`` (a DRM panel's fbdev emulation, fbtft, HDMI).

Nothing about the panel is assumed: size, bits per pixel, bytes per row (which can be more
than width x bytes per pixel) and colour order are read from the device with the
FBIOGET_VSCREENINFO / FBIOGET_FSCREENINFO ioctls, falling back to sysfs
(``/sys/class/graphics/fbN``). 16-bit RGB565/BGR565 and 24/32-bit pixels are written without
numpy. The service user needs the ``video`` group to open the device.
"""

from __future__ import annotations

import fcntl
import logging
import os
import stat
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

from looksay.display.base import DisplayError
from looksay.display.fit import fit, view_size

log = logging.getLogger(__name__)

# linux/fb.h
FBIOGET_VSCREENINFO = 0x4600
FBIOPUT_VSCREENINFO = 0x4601
FBIOGET_FSCREENINFO = 0x4602
#: struct fb_var_screeninfo is 40 __u32 on every architecture.
_VAR_FORMAT = "=40I"
_VAR_SIZE = struct.calcsize(_VAR_FORMAT)
#: struct fb_fix_screeninfo: char id[16]; unsigned long smem_start; __u32 smem_len, type,
#: type_aux, visual; __u16 xpanstep, ypanstep, ywrapstep; __u32 line_length; ... ("@" gives
#: the native sizes and alignment, so unsigned long is right on 32- and 64-bit Pis).
_FIX_HEAD = "@16sLIIIIHHHI"

# RGB565 packing tables (pi_platform.md §6.2): the bit fields do not overlap, so adding the
# bands with ImageChops.add is the same as OR-ing them, at C speed.
_R_HI = [v & 0xF8 for v in range(256)]
_G_HI = [v >> 5 for v in range(256)]
_G_LO = [(v << 3) & 0xE0 for v in range(256)]
_B_LO = [v >> 3 for v in range(256)]


@dataclass(frozen=True)
class FbFormat:
    """How a framebuffer lays out its pixels.

    ``red``/``green``/``blue`` are bit offsets in a pixel; ``xoffset``/``yoffset`` are where
    the visible area starts in the buffer.
    """

    width: int
    height: int
    bpp: int
    stride: int
    red: int
    green: int
    blue: int
    xoffset: int = 0
    yoffset: int = 0

    @property
    def bytes_per_pixel(self) -> int:
        """Bytes in one pixel."""
        return self.bpp // 8

    @property
    def order(self) -> str:
        """"RGB" when red is in the high bits (RGB565, XRGB8888), "BGR" when blue is."""
        return "RGB" if self.red > self.blue else "BGR"


def default_offsets(bpp: int, order: str = "RGB") -> tuple[int, int, int]:
    """(red, green, blue) bit offsets of the usual layout for ``bpp`` and ``order``."""
    high, mid = (11, 5) if bpp == 16 else (16, 8)
    if order.upper() == "RGB":
        return high, mid, 0
    if order.upper() == "BGR":
        return 0, mid, high
    raise ValueError(f"colour order must be 'RGB' or 'BGR', not {order!r}")


def parse_vscreeninfo(data: bytes) -> dict[str, int]:
    """The fields of a ``struct fb_var_screeninfo`` that matter here."""
    v = struct.unpack_from(_VAR_FORMAT, data)
    return {"xres": v[0], "yres": v[1], "xres_virtual": v[2], "yres_virtual": v[3],
            "xoffset": v[4], "yoffset": v[5], "bits_per_pixel": v[6], "grayscale": v[7],
            "red": v[8], "red_length": v[9], "green": v[11], "green_length": v[12],
            "blue": v[14], "blue_length": v[15]}


def parse_line_length(data: bytes) -> int:
    """``line_length`` (bytes per row) from a ``struct fb_fix_screeninfo``."""
    return struct.unpack_from(_FIX_HEAD, data)[-1]


def pack_rgb565(image: Image.Image, order: str = "RGB") -> bytes:
    """``image`` as little-endian 16-bit pixels, red (or blue, for "BGR") in the high bits."""
    r, g, b = image.convert("RGB").split()
    if order.upper() == "BGR":
        r, b = b, r
    hi = ImageChops.add(r.point(_R_HI), g.point(_G_HI))
    lo = ImageChops.add(g.point(_G_LO), b.point(_B_LO))
    return Image.merge("LA", (lo, hi)).tobytes()


def pack(image: Image.Image, fmt: FbFormat) -> bytes:
    """``image`` (already the visible size) in the framebuffer's pixel layout, row after row."""
    if fmt.bpp == 16:
        if (fmt.red, fmt.blue) not in ((11, 0), (0, 11)) or fmt.green != 5:
            raise DisplayError(f"16-bit framebuffer with red at bit {fmt.red}, green at "
                               f"{fmt.green}, blue at {fmt.blue} is not supported (only "
                               "RGB565 and BGR565).")
        return pack_rgb565(image, fmt.order)
    if fmt.bpp in (24, 32):
        if (fmt.red, fmt.blue) not in ((16, 0), (0, 16)) or fmt.green != 8:
            raise DisplayError(f"{fmt.bpp}-bit framebuffer with red at bit {fmt.red}, blue "
                               f"at {fmt.blue} is not supported.")
        # Little-endian: a pixel with red at bit 16 is stored blue, green, red(, unused).
        raw = "BGR" if fmt.order == "RGB" else "RGB"
        if fmt.bpp == 32:
            raw += "X"
        return image.convert("RGB").tobytes("raw", raw)
    raise DisplayError(f"{fmt.bpp} bits per pixel is not supported (16, 24 or 32).")


class FramebufferDisplay:
    """A ``/dev/fbN`` screen; geometry, stride and colour order come from the device.

    ``sysfs_dir`` defaults to ``/sys/class/graphics/fbN``. ``width``, ``height``, ``bpp``,
    ``stride`` and ``order`` ("RGB"/"BGR") override what is read (when the ioctls cannot
    be used, e.g. a regular file standing in for the device, the colour order is RGB).
    """

    def __init__(self, dev: str | os.PathLike[str] = "/dev/fb1",
                 sysfs_dir: str | os.PathLike[str] | None = None, *, rotation: int = 0,
                 width: int | None = None, height: int | None = None, bpp: int | None = None,
                 stride: int | None = None, order: str | None = None) -> None:
        self.dev = Path(dev)
        self.rotation = rotation
        view_size((1, 1), rotation)  # checks the rotation now, not at the first show()
        self._lock = threading.Lock()
        self._fd: int | None = _open(self.dev)
        try:
            self.format = self._read_format(sysfs_dir, width, height, bpp, stride, order)
            pack(Image.new("RGB", (1, 1)), self.format)  # refuses unsupported layouts now
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise
        log.info("framebuffer %s: %dx%d, %d bpp, stride %d, %s", self.dev, self.format.width,
                 self.format.height, self.format.bpp, self.format.stride, self.format.order)

    def __repr__(self) -> str:
        return f"FramebufferDisplay({str(self.dev)!r})"

    @property
    def panel_size(self) -> tuple[int, int]:
        """(width, height) of the visible panel in its own orientation."""
        return (self.format.width, self.format.height)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture as seen, after the rotation."""
        return view_size(self.panel_size, self.rotation)

    def show(self, image: Image.Image) -> None:
        """Fit ``image`` to the panel, turn it, and write it to the framebuffer."""
        data = pack(fit(image, self.panel_size, self.rotation), self.format)
        with self._lock:
            if self._fd is None:
                raise DisplayError(f"{self.dev} is closed.")
            self._write(data)

    def close(self) -> None:
        """Close the device (the picture stays on the panel)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def _write(self, data: bytes) -> None:
        fmt = self.format
        row = fmt.width * fmt.bytes_per_pixel
        base = fmt.yoffset * fmt.stride + fmt.xoffset * fmt.bytes_per_pixel
        view = memoryview(data)
        try:
            if fmt.stride == row:
                _pwrite_all(self._fd, view, base)
            else:
                # Rows are padded (or the panel is narrower than the buffer): write each row
                # at its own place and leave the padding alone.
                for y in range(fmt.height):
                    _pwrite_all(self._fd, view[y * row:(y + 1) * row], base + y * fmt.stride)
        except OSError as exc:
            raise DisplayError(f"{self.dev}: writing failed: {exc}") from exc

    def _read_format(self, sysfs_dir: str | os.PathLike[str] | None, width: int | None,
                     height: int | None, bpp: int | None, stride: int | None,
                     order: str | None) -> FbFormat:
        var: dict[str, int] = {}
        line_length = 0
        if stat.S_ISCHR(os.fstat(self._fd).st_mode):
            var, line_length = self._ioctl_info()
        sysfs = Path(sysfs_dir) if sysfs_dir is not None else \
            Path("/sys/class/graphics") / Path(os.path.realpath(self.dev)).name
        vsize = _read_sysfs(sysfs, "virtual_size")
        vw, vh = _parse_pair(vsize) if vsize else (0, 0)
        width = width or var.get("xres") or vw
        height = height or var.get("yres") or vh
        bpp = bpp or var.get("bits_per_pixel") or _int_or_zero(_read_sysfs(sysfs, "bits_per_pixel"))
        if not (width and height and bpp):
            raise DisplayError(f"{self.dev}: could not read the screen size and depth (ioctl "
                               f"failed and {sysfs} has no virtual_size/bits_per_pixel). Is "
                               "display.path a framebuffer device?")
        stride = stride or line_length or _int_or_zero(_read_sysfs(sysfs, "stride")) \
            or width * bpp // 8
        if order is not None or "red" not in var:
            red, green, blue = default_offsets(bpp, order or "RGB")
        else:
            red, green, blue = var["red"], var["green"], var["blue"]
        if stride < width * bpp // 8:
            raise DisplayError(f"{self.dev}: a row is {stride} bytes, too few for {width} "
                               f"pixels of {bpp} bits.")
        return FbFormat(width=width, height=height, bpp=bpp, stride=stride, red=red,
                        green=green, blue=blue, xoffset=var.get("xoffset", 0),
                        yoffset=var.get("yoffset", 0))

    def _ioctl_info(self) -> tuple[dict[str, int], int]:
        var_buf = bytearray(_VAR_SIZE)
        fix_buf = bytearray(128)  # larger than fb_fix_screeninfo on any architecture
        try:
            fcntl.ioctl(self._fd, FBIOGET_VSCREENINFO, var_buf)
        except OSError as exc:
            log.warning("%s: FBIOGET_VSCREENINFO failed (%s); using sysfs", self.dev, exc)
            return {}, 0
        line_length = 0
        try:
            fcntl.ioctl(self._fd, FBIOGET_FSCREENINFO, fix_buf)
            line_length = parse_line_length(bytes(fix_buf))
        except OSError as exc:
            log.warning("%s: FBIOGET_FSCREENINFO failed (%s)", self.dev, exc)
        try:
            # A DRM panel stays dark until it is first set up; putting back the same mode
            # switches it on and changes nothing else.
            fcntl.ioctl(self._fd, FBIOPUT_VSCREENINFO, bytes(var_buf))
        except OSError as exc:
            log.debug("%s: FBIOPUT_VSCREENINFO failed (%s)", self.dev, exc)
        return parse_vscreeninfo(bytes(var_buf)), line_length


def _open(dev: Path) -> int:
    try:
        return os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DisplayError(f"{dev}: no such framebuffer. Check display.path ('ls /dev/fb*' "
                           "lists them; an SPI panel needs its dtoverlay in "
                           "/boot/firmware/config.txt).") from None
    except PermissionError:
        raise DisplayError(f"{dev}: not allowed to write to it. Add the service user to the "
                           "'video' group (sudo usermod -aG video looksay) and restart the "
                           "service.") from None
    except IsADirectoryError:
        raise DisplayError(f"{dev}: is a folder, not a framebuffer device.") from None
    except OSError as exc:
        raise DisplayError(f"{dev}: cannot open it: {exc}.") from None


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        if written <= 0:
            raise OSError(f"pwrite wrote nothing at offset {offset}")
        data = data[written:]
        offset += written


def _read_sysfs(folder: Path, name: str) -> str:
    try:
        return (folder / name).read_text().strip()
    except OSError:
        return ""


def _parse_pair(text: str) -> tuple[int, int]:
    try:
        a, b = text.split(",")
        return int(a), int(b)
    except ValueError:
        return 0, 0


def _int_or_zero(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
