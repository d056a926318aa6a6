"""The small screen: fitting and turning pictures, caption cards, and each kind of display.

Real photos throughout. The framebuffer is a regular file standing in for /dev/fbN plus a
folder standing in for /sys/class/graphics/fbN; what is written is decoded back and compared
with the picture. luma is tested with its own drivers, talking to a recording stand-in for the
SPI wire, and with luma.core's ``dummy`` device.
"""

from __future__ import annotations

import os
import struct
import sys

import pytest
from PIL import Image, ImageChops, ImageFont, ImageStat

from looksay import config
from looksay.display import (
    DisplayError,
    FileDisplay,
    FramebufferDisplay,
    LumaDisplay,
    NoDisplay,
    caption_card,
    fit,
    make_display,
)
from looksay.display.fit import MIN_FONT_PX, find_font
from looksay.display.framebuffer import FbFormat, parse_vscreeninfo

BLACK = ((0, 0), (0, 0), (0, 0))  # getextrema() of an all-black RGB image


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0 = same picture)."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def tone(img: Image.Image, where: str, side: int = 30) -> list[float]:
    """Mean colour of a corner ("TL", "TR", "BL", "BR")."""
    w, h = img.size
    x = 0 if where[1] == "L" else w - side
    y = 0 if where[0] == "T" else h - side
    return ImageStat.Stat(img.crop((x, y, x + side, y + side))).mean


def distance(a: list[float], b: list[float]) -> float:
    return max(abs(p - q) for p, q in zip(a, b, strict=True))


# --- fit ---------------------------------------------------------------------------------


def test_landscape_photo_gets_black_bars_above_and_below(photo):
    rocket = photo("rocket-launch.jpg")  # 640x427
    shown = fit(rocket, (320, 240))
    assert shown.size == (320, 240) and shown.mode == "RGB"
    # 640x427 at half size is 320x214 (213.5 rounded): 13 rows of black above and below.
    assert shown.crop((0, 0, 320, 13)).getextrema() == BLACK
    assert shown.crop((0, 227, 320, 240)).getextrema() == BLACK
    content = shown.crop((0, 13, 320, 227))
    assert difference(content, rocket.resize((320, 214))) < 2


def test_square_photo_on_a_wide_screen_is_centred_between_side_bars(photo):
    astronaut = photo("person-astronaut.jpg")  # 512x512
    shown = fit(astronaut, (320, 240))
    assert shown.crop((0, 0, 40, 240)).getextrema() == BLACK
    assert shown.crop((280, 0, 320, 240)).getextrema() == BLACK
    assert difference(shown.crop((40, 0, 280, 240)), astronaut.resize((240, 240))) < 2


def test_small_photo_is_enlarged_to_fill_the_screen(photo):
    cat = photo("cat-chelsea.jpg")  # 451x300
    shown = fit(cat, (902, 700))
    assert shown.size == (902, 700)
    assert shown.crop((0, 0, 902, 50)).getextrema() == BLACK
    assert difference(shown.crop((0, 50, 902, 650)), cat.resize((902, 600))) < 2


@pytest.mark.parametrize(("rotation", "moves"), [
    (90, {"TL": "TR", "TR": "BR", "BR": "BL", "BL": "TL"}),
    (180, {"TL": "BR", "TR": "BL", "BR": "TL", "BL": "TR"}),
    (270, {"TL": "BL", "BL": "BR", "BR": "TR", "TR": "TL"}),
])
def test_rotation_turns_the_picture_clockwise(photo, rotation, moves):
    upright = photo("person-astronaut.jpg").resize((240, 240))
    panel = fit(photo("person-astronaut.jpg"), (240, 240), rotation)
    for src, dst in moves.items():
        assert distance(tone(upright, src), tone(panel, dst)) < 3, (src, dst)
        # The photo's corners differ, so a wrong turn would be seen.
        others = [c for c in ("TL", "TR", "BL", "BR") if c != dst]
        assert all(distance(tone(upright, src), tone(panel, o)) > 10 for o in others)


