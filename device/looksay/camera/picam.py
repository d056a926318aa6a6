"""The Raspberry Pi Camera Module, through picamera2 (libcamera).

The camera is opened once and left running: opening it costs seconds on a small Pi and the
exposure needs about a second to settle, so a button press only fetches the next frame
(``capture_request(flush=True)``, which skips frames exposed before the press). A capture
that fails or misses its deadline closes the camera, and the next capture opens it again,
so a loose cable or a crashed libcamera does not need a restart of the device.

picamera2 comes from Raspberry Pi OS's apt (``python3-picamera2``), never from pip; it is
imported only when the camera is first opened, so ``import looksay`` works without it.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from PIL import Image

from looksay.camera.base import CaptureHook, notify
from looksay.camera.frames import to_rgb
from looksay.config import CameraSettings
from looksay.errors import Failure, Kind

log = logging.getLogger(__name__)

#: Longest side of the frames asked of the camera. 2028x1520 is the HQ camera's binned
#: mode; a mid-size frame is plenty for a model that sees about 1 MP, needs far less of the
#: Pi's contiguous (CMA) memory than full resolution, and keeps the sensor's aspect ratio.
FRAME_MAX_SIDE = 2028

#: Seconds to wait after start() for automatic exposure and white balance to settle (the
#: picamera2 examples wait 1 s).
SETTLE_SECONDS = 1.0

_INSTALL_HINT = ("Install it with 'sudo apt install python3-picamera2' and make the "
                 "virtual environment with --system-site-packages (picamera2 cannot be "
                 "installed with pip).")


class Picamera2Camera:
    """The Camera Module through picamera2, opened once and kept running.

    ``module`` stands in for the ``picamera2`` package (tests pass a stand-in, because the
    real one only exists on Raspberry Pi OS); by default it is imported on first use.
    ``on_capture`` is called with True just before and False just after each capture.
    """

    def __init__(self, settings: CameraSettings | None = None, *,
                 on_capture: CaptureHook | None = None, module: ModuleType | Any = None,
                 settle: float = SETTLE_SECONDS,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        settings = settings or CameraSettings()
        self.index = settings.index
        self.timeout = settings.timeout
        self.on_capture = on_capture
        self.settle = settle
        self._module = module
        self._sleep = sleep
        self._cam: Any = None
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Picamera2Camera(index={self.index})"

    @property
    def is_open(self) -> bool:
        """Whether the camera is open and running now."""
        return self._cam is not None

    def open(self) -> None:
        """Open, configure and start the camera if it is not running (raises Failure).

        Call this at start-up so the first button press is quick; capture() calls it too.
        """
        with self._lock:
            if self._cam is not None:
                return
            picamera2 = self._picamera2()
            self._check_present(picamera2)
            try:
                cam = picamera2.Picamera2(self.index)
            except Exception as exc:
                raise _open_failure(exc, self.index) from exc
            try:
                size = frame_size(getattr(cam, "sensor_resolution", None))
                config = cam.create_still_configuration(
                    main={"size": size, "format": "RGB888"}, buffer_count=2)
                cam.configure(config)
                cam.start()
            except Exception as exc:
                _close_quietly(cam)
                raise Failure(Kind.CAMERA_FAILED,
                              f"camera {self.index} opened but did not start: {exc!r}") from exc
            log.info("camera %d started at %dx%d", self.index, *size)
            if self.settle > 0:
                self._sleep(self.settle)
            self._cam = cam

    def capture(self) -> Image.Image:
        """A frame exposed after this call began, as an RGB image (raises Failure).

        Waits at most ``camera.timeout`` seconds for it. Any failure closes the camera, so the
        next capture opens it afresh.
        """
        with self._lock:
            self.open()
            cam = self._cam
            notify(self.on_capture, True)
            try:
                try:
                    request = cam.capture_request(flush=True, wait=self.timeout)
                except TimeoutError as exc:
                    self._discard()
                    raise Failure(Kind.CAMERA_FAILED,
                                  f"camera {self.index} gave no picture within "
                                  f"{self.timeout:g} s; it will be reopened") from exc
                except Exception as exc:
                    self._discard()
                    detail = f"camera {self.index} failed to capture: {exc!r}"
                    if isinstance(exc, TypeError) and "flush" in str(exc):
                        detail = (f"this picamera2 is too old to skip stale frames ({exc}). "
                                  "Update it: sudo apt update && sudo apt install "
                                  "python3-picamera2")
                    raise Failure(Kind.CAMERA_FAILED, detail) from exc
                try:
                    image = request.make_image("main")
                    # A real copy: the frame must not share memory with the camera's buffer,
                    # which goes back to libcamera on release().
                    frame = to_rgb(image)
                    frame = frame.copy() if frame is image else frame
                except Exception as exc:
                    self._discard(request)
                    raise Failure(Kind.CAMERA_FAILED,
                                  f"camera {self.index} gave a frame that could not be read: "
                                  f"{exc!r}") from exc
                request.release()
                return frame
            finally:
                notify(self.on_capture, False)

    def close(self) -> None:
        """Stop and release the camera (another program may then use it)."""
        with self._lock:
            cam, self._cam = self._cam, None
            if cam is not None:
                _close_quietly(cam)

    def _picamera2(self) -> Any:
        if self._module is not None:
            return self._module
        try:
            self._module = importlib.import_module("picamera2")
        except ImportError as exc:
            raise Failure(Kind.CAMERA_MISSING,
                          f"picamera2 is not installed ({exc}). {_INSTALL_HINT}") from exc
        except Exception as exc:
            # Typically numpy from pip next to apt's picamera2: "numpy.dtype size changed".
            raise Failure(Kind.CAMERA_FAILED,
                          f"picamera2 is installed but does not load: {exc!r}. If it mentions "
                          "numpy, remove numpy from the virtual environment so the system's "
                          "numpy is used.") from exc
        return self._module

    def _check_present(self, picamera2: Any) -> None:
        try:
            cameras = picamera2.Picamera2.global_camera_info()
        except Exception as exc:
            raise Failure(Kind.CAMERA_MISSING,
                          f"libcamera could not list the cameras: {exc!r}") from exc
        if self.index >= len(cameras):
            found = (f"only {len(cameras)} camera(s) found" if cameras else
                     "no camera found: check the ribbon cable (contacts the right way round, "
                     "latch closed) and that camera_auto_detect=1 is in "
                     "/boot/firmware/config.txt")
            raise Failure(Kind.CAMERA_MISSING, f"camera.index = {self.index}, but {found}.")

    def _discard(self, request: Any = None) -> None:
        """Give up on the camera after a failure: free what it holds and close it."""
        cam, self._cam = self._cam, None
        if request is not None:
            try:
                request.release()
            except Exception:
                log.debug("releasing a failed request", exc_info=True)
        if cam is None:
            return
        try:
            # Recommended by picamera2 after a timed-out operation, before closing.
            cam.cancel_all_and_flush()
        except Exception:
            log.debug("cancel_all_and_flush failed", exc_info=True)
        _close_quietly(cam)


def frame_size(sensor: tuple[int, int] | None, max_side: int = FRAME_MAX_SIDE,
               ) -> tuple[int, int]:
    """The main stream size: the sensor's aspect ratio, longest side ``max_side``, even sides.

    Without a known sensor size, 2028x1520 (4:3, as most Camera Modules).
    """
    if not sensor or min(sensor) <= 0:
        return (2028, 1520)
    w, h = sensor
    scale = min(1.0, max_side / max(w, h))
    # libcamera wants even widths and heights.
    return (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))


def _open_failure(exc: BaseException, index: int) -> Failure:
    """Turn the exception from Picamera2() into a Failure the person understands.

    picamera2 wraps the real cause in "Camera __init__ sequence did not complete", so the
    whole chain of causes is read.
    """
    text = " / ".join(f"{type(e).__name__}: {e}" for e in _chain(exc))
    lowered = text.lower()
    if "busy" in lowered or "in use" in lowered or "code: -16" in lowered:
        return Failure(Kind.CAMERA_BUSY,
                       f"camera {index} is held by another program ({text}). Stop it (for "
                       "example rpicam-still, or a second looksay) and press again.")
    if isinstance(exc, IndexError) or "not found" in lowered or "no camera" in lowered:
        return Failure(Kind.CAMERA_MISSING, f"camera {index} was not found ({text}).")
    if "permission" in lowered or "dma" in lowered or "not permitted" in lowered:
        return Failure(Kind.CAMERA_FAILED,
                       f"camera {index} could not be opened ({text}). The service user needs "
                       "the 'video' group (camera and /dev/dma_heap).")
    return Failure(Kind.CAMERA_FAILED, f"camera {index} could not be opened ({text}).")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _close_quietly(cam: Any) -> None:
    try:
        cam.close()
    except Exception:
        log.warning("closing the camera failed", exc_info=True)
