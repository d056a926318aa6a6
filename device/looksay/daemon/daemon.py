"""``looksay run``: the daemon systemd starts at boot.

Threads, and what each may do:

- main: start-up, then the loop that pings systemd's watchdog while the daemon makes
  progress and keeps ``STATUS=`` current; shutdown on SIGTERM/SIGINT;
- gestures (:mod:`.buttons`): turns button edges into gestures; acknowledges presses;
- job: runs one job at a time (describe, smile, repeat, status, say). A press while a
  job runs gets the busy sound and is dropped, never queued; a long press cancels it;
- sound (:mod:`.feedback`): the only thread that plays anything;
- control (:mod:`.control`): answers ``looksay press/status/say/volume``;
- camera: opens the camera in the background at start and keeps trying while it is
  missing or busy, so the rest of the device works without it.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import importlib.metadata
import itertools
import logging
import math
import os
import platform
import queue
import select
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from looksay import __version__, paths, pipelines
from looksay.camera import CaptureHook, make_camera
from looksay.config import ACTIONS, CameraSettings, Settings
from looksay.daemon import control, netinfo
from looksay.daemon.buttons import Buttons, Edge, Gesture, GestureReader
from looksay.daemon.feedback import Cues, SoundOutput, Ticker, Volume
from looksay.daemon.leds import Leds
from looksay.daemon.notify import Notifier
from looksay.daemon.state import StateFile
from looksay.errors import SERVICE_NAMES, Failure, Kind
from looksay.parts import Parts, open_parts

log = logging.getLogger("looksay.daemon")

#: Actions that run as a job on the job thread (one at a time).
JOB_ACTIONS = frozenset({"describe", "smile", "repeat", "status"})
#: Actions done at once, even while a job runs.
QUICK_ACTIONS = frozenset({"volume_up", "volume_down", "cancel", "none"})
#: Added to the sum of the model timeouts to give a job's deadline: past it, the job is
#: stuck and the watchdog pings stop so that systemd restarts the daemon.
JOB_MARGIN = 60.0
#: Seconds each Space may take to answer the status action's probe.
PROBE_TIMEOUT = 8.0
#: Camera retry delays while it is missing or busy: first, then doubling up to the last.
CAMERA_RETRY = (2.0, 30.0)
#: Everything after SIGTERM must be done within 5 s; these bound the waits inside.
STOP_JOIN = 1.5
#: Longest text `looksay say` accepts.
MAX_SAY_CHARS = 2000
CAMERA_KINDS = frozenset({Kind.CAMERA_MISSING, Kind.CAMERA_BUSY, Kind.CAMERA_FAILED})

CameraFactory = Callable[..., Any]


class DaemonError(Exception):
    """The daemon cannot start; the message says why."""


@dataclass
class Job:
    """One press that runs on the job thread, and how it went."""

    id: str
    action: str
    source: str
    deadline: float
    text: str = ""
    pressed_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    #: Set when the daemon is stopping: the job ends without a word.
    stopping: bool = False
    outcome: str = ""
    caption: str = ""
    #: What the device said as the result (the caption, the status sentences...).
    said: str = ""
    failure: Failure | None = None
    timings: dict[str, float] = field(default_factory=dict)
    ack: float | None = None

    def reply(self) -> dict[str, Any]:
        """The job's result for a control client."""
        out: dict[str, Any] = {"ok": self.outcome == "ok", "id": self.id, "action": self.action,
                               "outcome": self.outcome, "timings": _rounded(self.timings)}
        if self.caption:
            out["caption"] = self.caption
        if self.said:
            out["said"] = self.said
        if self.failure is not None:
            out.update(error=self.failure.kind.name.lower(), spoken=self.failure.spoken,
                       detail=str(self.failure))
        return out


