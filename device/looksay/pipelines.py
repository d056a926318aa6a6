"""The device's two jobs, each read top to bottom.

describe: frame -> caption -> spoken, chunk by chunk, the first chunk playing while the
next is synthesized. smile: frame -> smiling picture -> display and the results folder.

The same functions run from a button (the daemon), the control socket and the command
line. They raise :class:`~looksay.errors.Failure` for anything the person must hear
about; the caller speaks ``failure.spoken``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from PIL import Image

from looksay import text
from looksay.audio.wav import Sound
from looksay.camera.frames import prepare_upload
from looksay.display.fit import caption_card
from looksay.errors import Failure, Kind
from looksay.parts import Parts
from looksay.stopwatch import Stopwatch

log = logging.getLogger(__name__)


class Feedback(Protocol):
    """What the person hears while the device waits (the daemon's ticks)."""

    def working(self) -> contextlib.AbstractContextManager[None]:
        """A context during which a remote model is working."""
        ...


class Silent:
    """No feedback while waiting: for the command line."""

    def working(self) -> contextlib.AbstractContextManager[None]:
        """Nothing happens while waiting."""
        return contextlib.nullcontext()


SILENT = Silent()


@dataclass
class Outcome:
    """What a pipeline produced, with its stage timings in seconds."""

    caption: str = ""
    saved: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: The remote voice failed and the on-device voice spoke instead.
    voice_failure: Failure | None = None


def describe(parts: Parts, image: Image.Image | None = None, *,
             cancel: threading.Event | None = None, feedback: Feedback = SILENT,
             on_caption: Callable[[str], None] | None = None) -> Outcome:
    """Take a frame (or use ``image``), caption it and speak the caption.

    ``on_caption`` gets the caption as soon as it is known, before it is spoken.
    """
    cancel = cancel or threading.Event()
    watch = Stopwatch()
    jpeg = _frame(parts, image, watch)
    with watch.stage("caption"), feedback.working():
        raw = parts.models.caption(jpeg, cancel)
    caption = text.for_listening(raw, parts.settings.caption.max_sentences,
                                 parts.settings.caption.max_chars)
    if not caption:
        raise Failure(Kind.NONSENSE, f"caption empty after cleaning: {raw!r}", service="caption")
    log.info("caption: %s", caption)
    if on_caption:
        on_caption(caption)
    _show_caption(parts, caption)
    outcome = Outcome(caption=caption)
    with watch.stage("speech"):
        outcome.voice_failure = speak(parts, caption, cancel=cancel, feedback=feedback,
                                      watch=watch)
    outcome.timings = watch.stop()
    return outcome


def smile(parts: Parts, image: Image.Image | None = None, *,
          cancel: threading.Event | None = None, feedback: Feedback = SILENT) -> Outcome:
    """Take a frame (or use ``image``), make them smile, show and keep the result."""
    cancel = cancel or threading.Event()
    watch = Stopwatch()
    jpeg = _frame(parts, image, watch)
    with watch.stage("smile"), feedback.working():
        result = parts.models.smile(jpeg, cancel)
    with watch.stage("display"):
        parts.display.show(result)  # the display fits and turns it for its panel
        saved = parts.results.save_image(result, "smile")
    return Outcome(saved=saved, timings=watch.stop())


def speak(parts: Parts, sentence: str, *, cancel: threading.Event | None = None,
          feedback: Feedback = SILENT, watch: Stopwatch | None = None) -> Failure | None:
    """Say ``sentence`` with the remote voice, falling back to the on-device voice.

    A producer thread synthesizes chunk after chunk into a short queue while this thread
    plays them, so the first sound comes after one chunk's round trip. If the remote
    voice fails, the rest is spoken by the local voice and the failure is returned (the
    words still reach the person); cancelling raises ``Failure(CANCELLED)``.
    """
    cancel = cancel or threading.Event()
    watch = watch or Stopwatch()
    pieces = text.chunks(sentence, parts.settings.speech.chunk_chars)
    ready: queue.Queue[Sound | Failure | None] = queue.Queue(maxsize=2)
    producer = threading.Thread(target=_synthesize_all, args=(parts, pieces, ready, cancel),
                                name="synthesize", daemon=True)
    producer.start()
    spoken = 0
    failure: Failure | None = None
    try:
        while True:
            with _waiting(feedback, ready):
                item = _next(ready, cancel)
            if item is None:
                break
            if isinstance(item, Failure):
                failure = item
                break
            watch.mark("first_sound")
            parts.play(item)
            spoken += 1
            if cancel.is_set():
                raise Failure(Kind.CANCELLED, "cancelled while speaking")
    finally:
        cancel_producer = failure is not None or cancel.is_set()
        if cancel_producer:
            _drain(ready)
        producer.join(timeout=0.1 if cancel_producer else None)
    if failure is None:
        return None
    if failure.kind is Kind.CANCELLED:
        raise failure
    log.warning("remote voice failed (%s); using the local voice", failure)
    rest = " ".join(pieces[spoken:])
    watch.mark("first_sound")
    parts.say_locally(rest)
    return failure


def announce(parts: Parts, failure: Failure) -> None:
    """Say why something failed, with the on-device voice (it works offline).

    Never raises: when the speaker itself is broken, the log is all that is left.
    """
    try:
        parts.say_locally(failure.spoken)
    except Failure as speaker:
        log.error("could not say %r: %s", failure.spoken, speaker)


def _frame(parts: Parts, image: Image.Image | None, watch: Stopwatch) -> bytes:
    with watch.stage("capture"):
        frame = image if image is not None else parts.camera().capture()
        return prepare_upload(frame, parts.settings.camera.max_side,
                              parts.settings.camera.jpeg_quality)


def _show_caption(parts: Parts, caption: str) -> None:
    if not parts.settings.display.show_caption or parts.settings.display.kind == "none":
        return
    try:
        parts.display.show(caption_card(caption, parts.display.size))
    except Exception as exc:
        log.warning("could not show the caption: %s", exc)


def _synthesize_all(parts: Parts, pieces: list[str], ready: queue.Queue,
                    cancel: threading.Event) -> None:
    try:
        for piece in pieces:
            if cancel.is_set():
                break
            ready.put(parts.models.synthesize(piece, cancel))
    except Failure as failure:
        ready.put(failure)
        return
    except Exception as exc:
        ready.put(Failure(Kind.INTERNAL, repr(exc), service="speech"))
        return
    ready.put(None)


def _next(ready: queue.Queue, cancel: threading.Event) -> Sound | Failure | None:
    while True:
        try:
            return ready.get(timeout=0.1)
        except queue.Empty:
            if cancel.is_set():
                raise Failure(Kind.CANCELLED, "cancelled while waiting for speech") from None


@contextlib.contextmanager
def _waiting(feedback: Feedback, ready: queue.Queue) -> Iterator[None]:
    # Ticks only when the next chunk is not already there: no tick between two chunks
    # that follow each other without a pause.
    if ready.empty():
        with feedback.working():
            yield
    else:
        yield


def _drain(ready: queue.Queue) -> None:
    # Unblock a producer stuck on a full queue so it can see the cancel and finish.
    with contextlib.suppress(queue.Empty):
        while True:
            ready.get_nowait()
