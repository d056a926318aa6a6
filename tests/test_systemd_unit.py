"""systemd/looksay.service: systemd accepts it, it is hardened enough, and it keeps the
promises the device relies on (starts offline, restarts itself, reaches its hardware, gets
the token as a credential).

systemd 252 (Bookworm's) runs these checks on a plain file; no running systemd is needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from looksay import config
from looksay.remote import token

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "looksay.service"
EXEC = "/opt/looksay/venv/bin/looksay"
MAX_EXPOSURE = 2.5
DEVICE_CLASSES = {"video4linux", "media", "dma_heap", "gpiochip", "alsa", "fb", "drm", "spi"}


def _analyze(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: apt-get install systemd (scripts/setup does)"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def _directives() -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in order; keys may repeat."""
    found = []
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def _values(key: str, section: str | None = None) -> list[str]:
    return [v for s, k, v in _directives() if k == key and section in (None, s)]


def _one(key: str, section: str = "Service") -> str:
    values = _values(key, section)
    assert len(values) == 1, f"{key}= should be set once in [{section}], found {values}"
    return values[0]


def _words(key: str, section: str | None = None) -> list[str]:
    return [w for v in _values(key, section) for w in v.split()]


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|sec|min|m)?", value)
    assert match, f"unexpected time span {value!r}"
    return float(match[1]) * (60 if match[2] in ("min", "m") else 1)


def test_systemd_verify_is_clean(tmp_path: Path) -> None:
    """`systemd-analyze verify` reports nothing, once the venv's entry point exists.

    The entry point only exists on an installed device, so a copy of the unit points at a
    stand-in executable; that is the only change.
    """
    stand_in = tmp_path / "looksay"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = UNIT.read_text()
    assert text.count(EXEC) == 1
    copy = tmp_path / "looksay.service"
    copy.write_text(text.replace(EXEC, str(stand_in)))

    done = _analyze("verify", str(copy))
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "looksay" in line]
    assert done.returncode == 0 and not ours, done.stdout + done.stderr


def test_systemd_verify_of_the_real_file_only_misses_the_venv() -> None:
    """On a machine without looksay installed, the one complaint is the missing venv."""
    done = _analyze("verify", str(UNIT))
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "looksay" in line]
    assert ours, "verify should notice that the venv is not installed here"
    assert all(f"{EXEC} is not executable" in line for line in ours), ours


def test_security_exposure_is_at_most_2_5() -> None:
    done = _analyze("security", "--offline=true", str(UNIT))
    assert done.returncode == 0, done.stderr
    match = re.search(r"Overall exposure level for looksay\.service: (\d+\.\d+)", done.stdout)
    assert match, done.stdout[-2000:]
    assert float(match[1]) <= MAX_EXPOSURE, done.stdout


def test_comments_sit_on_their_own_lines() -> None:
    """systemd has no trailing comments: "Key=value # why" makes "# why" part of the value."""
    for number, raw in enumerate(UNIT.read_text().splitlines(), 1):
        line = raw.strip()
        if line and line[0] not in "#;":
            assert " #" not in line and " ;" not in line, f"line {number}: {raw}"


def test_starts_offline_and_never_waits_for_network_time() -> None:
    assert set(_words("After", "Unit")) >= {"network-online.target", "time-set.target"}
    assert "network-online.target" in _words("Wants", "Unit")
    # Offline, time-sync.target can wait forever (systemd-time-wait-sync).
    for _section, key, value in _directives():
        assert "time-sync.target" not in value, f"{key}={value}"
    # Wants=, not Requires=: no network must not stop the service from starting.
    for key in ("Requires", "Requisite", "BindsTo"):
        assert "network-online.target" not in _words(key)


def test_notify_watchdog_and_restarts() -> None:
    assert _one("Type") == "notify"
    assert _one("ExecStart") == f"{EXEC} run"
    assert _seconds(_one("WatchdogSec")) > 0
    assert _one("Restart") == "on-failure"
    restart_sec = _seconds(_one("RestartSec"))
    assert restart_sec >= 1
    # An invalid looksay.toml (exit 78) cannot be fixed by restarting.
    assert "78" in _words("RestartPreventExitStatus")
    # picamera2's import takes seconds on a Pi Zero; the daemon stops within 5 s.
    assert _seconds(_one("TimeoutStartSec")) >= 60
    assert 5 < _seconds(_one("TimeoutStopSec")) <= 15