class Daemon:
    """The running device. ``run()`` blocks until SIGTERM/SIGINT or :meth:`request_stop`.

    ``pin_factory`` None uses gpiozero's default (GPIOZERO_PIN_FACTORY is honoured);
    ``camera_factory(settings.camera, on_capture=hook)`` builds the camera;
    ``greet`` says "Ready." once started.
    """

    def __init__(self, settings: Settings, *, pin_factory: Any = None,
                 notifier: Notifier | None = None,
                 camera_factory: CameraFactory = make_camera,
                 job_margin: float = JOB_MARGIN, greet: bool = True,
                 camera_retry: tuple[float, float] = CAMERA_RETRY) -> None:
        self.settings = settings
        self.pin_factory = pin_factory
        self.notifier = notifier or Notifier()
        self.camera_factory = camera_factory
        self.job_margin = job_margin
        self.greet = greet
        self.camera_retry = camera_retry
        self.state = "starting"
        self.started_at = time.monotonic()
        self.started_wall = _now()
        self.ready_at: float | None = None
        self.versions = _versions()
        self.parts: Parts | None = None
        self.output: SoundOutput | None = None
        self.cues: Cues | None = None
        self.ticker: Ticker | None = None
        self.volume: Volume | None = None
        self.leds: Leds | None = None
        self.buttons: Buttons | None = None
        self.buttons_problem = ""
        self.reader: GestureReader | None = None
        self.server: control.ControlServer | None = None
        self.camera_status = "opening"
        self.last_error: dict[str, Any] | None = None
        self.last_press: dict[str, Any] | None = None
        self.last_timings: dict[str, float] = {}
        #: The words of the last job's result, as spoken.
        self.last_said = ""
        self.presses = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._job: Job | None = None
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._camera_thread: threading.Thread | None = None
        self._camera_stop = threading.Event()
        self._acks: dict[float, float] = {}
        self._acks_lock = threading.Lock()
        self._edges: queue.Queue[Edge | None] = queue.Queue()
        self._stack = contextlib.ExitStack()
        self._stop_requested = False
        # The main loop sleeps in select() on this pipe; a signal handler writes to it.
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        self._stuck_logged: str | None = None
        self._shut = False
        self.state_file = StateFile(paths.state_dir())
        self.memory = self.state_file.load()

    # ------------------------------------------------------------------ lifecycle

    def run(self, *, handle_signals: bool = True) -> int:
        """Start, serve until asked to stop, shut down; returns the exit status."""
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_signal)
        try:
            self.start()
            self._loop()
        finally:
            self.shutdown()
        return 0

    def start(self) -> None:
        """Bring everything up and tell systemd READY=1 (the camera may still be opening)."""
        self.notifier.status("Starting")
        # Before touching the camera or the pins, which another daemon would be holding.
        self.server = control.ControlServer(control.server_path(), self.handle_request)
        if self.server.answers():
            raise DaemonError(f"another looksay daemon is listening on {self.server.path}: "
                              "looksay is already running")
        self.leds = Leds(self.settings.feedback, pin_factory=self.pin_factory)
        camera = functools.partial(_build_camera, self.camera_factory, self.leds.capturing)
        self.parts = self._stack.enter_context(open_parts(self.settings, camera=camera))
        self.output = SoundOutput(self.parts.player)
        # Every sound, speech included, now goes through the one output worker.
        self.parts.player = self.output
        self.cues = Cues(self.output)
        self.ticker = Ticker(self.output, self.cues.working_sound,
                             self.settings.feedback.working_interval)
        self.volume = Volume(self.settings.audio, self.output, self.state_file, self.memory)
        try:
            self.buttons = Buttons(self.settings, self._edges, pin_factory=self.pin_factory)
        except Exception as exc:
            self.buttons_problem = f"{type(exc).__name__}: {exc}"
            log.error("buttons unavailable (%s); the control socket still works",
                      self.buttons_problem)
        if self.buttons is not None:
            self.reader = GestureReader(self.settings, self._edges, on_press=self._on_press,
                                        on_held=self._on_held, on_gesture=self._on_gesture)
            self.reader.start()
        self._worker = threading.Thread(target=self._work, name="job", daemon=True)
        self._worker.start()
        try:
            self.server.start()
        except control.AlreadyRunning as exc:
            raise DaemonError(f"{exc}: looksay is already running") from None
        except OSError as exc:
            raise DaemonError(f"cannot make the control socket {self.server.path}: {exc}"
                              ) from None
        self.state = "ready"
        self.ready_at = time.monotonic()
        self.leds.show("ready")
        self.notifier.ready(self.status_line())
        log.info("ready in %.2f s (buttons: %s, sound: %s)", self.ready_at - self.started_at,
                 "ok" if self.buttons else self.buttons_problem,
                 type(self.output.player).__name__)
        self._camera_thread = threading.Thread(target=self._open_camera, name="camera",
                                               daemon=True)
        self._camera_thread.start()
        if self.greet:
            threading.Thread(target=self._say_ready, name="greet", daemon=True).start()

    def request_stop(self) -> None:
        """Ask the main loop to stop (thread-safe and safe in a signal handler)."""
        self._stop_requested = True
        wake = self._wake_w
        if wake is not None:
            with contextlib.suppress(OSError):
                os.write(wake, b"\0")

    def _on_signal(self, signum: int, _frame: Any) -> None:
        # Only a flag and a byte down a pipe: anything with locks could deadlock here.
        self.request_stop()

    def _loop(self) -> None:
        interval = self.notifier.watchdog_interval
        next_ping = time.monotonic()
        shown = ""
        while not self._stop_requested:
            now = time.monotonic()
            wait = 0.5 if interval is None else max(0.0, min(0.5, next_ping - now))
            readable, _, _ = select.select([self._wake_r], [], [], wait)
            if readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 64)
            if self._stop_requested:
                break
            problem = self.health()
            now = time.monotonic()
            if interval is not None and now >= next_ping:
                if problem is None:
                    self.notifier.watchdog()
                    next_ping = now + interval
                elif self._stuck_logged != problem:
                    log.error("%s: no more watchdog pings, so systemd restarts looksay",
                              problem)
                    self._stuck_logged = problem
            line = problem or self.status_line()
            if line != shown:
                self.notifier.status(line)
                shown = line

    def health(self) -> str | None:
        """None while the daemon makes progress; otherwise what is wrong."""
        job = self._job
        if job is not None and job.started_at is not None and time.monotonic() > job.deadline:
            return (f"Stuck: press {job.id} ({job.action}) has run "
                    f"{time.monotonic() - job.started_at:.0f} s")
        alive = {"job": self._worker is not None and self._worker.is_alive(),
                 "sound": self.output is not None and self.output.alive,
                 "gestures": self.reader is None or self.reader.alive,
                 "control": self.server is not None and self.server.alive}
        for name, ok in alive.items():
            if not ok:
                return f"Stuck: the {name} thread has ended"
        return None

    def shutdown(self) -> None:
        """Stop within 5 s: jobs cancelled, sound stopped, camera closed, GPIO released."""
        if self._shut:
            return
        self._shut = True
        began = time.monotonic()
        self.state = "stopping"
        self.notifier.stopping("Stopping")
        if self.server is not None:
            self.server.close()
        if self.reader is not None:
            self.reader.stop()
        if self.buttons is not None:
            self.buttons.close()
        job = self._job
        if job is not None:
            job.stopping = True
            job.cancel.set()
        self._camera_stop.set()
        if self.output is not None:
            self.output.close()
        self._jobs.put(None)
        if self._worker is not None:
            self._worker.join(STOP_JOIN)
            if self._worker.is_alive():
                log.warning("the job thread did not end in %.1f s; leaving it", STOP_JOIN)
        if self.leds is not None:
            self.leds.close()
        self.state_file.flush()
        try:
            self._stack.close()  # the parts: camera, remote models, player, display
        except Exception:
            log.exception("closing the parts failed")
        fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), None, None
        for fd in fds:
            if fd is not None:
                os.close(fd)
        log.info("stopped in %.2f s", time.monotonic() - began)

    # ------------------------------------------------------------------ presses

    def _on_press(self, edge: Edge) -> None:
        def heard(started: float) -> None:
            with self._acks_lock:
                self._acks[edge.at] = started - edge.at
                while len(self._acks) > 16:  # acks of presses that never became gestures
                    self._acks.pop(next(iter(self._acks)))

        self.cues.ack(on_start=heard)

    def _on_held(self, edge: Edge) -> None:
        # Held long enough: a second blip says a long press will count when let go.
        button = self.settings.button1 if edge.button == 1 else self.settings.button2
        if self._job is not None or button.long != "none":
            self.cues.ack()

    def _on_gesture(self, gesture: Gesture) -> None:
        self.press(gesture.action, f"button{gesture.button} {gesture.kind}",
                   pressed_at=gesture.pressed_at, long_press=gesture.kind == "long")

    def press(self, action: str, source: str, *, pressed_at: float | None = None,
              long_press: bool = False, text: str = "") -> Job | dict[str, Any]:
        """Do ``action``: a started :class:`Job`, or a reply dict for quick/dropped ones.

        While a job runs, a long press (of any button) cancels it, volume and cancel
        actions still work, and anything else gets the busy sound and is dropped.
        """
        if action not in ACTIONS and action != "say":
            raise ValueError(f"unknown action {action!r}")
        pressed_at = time.monotonic() if pressed_at is None else pressed_at
        with self._lock:
            self.presses += 1
            press_id = f"{next(self._ids):04d}"
            running = self._job
            if running is not None and long_press:
                action = "cancel"
            if action in QUICK_ACTIONS:
                return self._quick(press_id, action, source, pressed_at, running)
            if running is not None or self._shut:
                self.cues.busy()
                why = "stopping" if self._shut else f"busy with {running.id} {running.action}"
                self._log_press(press_id, source, action, f"dropped ({why})",
                                self._ack_for(pressed_at))
                return {"ok": False, "id": press_id, "action": action, "outcome": "busy",
                        "error": "busy",
                        "message": f"looksay is {why}; try again when it finishes"
                        if running else "looksay is stopping"}
            job = Job(press_id, action, source, deadline=0.0, text=text, pressed_at=pressed_at)
            job.deadline = pressed_at + self.job_budget(action, text)
            self._job = job
            if self.leds is not None:
                self.leds.show("working")
        self._jobs.put(job)
        return job

    def _quick(self, press_id: str, action: str, source: str, pressed_at: float,
               running: Job | None) -> dict[str, Any]:
        reply: dict[str, Any] = {"ok": True, "id": press_id, "action": action,
                                 "outcome": "done"}
        note = "done"
        if action in ("volume_up", "volume_down"):
            level, changed = self.volume.step(1 if action == "volume_up" else -1)
            if changed:
                self.cues.level()
            else:
                self.cues.busy()  # at the top or bottom already: nothing changed
            reply.update(volume=level, changed=changed)
            note = f"volume {level}%" + ("" if changed else " (at the limit)")
        elif action == "cancel":
            if running is not None:
                self._cancel(running)
                note = f"cancelled {running.id} {running.action}"
            else:
                note = "nothing to cancel"
            reply["cancelled"] = running.id if running is not None else None
        self._log_press(press_id, source, action, note, self._ack_for(pressed_at))
        return reply

    def _cancel(self, job: Job) -> None:
        job.cancel.set()
        # Silence the speech now, and keep silent until the job has unwound.
        self.output.mute()

    def _ack_for(self, pressed_at: float) -> float | None:
        with self._acks_lock:
            return self._acks.pop(pressed_at, None)

    def job_budget(self, action: str, text: str = "") -> float:
        """Seconds a job may run before it counts as stuck."""
        s = self.settings
        chars = len(text) if action == "say" else s.caption.max_chars
        pieces = math.ceil(max(1, chars) / s.speech.chunk_chars)
        # The speaking itself: well under 10 characters a second even for slow voices.
        speaking = chars / 8
        if action in ("describe", "repeat", "say"):
            models = s.speech.timeout * pieces + (s.caption.timeout + s.camera.timeout
                                                  if action == "describe" else 0)
        elif action == "smile":
            models = s.camera.timeout + s.smile.timeout
        else:
            models = PROBE_TIMEOUT
        return models + speaking + self.job_margin

    # ------------------------------------------------------------------ the job thread

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception:
                log.exception("press %s (%s) failed inside the daemon", job.id, job.action)
            finally:
                with self._lock:
                    self._job = None
                self.output.unmute()  # a cancel that came during the last words
                job.done.set()

    def _run(self, job: Job) -> None:
        parts = self.parts
        job.started_at = time.monotonic()
        self.output.unmute()
        voice_failure: Failure | None = None
        try:
            if job.action == "describe":
                outcome = pipelines.describe(parts, cancel=job.cancel, feedback=self.ticker,
                                             on_caption=functools.partial(self._caption, job))
                job.timings, voice_failure = outcome.timings, outcome.voice_failure
                self.camera_status = "ready"
            elif job.action == "smile":
                outcome = pipelines.smile(parts, cancel=job.cancel, feedback=self.ticker)
                job.timings = outcome.timings
                self.camera_status = "ready"
                self._check_cancel(job)
                self.cues.done()
                job.said = self._smile_words(outcome.saved is not None)
                parts.say_locally(job.said)
            elif job.action == "repeat":
                caption = self.memory.last_caption
                if caption:
                    job.caption = job.said = caption
                    voice_failure = pipelines.speak(parts, caption, cancel=job.cancel,
                                                    feedback=self.ticker)
                else:
                    job.said = "I have not described anything yet."
                    parts.say_locally(job.said)
            elif job.action == "status":
                job.said = self._status_words(job)
                parts.say_locally(job.said)
            elif job.action == "say":
                job.said = job.text
                voice_failure = pipelines.speak(parts, job.text, cancel=job.cancel,
                                                feedback=self.ticker)
            self._check_cancel(job)
        except Failure as failure:
            job.failure = failure
        except Exception as exc:
            log.exception("press %s (%s) failed", job.id, job.action)
            job.failure = Failure(Kind.INTERNAL, repr(exc))
        job.timings.setdefault("total", time.monotonic() - job.started_at)
        self.output.unmute()
        if job.stopping:
            job.outcome = "stopped"
        elif job.cancel.is_set():
            job.outcome = "cancelled"
            job.failure = None
            pipelines.announce(parts, Failure(Kind.CANCELLED, "cancelled by a press"))
        elif job.failure is not None:
            job.outcome = "failed"
            self._remember_failure(job, job.failure)
            if job.failure.kind in CAMERA_KINDS:
                self.camera_status = f"unavailable: {job.failure.kind.name.lower()}"
                self._retry_camera()
            self.cues.error()
            pipelines.announce(parts, job.failure)
        else:
            job.outcome = "ok"
            if voice_failure is not None:
                # The words were said by the local voice; say why the voice changed.
                job.failure = voice_failure
                self._remember_failure(job, voice_failure)
                self.cues.error()
                pipelines.announce(parts, voice_failure)
        self.last_timings = dict(job.timings)
        if job.said:
            self.last_said = job.said
        if self.leds is not None and not job.stopping:
            self.leds.show("error" if job.outcome == "failed" else "ready")
        self.last_press = {"id": job.id, "action": job.action, "source": job.source,
                           "outcome": job.outcome, "at": _now()}
        job.ack = self._ack_for(job.pressed_at)
        detail = f" [{job.failure}]" if job.failure is not None else ""
        self._log_press(job.id, job.source, job.action, job.outcome + detail, job.ack,
                        job.timings, failed=job.outcome == "failed")

    def _check_cancel(self, job: Job) -> None:
        if job.cancel.is_set():
            raise Failure(Kind.CANCELLED, "cancelled by a press")

    def _caption(self, job: Job, caption: str) -> None:
        job.caption = job.said = caption
        self.memory.last_caption = caption
        self.memory.last_caption_at = _now()
        self.state_file.save(self.memory)
        self.cues.done()

    def _smile_words(self, saved: bool) -> str:
        if self.settings.display.kind != "none":
            return "The smiling picture is on the screen."
        return "The smiling picture is saved." if saved else "Done."

    def _remember_failure(self, job: Job, failure: Failure) -> None:
        self.last_error = {"press": job.id, "action": job.action,
                           "kind": failure.kind.name.lower(), "service": failure.service,
                           "spoken": failure.spoken, "detail": str(failure), "at": _now()}

    def _status_words(self, job: Job) -> str:
        """The status action's sentences: address, network, each Space, camera, volume."""
        address, up = netinfo.summary()
        words = [f"My address is {netinfo.spoken_address(address)}." if address else
                 "I have no network address."]
        words.append("The network is up." if up else "The network is down.")
        if up:
            with self.ticker.working():
                answers = self._probe_all(job)
            for service, answer in answers.items():
                words.append(f"The {SERVICE_NAMES[service]} {_probe_words(answer)}.")
        else:
            words.append("I can't check the services without the network.")
        if self.camera_status == "ready":
            words.append("The camera is ready.")
        elif self.camera_status.startswith("unavailable"):
            words.append("The camera is not available.")
        else:
            words.append("The camera is starting.")
        words.append(f"The volume is {self.volume.level} percent.")
        return " ".join(words)

    def _probe_all(self, job: Job) -> dict[str, str]:
        models = self.parts.models
        services = ("caption", "speech", "smile")
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="probe")
        try:
            futures = {s: pool.submit(models.probe, s, PROBE_TIMEOUT) for s in services}
            pending = set(futures.values())
            while pending:
                _, pending = concurrent.futures.wait(pending, timeout=0.1)
                self._check_cancel(job)
            answers = {s: f.result() for s, f in futures.items()}
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for service, answer in answers.items():
            log.info("status: %s %s", service, answer)
        return answers

    # ------------------------------------------------------------------ the camera

    def _open_camera(self) -> None:
        delay, longest = self.camera_retry
        while not self._camera_stop.is_set():
            try:
                self.parts.camera().open()
            except Failure as failure:
                self.camera_status = f"unavailable: {failure.kind.name.lower()}"
                log.warning("camera unavailable (%s); trying again in %.0f s", failure, delay)
            except Exception:
                self.camera_status = "unavailable: internal"
                log.exception("opening the camera failed; trying again in %.0f s", delay)
            else:
                if self.camera_status != "ready":
                    log.info("camera ready")
                self.camera_status = "ready"
                return
            self._camera_stop.wait(delay)
            delay = min(longest, delay * 2)

    def _retry_camera(self) -> None:
        thread = self._camera_thread
        if self._shut or (thread is not None and thread.is_alive()):
            return
        self._camera_thread = threading.Thread(target=self._open_camera, name="camera",
                                               daemon=True)
        self._camera_thread.start()

    def _say_ready(self) -> None:
        words = "Ready."
        if self.buttons is None:
            words += " I can't use the buttons. Ask the owner to check the settings."
        try:
            self.parts.say_locally(words)
        except Failure as failure:
            log.error("could not say %r at start: %s", words, failure)

    # ------------------------------------------------------------------ control requests

    def handle_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one control-socket request (see :mod:`looksay.daemon.control`)."""
        cmd = request.get("cmd")
        if cmd == "status":
            return {"ok": True, "status": self.status()}
        if cmd == "press":
            action = request.get("action")
            if action not in ACTIONS:
                return _bad(f"unknown action {action!r}; actions: {', '.join(ACTIONS)}")
            if action in JOB_ACTIONS:
                self.cues.ack()
            return self._answer(self.press(action, "control"), request)
        if cmd == "say":
            text = request.get("text")
            if not isinstance(text, str) or not text.strip():
                return _bad("nothing to say")
            if len(text) > MAX_SAY_CHARS:
                return _bad(f"too long: at most {MAX_SAY_CHARS} characters")
            return self._answer(self.press("say", "control", text=text.strip()), request)
        if cmd == "volume":
            return self._volume_request(request.get("value"))
        return _bad(f"unknown command {cmd!r}")

    def _answer(self, result: Job | dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        if isinstance(result, dict):
            return result
        if request.get("wait", True) is False:
            return {"ok": True, "id": result.id, "action": result.action,
                    "outcome": "started"}
        if not result.done.wait(max(1.0, result.deadline - time.monotonic()) + 5):
            return {"ok": False, "id": result.id, "action": result.action,
                    "outcome": "running", "error": "timeout",
                    "message": "the job is still running past its deadline"}
        return result.reply()

    def _volume_request(self, value: Any) -> dict[str, Any]:
        before = self.volume.level
        if value in ("up", "down"):
            return self._quick_reply(self.press(f"volume_{value}", "control"))
        if value is None:
            level = before
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100:
            level = self.volume.set(value)
            if level != before:
                self.cues.level()
            log.info("volume set to %d%% from the control socket", level)
        else:
            return _bad("volume must be up, down or a whole number from 0 to 100")
        return {"ok": True, "volume": level, "max_volume": self.volume.maximum,
                "changed": level != before, "capped": isinstance(value, int)
                and value > level}

    def _quick_reply(self, result: Job | dict[str, Any]) -> dict[str, Any]:
        assert isinstance(result, dict)  # volume actions never make a job
        result["max_volume"] = self.volume.maximum
        return result

    # ------------------------------------------------------------------ status

    def status_line(self) -> str:
        """The short human state for systemd's STATUS=."""
        if self.state != "ready":
            return self.state.capitalize()
        job = self._job
        line = f"Working: {job.action} (press {job.id})" if job is not None else "Ready"
        notes = []
        if self.buttons is None:
            notes.append("buttons unavailable")
        if self.camera_status.startswith("unavailable"):
            notes.append("camera unavailable")
        return line + ("; " + ", ".join(notes) if notes else "")

    def status(self) -> dict[str, Any]:
        """Everything `looksay status` shows, as plain data."""
        job = self._job
        state = "working" if self.state == "ready" and job is not None else self.state
        return {
            "state": state,
            "uptime": round(time.monotonic() - self.started_at, 1),
            "started": self.started_wall,
            "pid": os.getpid(),
            "job": None if job is None else {
                "id": job.id, "action": job.action, "source": job.source,
                "running_for": round(time.monotonic() - (job.started_at or job.pressed_at), 1)},
            "last_caption": self.memory.last_caption,
            "last_caption_at": self.memory.last_caption_at,
            "last_said": self.last_said,
            "last_error": self.last_error,
            "last_press": self.last_press,
            "last_timings": _rounded(self.last_timings),
            "volume": self.volume.level if self.volume else None,
            "max_volume": self.settings.audio.max_volume,
            "camera": self.camera_status,
            "buttons": "ready" if self.buttons is not None else
                       f"unavailable: {self.buttons_problem}",
            "presses": self.presses,
            "versions": self.versions,
        }

    def _log_press(self, press_id: str, source: str, action: str, outcome: str,
                   ack: float | None, timings: dict[str, float] | None = None, *,
                   failed: bool = False) -> None:
        stages = dict(timings or {})
        if ack is not None:
            stages = {"ack": ack, **stages}
        summary = " ".join(f"{k}={v:.3f}s" if k == "ack" else f"{k}={v:.2f}s"
                           for k, v in stages.items())
        log.log(logging.WARNING if failed else logging.INFO, "press %s %s -> %s: %s%s",
                press_id, source, action, outcome, f" {summary}" if summary else "")


def _build_camera(factory: CameraFactory, hook: CaptureHook,
                  settings: CameraSettings) -> Any:
    return factory(settings, on_capture=hook)


def _probe_words(answer: str) -> str:
    head = answer.split(":", 1)[0].strip().lower()
    return {"answers": "answers", "busy": "is busy", "changed": "has changed"}.get(
        head, "does not answer")


def _bad(message: str) -> dict[str, Any]:
    return {"ok": False, "error": "bad-request", "message": message}


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in timings.items()}


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


def _versions() -> dict[str, str]:
    found = {"looksay": __version__, "python": platform.python_version()}
    for dist in ("gradio_client", "gpiozero", "pillow"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found
