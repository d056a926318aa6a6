"""The camera: image files and folders, the Camera Module adapter, and the upload frame.

The file camera and prepare_upload are tested on real photos. The picamera2 adapter is tested
against tests/fixtures_device.py's stand-in ``picamera2`` module: the real library installs
only from Raspberry Pi OS's apt and cannot exist on this machine, so this is the one place a
fake stands in (it follows picamera2's real call sequence and error messages).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from looksay import config
from looksay.camera import FileCamera, Picamera2Camera, make_camera, prepare_upload
from looksay.camera.picam import frame_size
from looksay.config import CameraSettings
from looksay.errors import Failure, Kind


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0 = same picture), after matching sizes."""
    if a.size != b.size:
        b = b.resize(a.size)
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def with_orientation(src: Path, dest: Path, orientation: int) -> None:
    """Save ``src`` turned as a camera held sideways stores it, with the EXIF tag saying so."""
    with Image.open(src) as img:
        # Orientation 6 means "turn 90 degrees clockwise to view": store it turned the other way.
        stored = img.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(dest, exif=exif.tobytes(), quality=92)


# --- file camera -------------------------------------------------------------------------


def test_folder_camera_takes_pictures_in_name_order_and_starts_again(tmp_path, photos, photo):
    folder = tmp_path / "pictures"
    folder.mkdir()
    names = ["b-coffee.jpg", "a-cat.jpg", "c-rocket.jpg"]
    for name, src in zip(names, ["coffee-cup.jpg", "cat-chelsea.jpg", "rocket-launch.jpg"],
                         strict=True):
        shutil.copy(photos / src, folder / name)
    (folder / "notes.txt").write_text("not a picture")
    shutil.copy(photos / "person-astronaut.jpg", folder / ".hidden.jpg")

    camera = FileCamera(folder)
    camera.open()
    shots = [camera.capture() for _ in range(4)]
    expected = [photo("cat-chelsea.jpg"), photo("coffee-cup.jpg"), photo("rocket-launch.jpg"),
                photo("cat-chelsea.jpg")]
    for shot, want in zip(shots, expected, strict=True):
        assert shot.mode == "RGB"
        assert shot.size == want.size
        assert difference(shot, want) < 1
    camera.close()


def test_folder_camera_sees_pictures_added_while_running(tmp_path, photos):
    folder = tmp_path / "pictures"
    folder.mkdir()
    shutil.copy(photos / "cat-chelsea.jpg", folder / "1.jpg")
    camera = FileCamera(folder)
    assert camera.capture().size == (451, 300)
    shutil.copy(photos / "coffee-cup.jpg", folder / "2.jpg")
    assert camera.capture().size == (600, 400)


def test_single_file_camera_returns_the_same_picture_each_time(photos, photo):
    camera = FileCamera(photos / "coffee-cup.jpg")
    first, second = camera.capture(), camera.capture()
    assert difference(first, photo("coffee-cup.jpg")) < 1
    assert difference(first, second) == 0


def test_missing_path_is_camera_missing_naming_the_path(tmp_path):
    missing = tmp_path / "no-such-folder"
    camera = FileCamera(missing)
    with pytest.raises(Failure) as caught:
        camera.capture()
    assert caught.value.kind is Kind.CAMERA_MISSING
    assert str(missing) in caught.value.detail
    assert caught.value.spoken == "I can't find the camera. Ask the owner to check its cable."
    with pytest.raises(Failure) as opened:
        camera.open()
    assert opened.value.kind is Kind.CAMERA_MISSING


def test_empty_folder_is_camera_missing(tmp_path):
    (tmp_path / "readme.txt").write_text("no pictures here")
    with pytest.raises(Failure) as caught:
        FileCamera(tmp_path).capture()
    assert caught.value.kind is Kind.CAMERA_MISSING
    assert "no pictures" in caught.value.detail


@pytest.mark.parametrize("content", [b"this is not a picture", b"\xff\xd8\xff\xe0" + b"\0" * 20])
def test_unreadable_picture_is_camera_failed_naming_the_file(tmp_path, content):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(content)
    with pytest.raises(Failure) as caught:
        FileCamera(bad).capture()
    assert caught.value.kind is Kind.CAMERA_FAILED
    assert str(bad) in caught.value.detail


