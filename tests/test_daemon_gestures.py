"""Button gestures on gpiozero's mock pins, pressed with real timing.

Short, long and double presses are told apart the way a person presses; the press edge
is reported at once (the daemon acknowledges it then), and a short press waits for a
possible second press only when a double action is configured.
"""

from __future__ import annotations

import queue
import threading
import time

import pytest

from looksay import config
from looksay.daemon.buttons import Buttons, Edge, Gesture, GestureReader


def load(tmp_path, *overrides: str) -> config.Settings:
    """Settings from an empty file plus ``overrides``."""
    path = tmp_path / "looksay.toml"
    path.touch()
    return config.load(path, overrides=list(overrides))


class Recorder:
    """Collects what the reader reports, with the time it was reported."""

    def __init__(self) -> None:
        self.presses: list[tuple[Edge, float]] = []
        self.held: list[Edge] = []
        self.gestures: list[Gesture] = []
        self.got = threading.Event()

    def press(self, edge: Edge) -> None:
        self.presses.append((edge, time.monotonic()))

    def hold(self, edge: Edge) -> None:
        self.held.append(edge)

    def gesture(self, gesture: Gesture) -> None:
        self.gestures.append(gesture)
        self.got.set()

    def wait(self, count: int, timeout: float = 3.0) -> list[Gesture]:
        deadline = time.monotonic() + timeout
        while len(self.gestures) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.gestures


@pytest.fixture
def reader(mock_pins, tmp_path):
    """``make(*overrides) -> (recorder, pins)`` with Buttons and a GestureReader running."""
    made = []

    def make(*overrides: str):
        settings = load(tmp_path, "buttons.hold_time=0.4", "buttons.double_time=0.25",
                        *overrides)
        edges: queue.Queue = queue.Queue()
        buttons = Buttons(settings, edges)
        rec = Recorder()
        gestures = GestureReader(settings, edges, on_press=rec.press, on_held=rec.hold,
                                 on_gesture=rec.gesture)
        gestures.start()
        made.append((buttons, gestures))
        pins = {1: mock_pins.pin(settings.button1.pin), 2: mock_pins.pin(settings.button2.pin)}
        return rec, pins

    yield make
    for buttons, gestures in made:
        gestures.stop()
        buttons.close()


def test_short_press_fires_on_release_when_no_double_action(reader):
    rec, pins = reader()
    pins[1].drive_low()
    time.sleep(0.1)
    released = time.monotonic()
    pins[1].drive_high()
    [gesture] = rec.wait(1)
    assert (gesture.button, gesture.kind, gesture.action) == (1, "short", "describe")
    assert gesture.decided_at - released < 0.05, "no double action: no reason to wait"
    assert len(rec.presses) == 1


def test_press_edge_is_reported_at_once_before_the_gesture(reader):
    rec, pins = reader()
    before = time.monotonic()
    pins[1].drive_low()
    deadline = time.monotonic() + 1
    while not rec.presses and time.monotonic() < deadline:
        time.sleep(0.001)
    [(edge, reported)] = rec.presses
    assert edge.kind == "press" and edge.button == 1
    assert before <= edge.at <= reported
    assert reported - before < 0.02
    assert rec.gestures == [], "still held: short or long is not known yet"
    pins[1].drive_high()
    rec.wait(1)


def test_long_press_is_decided_on_release(reader):
    rec, pins = reader()
    pins[2].drive_low()
    time.sleep(0.55)  # past hold_time 0.4
    assert len(rec.held) == 1, "gpiozero reports the hold while the button is still down"
    assert rec.gestures == [], "pressed and held fire first; the gesture waits for release"
    pins[2].drive_high()
    [gesture] = rec.wait(1)
    assert (gesture.button, gesture.kind, gesture.action) == (2, "long", "status")


def test_just_under_hold_time_is_short(reader):
    rec, pins = reader()
    pins[1].drive_low()
    time.sleep(0.3)
    pins[1].drive_high()
    [gesture] = rec.wait(1)
    assert gesture.kind == "short"
    assert rec.held == []


def test_double_press(reader):
    rec, pins = reader("button2.double=volume_up")
    first = time.monotonic()
    pins[2].drive_low()
    time.sleep(0.07)
    pins[2].drive_high()
    time.sleep(0.1)
    pins[2].drive_low()
    second = time.monotonic()
    [gesture] = rec.wait(1)
    assert (gesture.kind, gesture.action) == ("double", "volume_up")
    assert gesture.pressed_at >= first
    assert gesture.decided_at - second < 0.05, "a double fires on the second press edge"
    pins[2].drive_high()
    time.sleep(0.35)
    assert len(rec.gestures) == 1, "the second release adds nothing"
    assert len(rec.presses) == 2, "each press edge is acknowledged"


def test_short_press_waits_for_double_time_when_double_is_configured(reader):
    rec, pins = reader("button1.double=smile")
    pins[1].drive_low()
    time.sleep(0.08)
    released = time.monotonic()
    pins[1].drive_high()
    [gesture] = rec.wait(1)
    waited = gesture.decided_at - released
    assert gesture.kind == "short" and gesture.action == "describe"
    assert 0.25 <= waited < 0.35, f"waited {waited:.3f} s for a second press (double_time 0.25)"


def test_second_press_too_late_is_two_short_presses(reader):
    rec, pins = reader("button1.double=smile")
    for _ in range(2):
        pins[1].drive_low()
        time.sleep(0.06)
        pins[1].drive_high()
        time.sleep(0.4)
    gestures = rec.wait(2)
    assert [g.kind for g in gestures] == ["short", "short"]


def test_buttons_are_independent(reader):
    rec, pins = reader()
    pins[1].drive_low()
    time.sleep(0.05)
    pins[2].drive_low()
    time.sleep(0.05)
    pins[2].drive_high()
    time.sleep(0.05)
    pins[1].drive_high()
    gestures = rec.wait(2)
    assert [(g.button, g.action) for g in gestures] == [(2, "smile"), (1, "describe")]


def test_pins_and_timing_come_from_the_config(mock_pins, tmp_path):
    settings = load(tmp_path, "button1.pin=5", "button2.pin=6", "buttons.bounce_time=0",
                    "buttons.hold_time=2.5")
    buttons = Buttons(settings, queue.Queue())
    try:
        first, second = buttons.devices
        assert first.pin is mock_pins.pin(5) and second.pin is mock_pins.pin(6)
        assert first.pull_up and second.pull_up, "wired to ground, internal pull-ups"
        assert first.hold_time == 2.5
        assert mock_pins.pin(5).bounce is None, "bounce_time 0 means no debounce"
    finally:
        buttons.close()
    settings = load(tmp_path, "buttons.bounce_time=0.05")
    buttons = Buttons(settings, queue.Queue())
    try:
        assert mock_pins.pin(17).bounce == 0.05
    finally:
        buttons.close()


def test_close_releases_the_pins(mock_pins, tmp_path):
    settings = load(tmp_path)
    Buttons(settings, queue.Queue()).close()
    # Released pins can be claimed again (gpiozero refuses a pin that is in use).
    again = Buttons(settings, queue.Queue())
    again.close()
