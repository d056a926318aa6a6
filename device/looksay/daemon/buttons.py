"""Two push buttons and their gestures: short, long and double presses.

gpiozero's callbacks run in the pin factory's thread (lgpio's single notification thread
on a Pi), so they only put an :class:`Edge` with its monotonic time on a queue. A
:class:`GestureReader` thread turns the edges into gestures:

- every press edge is reported at once (the daemon plays the acknowledgement then, well
  within 100 ms, before it knows which gesture it is);
- short or long is decided on release (gpiozero fires "pressed" before "held"): held at
  least ``hold_time`` is long;
- a second press within ``double_time`` of the first release is a double press. Only when
  a double action is configured does a short press wait ``double_time`` before it fires;
  otherwise it fires on release.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from looksay.config import ButtonSettings, Settings

log = logging.getLogger(__name__)

EdgeKind = Literal["press", "release", "held"]
GestureKind = Literal["short", "long", "double"]


@dataclass(frozen=True)
class Edge:
    """Something a button did, and when (time.monotonic())."""

    button: int
    kind: EdgeKind
    at: float


@dataclass(frozen=True)
class Gesture:
    """A recognised gesture and the action the config gives it."""

    button: int
    kind: GestureKind
    action: str
    #: time.monotonic() of the press edge that began the gesture.
    pressed_at: float
    #: time.monotonic() when the gesture was recognised.
    decided_at: float


class Buttons:
    """The two gpiozero Buttons; their callbacks only queue :class:`Edge` events.

    ``pin_factory`` None means gpiozero's default (which honours GPIOZERO_PIN_FACTORY).
    Raises gpiozero's errors when the pins cannot be used.
    """

    def __init__(self, settings: Settings, edges: queue.Queue[Edge | None], *,
                 pin_factory: Any = None) -> None:
        from gpiozero import Button

        self._edges = edges
        self.devices: list[Any] = []
        bounce = settings.buttons.bounce_time or None
        try:
            for number, button in ((1, settings.button1), (2, settings.button2)):
                device = Button(button.pin, pull_up=True, bounce_time=bounce,
                                hold_time=settings.buttons.hold_time, pin_factory=pin_factory)
                self.devices.append(device)
                device.when_pressed = self._callback(number, "press")
                device.when_released = self._callback(number, "release")
                device.when_held = self._callback(number, "held")
        except BaseException:
            self.close()
            raise

    def _callback(self, number: int, kind: EdgeKind) -> Callable[[], None]:
        edges = self._edges

        def edge() -> None:
            edges.put(Edge(number, kind, time.monotonic()))

        return edge

    def close(self) -> None:
        """Release the GPIO lines."""
        for device in self.devices:
            try:
                device.close()
            except Exception as exc:
                log.warning("could not release button pin: %s", exc)
        self.devices = []


@dataclass
class _Track:
    # Where one button is in its gesture.
    config: ButtonSettings
    phase: Literal["idle", "down", "wait_double", "down_again"] = "idle"
    pressed_at: float = 0.0
    held: bool = False
    #: In wait_double: when a short press fires if no second press came.
    deadline: float = 0.0


class GestureReader:
    """Reads edges from the queue on its own thread and reports presses and gestures.

    ``on_press(edge)`` runs at every press edge; ``on_held(edge)`` once a button has been
    held ``hold_time`` (a long press is coming); ``on_gesture(gesture)`` when a
    gesture is recognised. They run on the reader thread and must return quickly.
    """

    def __init__(self, settings: Settings, edges: queue.Queue[Edge | None], *,
                 on_press: Callable[[Edge], None],
                 on_gesture: Callable[[Gesture], None],
                 on_held: Callable[[Edge], None] | None = None) -> None:
        self.edges = edges
        self.hold_time = settings.buttons.hold_time
        self.double_time = settings.buttons.double_time
        self.on_press = on_press
        self.on_held = on_held
        self.on_gesture = on_gesture
        self._tracks = {1: _Track(settings.button1), 2: _Track(settings.button2)}
        self._thread = threading.Thread(target=self._run, name="gestures", daemon=True)
        self._stopping = False

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the reader thread runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop reading; gestures still waiting for a double press are dropped."""
        self._stopping = True
        self.edges.put(None)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopping:
            deadlines = [t.deadline for t in self._tracks.values() if t.phase == "wait_double"]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            try:
                edge = self.edges.get(timeout=timeout)
            except queue.Empty:
                edge = None
            if self._stopping:
                return
            try:
                if edge is not None:
                    self._expire(edge.at)
                    self._handle(edge)
                self._expire(time.monotonic())
            except Exception:  # a bug in one callback must not leave the buttons dead
                log.exception("handling button %s failed", edge)

    def _expire(self, now: float) -> None:
        for number, track in self._tracks.items():
            if track.phase == "wait_double" and track.deadline <= now:
                track.phase = "idle"
                self._fire(number, "short", track)

    def _handle(self, edge: Edge) -> None:
        track = self._tracks.get(edge.button)
        if track is None:
            return
        if edge.kind == "press":
            if track.phase == "idle":
                track.phase, track.pressed_at, track.held = "down", edge.at, False
                self.on_press(edge)
            elif track.phase == "wait_double":
                # The second press of a double: it fires now, its release is ignored.
                track.phase = "down_again"
                self.on_press(edge)
                self._fire(edge.button, "double", track)
            # A press while already down is a missed release (bounce): ignore it.
        elif edge.kind == "held":
            if track.phase == "down" and not track.held:
                track.held = True
                if self.on_held is not None:
                    self.on_held(edge)
        elif edge.kind == "release":
            if track.phase == "down":
                if track.held or edge.at - track.pressed_at >= self.hold_time:
                    track.phase = "idle"
                    self._fire(edge.button, "long", track)
                elif track.config.double != "none":
                    track.phase, track.deadline = "wait_double", edge.at + self.double_time
                else:
                    track.phase = "idle"
                    self._fire(edge.button, "short", track)
            elif track.phase == "down_again":
                track.phase = "idle"

    def _fire(self, number: int, kind: GestureKind, track: _Track) -> None:
        action = getattr(track.config, kind)
        self.on_gesture(Gesture(number, kind, action, track.pressed_at, time.monotonic()))