def test_a_flapping_network_cannot_stop_the_restarts_for_good() -> None:
    """Either no start limit at all, or one that restarts spaced by RestartSec never reach."""
    interval = _values("StartLimitIntervalSec", "Unit")
    assert not _values("StartLimitIntervalSec", "Service"), "it belongs in [Unit]"
    if interval and _seconds(interval[-1]) == 0:
        return
    window = _seconds(interval[-1]) if interval else 10.0
    burst = int((_values("StartLimitBurst", "Unit") or ["5"])[-1])
    restart_sec = _seconds(_one("RestartSec"))
    assert (burst - 1) * restart_sec > window


def test_user_groups_and_directories() -> None:
    assert _one("User") == "looksay"
    # Camera and display (video), buttons (gpio), speaker (audio), SPI panels (spi).
    assert set(_words("SupplementaryGroups")) == {"video", "gpio", "audio", "spi"}
    for key in ("StateDirectory", "CacheDirectory", "RuntimeDirectory",
                "ConfigurationDirectory"):
        assert _one(key) == "looksay", key
    # Group members reach control.sock (0660) in the runtime directory.
    assert _one("RuntimeDirectoryMode") == "0750"
    # lgpio writes a FIFO into the working directory: it must be one the service may write.
    assert _one("WorkingDirectory") in ("/var/lib/looksay", "/run/looksay")
    environment = _words("Environment")
    assert {"PYTHONUNBUFFERED=1", "HF_HUB_DISABLE_TELEMETRY=1",
            "GRADIO_ANALYTICS_ENABLED=False"} <= set(environment)
    assert "LG_WD=/run/looksay" in environment


def test_token_is_a_credential_never_an_environment_variable() -> None:
    for key in ("Environment", "EnvironmentFile", "PassEnvironment"):
        for value in _values(key):
            assert "token" not in value.lower(), f"{key}={value}"
    assert _values("LoadCredential") == ["hf_token:/etc/looksay/hf_token"]
    # Without the file, LoadCredential= alone fails the start on systemd 252; a
    # SetCredential= of the same ID is its fallback (systemd.exec(5)).
    fallback = _values("SetCredential")
    assert len(fallback) == 1 and fallback[0].startswith("hf_token:")


def test_the_credential_fallback_reads_as_no_token(tmp_path: Path) -> None:
    """What the service gets without a token file makes looksay go on without a token."""
    value = _values("SetCredential")[0].partition(":")[2]
    # systemd C-unescapes the value; this unit only uses \n.
    data = value.replace("\\n", "\n")
    assert "\\" not in data
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "hf_token").write_text(data)
    empty = tmp_path / "looksay.toml"
    empty.write_text("")
    settings = config.load(empty)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CREDENTIALS_DIRECTORY", str(creds))
        assert token.read_token(settings) is None
        (creds / "hf_token").write_text("hf_abc\n")
        assert token.read_token(settings) == "hf_abc"


def test_hardening_that_keeps_the_hardware_reachable() -> None:
    for key, value in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                       ("DevicePolicy", "closed"), ("CapabilityBoundingSet", ""),
                       ("AmbientCapabilities", ""), ("ProtectProc", "invisible"),
                       ("ProtectKernelTunables", "yes"), ("ProtectControlGroups", "yes"),
                       ("RestrictSUIDSGID", "yes"), ("LockPersonality", "yes"),
                       ("SystemCallArchitectures", "native")):
        assert _one(key) == value, key
    assert "@system-service" in _words("SystemCallFilter")
    assert set(_words("RestrictAddressFamilies")) == {"AF_UNIX", "AF_INET", "AF_INET6",
                                                      "AF_NETLINK"}
    allowed = {}
    for value in _values("DeviceAllow"):
        name, _, mode = value.partition(" ")
        assert name.startswith("char-"), value
        allowed[name.removeprefix("char-")] = mode
    assert allowed == dict.fromkeys(DEVICE_CLASSES, "rw")
    # Each of these hides the camera, GPIO, sound or display, breaks gpiozero's board
    # detection, drops the device groups, or cuts the internet the models run on.
    for key in ("PrivateDevices", "ProcSubset", "PrivateUsers", "PrivateNetwork",
                "IPAddressDeny", "DynamicUser"):
        assert not _values(key), f"{key}= must not be set"
