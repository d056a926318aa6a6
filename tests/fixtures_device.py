"""Fixtures for the device's hardware edges: photos, the camera, the screen.

picamera2 installs only from Raspberry Pi OS's apt (it needs python3-libcamera, which Debian
does not ship), so it cannot exist on the test machines. :class:`FakeCameraSystem` is the
one stand-in the tests use for it: a small ``picamera2`` module that follows the real
library's call sequence and failure modes (picamera2 0.3.x, ``picamera2/picamera2.py``):

- ``Picamera2(n)`` looks the camera up in ``global_camera_info()`` (IndexError when there is
  none) and acquires it; a camera held by another process makes libcamera raise
  ``RuntimeError("Failed to acquire camera: Device or resource busy")``, which picamera2
  re-raises as ``RuntimeError("Camera __init__ sequence did not complete.")``;
- ``create_still_configuration(main=..., buffer_count=...)`` needs even sizes;
  ``configure()``, ``start()``;
- ``capture_request(flush=True, wait=T)`` returns a request for a frame exposed after the
  call (without ``flush``, the frame already queued, which may be old), raises
  ``TimeoutError`` when no frame comes within ``wait`` seconds;
  ``request.make_image("main")`` gives an RGB PIL image, ``request.release()`` hands the
  buffer back (releasing twice is an error);
- ``cancel_all_and_flush()``; ``close()`` stops and releases the camera (idempotent).

The frame is whatever ``scene`` the test points the camera at, taken when it is exposed.
Everything else in the device (files, framebuffers, PNG screens) is tested for real.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

PHOTOS = Path(__file__).parent / "photos"


@pytest.fixture
def photos() -> Path:
    """The folder of real sample photos (see photos/SOURCES.md)."""
    return PHOTOS


@pytest.fixture
def photo() -> Callable[[str], Image.Image]:
    """Load a sample photo by name, as an RGB image."""
    def load(name: str) -> Image.Image:
        with Image.open(PHOTOS / name) as img:
            return img.convert("RGB")
    return load


class FakeRequest:
    """A completed request holding one frame."""

    def __init__(self, image: Image.Image, exposed_ns: int) -> None:
        self._image = image
        self.exposed_ns = exposed_ns
        self.released = False

    def make_image(self, name: str) -> Image.Image:
        """The frame of stream ``name`` as a PIL image."""
        if self.released:
            raise RuntimeError("request used after release()")
        if name != "main":
            raise KeyError(name)
        return self._image.copy()

    def release(self) -> None:
        """Hand the buffer back to the camera system."""
        if self.released:
            raise RuntimeError("request released twice")
        self.released = True


class FakePicamera2:
    """``picamera2.Picamera2`` for one :class:`FakeCameraSystem` (see the module docstring)."""

    _system: FakeCameraSystem

    @classmethod
    def global_camera_info(cls) -> list[dict[str, Any]]:
        """The attached cameras."""
        return [dict(info) for info in cls._system.cameras]

    def __init__(self, camera_num: int = 0) -> None:
        system = self._system
        self.is_open = False
        self.started = False
        self.camera_config: dict[str, Any] | None = None
        self.options: dict[str, Any] = {}
        system.calls.append("Picamera2")
        self.global_camera_info()[camera_num]  # IndexError when absent, as the real one
        try:
            if system.holder is not None:
                raise RuntimeError("Failed to acquire camera: Device or resource busy")
        except Exception:
            raise RuntimeError("Camera __init__ sequence did not complete.")  # noqa: B904
        system.holder = self
        system.opened += 1
        self.is_open = True
        self.sensor_resolution = system.sensor
        self._queued: FakeRequest | None = None

    def create_still_configuration(self, main: dict[str, Any] | None = None, lores: Any = None,
                                   raw: Any = None, buffer_count: int = 1, **_: Any,
                                   ) -> dict[str, Any]:
        """A still configuration, full sensor size and BGR888 unless ``main`` says."""
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        stream = {"format": "BGR888", "size": self.sensor_resolution} | dict(main or {})
        w, h = stream["size"]
        if w % 2 or h % 2:
            raise RuntimeError("width and height should be even")
        return {"use_case": "still", "main": stream, "lores": lores, "raw": raw,
                "buffer_count": buffer_count}

    def configure(self, config: dict[str, Any]) -> None:
        """Apply a configuration."""
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        self._system.calls.append("configure")
        self._system.configs.append(config)
        self.camera_config = config

    def start(self) -> None:
        """Start streaming frames."""
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        self._system.calls.append("start")
        self.started = True
        self._queued = self._expose()

    def capture_request(self, wait: Any = None, signal_function: Any = None,
                        flush: Any = None) -> FakeRequest:
        """The next completed request (see the module docstring)."""
        system = self._system
        system.calls.append("capture_request")
        system.waits.append(wait)
        system.flushes.append(flush)
        if system.stalled or not self.started:
            if isinstance(wait, bool) or wait is None:
                raise AssertionError("this call would block for ever")
            time.sleep(min(float(wait), 0.05))
            raise TimeoutError()
        since = time.monotonic_ns() if flush is True else int(flush or 0)
        request = self._queued
        if request is None or request.exposed_ns < since:
            request = self._expose()
        # The camera keeps running: the next frame is queued now and grows old until asked for.
        self._queued = self._expose()
        system.requests.append(request)
        return request

    def cancel_all_and_flush(self) -> None:
        """Drop waiting jobs after a timeout."""
        self._system.calls.append("cancel_all_and_flush")

    def stop(self) -> None:
        """Stop streaming."""
        self.started = False

    def close(self) -> None:
        """Stop and release the camera."""
        if not self.is_open:
            return
        self._system.calls.append("close")
        self.stop()
        self.is_open = False
        self._system.holder = None
        self._system.closed += 1

    def _expose(self) -> FakeRequest:
        size = self.camera_config["main"]["size"]
        return FakeRequest(self._system.scene.convert("RGB").resize(size),
                           time.monotonic_ns())


class FakeCameraSystem:
    """The camera and libcamera behind the stand-in ``picamera2`` module (``.module``).

    ``scene`` is what the lens sees; ``holder`` is who has the camera (set it to a string to
    play another process); ``stalled`` makes captures time out; ``cameras`` empty means no
    camera is attached. ``calls``, ``waits``, ``flushes``, ``configs``, ``requests`` (those
    handed out), ``opened`` and ``closed`` record what the adapter did.
    """

    def __init__(self, sensor: tuple[int, int] = (4608, 2592)) -> None:
        self.sensor = sensor
        self.cameras: list[dict[str, Any]] = [
            {"Model": "imx708", "Location": 2, "Rotation": 180,
             "Id": "/base/soc/i2c0mux/i2c@1/imx708@1a", "Num": 0}]
        self.scene: Image.Image = Image.new("RGB", (64, 48), (128, 128, 128))
        self.holder: Any = None
        self.stalled = False
        self.calls: list[str] = []
        self.waits: list[Any] = []
        self.flushes: list[Any] = []
        self.configs: list[dict[str, Any]] = []
        self.opened = 0
        self.closed = 0
        self.requests: list[FakeRequest] = []
        self.module = types.ModuleType("picamera2")
        self.module.Picamera2 = type("Picamera2", (FakePicamera2,), {"_system": self})


@pytest.fixture
def camera_system() -> FakeCameraSystem:
    """A stand-in camera system; pass ``camera_system.module`` as the picamera2 module."""
    return FakeCameraSystem()


@pytest.fixture
def make_fb(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """Make a stand-in framebuffer: a regular file for /dev/fbN and a sysfs-like folder.

    ``make_fb(width, height, bpp, stride=None, fill=0xAA)`` returns (device, sysfs_dir). The
    file is filled with ``fill`` so untouched bytes (row padding) can be checked.
    """
    def make(width: int, height: int, bpp: int, stride: int | None = None,
             fill: int = 0xAA, name: str = "fb1") -> tuple[Path, Path]:
        stride = stride or width * bpp // 8
        dev = tmp_path / name
        dev.write_bytes(bytes([fill]) * (stride * height))
        sysfs = tmp_path / "sys" / name
        sysfs.mkdir(parents=True)
        (sysfs / "virtual_size").write_text(f"{width},{height}\n")
        (sysfs / "bits_per_pixel").write_text(f"{bpp}\n")
        (sysfs / "stride").write_text(f"{stride}\n")
        return dev, sysfs
    return make


# ==========================================================================================
# The daemon's fixtures (owned by the daemon area, used by tests/test_daemon_*.py).
# Everything above this line belongs to the camera/display area.
# ==========================================================================================

import shutil  # noqa: E402 - kept with the section that uses it
import tempfile  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402


@pytest.fixture
def mock_pins():
    """gpiozero's own mock pin factory (PWM-capable pins), installed for the whole test."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    saved = Device.pin_factory
    factory = MockFactory(pin_class=MockPWMPin)
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = saved


