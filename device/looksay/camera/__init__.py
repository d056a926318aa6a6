"""Where pictures come from: the Camera Module (picamera2) or image files.

``make_camera(settings.camera)`` picks the source the settings name. Every camera has
``open()``, ``capture() -> PIL.Image.Image`` (RGB, upright) and ``close()``, and raises
:class:`looksay.errors.Failure` (CAMERA_MISSING, CAMERA_BUSY, CAMERA_FAILED) for what the
person should hear. :func:`prepare_upload` turns a frame into the JPEG sent to a model.
"""

from __future__ import annotations

from looksay.camera.base import Camera, CaptureHook
from looksay.camera.file import FileCamera
from looksay.camera.frames import prepare_upload
from looksay.camera.picam import Picamera2Camera
from looksay.config import CameraSettings

__all__ = [
    "Camera",
    "CaptureHook",
    "FileCamera",
    "Picamera2Camera",
    "make_camera",
    "prepare_upload",
]


def make_camera(settings: CameraSettings, on_capture: CaptureHook | None = None) -> Camera:
    """The camera ``settings.source`` names; nothing is opened yet (call ``open()``)."""
    if settings.source == "file":
        return FileCamera(settings.path, on_capture=on_capture)
    if settings.source == "picamera2":
        return Picamera2Camera(settings, on_capture=on_capture)
    raise ValueError(f"unknown camera.source {settings.source!r}")