def test_truncated_jpeg_is_camera_failed(tmp_path, photos):
    data = (photos / "rocket-launch.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(Failure) as caught:
        FileCamera(cut).capture()
    assert caught.value.kind is Kind.CAMERA_FAILED
    assert "cut.jpg" in caught.value.detail


def test_file_camera_frames_are_no_bigger_than_the_camera_modules(photos, photo):
    frame = FileCamera(photos / "person-astronaut-12mp.jpg").capture()
    assert frame.size == (2028, 1141)
    small = photo("person-astronaut-12mp.jpg").resize(frame.size)
    assert difference(frame, small) < 3


def test_file_camera_turns_pictures_upright(tmp_path, photos, photo):
    sideways = tmp_path / "sideways.jpg"
    with_orientation(photos / "rocket-launch.jpg", sideways, 6)
    with Image.open(sideways) as stored:
        assert stored.size == (427, 640)
    frame = FileCamera(sideways).capture()
    assert frame.size == (640, 427)
    assert difference(frame, photo("rocket-launch.jpg")) < 4


def test_file_camera_tells_the_privacy_light(photos, tmp_path):
    seen: list[bool] = []
    camera = FileCamera(photos / "cat-chelsea.jpg", on_capture=seen.append)
    camera.capture()
    assert seen == [True, False]
    with pytest.raises(Failure):
        FileCamera(tmp_path / "gone.jpg", on_capture=seen.append).capture()
    assert seen == [True, False, True, False]


def test_make_camera_follows_the_settings(tmp_path, photos):
    toml = tmp_path / "looksay.toml"
    toml.write_text(f"[camera]\nsource = 'file'\npath = '{photos / 'cat-chelsea.jpg'}'\n")
    settings = config.load(toml)
    camera = make_camera(settings.camera)
    assert isinstance(camera, FileCamera)
    assert camera.capture().size == (451, 300)
    assert isinstance(make_camera(CameraSettings()), Picamera2Camera)


def test_importing_the_camera_and_display_does_not_import_optional_libraries():
    code = ("import sys, looksay.camera, looksay.display; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('picamera2', 'luma', 'numpy', 'gradio_client')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# --- upload frame ------------------------------------------------------------------------


def test_a_12mp_frame_is_never_uploaded_whole(photos):
    with Image.open(photos / "person-astronaut-12mp.jpg") as img:
        img.load()
        start = time.perf_counter()
        data = prepare_upload(img)
        elapsed = time.perf_counter() - start
    sent = Image.open(io.BytesIO(data))
    assert sent.format == "JPEG"
    assert sent.size == (1024, 576)
    assert 20_000 < len(data) < 250_000
    print(f"prepare_upload, decoded 12 MP frame: {elapsed * 1000:.0f} ms, {len(data)} bytes")


def test_a_12mp_jpeg_not_yet_decoded_is_decoded_small(photos, photo):
    start = time.perf_counter()
    with Image.open(photos / "person-astronaut-12mp.jpg") as img:
        data = prepare_upload(img, max_side=1024)
    elapsed = time.perf_counter() - start
    sent = Image.open(io.BytesIO(data))
    assert sent.size == (1024, 576)
    assert difference(sent, photo("person-astronaut-12mp.jpg").resize((1024, 576))) < 3
    print(f"prepare_upload, 12 MP JPEG file incl. decoding: {elapsed * 1000:.0f} ms")


def test_small_frames_are_not_enlarged(photo):
    sent = Image.open(io.BytesIO(prepare_upload(photo("cat-chelsea.jpg"), max_side=1024)))
    assert sent.size == (451, 300)


def test_upload_respects_max_side_and_quality(photo):
    img = photo("rocket-launch.jpg")
    low = prepare_upload(img, max_side=320, quality=50)
    high = prepare_upload(img, max_side=320, quality=95)
    assert Image.open(io.BytesIO(low)).size == (320, 214)
    assert len(low) < len(high)


def test_upload_is_upright_and_rgb(tmp_path, photos, photo):
    sideways = tmp_path / "sideways.jpg"
    with_orientation(photos / "rocket-launch.jpg", sideways, 6)
    with Image.open(sideways) as img:
        sent = Image.open(io.BytesIO(prepare_upload(img)))
    assert sent.size == (640, 427)
    assert difference(sent, photo("rocket-launch.jpg")) < 5

    rgba = photo("cat-chelsea.jpg").convert("RGBA")
    rgba.putalpha(0)  # fully transparent: shows as white paper
    sent = Image.open(io.BytesIO(prepare_upload(rgba)))
    assert sent.mode == "RGB"
    assert min(ImageStat.Stat(sent).mean) > 250


# --- Camera Module (picamera2) -----------------------------------------------------------


def picam(system, on_capture=None, timeout=2.0, **kwargs) -> Picamera2Camera:
    return Picamera2Camera(CameraSettings(timeout=timeout), module=system.module,
                           on_capture=on_capture, settle=0, **kwargs)


def test_picamera2_opens_once_with_a_moderate_still_stream(camera_system):
    slept: list[float] = []
    camera = Picamera2Camera(CameraSettings(), module=camera_system.module, sleep=slept.append)
    camera.open()
    camera.open()
    assert camera_system.opened == 1
    assert camera_system.calls == ["Picamera2", "configure", "start"]
    config_used = camera_system.configs[0]
    assert config_used["main"] == {"format": "RGB888", "size": (2028, 1140)}
    assert config_used["buffer_count"] == 2
    assert slept == [1.0]  # exposure and white balance settle once, at opening
    camera.close()


def test_frame_size_keeps_the_sensor_shape():
    assert frame_size((4056, 3040)) == (2028, 1520)  # HQ camera
    assert frame_size((4608, 2592)) == (2028, 1140)  # Camera Module 3
    assert frame_size((2592, 1944)) == (2028, 1520)  # Camera Module 1
    assert frame_size((640, 480)) == (640, 480)  # never enlarged
    assert frame_size(None) == (2028, 1520)


def test_each_capture_is_a_fresh_frame(camera_system, photo):
    camera = picam(camera_system, timeout=3.0)
    camera_system.scene = photo("cat-chelsea.jpg")
    camera.open()  # a cat frame is now queued in the running camera
    camera_system.scene = photo("coffee-cup.jpg")
    first = camera.capture()
    camera_system.scene = photo("rocket-launch.jpg")
    second = camera.capture()

    assert first.mode == "RGB" and first.size == (2028, 1140)
    assert difference(first, photo("coffee-cup.jpg")) < 3
    assert difference(second, photo("rocket-launch.jpg")) < 3
    assert camera_system.flushes == [True, True]
    assert camera_system.waits == [3.0, 3.0]
    assert camera_system.opened == 1  # kept running between captures
    assert all(request.released for request in camera_system.requests)
    camera.close()


def test_busy_camera_is_camera_busy_and_a_later_press_works(camera_system):
    camera_system.holder = "rpicam-still"  # another process has the camera
    camera = picam(camera_system)
    with pytest.raises(Failure) as caught:
        camera.capture()
    assert caught.value.kind is Kind.CAMERA_BUSY
    assert "Device or resource busy" in caught.value.detail
    assert caught.value.spoken == ("The camera is in use by another program. "
                                   "Ask the owner to close it.")
    camera_system.holder = None  # the other program ended
    assert camera.capture().size == (2028, 1140)
    camera.close()


def test_no_camera_attached_is_camera_missing(camera_system):
    camera_system.cameras = []
    with pytest.raises(Failure) as caught:
        picam(camera_system).open()
    assert caught.value.kind is Kind.CAMERA_MISSING
    assert "no camera found" in caught.value.detail
    assert camera_system.opened == 0


def test_second_camera_asked_for_but_only_one_attached(camera_system):
    camera = Picamera2Camera(CameraSettings(index=1), module=camera_system.module, settle=0)
    with pytest.raises(Failure) as caught:
        camera.capture()
    assert caught.value.kind is Kind.CAMERA_MISSING
    assert "camera.index = 1" in caught.value.detail


def test_without_picamera2_installed_the_detail_says_how_to_install_it():
    # picamera2 really is missing on this machine: this runs the real import.
    with pytest.raises(Failure) as caught:
        Picamera2Camera(CameraSettings(), settle=0).capture()
    assert caught.value.kind is Kind.CAMERA_MISSING
    assert "python3-picamera2" in caught.value.detail


def test_timeout_closes_the_camera_and_the_next_capture_reopens_it(camera_system, photo):
    lights: list[bool] = []
    camera = picam(camera_system, on_capture=lights.append, timeout=0.5)
    camera.open()
    camera_system.stalled = True
    with pytest.raises(Failure) as caught:
        camera.capture()
    assert caught.value.kind is Kind.CAMERA_FAILED
    assert "0.5 s" in caught.value.detail
    assert camera_system.waits == [0.5]
    assert camera_system.calls[-2:] == ["cancel_all_and_flush", "close"]
    assert camera_system.holder is None and not camera.is_open

    camera_system.stalled = False
    camera_system.scene = photo("cat-chelsea.jpg")
    frame = camera.capture()
    assert difference(frame, photo("cat-chelsea.jpg")) < 3
    assert camera_system.opened == 2
    assert lights == [True, False, True, False]
    camera.close()


def test_close_releases_the_camera_for_other_programs(camera_system):
    camera = picam(camera_system)
    camera.capture()
    camera.close()
    camera.close()  # closing twice is harmless
    assert camera_system.holder is None and camera_system.closed == 1
    other = camera_system.module.Picamera2(0)  # another program can now take it
    with pytest.raises(Failure) as caught:
        camera.capture()
    assert caught.value.kind is Kind.CAMERA_BUSY
    other.close()


def test_a_broken_privacy_light_does_not_stop_the_camera(camera_system):
    def broken(on: bool) -> None:
        raise OSError("GPIO gone")
    assert picam(camera_system, on_capture=broken).capture().size == (2028, 1140)
