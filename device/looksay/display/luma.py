"""A small SPI panel driven from user space with luma.lcd / luma.oled.

For panels with no kernel driver (no ``/dev/fbN``). luma is an optional extra
(``pip install 'looksay[luma]'``) and is imported only when this display is made. The
panel's own rotation is left at 0: turning is done by :func:`looksay.display.fit.fit`, the
same as for every other display.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PIL import Image

from looksay.display.base import DisplayError
from looksay.display.fit import fit, view_size

log = logging.getLogger(__name__)

#: Supported controllers and the luma module that drives each.
LUMA_DRIVERS = {
    "st7789": "luma.lcd.device",
    "ili9341": "luma.lcd.device",
    "st7735": "luma.lcd.device",
    "ssd1306": "luma.oled.device",
    "sh1106": "luma.oled.device",
    "ssd1351": "luma.oled.device",
}

_INSTALL = "pip install 'looksay[luma]'"


class LumaDisplay:
    """An SPI panel through luma: ST7789, ILI9341, ST7735 (luma.lcd), SSD1306, SH1106, SSD1351
    (luma.oled), wired to SPI ``spi_port``/``spi_device`` with data/command and reset on
    ``gpio_dc``/``gpio_rst`` (BCM numbers).

    ``device`` is an already-made luma device (such as ``luma.core.device.dummy``) used
    instead; ``serial_interface`` and ``gpio`` are passed to luma in place of its SPI and
    RPi.GPIO defaults.
    """

    def __init__(self, driver: str = "st7789", width: int = 320, height: int = 240, *,
                 rotation: int = 0, spi_port: int = 0, spi_device: int = 0, gpio_dc: int = 24,
                 gpio_rst: int = 25, device: Any = None, serial_interface: Any = None,
                 gpio: Any = None) -> None:
        view_size((1, 1), rotation)  # checks the rotation now, not at the first show()
        self.driver = driver if device is None else type(device).__name__
        self.rotation = rotation
        if device is None:
            device = _make_device(driver, width, height, spi_port=spi_port,
                                  spi_device=spi_device, gpio_dc=gpio_dc, gpio_rst=gpio_rst,
                                  serial_interface=serial_interface, gpio=gpio)
        self.device = device
        self.panel_size: tuple[int, int] = (int(device.width), int(device.height))
        log.info("luma %s: %dx%d, mode %s", self.driver, *self.panel_size, device.mode)

    def __repr__(self) -> str:
        return f"LumaDisplay({self.driver!r})"

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture as seen, after the rotation."""
        return view_size(self.panel_size, self.rotation)

    def show(self, image: Image.Image) -> None:
        """Fit ``image`` to the panel, turn it, and send it (dithered on 1-bit OLEDs)."""
        frame = fit(image, self.panel_size, self.rotation)
        if self.device.mode != frame.mode:
            frame = frame.convert(self.device.mode)
        try:
            self.device.display(frame)
        except OSError as exc:
            raise DisplayError(f"luma {self.driver}: sending the picture failed: {exc}") from exc

    def close(self) -> None:
        """Switch the panel off and free its SPI and GPIO lines."""
        try:
            self.device.cleanup()
        except Exception:
            log.warning("luma %s: cleanup failed", self.driver, exc_info=True)


def _make_device(driver: str, width: int, height: int, *, spi_port: int, spi_device: int,
                 gpio_dc: int, gpio_rst: int, serial_interface: Any, gpio: Any) -> Any:
    if driver not in LUMA_DRIVERS:
        raise DisplayError(f"display.driver {driver!r} is not supported; use one of "
                           f"{', '.join(LUMA_DRIVERS)}.")
    module_name = LUMA_DRIVERS[driver]
    try:
        errors = importlib.import_module("luma.core.error")
        serial = importlib.import_module("luma.core.interface.serial")
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise DisplayError(f"display.kind = 'luma' needs {module_name.rsplit('.', 1)[0]}, "
                           f"which is not installed ({exc}). Install it: {_INSTALL}") from exc
    kwargs: dict[str, Any] = {"width": width, "height": height, "rotate": 0}
    if module_name == "luma.lcd.device":
        kwargs["gpio"] = gpio  # the backlight pin; None lets luma use RPi.GPIO
    try:
        interface = serial_interface or serial.spi(port=spi_port, device=spi_device,
                                                   gpio_DC=gpio_dc, gpio_RST=gpio_rst,
                                                   gpio=gpio)
        return getattr(module, driver)(interface, **kwargs)
    except ImportError as exc:
        # luma imports spidev and RPi.GPIO (rpi-lgpio on a Pi 5) only when it needs them.
        raise DisplayError(f"luma {driver}: a library for SPI or GPIO is missing ({exc}). "
                           f"Install them: {_INSTALL}") from exc
    except errors.DeviceDisplayModeError as exc:
        raise DisplayError(f"luma {driver}: {width}x{height} is not a size this controller "
                           f"supports ({exc}). Check display.width and display.height.") from exc
    except errors.DeviceNotFoundError as exc:
        raise DisplayError(f"luma {driver}: SPI {spi_port}.{spi_device} not found ({exc}). "
                           "Enable SPI (sudo raspi-config nonint do_spi 0) and reboot.") from exc
    except (errors.DevicePermissionError, PermissionError) as exc:
        raise DisplayError(f"luma {driver}: not allowed to use SPI or GPIO ({exc}). Add the "
                           "service user to the 'spi' and 'gpio' groups.") from exc
    except errors.UnsupportedPlatform as exc:
        raise DisplayError(f"luma {driver}: GPIO is not available here ({exc}).") from exc
    except (OSError, RuntimeError) as exc:
        raise DisplayError(f"luma {driver}: the panel could not be set up ({exc!r}).") from exc
