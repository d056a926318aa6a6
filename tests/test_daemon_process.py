"""``looksay run`` as systemd runs it: a process with NOTIFY_SOCKET and WATCHDOG_USEC.

The test owns the notify socket (a datagram socket, as systemd's), sets the directories
systemd would set, uses gpiozero's mock pins (GPIOZERO_PIN_FACTORY=mock) and records the
sound through real ALSA into files. Then it uses the device the way its owner does over
SSH: ``looksay press``, ``looksay status``, ``looksay say``, ``looksay volume``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fake_spaces import SPEECH_RATE

WATCHDOG_USEC = 1_000_000  # pings expected every 0.5 s


class NotifyListener:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[tuple[float, str]] = []

    def read(self, timeout: float) -> None:
        """Collect datagrams for up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, line: str, timeout: float) -> float:
        """time.monotonic() of the first message holding ``line``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for at, message in self.messages:
                if line in message.split("\n"):
                    return at
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {line} within {timeout} s; got {self.messages}")
            self.read(min(left, 0.2))

    def lines(self, prefix: str) -> list[tuple[float, str]]:
        """Every line starting with ``prefix``, with its arrival time."""
        return [(at, line) for at, message in self.messages for line in message.split("\n")
                if line.startswith(prefix)]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def device(daemon_dirs, alsa_capture, spaces, photos, tmp_path):
    """``looksay run`` started as systemd would; yields (process, listener, env, config)."""
    config = tmp_path / "looksay.toml"
    config.write_text(spaces.toml() + f"""
[camera]
source = "file"
path = "{photos / 'coffee-cup.jpg'}"

[audio]
player = "aplay"
device = "default"
volume = 100
""")
    listener = NotifyListener(daemon_dirs.root / "notify")
    env = dict(alsa_capture.env)
    env.update(daemon_dirs.env())
    env.update(NOTIFY_SOCKET=str(listener.path), WATCHDOG_USEC=str(WATCHDOG_USEC),
               GPIOZERO_PIN_FACTORY="mock", PYTHONUNBUFFERED="1", LOOKSAY_CONFIG=str(config))
    env.pop("JOURNAL_STREAM", None)
    env.pop("WATCHDOG_PID", None)
    log = (tmp_path / "daemon.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "looksay", "run"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    proc.started = started
    proc.log = tmp_path / "daemon.log"
    try:
        yield proc, listener, env
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        listener.close()


def looksay(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the looksay command line as the owner would over SSH."""
    return subprocess.run([sys.executable, "-m", "looksay", *args], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_ready_press_status_watchdog_and_stop(device, alsa_capture, daemon_dirs):
    proc, notify, env = device
    ready = notify.wait_for("READY=1", timeout=30)
    startup = ready - proc.started
    assert startup < 15, f"READY=1 after {startup:.1f} s"
    mode = daemon_dirs.socket.stat().st_mode & 0o777
    assert mode == 0o660, f"control.sock mode {oct(mode)}"

    # Watchdog pings keep coming, at half of WATCHDOG_USEC.
    notify.read(1.6)
    pings = [at for at, _ in notify.lines("WATCHDOG=1") if at > ready]
    assert len(pings) >= 2, f"pings after READY: {len(pings)}"
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    assert all(gap < 0.8 for gap in gaps), f"ping gaps {gaps}"

    done = looksay(env, "press", "describe")
    assert done.returncode == 0, done.stderr
    caption = done.stdout.strip()
    assert "photograph" in caption
    speech = [s for s in alsa_capture.sounds() if s.rate == SPEECH_RATE]
    assert speech and sum(s.duration for s in speech) > 1.0, "the caption was spoken"

    shown = looksay(env, "status")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["last_caption"] == caption
    assert status["state"] == "ready"
    assert status["volume"] == 100
    assert status["last_error"] is None
    assert status["last_timings"]["caption"] > 0
    assert status["versions"]["looksay"]
    assert status["uptime"] > 0

    statuses = [line for _, line in notify.lines("STATUS=")]
    assert "STATUS=Ready" in statuses

    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    took = time.monotonic() - stopping
    assert took < 5, f"stopped in {took:.1f} s"
    notify.wait_for("STOPPING=1", timeout=1)
    assert not daemon_dirs.socket.exists(), "the socket is removed on the way out"
    log = proc.log.read_text()
    assert "press 0001 control -> describe: ok" in log, log
    assert "Traceback" not in log, log


def test_say_volume_and_sigint(device, alsa_capture, daemon_dirs):
    proc, notify, env = device
    notify.wait_for("READY=1", timeout=30)
    said = looksay(env, "say", "Hello", "from", "the", "owner.")
    assert said.returncode == 0, said.stderr
    speech = [s for s in alsa_capture.sounds() if s.rate == SPEECH_RATE]
    assert len(speech) == 1

    assert looksay(env, "volume").stdout.strip() == "volume 100%"
    lower = looksay(env, "volume", "40")
    assert lower.returncode == 0 and lower.stdout.strip() == "volume 40%"
    up = looksay(env, "volume", "up")
    assert up.stdout.strip() == "volume 50%"

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=5) == 0
    notify.wait_for("STOPPING=1", timeout=1)
    state = json.loads((daemon_dirs.state / "state.json").read_text())
    assert state["volume"] == 50, "kept for the next start"


