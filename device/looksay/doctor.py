"""``looksay doctor``: is everything the device needs in place, and if not, what to do.

Each check gives one line: pass, fail (with a remedy) or "not present" for hardware this
machine does not have. A failed *essential* check makes the exit status non-zero.
"""

from __future__ import annotations

import contextlib
import grp
import json
import pwd
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from looksay import config, paths
from looksay.config import ConfigError, Settings

PIPEWIRE_ALSA_CONF = Path("/etc/alsa/conf.d/99-pipewire-default.conf")
SERVICE_USER = "looksay"
SERVICE_GROUPS = ("video", "gpio", "audio", "spi")
MIN_FREE_BYTES = 50 * 1024 * 1024


@dataclass
class Check:
    """The result of one check."""

    name: str
    #: "pass", "fail" or "absent" (hardware or system part not on this machine).
    status: str
    detail: str
    remedy: str = ""
    #: A failed essential check means the device cannot do its job.
    essential: bool = True

    def __post_init__(self) -> None:
        # A remedy only means something for a failed check.
        if self.status != "fail":
            self.remedy = ""

    def line(self) -> str:
        """One line for the terminal."""
        mark = {"pass": "PASS", "fail": "FAIL", "absent": "----"}[self.status]
        text = f"{mark}  {self.name}: {self.detail}"
        if self.status == "fail" and self.remedy:
            text += f"\n      -> {self.remedy}"
        return text


