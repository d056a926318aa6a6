"""Optional LEDs: a status LED and a privacy LED, through gpiozero.

The status LED is steady when the device is ready, pulses while it works and blinks after
a failure (until the next press). The privacy LED is lit while the camera takes a picture,
so the people in front of it know. Either LED is left out when its pin is 0. An LED that
cannot be set up is logged and left out: lights are a courtesy, the voice is what matters.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from looksay.config import FeedbackSettings

log = logging.getLogger(__name__)

Status = Literal["off", "ready", "working", "error"]

#: Blink timing after a failure, seconds on / off.
ERROR_BLINK = (0.25, 0.25)
#: Pulse timing while working, seconds fading in / out.
WORKING_PULSE = (0.6, 0.6)


class Leds:
    """The status and privacy LEDs (each optional)."""

    def __init__(self, settings: FeedbackSettings, *, pin_factory: Any = None) -> None:
        self.status_led: Any = None
        self.privacy_led: Any = None
        self.state: Status = "off"
        self._lock = threading.Lock()
        if settings.status_led_pin:
            self.status_led = _make_led(settings.status_led_pin, pin_factory, pwm=True)
        if settings.privacy_led_pin:
            self.privacy_led = _make_led(settings.privacy_led_pin, pin_factory, pwm=False)

    def show(self, state: Status) -> None:
        """Set the status LED: off, ready (steady), working (pulsing) or error (blinking)."""
        with self._lock:
            if state == self.state:
                return
            self.state = state
            led = self.status_led
            if led is None:
                return
            try:
                if state == "off":
                    led.off()
                elif state == "ready":
                    led.on()
                elif state == "working":
                    if hasattr(led, "pulse"):
                        led.pulse(*WORKING_PULSE)
                    else:  # no PWM on this pin: a slow blink says "working" instead
                        led.blink(0.5, 0.5)
                else:
                    led.blink(*ERROR_BLINK)
            except Exception as exc:
                log.warning("status LED: %s", exc)

    def capturing(self, on: bool) -> None:
        """Light the privacy LED while the camera captures."""
        led = self.privacy_led
        if led is None:
            return
        try:
            if on:
                led.on()
            else:
                led.off()
        except Exception as exc:
            log.warning("privacy LED: %s", exc)

    def close(self) -> None:
        """Turn the LEDs off and release their pins."""
        with self._lock:
            for led in (self.status_led, self.privacy_led):
                if led is None:
                    continue
                try:
                    led.close()
                except Exception as exc:
                    log.warning("could not release LED pin: %s", exc)
            self.status_led = self.privacy_led = None
            self.state = "off"


def _make_led(pin: int, pin_factory: Any, *, pwm: bool) -> Any:
    from gpiozero import LED, PWMLED
    from gpiozero.exc import PinPWMUnsupported

    try:
        if pwm:
            try:
                return PWMLED(pin, pin_factory=pin_factory)
            except PinPWMUnsupported:
                log.info("LED on BCM %d: no PWM on this pin, blinking instead of pulsing", pin)
        return LED(pin, pin_factory=pin_factory)
    except Exception as exc:
        log.error("LED on BCM %d unavailable: %s", pin, exc)
        return None
