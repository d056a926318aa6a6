"""Watchdog, camera trouble and the status action, with the daemon in this process."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest
from gpiozero import Button

from looksay.audio import tones
from looksay.camera import Picamera2Camera
from looksay.daemon import netinfo
from looksay.daemon.daemon import Daemon
from looksay.daemon.notify import Notifier
from looksay.errors import Kind
from tests.test_daemon_presses import local_words, played, wait_for, wait_idle


class Pings:
    """A notify socket the in-process daemon sends to; collects lines with times."""

    def __init__(self, path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.path = str(path)
        self.lines: list[tuple[float, str]] = []
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, OSError):
                continue
            now = time.monotonic()
            self.lines += [(now, line) for line in data.decode().split("\n")]

    def pings(self, since: float, until: float | None = None) -> list[float]:
        until = until or time.monotonic()
        return [at for at, line in self.lines if line == "WATCHDOG=1" and since <= at <= until]

    def close(self) -> None:
        self._stop = True
        self._thread.join(1)
        self.sock.close()


@pytest.fixture
def pings(daemon_dirs):
    listener = Pings(daemon_dirs.root / "notify")
    yield listener
    listener.close()


class HungCamera:
    """A camera driver hung inside capture, ignoring its own timeout, until released.

    No real component can be made to hang on purpose, so this stands in for the one case
    the watchdog exists for.
    """

    def __init__(self, photo, release: threading.Event) -> None:
        self.photo = photo
        self.release = release

    def open(self) -> None:
        """Opens at once."""

    def capture(self):
        """Hangs until released, then returns the photo."""
        self.release.wait()
        return self.photo

    def close(self) -> None:
        """Closing the daemon releases it."""
        self.release.set()


class ShortBudget(Daemon):
    """A daemon whose jobs count as stuck after 1.5 s instead of minutes."""

    def job_budget(self, action: str, text: str = "") -> float:
        return 1.5


def test_stuck_job_stops_the_watchdog_pings_until_it_moves_again(
        pings, alsa_capture, spaces, daemon_settings, start_daemon, photo):
    release = threading.Event()
    notifier = Notifier({"NOTIFY_SOCKET": pings.path, "WATCHDOG_USEC": "300000"})
    daemon, fingers = start_daemon(
        daemon_settings(), notifier=notifier, daemon_class=ShortBudget,
        camera_factory=lambda settings, on_capture=None: HungCamera(
            photo("cat-chelsea.jpg"), release))
    began = time.monotonic()
    time.sleep(0.7)
    assert len(pings.pings(began)) >= 3, "pings every 0.15 s while all is well"

    pressed = fingers.short(1)
    wait_for(lambda: daemon._job is not None)
    stuck_from = pressed + 1.5
    time.sleep(stuck_from + 1.0 - time.monotonic())
    assert pings.pings(pressed, stuck_from - 0.2), "still pinging while within the budget"
    assert pings.pings(stuck_from + 0.2) == [], "a stuck job stops the pings"
    assert any(line.startswith("STATUS=Stuck: press 0001 (describe)")
               for _, line in pings.lines)

    release.set()
    wait_idle(daemon, 1, timeout=20)
    moving = time.monotonic()
    time.sleep(0.6)
    assert len(pings.pings(moving)) >= 2, "pings resume once it moves again"


def test_job_budget_covers_every_model_timeout(daemon_settings, daemon_dirs):
    settings = daemon_settings()
    daemon = Daemon(settings, notifier=Notifier({}))
    describe = daemon.job_budget("describe")
    assert describe > (settings.camera.timeout + settings.caption.timeout
                       + 2 * settings.speech.timeout)
    assert daemon.job_budget("smile") > settings.camera.timeout + settings.smile.timeout
    assert daemon.job_budget("say", "word " * 300) > daemon.job_budget("say", "word")


@pytest.mark.parametrize("trouble", ["missing", "busy"])
def test_camera_unavailable_at_start_then_found(
        trouble, alsa_capture, spaces, daemon_settings, start_daemon, camera_system, photo):
    if trouble == "missing":
        attached, camera_system.cameras = camera_system.cameras, []
    else:
        camera_system.holder = "another program"
    camera_system.scene = photo("coffee-cup.jpg")

    def picamera(settings, on_capture=None):
        return Picamera2Camera(settings, on_capture=on_capture, module=camera_system.module,
                               settle=0)

    daemon, fingers = start_daemon(daemon_settings("camera.source=picamera2"),
                                   camera_factory=picamera, camera_retry=(0.2, 0.4))
    wait_for(lambda: daemon.camera_status.startswith("unavailable"), 5)
    assert "camera unavailable" in daemon.status_line(), "buttons and voice work meanwhile"

    fingers.short(1)
    last = wait_idle(daemon, 1)
    assert last["outcome"] == "failed"
    kind = Kind.CAMERA_MISSING if trouble == "missing" else Kind.CAMERA_BUSY
    assert daemon.last_error["kind"] == kind.name.lower()
    assert played(alsa_capture, local_words(kind.value)) == 1, "says the camera is unavailable"

    if trouble == "missing":
        camera_system.cameras = attached
    else:
        camera_system.holder = None
    wait_for(lambda: daemon.camera_status == "ready", 5)  # it kept trying on its own
    assert camera_system.opened == 1

    fingers.short(1)
    last = wait_idle(daemon, 2)
    assert last["outcome"] == "ok", daemon.last_error
    assert spaces["caption"].calls == 1


def test_status_says_the_address_network_and_each_service(
        alsa_capture, spaces, daemon_settings, start_daemon):
    spaces.set("smile", "gone")
    daemon, fingers = start_daemon(daemon_settings("buttons.hold_time=0.4"))
    fingers.long(2)  # button 2 long: status
    wait_idle(daemon, 1, timeout=30)
    job_words = daemon.status()["last_press"]
    assert job_words["action"] == "status" and job_words["outcome"] == "ok"
    address, up = netinfo.summary()
    said = daemon.last_said
    if address:
        assert netinfo.spoken_address(address) in said
        assert re.search(r"\d+ dot \d+ dot \d+ dot \d+", said)
    assert ("The network is up." if up else "The network is down.") in said
    if up:
        assert "The describing service answers." in said
        assert "The voice service answers." in said
        assert "The smile service does not answer." in said
    assert "The camera is ready." in said
    assert "The volume is 100 percent." in said
    assert played(alsa_capture, local_words(said)) == 1, "said by the on-device voice"
    assert played(alsa_capture, tones.error()) == 0


def test_stop_mid_job_releases_camera_gpio_and_sound_quickly(
        alsa_capture, spaces, daemon_settings, start_daemon, camera_system, photo, mock_pins):
    camera_system.scene = photo("rocket-launch.jpg")

    def picamera(settings, on_capture=None):
        return Picamera2Camera(settings, on_capture=on_capture, module=camera_system.module,
                               settle=0)

    settings = daemon_settings("camera.source=picamera2")
    daemon, fingers = start_daemon(settings, camera_factory=picamera)
    wait_for(lambda: daemon.camera_status == "ready", 5)
    spaces.set("caption", "slow", delay=20)
    fingers.short(1)
    wait_for(lambda: spaces["caption"].calls == 1)
    job = daemon._job
    heard = len(alsa_capture.files())
    began = time.monotonic()
    daemon.request_stop()
    daemon.test_thread.join(5)
    assert not daemon.test_thread.is_alive()
    assert time.monotonic() - began < 5
    assert job.outcome == "stopped" and job.cancel.is_set(), "the remote job was cancelled"
    assert camera_system.closed == 1 and camera_system.holder is None, "camera closed"
    assert len(alsa_capture.files()) == heard, "nothing more is said on the way out"
    Button(settings.button1.pin).close()  # the pin was released: it can be claimed again


def test_repeat_before_any_description_says_so(alsa_capture, spaces, daemon_settings,
                                              start_daemon):
    daemon, _ = start_daemon(daemon_settings())
    reply = daemon.handle_request({"cmd": "press", "action": "repeat"})
    assert reply["ok"] and reply["said"] == "I have not described anything yet."
    assert played(alsa_capture, local_words(reply["said"])) == 1