class Doctor:
    """Runs the checks for one set of settings."""

    def __init__(self, settings: Settings, *, hub_url: str = "https://huggingface.co",
                 buttons: bool = False, play: bool = True) -> None:
        self.settings = settings
        self.hub_url = hub_url
        self.buttons = buttons
        self.play = play
        self._player = None
        #: The running daemon's status, when it answers: it owns the camera and the pins.
        self.daemon: dict | None = _daemon_status()

    def run(self, report: Callable[[Check], None] = lambda c: None) -> list[Check]:
        """Run every check, calling ``report`` as each finishes."""
        checks = [self.speaker, self.camera, self.buttons_check, self.display, self.network,
                  self.dns, self.https, self.clock, self.spaces, self.disk, self.groups,
                  self.service]
        results: list[Check] = []
        for check in checks:
            try:
                found = check()
            except Exception as exc:  # a broken check is itself a finding
                found = [Check(check.__name__, "fail", f"the check crashed: {exc!r}",
                               "report this as a bug")]
            for item in found if isinstance(found, list) else [found]:
                results.append(item)
                report(item)
        return results

    # -- sound -----------------------------------------------------------------------
    def speaker(self) -> Check:
        """A tone reaches the configured ALSA device."""
        from looksay.audio import tones
        from looksay.audio.players import make_player

        audio = self.settings.audio
        if (audio.player in ("auto", "aplay") and audio.device == "default"
                and PIPEWIRE_ALSA_CONF.exists()):
            return Check("speaker", "fail", "ALSA 'default' goes to PipeWire, which a system "
                         "service cannot reach", "set audio.device to a card, e.g. "
                         f"{_first_card()} (see `looksay doctor --list-audio`)")
        try:
            player = make_player(audio)
            self._player = player
            if self.play:
                player.play(tones.done())
        except Exception as exc:
            return Check("speaker", "fail", f"could not play a tone: {exc}",
                         "check the speaker; set audio.device (`looksay doctor --list-audio`)")
        return Check("speaker", "pass", f"played a tone with {type(player).__name__}"
                     f" on {audio.path if audio.player == 'file' else audio.device}")

    # -- camera ----------------------------------------------------------------------
    def camera(self) -> Check:
        """One frame, with a sane brightness, from a camera no one else holds."""
        from PIL import ImageStat

        from looksay.camera import make_camera
        from looksay.errors import Failure, Kind

        cam = self.settings.camera
        if self.daemon is not None:
            # The running service holds the camera; ask it rather than fight over it.
            state = str(self.daemon.get("camera", "unknown"))
            ok = state in ("ready", "opening")
            return Check("camera", "pass" if ok else "fail",
                         f"held by the running looksay service: {state}",
                         "see journalctl -u looksay -b for the camera's errors")
        if cam.source == "picamera2":
            try:
                import picamera2  # noqa: F401
            except ImportError:
                return Check("camera", "absent", "not present (picamera2 is not installed: "
                             "sudo apt install python3-picamera2 on a Pi)", essential=False)
        try:
            camera = make_camera(cam)
            try:
                frame = camera.capture()
            finally:
                camera.close()
        except Failure as failure:
            if failure.kind is Kind.CAMERA_MISSING and cam.source == "picamera2":
                # picamera2 is installed, so this is a Pi that should have a camera.
                return Check("camera", "fail", f"no camera found ({failure.detail})",
                             "check the ribbon cable (contacts facing the right way), then "
                             "reboot; rpicam-hello --list-cameras should list it")
            remedy = {Kind.CAMERA_BUSY: "another program holds the camera: if it is the "
                      "looksay service that is fine (stop it to test: sudo systemctl stop "
                      "looksay); otherwise close that program"}.get(
                failure.kind, "check camera.source and camera.path")
            return Check("camera", "fail", failure.detail or failure.spoken, remedy)
        brightness = ImageStat.Stat(frame.convert("L")).mean[0]
        if not 8 <= brightness <= 248:
            return Check("camera", "fail", f"frame {frame.width}x{frame.height} is too "
                         f"{'dark' if brightness < 8 else 'bright'} (mean {brightness:.0f})",
                         "remove the lens cover, or point it at something lit")
        return Check("camera", "pass", f"one frame {frame.width}x{frame.height}, "
                     f"brightness {brightness:.0f}/255")

    # -- buttons ---------------------------------------------------------------------
    def buttons_check(self) -> list[Check]:
        """The pins can be claimed; with --buttons, each button is pressed in 10 s."""
        try:
            from gpiozero import Button
            from gpiozero.exc import BadPinFactory
        except ImportError:
            return [Check("buttons", "fail", "gpiozero is not installed",
                          "run scripts/install again")]
        if self.daemon is not None and not self.buttons:
            state = str(self.daemon.get("buttons", "unknown"))
            return [Check("buttons", "pass" if state == "ready" else "fail",
                          f"held by the running looksay service: {state}",
                          "check the wiring and journalctl -u looksay -b", essential=False)]
        found = []
        for number, section in ((1, self.settings.button1), (2, self.settings.button2)):
            name = f"button {number} (GPIO{section.pin})"
            try:
                with warnings.catch_warnings():
                    # gpiozero warns for each pin library it tries; the verdict says it all.
                    warnings.simplefilter("ignore")
                    button = Button(section.pin, pull_up=True)
            except BadPinFactory:
                return [Check("buttons", "absent", "not present (no GPIO on this machine)",
                              essential=False)]
            except Exception as exc:
                found.append(Check(name, "fail", f"cannot use the pin: {exc}",
                                   "is the looksay service running? It owns the pins "
                                   "(sudo systemctl stop looksay to test)"))
                continue
            try:
                if not self.buttons:
                    found.append(Check(name, "pass", "pin claimed (use --buttons to test a "
                                       "press)", essential=False))
                    continue
                print(f"      press button {number} within 10 s ...", flush=True)
                if button.wait_for_press(timeout=10):
                    found.append(Check(name, "pass", "pressed"))
                else:
                    found.append(Check(name, "fail", "no press within 10 s",
                                       f"check the wiring: GPIO{section.pin} to a button to "
                                       "ground"))
            finally:
                button.close()
        return found

    # -- display ---------------------------------------------------------------------
    def display(self) -> Check:
        """A test pattern on the configured display."""
        from looksay.display import make_display

        kind = self.settings.display.kind
        if kind == "none":
            return Check("display", "absent", "none configured (display.kind = \"none\")",
                         essential=False)
        try:
            display = make_display(self.settings.display)
            try:
                display.show(_test_pattern(display.size))
            finally:
                display.close()
        except Exception as exc:
            return Check("display", "fail", f"{kind}: {exc}",
                         "check display.path and that the service user is in group video",
                         essential=False)
        return Check("display", "pass", f"{kind}: test pattern shown at "
                     f"{display.size[0]}x{display.size[1]}", essential=False)

    # -- network ---------------------------------------------------------------------
    def network(self) -> Check:
        """This device has an address on a network."""
        address = local_address()
        if not address:
            return Check("network", "fail", "no network address",
                         "connect Wi-Fi: sudo nmtui, or set it in Raspberry Pi Imager")
        return Check("network", "pass", f"address {address}")

    def dns(self) -> Check:
        """The hub's name resolves."""
        host = urlparse(self.hub_url).hostname or ""
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            return Check("dns", "fail", f"cannot look up {host}: {exc}",
                         "check the router's DNS, or the Wi-Fi connection")
        return Check("dns", "pass", f"{host} resolves")

    def https(self) -> Check:
        """The hub answers over HTTPS (a wrong clock shows up here as a TLS error)."""
        import httpx  # comes with gradio_client

        try:
            reply = httpx.get(self.hub_url, timeout=10, follow_redirects=True)
        except httpx.HTTPError as exc:
            return Check("https", "fail", f"{self.hub_url}: {exc}",
                         "check the internet connection; if it says certificate, check the "
                         "clock (timedatectl)")
        return Check("https", "pass", f"{self.hub_url} answered {reply.status_code}")

    def clock(self) -> Check:
        """The clock was set from the network."""
        if Path("/run/systemd/timesync/synchronized").exists():
            return Check("clock", "pass", "synchronised with network time")
        if shutil.which("timedatectl"):
            done = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                                  capture_output=True, text=True, timeout=10, check=False)
            if done.stdout.strip() == "yes":
                return Check("clock", "pass", "synchronised with network time")
            if done.returncode == 0:
                return Check("clock", "fail", "not synchronised yet",
                             "wait for the network, or check: timedatectl timesync-status")
        return Check("clock", "absent", "cannot tell (no systemd-timesyncd here): "
                     f"{time.strftime('%Y-%m-%d %H:%M')}", essential=False)

    def spaces(self) -> list[Check]:
        """Each configured Space is reachable, running, and has the expected API."""
        from looksay.remote.models import RemoteModels
        from looksay.remote.token import read_token

        models = RemoteModels(self.settings, paths.ensure(paths.cache_dir()),
                              read_token(self.settings))
        found: list[Check] = []
        try:
            results: dict[str, str] = {}
            # Probed together: three slow Spaces should not take three times as long.
            threads = [threading.Thread(target=lambda s=s: results.__setitem__(
                s, models.probe(s, timeout=30))) for s in ("caption", "speech", "smile")]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            for service in ("caption", "speech", "smile"):
                section = getattr(self.settings, service)
                state = results.get(service, "did not answer within 60 s")
                ok = state.startswith("answers")
                found.append(Check(
                    f"{service} Space", "pass" if ok else "fail",
                    f"{section.space} {section.api_name}: {state}",
                    "" if ok else f"check {service}.space and {service}.api_name, or try later",
                    essential=service != "smile"))
        finally:
            models.close()
        return found

    # -- the machine -----------------------------------------------------------------
    def disk(self) -> list[Check]:
        """Enough free space for downloads and state."""
        found = []
        for name, folder in (("cache", paths.cache_dir()), ("state", paths.state_dir())):
            probe = folder
            while not probe.exists() and probe != probe.parent:
                probe = probe.parent
            free = shutil.disk_usage(probe).free
            ok = free >= MIN_FREE_BYTES
            found.append(Check(f"{name} space", "pass" if ok else "fail",
                               f"{free // (1024 * 1024)} MB free in {folder}",
                               "free some space: sudo apt clean; journalctl --vacuum-size=50M"))
        return found

    def groups(self) -> Check:
        """The service user is in the groups that open the hardware."""
        try:
            user = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return Check("groups", "absent", f"no '{SERVICE_USER}' user (not installed "
                         "as a service here)", essential=False)
        member_of = {g.gr_name for g in grp.getgrall() if SERVICE_USER in g.gr_mem}
        member_of.add(grp.getgrgid(user.pw_gid).gr_name)
        missing = [g for g in SERVICE_GROUPS if g not in member_of]
        if missing:
            return Check("groups", "fail", f"'{SERVICE_USER}' is not in {', '.join(missing)}",
                         f"sudo usermod -aG {','.join(missing)} {SERVICE_USER} (the unit's "
                         "SupplementaryGroups= also adds them)", essential=False)
        return Check("groups", "pass", f"'{SERVICE_USER}' is in {', '.join(SERVICE_GROUPS)}")

    def service(self) -> Check:
        """The systemd service is active."""
        if not shutil.which("systemctl") or not Path("/run/systemd/system").exists():
            return Check("service", "absent", "not present (systemd is not running here)",
                         essential=False)
        done = subprocess.run(["systemctl", "is-active", "looksay"], capture_output=True,
                              text=True, timeout=10, check=False)
        state = done.stdout.strip() or "unknown"
        if state == "active":
            return Check("service", "pass", "looksay.service is active")
        return Check("service", "fail", f"looksay.service is {state}",
                     "sudo systemctl restart looksay; then journalctl -u looksay -b",
                     essential=False)

    def speak_summary(self, checks: list[Check]) -> str:
        """Say the verdict out loud on the device; returns the sentence."""
        failed = [c.name for c in checks if c.status == "fail"]
        absent = [c.name for c in checks if c.status == "absent"
                  and c.name in ("camera", "buttons", "speaker")]
        if not failed and absent:
            sentence = (f"The checks passed, but this machine has no {' or '.join(absent)}, "
                        "so it cannot work as the device.")
        elif not failed:
            sentence = "All checks passed. I am ready."
        else:
            sentence = (f"{len(failed)} {'check' if len(failed) == 1 else 'checks'} failed: "
                        f"{', '.join(failed)}. Run looksay doctor over SSH for details.")
        if self._player is not None and self.play:
            from looksay.audio.voice import LocalVoice

            # The printed verdict still stands if the voice fails.
            with contextlib.suppress(Exception):
                voice = LocalVoice(self.settings.speech.local_voice)
                self._player.play(voice.synthesize(sentence))
        return sentence


