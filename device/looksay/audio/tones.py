"""Short sounds made in code, so the device needs no sound files.

Each one must be told apart by ear alone:

- :func:`ack` — one short high blip, the instant a button is pressed (< 80 ms, so the
  press is heard within 100 ms even with the player's start-up time);
- :func:`working` — a soft, quiet tick repeated while waiting for an answer;
- :func:`done` — two notes going up;
- :func:`error` — two lower, buzzier notes going down;
- :func:`busy` — three quick equal pulses, like a telephone's engaged tone.

All are 16-bit mono at :data:`RATE`, made once and cached (they are played on every press).
"""

from __future__ import annotations

import array
import functools
import math

from looksay.audio.wav import Sound

#: Sample rate of every tone.
RATE = 22050

# (frequency Hz, relative amplitude) pairs making up one note's timbre.
_Partials = tuple[tuple[float, float], ...]


def _note(partials: _Partials, seconds: float, level: float, attack: float = 0.004,
          release: float = 0.02, decay: float = 0.0) -> list[float]:
    """Samples in -1..1 of one note, with smooth edges so it does not click."""
    n = round(seconds * RATE)
    a = max(1, round(attack * RATE))
    r = max(1, round(release * RATE))
    total = sum(amp for _f, amp in partials)
    out = []
    for i in range(n):
        t = i / RATE
        v = sum(amp * math.sin(2 * math.pi * f * t) for f, amp in partials) / total
        env = 1.0
        if i < a:
            env = 0.5 - 0.5 * math.cos(math.pi * i / a)
        elif i >= n - r:
            env = 0.5 - 0.5 * math.cos(math.pi * (n - i) / r)
        if decay:
            env *= math.exp(-t / decay)
        out.append(level * env * v)
    return out


def _gap(seconds: float) -> list[float]:
    return [0.0] * round(seconds * RATE)


def _sound(*parts: list[float]) -> Sound:
    samples = array.array("h", (round(32767 * s) for part in parts for s in part))
    return Sound(samples.tobytes(), RATE, 1, 2)


@functools.cache
def ack() -> Sound:
    """The press acknowledgement: one bright 45 ms blip."""
    return _sound(_note(((1320.0, 1.0), (2640.0, 0.25)), 0.045, 0.45, release=0.02))


@functools.cache
def working() -> Sound:
    """A soft tick, repeated while the device waits for an answer."""
    return _sound(_note(((880.0, 1.0), (1760.0, 0.3)), 0.03, 0.15, attack=0.002,
                        release=0.01, decay=0.008))


@functools.cache
def done() -> Sound:
    """Finished: two notes going up."""
    return _sound(_note(((660.0, 1.0), (1320.0, 0.2)), 0.09, 0.4),
                  _gap(0.03),
                  _note(((990.0, 1.0), (1980.0, 0.2)), 0.16, 0.4, release=0.06))


@functools.cache
def error() -> Sound:
    """Something failed: two lower, buzzier notes going down."""
    return _sound(_note(((440.0, 1.0), (880.0, 0.5), (1320.0, 0.35)), 0.16, 0.45),
                  _gap(0.04),
                  _note(((294.0, 1.0), (588.0, 0.5), (882.0, 0.35)), 0.28, 0.45,
                        release=0.08))


@functools.cache
def busy() -> Sound:
    """Still busy with the last press: three quick equal pulses (480 + 620 Hz)."""
    pulse = _note(((480.0, 1.0), (620.0, 1.0)), 0.09, 0.35, release=0.015)
    return _sound(pulse, _gap(0.07), pulse, _gap(0.07), pulse)