@dataclass
class DaemonDirs:
    """The systemd-style folders of one test's daemon."""

    root: Path
    state: Path
    cache: Path
    runtime: Path

    @property
    def socket(self) -> Path:
        """The control socket's path."""
        return self.runtime / "control.sock"

    def env(self) -> dict[str, str]:
        """The variables systemd would set for them."""
        return {"STATE_DIRECTORY": str(self.state), "CACHE_DIRECTORY": str(self.cache),
                "RUNTIME_DIRECTORY": str(self.runtime)}


@pytest.fixture
def daemon_dirs(monkeypatch: pytest.MonkeyPatch) -> DaemonDirs:
    """STATE/CACHE/RUNTIME_DIRECTORY in a short temp folder, set in os.environ.

    Short because a Unix socket's path may not exceed 107 bytes, which pytest's tmp_path
    can; removed again at the end.
    """
    root = Path(tempfile.mkdtemp(prefix="lsd-"))
    dirs = DaemonDirs(root, root / "state", root / "cache", root / "run")
    for path in (dirs.state, dirs.cache, dirs.runtime):
        path.mkdir()
    for var, value in dirs.env().items():
        monkeypatch.setenv(var, value)
    try:
        yield dirs
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def daemon_settings(remote_settings, photos: Path):
    """``make(*overrides)``: settings for a daemon against the stand-in Spaces.

    The file camera on a real photo, aplay on ALSA's default device (point it at a capture
    with the ``alsa_capture`` fixture), volume 100 so the samples arrive unscaled.
    """
    def make(*overrides: str):
        return remote_settings("camera.source=file",
                               f'camera.path="{photos / "cat-chelsea.jpg"}"',
                               "audio.player=aplay", 'audio.device="default"',
                               "audio.volume=100", *overrides)
    return make