def _daemon_status() -> dict | None:
    """The running daemon's status over the control socket, or None when none answers."""
    from looksay.daemon import control

    try:
        reply = control.request({"cmd": "status"}, timeout=3)
    except (control.ControlError, OSError):
        return None
    status = reply.get("status")
    return status if isinstance(status, dict) else None


def local_address() -> str | None:
    """This device's outward IP address, or None when there is no route out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            # connect() on UDP only picks a route; no packet is sent.
            s.connect(("192.0.2.1", 9))
            return s.getsockname()[0]
        except OSError:
            return None


def _first_card() -> str:
    from looksay.audio.players import list_alsa_devices

    cards = [d for d in list_alsa_devices() if d.startswith("plughw:")]
    return cards[0] if cards else "plughw:CARD=Headphones,DEV=0"


def _test_pattern(size: tuple[int, int]):
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    colours = ["white", "yellow", "cyan", "lime", "magenta", "red", "blue", "black"]
    for i, colour in enumerate(colours):
        draw.rectangle([i * w // 8, 0, (i + 1) * w // 8, h], fill=colour)
    draw.rectangle([0, 0, w - 1, h - 1], outline="white", width=max(1, w // 80))
    return img


def run(config_path: str | None, overrides: list[str], *, as_json: bool, buttons: bool,
        hub_url: str, play: bool) -> int:
    """The command: returns 0 when every essential check passed."""
    try:
        settings = config.load(config_path, overrides)
        first = Check("config", "pass", str(settings.source or "built-in defaults"))
    except ConfigError as exc:
        settings = config.Settings()
        first = Check("config", "fail", str(exc), "fix the key it names; "
                      "`looksay config example` shows every key")
    emit = (lambda c: None) if as_json else (lambda c: print(c.line(), flush=True))
    emit(first)
    doctor = Doctor(settings, hub_url=hub_url, buttons=buttons, play=play)
    checks = [first, *doctor.run(emit)]
    verdict = doctor.speak_summary(checks)
    bad = any(c.status == "fail" and c.essential for c in checks)
    if as_json:
        json.dump({"ok": not bad, "verdict": verdict, "checks": [asdict(c) for c in checks]},
                  sys.stdout, indent=2)
        print()
    else:
        print(f"\n{verdict}")
    return 1 if bad else 0


def list_audio() -> int:
    """``--list-audio``: the ALSA devices to choose from for audio.device."""
    from looksay.audio.players import list_alsa_devices

    devices = list_alsa_devices()
    if not devices:
        print("no ALSA devices found (is alsa-utils installed? is a sound card connected?)",
              file=sys.stderr)
        return 1
    for device in devices:
        print(device)
    if PIPEWIRE_ALSA_CONF.exists():
        print("\nnote: 'default' goes to PipeWire here; a system service needs a plughw:CARD=… "
              "device", file=sys.stderr)
    return 0