def test_sideways_panel_is_filled_as_the_person_sees_it(photo):
    rocket = photo("rocket-launch.jpg")
    panel = fit(rocket, (240, 320), 90)  # a portrait panel mounted on its side
    assert panel.size == (240, 320)
    seen = panel.transpose(Image.Transpose.ROTATE_90)  # undo the clockwise turn
    assert seen.size == (320, 240)
    assert difference(seen, fit(rocket, (320, 240))) < 1
    assert seen.crop((0, 0, 320, 13)).getextrema() == BLACK


def test_unknown_rotation_is_refused(photo):
    with pytest.raises(ValueError, match="rotation"):
        fit(photo("cat-chelsea.jpg"), (320, 240), 45)


# --- caption card ------------------------------------------------------------------------

CAPTION = ("A grey tabby cat lying on a wooden floor, looking up at the camera with "
           "bright green eyes.")


def ink(card: Image.Image) -> tuple[int, int, int, int]:
    box = card.convert("L").point(lambda v: 255 if v > 128 else 0).getbbox()
    assert box is not None, "the card is blank"
    return box


def test_caption_card_is_large_white_text_on_black():
    assert find_font() is not None  # DejaVu is installed here, as on Raspberry Pi OS
    card = caption_card(CAPTION, (320, 240))
    assert card.size == (320, 240) and card.mode == "RGB"
    r, g, b = card.split()
    assert r.tobytes() == g.tobytes() == b.tobytes()  # only greys: white type on black
    white = sum(1 for v in r.tobytes() if v > 200)
    assert white > 0.08 * 320 * 240
    left, top, right, bottom = ink(card)
    assert left >= 2 and top >= 2 and right <= 318 and bottom <= 238  # inside the margin
    assert right - left > 0.8 * 320 or bottom - top > 0.8 * 240  # as large as fits


def test_short_caption_gets_bigger_type_than_a_long_one():
    short = ink(caption_card("A cat.", (320, 240)))
    long = ink(caption_card(CAPTION * 3, (320, 240)))
    # A short caption fills the width with one line in big type; a long one fills the
    # screen with many lines of smaller type.
    assert short[3] - short[1] > 60
    assert short[2] - short[0] > 0.8 * 320
    assert long[2] - long[0] > 0.8 * 320
    assert long[3] - long[1] > 0.6 * 240


def test_caption_card_on_a_portrait_screen():
    card = caption_card(CAPTION, (240, 320))
    assert card.size == (240, 320)
    _, _, right, bottom = ink(card)
    assert right <= 238 and bottom <= 318


def test_too_much_text_is_cut_with_an_ellipsis_and_still_fits():
    text = "word " * 2000
    card = caption_card(text, (128, 64))
    left, _, right, bottom = ink(card)
    assert left >= 1 and right <= 127 and bottom <= 63
    longer = caption_card(text + "more", (128, 64))
    assert longer.tobytes() == card.tobytes()  # same cut: the type did not shrink below min
    assert MIN_FONT_PX <= 12


def test_a_word_wider_than_the_screen_is_broken():
    card = caption_card("Supercalifragilisticexpialidocious", (120, 120))
    left, _, right, _ = ink(card)
    assert left >= 2 and right <= 118


def test_empty_caption_gives_a_black_card():
    assert caption_card("  \n ", (64, 48)).getextrema() == BLACK


def test_bitmap_font_is_enlarged_crisply():
    # Pillow's fixed-size bitmap font, as on an older Pillow with no TrueType font installed.
    font = ImageFont.load_default_imagefont()
    card = caption_card("A grey tabby cat.", (240, 320), font=font)
    assert card.size == (240, 320)
    assert set(card.convert("L").tobytes()) <= {0, 255}  # enlarged without blurring
    left, top, right, bottom = ink(card)
    assert bottom - top > 0.4 * 320 or right - left > 0.8 * 240


# --- framebuffer -------------------------------------------------------------------------


