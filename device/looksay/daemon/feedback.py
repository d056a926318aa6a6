"""What the person hears besides words: acknowledgement, working ticks, done, error, busy.

Every sound, speech included, goes through one :class:`SoundOutput`: one worker thread
plays one sound at a time on the player (``aplay`` on a ``hw:`` device cannot open it
twice). Short cues come before speech. An urgent cue (the acknowledgement of a press,
the busy sound, a new volume level) that arrives while speech plays stops the speech,
plays, and the speech resumes a little before where it stopped, so a press is always
acknowledged at once and no words are lost. Working ticks play only when nothing else
does, so they never overlap or interrupt speech.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from looksay.audio.players import Player
from looksay.audio.wav import Sound
from looksay.config import AudioSettings
from looksay.daemon.state import State, StateFile

log = logging.getLogger(__name__)
#: The lowest volume buttons and commands can set, in percent: the device never goes mute.
MIN_VOLUME = 10

#: Speech resumed after an interruption starts this much before where it stopped, so the
#: interrupted word is heard whole.
REWIND = 0.5


@dataclass
class _Cue:
    sound: Sound
    on_start: Callable[[float], None] | None = None
    tick: bool = False


@dataclass
class _Speech:
    sound: Sound
    #: Seconds already heard (after interruptions).
    offset: float = 0.0
    interrupted: bool = False
    stopped: bool = False
    error: Exception | None = None
    done: threading.Event = field(default_factory=threading.Event)


class SoundOutput:
    """The one place sound comes out; a :class:`~looksay.audio.players.Player` itself.

    ``play`` (used by the pipelines for speech) blocks until the sound has played or was
    stopped; ``stop`` stops speech that is playing or waiting; ``cue`` and the working
    ticks never block. ``close`` stops the worker but not the wrapped player, which its
    owner closes.
    """

    def __init__(self, player: Player) -> None:
        self.player = player
        self._cond = threading.Condition()
        self._cues: collections.deque[_Cue] = collections.deque()
        self._speech: collections.deque[_Speech] = collections.deque()
        self._current: _Cue | _Speech | None = None
        self._closed = False
        self._muted = False
        # Working ticks: how many working() contexts are open, and when the next tick is due.
        self._working = 0
        self._tick: Sound | None = None
        self._tick_interval = 2.0
        self._next_tick = 0.0
        self._thread = threading.Thread(target=self._run, name="sound", daemon=True)
        self._thread.start()

    # -- Player protocol -----------------------------------------------------------------

    @property
    def volume(self) -> int:
        """Volume of everything played, in percent."""
        return self.player.volume

    @volume.setter
    def volume(self, percent: int) -> None:
        self.player.volume = percent

    def play(self, sound: Sound) -> None:
        """Play ``sound`` after any waiting cues; returns when played or stopped."""
        request = _Speech(sound)
        with self._cond:
            if self._closed or self._muted:
                return
            self._speech.append(request)
            self._cond.notify_all()
        request.done.wait()
        if request.error is not None:
            raise request.error

    def stop(self) -> None:
        """Stop speech now, playing or waiting (cues are short and still play)."""
        with self._cond:
            playing = self._current if isinstance(self._current, _Speech) else None
            for request in self._speech:
                request.stopped = True
                request.done.set()
            self._speech.clear()
            self._cond.notify_all()
        if playing is not None:
            self._stop_player(playing)

    def mute(self) -> None:
        """Stop speech now and refuse more until :meth:`unmute` (cues still play).

        For cancelling: the job may be about to hand over its next piece of speech.
        """
        with self._cond:
            self._muted = True
        self.stop()

    def unmute(self) -> None:
        """Accept speech again."""
        with self._cond:
            self._muted = False

    def close(self) -> None:
        """Stop everything and end the worker."""
        with self._cond:
            self._closed = True
            for request in self._speech:
                request.stopped = True
                request.done.set()
            self._speech.clear()
            self._cues.clear()
            busy = self._current is not None
            self._cond.notify_all()
        if busy:
            self.player.stop()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    # -- cues and ticks ------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        """True while the worker runs."""
        return self._thread.is_alive()

    def cue(self, sound: Sound, *, urgent: bool = False,
            on_start: Callable[[float], None] | None = None) -> None:
        """Play a short sound soon, without waiting for it.

        ``urgent`` cues interrupt speech (which resumes after them). ``on_start`` gets the
        time.monotonic() at which the player was handed the sound.
        """
        interrupt = None
        with self._cond:
            if self._closed:
                return
            self._cues.append(_Cue(sound, on_start))
            current = self._current
            if urgent and isinstance(current, _Speech) and not current.interrupted:
                current.interrupted = True
                interrupt = current
            self._cond.notify_all()
        if interrupt is not None:
            self._stop_player(interrupt)

    def _stop_player(self, request: _Speech) -> None:
        # A player may take a moment to let go of the device (aplay is sent SIGTERM and
        # waited for); the pressing thread must not wait with it.
        threading.Thread(target=self._stop_speech, args=(request,), name="sound-stop",
                         daemon=True).start()

    def _stop_speech(self, request: _Speech) -> None:
        # Under the lock, so the worker cannot have moved on to the next sound (which
        # this stop would cut instead) between the check and the stop.
        with self._cond:
            if self._current is request:
                self.player.stop()

    def begin_working(self, tick: Sound, interval: float) -> None:
        """Start ticking every ``interval`` seconds (nested calls count)."""
        with self._cond:
            self._working += 1
            if self._working == 1:
                self._tick, self._tick_interval = tick, interval
                self._next_tick = time.monotonic() + interval
            self._cond.notify_all()

    def end_working(self) -> None:
        """Stop ticking once every begin_working() has ended."""
        with self._cond:
            self._working = max(0, self._working - 1)
            self._cond.notify_all()

    @property
    def idle(self) -> bool:
        """Nothing playing and nothing waiting."""
        with self._cond:
            return self._current is None and not self._cues and not self._speech

    # -- the worker ----------------------------------------------------------------------

    def _next(self) -> _Cue | _Speech | None:
        # Called with the lock held; waits for work. None means closed.
        while not self._closed:
            if self._cues:
                return self._cues.popleft()
            if self._speech:
                return self._speech[0]
            timeout = None
            if self._working and self._tick is not None:
                now = time.monotonic()
                if now >= self._next_tick:
                    self._next_tick = now + self._tick_interval
                    return _Cue(self._tick, tick=True)
                timeout = self._next_tick - now
            self._cond.wait(timeout)
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                item = self._next()
                if item is None:
                    return
                self._current = item
            try:
                if isinstance(item, _Cue):
                    self._play_cue(item)
                else:
                    self._play_speech(item)
            finally:
                with self._cond:
                    self._current = None
                    if isinstance(item, _Speech):
                        self._after_speech(item)
                    # A tick never follows another sound closely.
                    if self._working and not (isinstance(item, _Cue) and item.tick):
                        self._next_tick = max(self._next_tick,
                                              time.monotonic() + min(1.0, self._tick_interval))

    def _play_cue(self, cue: _Cue) -> None:
        if cue.on_start is not None:
            cue.on_start(time.monotonic())
        try:
            self.player.play(cue.sound)
        except Exception as exc:
            log.error("could not play a sound: %s", exc)

    def _play_speech(self, request: _Speech) -> None:
        sound = _tail(request.sound, request.offset)
        with self._cond:
            if request.interrupted:
                return  # a cue came between picking this and starting it: cue first
        began = time.monotonic()
        try:
            self.player.play(sound)
        except Exception as exc:
            request.error = exc
        heard = time.monotonic() - began
        with self._cond:
            if request.interrupted:
                if heard >= sound.duration:
                    request.interrupted = False  # it had finished before the stop came
                else:
                    request.offset = max(0.0, request.offset + heard - REWIND)

    def _after_speech(self, request: _Speech) -> None:
        # Called with the lock held, once the player returned.
        if request.interrupted and not request.stopped and request.error is None \
                and request.offset < request.sound.duration:
            request.interrupted = False  # it stays first in line and resumes after the cue
            return
        if self._speech and self._speech[0] is request:
            self._speech.popleft()
        request.done.set()


def _tail(sound: Sound, offset: float) -> Sound:
    """``sound`` from ``offset`` seconds on."""
    if offset <= 0:
        return sound
    frame = sound.channels * sound.width
    start = min(len(sound.frames), int(offset * sound.rate) * frame)
    return Sound(frames=sound.frames[start:], rate=sound.rate, channels=sound.channels,
                 width=sound.width)


class Ticker:
    """The pipelines' Feedback: a soft tick every ``interval`` seconds while a model works."""

    def __init__(self, output: SoundOutput, tick: Sound, interval: float) -> None:
        self.output = output
        self.tick = tick
        self.interval = interval

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Tick until the block ends (never over speech: ticks wait for silence)."""
        self.output.begin_working(self.tick, self.interval)
        try:
            yield
        finally:
            self.output.end_working()


class Volume:
    """The volume: from the config, changed by buttons or the CLI, remembered, capped."""

    def __init__(self, audio: AudioSettings, output: SoundOutput, state_file: StateFile,
                 state: State) -> None:
        self.audio = audio
        self.output = output
        self.state_file = state_file
        self.state = state
        self._lock = threading.Lock()
        remembered = state.volume
        if remembered is None or state.config_volume != audio.volume:
            # Never changed, or the owner edited audio.volume since: the config wins.
            remembered = audio.volume
        self.level = self._cap(remembered)
        output.volume = self.level

    @property
    def maximum(self) -> int:
        """The cap (audio.max_volume)."""
        return self.audio.max_volume

    def _cap(self, percent: int) -> int:
        # Never silent: a blind user who turned it all the way down could not hear the
        # device again to turn it back up.
        return max(MIN_VOLUME, min(self.audio.max_volume, int(percent)))

    def set(self, percent: int) -> int:
        """Set the volume (kept within MIN_VOLUME..max_volume), remember it and return it."""
        with self._lock:
            self.level = self._cap(percent)
            self.output.volume = self.level
            self.state.volume = self.level
            self.state.config_volume = self.audio.volume
            self.state_file.save_later(self.state)
            return self.level

    def step(self, direction: int) -> tuple[int, bool]:
        """One volume_step up (+1) or down (-1); returns (level, whether it changed)."""
        before = self.level
        after = self.set(before + direction * self.audio.volume_step)
        return after, after != before


class Cues:
    """The short sounds, made once (``looksay.audio.tones``) and played on the output."""

    def __init__(self, output: SoundOutput) -> None:
        from looksay.audio import tones

        self.output = output
        self.ack_sound = tones.ack()
        self.working_sound = tones.working()
        self.done_sound = tones.done()
        self.error_sound = tones.error()
        self.busy_sound = tones.busy()

    def ack(self, on_start: Callable[[float], None] | None = None) -> None:
        """A press was heard (interrupts speech, which resumes)."""
        self.output.cue(self.ack_sound, urgent=True, on_start=on_start)

    def busy(self) -> None:
        """The press was dropped: a job is running."""
        self.output.cue(self.busy_sound, urgent=True)

    def level(self) -> None:
        """The new volume, heard at once (the player already plays at it)."""
        self.output.cue(self.ack_sound, urgent=True)

    def done(self) -> None:
        """The result is ready; it is about to be spoken or shown."""
        self.output.cue(self.done_sound)

    def error(self) -> None:
        """Something failed; the reason is about to be spoken."""
        self.output.cue(self.error_sound)