def test_bad_config_exits_78(daemon_dirs, tmp_path):
    config = tmp_path / "looksay.toml"
    config.write_text("[audio]\nvolume = 500\n")
    env = dict(os.environ, GPIOZERO_PIN_FACTORY="mock")
    done = looksay(env, "run", "--config", str(config))
    assert done.returncode == 78
    assert "audio.volume" in done.stderr


def test_second_daemon_refuses_to_start(device, daemon_dirs):
    proc, notify, env = device
    notify.wait_for("READY=1", timeout=30)
    second = looksay(env | {"NOTIFY_SOCKET": ""}, "run", timeout=30)
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert proc.poll() is None, "the first one keeps running"
    assert looksay(env, "status").returncode == 0, "and keeps its socket"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0


def test_sigterm_during_a_slow_remote_job_stops_within_5_s(device, spaces, daemon_dirs):
    proc, notify, env = device
    notify.wait_for("READY=1", timeout=30)
    spaces.set("caption", "slow", delay=30)
    started = looksay(env, "press", "describe", "--no-wait")
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 10
    while spaces["caption"].calls == 0:
        assert time.monotonic() < deadline, "the caption was never asked for"
        time.sleep(0.02)
    busy = looksay(env, "press", "smile")
    assert busy.returncode == 75 and "busy with 0001 describe" in busy.stderr
    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert time.monotonic() - stopping < 5
    notify.wait_for("STOPPING=1", timeout=1)
    log = proc.log.read_text()
    assert "stopped in" in log and "Traceback" not in log, log


def test_without_usable_gpio_the_daemon_still_speaks_and_answers(
        daemon_dirs, alsa_capture, spaces, photos, tmp_path):
    # As on a PC, or a Pi whose service user is not in the gpio group: no pin factory works.
    config = tmp_path / "looksay.toml"
    photo = photos / "cat-chelsea.jpg"
    config.write_text(spaces.toml() + f'[camera]\nsource = "file"\npath = "{photo}"\n'
                      '[audio]\nplayer = "aplay"\n')
    listener = NotifyListener(daemon_dirs.root / "notify")
    env = dict(alsa_capture.env) | daemon_dirs.env() | {
        "NOTIFY_SOCKET": str(listener.path), "GPIOZERO_PIN_FACTORY": "lgpio",
        "LOOKSAY_CONFIG": str(config)}
    proc = subprocess.Popen([sys.executable, "-m", "looksay", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        listener.wait_for("READY=1", timeout=30)
        status = json.loads(looksay(env, "status").stdout)
        assert status["buttons"].startswith("unavailable")
        assert any("buttons unavailable" in line for _, line in listener.lines("STATUS="))
        done = looksay(env, "press", "describe")
        assert done.returncode == 0 and "photograph" in done.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        err = proc.stderr.read().decode()
        assert "buttons unavailable" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        listener.close()