def decode565(data: bytes, width: int, height: int, stride: int, order: str = "RGB",
              ) -> Image.Image:
    """Read little-endian 16-bit pixels back into an image (low bits left as zero)."""
    out = bytearray()
    for y in range(height):
        row = data[y * stride: y * stride + width * 2]
        for (v,) in struct.iter_unpack("<H", row):
            hi, mid, lo = (v >> 11) << 3, ((v >> 5) & 0x3F) << 2, (v & 0x1F) << 3
            out += bytes((hi, mid, lo) if order == "RGB" else (lo, mid, hi))
    return Image.frombytes("RGB", (width, height), bytes(out))


def decode32(data: bytes, width: int, height: int, stride: int, order: str = "RGB",
             ) -> Image.Image:
    """Read 32-bit pixels back: XRGB8888 stores blue, green, red, unused (little-endian)."""
    out = bytearray()
    for y in range(height):
        row = data[y * stride: y * stride + width * 4]
        for i in range(0, len(row), 4):
            b0, b1, b2 = row[i], row[i + 1], row[i + 2]
            out += bytes((b2, b1, b0) if order == "RGB" else (b0, b1, b2))
    return Image.frombytes("RGB", (width, height), bytes(out))


def quantised565(img: Image.Image) -> Image.Image:
    r, g, b = img.split()
    return Image.merge("RGB", (r.point(lambda v: v & 0xF8), g.point(lambda v: v & 0xFC),
                               b.point(lambda v: v & 0xF8)))


def test_framebuffer_rgb565(make_fb, photo):
    dev, sysfs = make_fb(320, 240, 16)
    screen = FramebufferDisplay(dev, sysfs)
    assert screen.size == (320, 240)
    assert screen.format.order == "RGB" and screen.format.stride == 640
    cat = photo("cat-chelsea.jpg")
    screen.show(cat)
    screen.close()
    written = decode565(dev.read_bytes(), 320, 240, 640)
    assert written.tobytes() == quantised565(fit(cat, (320, 240))).tobytes()


def test_framebuffer_row_padding_is_left_alone(make_fb, photo):
    dev, sysfs = make_fb(100, 50, 16, stride=256, fill=0xAA)
    screen = FramebufferDisplay(dev, sysfs)
    astronaut = photo("person-astronaut.jpg")
    screen.show(astronaut)
    screen.close()
    data = dev.read_bytes()
    assert len(data) == 256 * 50
    for y in range(50):
        assert data[y * 256 + 200:(y + 1) * 256] == b"\xaa" * 56, f"padding of row {y}"
    written = decode565(data, 100, 50, 256)
    assert written.tobytes() == quantised565(fit(astronaut, (100, 50))).tobytes()


def test_framebuffer_xrgb8888_with_rotation(make_fb, photo):
    dev, sysfs = make_fb(240, 320, 32, stride=240 * 4 + 64)
    screen = FramebufferDisplay(dev, sysfs, rotation=270)
    assert screen.size == (320, 240)  # as seen, the panel being on its side
    rocket = photo("rocket-launch.jpg")
    screen.show(rocket)
    screen.close()
    written = decode32(dev.read_bytes(), 240, 320, 240 * 4 + 64)
    assert written.tobytes() == fit(rocket, (240, 320), 270).tobytes()


@pytest.mark.parametrize("bpp", [16, 32])
def test_framebuffer_bgr_order_is_honoured(make_fb, photo, bpp):
    dev, sysfs = make_fb(160, 120, bpp)
    screen = FramebufferDisplay(dev, sysfs, order="BGR")
    assert screen.format.order == "BGR"
    coffee = photo("coffee-cup.jpg")
    screen.show(coffee)
    screen.close()
    expected = fit(coffee, (160, 120))
    if bpp == 16:
        written = decode565(dev.read_bytes(), 160, 120, 320, order="BGR")
        assert written.tobytes() == quantised565(expected).tobytes()
        # and read the wrong way round, the colours would be wrong: red and blue swapped
        wrong = decode565(dev.read_bytes(), 160, 120, 320, order="RGB")
        assert difference(wrong, quantised565(expected)) > 10
    else:
        written = decode32(dev.read_bytes(), 160, 120, 640, order="BGR")
        assert written.tobytes() == expected.tobytes()