class Fingers:
    """Presses the buttons on mock pins with real timing, as a person would."""

    def __init__(self, factory, settings) -> None:
        self.pins = {1: factory.pin(settings.button1.pin), 2: factory.pin(settings.button2.pin)}
        self.hold_time = settings.buttons.hold_time
        self.double_time = settings.buttons.double_time

    def down(self, button: int = 1) -> float:
        """Press and keep pressed; returns time.monotonic() just before the edge."""
        now = time.monotonic()
        self.pins[button].drive_low()
        return now

    def up(self, button: int = 1) -> None:
        """Let go."""
        self.pins[button].drive_high()

    def short(self, button: int = 1, hold: float = 0.08) -> float:
        """A short press; returns the time of the press edge."""
        at = self.down(button)
        time.sleep(hold)
        self.up(button)
        return at

    def long(self, button: int = 1) -> float:
        """Held past hold_time, then let go."""
        at = self.down(button)
        time.sleep(self.hold_time + 0.15)
        self.up(button)
        return at

    def double(self, button: int = 1) -> float:
        """Two short presses, the second well within double_time of the first release."""
        at = self.short(button)
        time.sleep(min(0.08, self.double_time / 3))
        self.short(button)
        return at


@pytest.fixture
def start_daemon(daemon_dirs: DaemonDirs, mock_pins):
    """``start(settings, **kwargs) -> (daemon, fingers)``: a Daemon running in this process.

    ``kwargs`` go to the Daemon (``daemon_class`` picks a subclass).
    Its main loop runs on a thread (signals are for the process test); it is stopped at
    the end of the test. gpiozero uses the mock pins; no sd_notify socket.
    """
    from looksay.daemon.daemon import Daemon
    from looksay.daemon.notify import Notifier

    running = []

    def start(settings, **kwargs):
        kwargs.setdefault("greet", False)
        kwargs.setdefault("notifier", Notifier({}))
        daemon_class = kwargs.pop("daemon_class", Daemon)
        daemon = daemon_class(settings, **kwargs)
        thread = threading.Thread(target=daemon.run, kwargs={"handle_signals": False},
                                  name="daemon-main", daemon=True)
        thread.start()
        daemon.test_thread = thread  # so a test can stop it and wait: restart tests
        running.append((daemon, thread))
        deadline = time.monotonic() + 20
        while daemon.state != "ready":
            if not thread.is_alive():
                raise AssertionError("the daemon did not start (see the log above)")
            if time.monotonic() > deadline:
                raise AssertionError("the daemon did not become ready within 20 s")
            time.sleep(0.01)
        return daemon, Fingers(mock_pins, settings)

    yield start
    for daemon, thread in running:
        daemon.request_stop()
        thread.join(6)
        assert not thread.is_alive(), "the daemon did not stop within 6 s"