def test_colour_order_comes_from_the_screen_info():
    # struct fb_var_screeninfo of a BGR565 panel: red at bit 0, green at 5, blue at 11.
    fields = [240, 320, 240, 640, 0, 320, 16, 0, 0, 5, 0, 5, 6, 0, 11, 5, 0] + [0] * 23
    info = parse_vscreeninfo(struct.pack("=40I", *fields))
    assert (info["xres"], info["yres"], info["bits_per_pixel"]) == (240, 320, 16)
    assert (info["red"], info["green"], info["blue"]) == (0, 5, 11)
    assert (info["yres_virtual"], info["yoffset"]) == (640, 320)
    fmt = FbFormat(240, 320, 16, 480, info["red"], info["green"], info["blue"])
    assert fmt.order == "BGR"


def test_framebuffer_settings_can_be_given_when_nothing_can_be_read(tmp_path, photo):
    dev = tmp_path / "fb9"
    dev.write_bytes(b"")
    screen = FramebufferDisplay(dev, tmp_path / "no-sysfs", width=64, height=48, bpp=32)
    screen.show(photo("cat-chelsea.jpg"))
    screen.close()
    assert len(dev.read_bytes()) == 64 * 48 * 4


def test_missing_framebuffer_says_so(tmp_path):
    with pytest.raises(DisplayError, match="no such framebuffer"):
        FramebufferDisplay(tmp_path / "fb7", tmp_path)


def test_framebuffer_geometry_that_cannot_be_read_is_an_error(tmp_path):
    dev = tmp_path / "fb1"
    dev.write_bytes(b"\0" * 100)
    with pytest.raises(DisplayError, match="could not read the screen size"):
        FramebufferDisplay(dev, tmp_path / "empty-sysfs")


def test_unsupported_depth_is_refused(make_fb):
    dev, sysfs = make_fb(64, 48, 8)
    with pytest.raises(DisplayError, match="8 bits per pixel"):
        FramebufferDisplay(dev, sysfs)


def test_framebuffer_close_releases_the_device(make_fb, photo):
    dev, sysfs = make_fb(32, 24, 16)
    before = len(os.listdir("/proc/self/fd"))
    screen = FramebufferDisplay(dev, sysfs)
    screen.close()
    screen.close()
    assert len(os.listdir("/proc/self/fd")) == before
    with pytest.raises(DisplayError, match="closed"):
        screen.show(photo("cat-chelsea.jpg"))


# --- PNG files and none ------------------------------------------------------------------


def test_file_display_writes_numbered_pngs_and_latest(tmp_path, photo):
    folder = tmp_path / "screen"
    screen = FileDisplay(folder, (320, 240))
    first = screen.show(photo("cat-chelsea.jpg"))
    second = screen.show(caption_card(CAPTION, screen.size))
    assert first.name == "frame-000001.png" and second.name == "frame-000002.png"
    for path in (first, second, screen.latest):
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size == (320, 240)
    with Image.open(first) as img:
        assert difference(img, fit(photo("cat-chelsea.jpg"), (320, 240))) < 0.01
    assert screen.latest.read_bytes() == second.read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == [
        "frame-000001.png", "frame-000002.png", "latest.png"]  # no temporary files left
    screen.close()

    again = FileDisplay(folder, (320, 240))
    assert again.show(photo("coffee-cup.jpg")).name == "frame-000003.png"


def test_file_display_turned_on_its_side(tmp_path, photo):
    screen = FileDisplay(tmp_path, (320, 240), rotation=90)
    assert screen.size == (240, 320)
    path = screen.show(caption_card("Hello", screen.size))
    with Image.open(path) as img:
        assert img.size == (320, 240)


def test_no_display_has_the_configured_size(photo):
    screen = NoDisplay((128, 64), rotation=270)
    assert screen.size == (64, 128)
    screen.show(photo("cat-chelsea.jpg"))
    screen.close()


def settings_with(tmp_path, display: str):
    toml = tmp_path / "looksay.toml"
    toml.write_text(f"[display]\n{display}\n")
    return config.load(toml).display


def test_make_display_follows_the_settings(tmp_path):
    folder = tmp_path / "pngs"
    screen = make_display(settings_with(tmp_path, f"kind = 'file'\npath = '{folder}'\n"
                                                  "width = 240\nheight = 135\nrotation = 180"))
    assert isinstance(screen, FileDisplay) and screen.size == (240, 135) and folder.is_dir()
    none = make_display(settings_with(tmp_path, "kind = 'none'\nwidth = 128\nheight = 64"))
    assert isinstance(none, NoDisplay) and none.size == (128, 64)
    with pytest.raises(DisplayError, match="no such framebuffer"):
        make_display(settings_with(tmp_path, f"kind = 'framebuffer'\npath = '{tmp_path}/fb5'"))


# --- luma --------------------------------------------------------------------------------


class Wire:
    """Stands in for the SPI bus: records what the luma driver sends to the panel."""

    def __init__(self) -> None:
        self.commands: list[tuple[int, ...]] = []
        self.after_ramwr = bytearray()
        self._writing = False

    def command(self, *cmd: int) -> None:
        self.commands.append(cmd)
        self._writing = cmd[0] == 0x2C  # RAMWR: pixel data follows
        if self._writing:
            self.after_ramwr = bytearray()

    def data(self, data) -> None:
        if self._writing:
            self.after_ramwr += bytes(data)

    def cleanup(self) -> None:
        self.commands.append(("cleanup",))


def test_luma_st7789_sends_the_fitted_picture(photo):
    from luma.core.interface.serial import noop

    wire = Wire()
    screen = LumaDisplay("st7789", 320, 240, serial_interface=wire, gpio=noop())
    assert screen.size == (320, 240)
    cat = photo("cat-chelsea.jpg")
    screen.show(cat)
    assert bytes(wire.after_ramwr) == fit(cat, (320, 240)).tobytes()
    screen.close()
    assert ("cleanup",) in wire.commands


@pytest.mark.parametrize(("driver", "size", "mode"), [
    ("ili9341", (320, 240), "RGB"), ("st7735", (160, 128), "RGB"),
    ("ssd1306", (128, 64), "1"), ("sh1106", (128, 64), "1"), ("ssd1351", (128, 128), "RGB"),
])
def test_luma_drivers_accept_our_pictures(photo, driver, size, mode):
    from luma.core.interface.serial import noop

    wire = Wire()
    screen = LumaDisplay(driver, *size, rotation=90, serial_interface=wire, gpio=noop())
    assert screen.panel_size == size and screen.device.mode == mode
    assert type(screen.device).__name__ == driver
    screen.show(photo("rocket-launch.jpg"))
    screen.show(caption_card("A rocket.", screen.size))
    assert len(wire.commands) > 5
    screen.close()


def test_luma_dummy_device_shows_the_fitted_turned_picture(photo):
    from luma.core.device import dummy

    device = dummy(width=240, height=320)
    screen = LumaDisplay(device=device, rotation=90)
    assert screen.size == (320, 240)
    rocket = photo("rocket-launch.jpg")
    screen.show(rocket)
    assert device.image.tobytes() == fit(rocket, (240, 320), 90).tobytes()
    screen.close()


def test_luma_size_the_controller_cannot_do_is_an_error():
    from luma.core.interface.serial import noop

    with pytest.raises(DisplayError, match="100x100"):
        LumaDisplay("st7735", 100, 100, serial_interface=noop(), gpio=noop())


def test_luma_without_spi_and_gpio_libraries_names_the_install_command():
    # This machine has neither spidev nor RPi.GPIO: luma's real SPI set-up fails.
    with pytest.raises(DisplayError, match=r"pip install 'looksay\[luma\]'"):
        LumaDisplay("st7789", 320, 240)


def test_luma_not_installed_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "luma.oled.device", None)  # as if luma.oled were absent
    with pytest.raises(DisplayError, match=r"pip install 'looksay\[luma\]'"):
        LumaDisplay("ssd1306", 128, 64)
