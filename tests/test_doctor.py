"""`looksay doctor`: one verdict per check, JSON for scripts, exit status = the verdict."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from looksay import config, doctor

PHOTO = Path(__file__).parent / "photos" / "coffee-cup.jpg"


@pytest.fixture
def run_doctor(spaces, alsa_capture, tmp_path):
    env = dict(alsa_capture.env)
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_RUNTIME_DIR=str(tmp_path / "run"))
    env.pop("LOOKSAY_CONFIG", None)
    cfg = tmp_path / "looksay.toml"
    cfg.write_text(spaces.toml() + '\n[audio]\nplayer = "aplay"\n')

    def run(*args: str, config_file: Path = cfg) -> tuple[int, dict]:
        done = subprocess.run(
            [sys.executable, "-m", "looksay", "doctor", "--json", "--config", str(config_file),
             "--hub-url", spaces.urls["caption"], *args],
            capture_output=True, text=True, env=env, timeout=120)
        return done.returncode, json.loads(done.stdout)

    return run


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_all_good_against_the_stand_ins_with_hardware_absent(run_doctor, alsa_capture):
    code, report = run_doctor()
    checks = by_name(report)
    assert code == 0 and report["ok"] is True
    for name in ("config", "speaker", "caption Space", "speech Space", "smile Space",
                 "network", "https", "cache space", "state space"):
        assert checks[name]["status"] == "pass", checks[name]
    # No Pi here: the hardware checks say "not present" instead of failing or crashing.
    assert checks["camera"]["status"] == "absent"
    assert checks["buttons"]["status"] == "absent"
    assert checks["display"]["status"] == "absent"
    assert report["verdict"] == ("The checks passed, but this machine has no camera or "
                                 "buttons, so it cannot work as the device.")
    assert all(c["remedy"] == "" for c in report["checks"] if c["status"] != "fail")
    alsa_capture.settle()
    assert alsa_capture.captured_seconds() > 1.0  # the tone and the spoken verdict


def test_a_space_that_is_gone_fails_the_verdict(run_doctor, spaces):
    spaces.set("caption", "gone")
    code, report = run_doctor()
    check = by_name(report)["caption Space"]
    assert code == 1 and report["ok"] is False
    assert check["status"] == "fail" and check["remedy"]
    assert "caption Space" in report["verdict"]


def test_a_changed_space_is_named(run_doctor, spaces):
    spaces["speech"].restart(variant="changed")
    code, report = run_doctor()
    check = by_name(report)["speech Space"]
    assert code == 1
    assert check["status"] == "fail" and "/synthesize" in check["detail"]


def test_a_bad_config_is_reported_not_crashed(run_doctor, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[camera]\nsorce = \"file\"\n")
    code, report = run_doctor(config_file=bad)
    check = by_name(report)["config"]
    assert code == 1
    assert check["status"] == "fail" and "camera.sorce" in check["detail"]


def test_a_speaker_that_cannot_open_fails_with_a_remedy(run_doctor):
    code, report = run_doctor("--set", 'audio.device="nosuchcard"')
    check = by_name(report)["speaker"]
    assert code == 1
    assert check["status"] == "fail" and "audio.device" in check["remedy"]


def test_file_camera_and_file_display_are_checked(run_doctor, tmp_path):
    screen = tmp_path / "screen"
    code, report = run_doctor("--set", "camera.source=file", "--set", f'camera.path="{PHOTO}"',
                              "--set", "display.kind=file", "--set", f'display.path="{screen}"')
    checks = by_name(report)
    assert code == 0, report
    assert checks["camera"]["status"] == "pass" and "brightness" in checks["camera"]["detail"]
    assert checks["display"]["status"] == "pass"
    assert Image.open(screen / "latest.png").size == (320, 240)


def test_a_dark_frame_is_caught(run_doctor, tmp_path):
    dark = tmp_path / "dark.jpg"
    Image.new("RGB", (640, 480), (2, 2, 2)).save(dark)
    code, report = run_doctor("--set", "camera.source=file", "--set", f'camera.path="{dark}"')
    check = by_name(report)["camera"]
    assert code == 1 and check["status"] == "fail" and "dark" in check["detail"]


def test_list_audio_shows_the_alsa_devices(alsa_capture):
    done = subprocess.run([sys.executable, "-m", "looksay", "doctor", "--list-audio"],
                          capture_output=True, text=True, env=alsa_capture.env, timeout=60)
    assert done.returncode == 0
    assert "looksay_test" in done.stdout.split()


def test_pipewire_default_is_detected(tmp_path, monkeypatch):
    conf = tmp_path / "99-pipewire-default.conf"
    conf.write_text("pcm.!default { type pipewire }\n")
    monkeypatch.setattr(doctor, "PIPEWIRE_ALSA_CONF", conf)
    check = doctor.Doctor(config.Settings(), play=False).speaker()
    assert check.status == "fail"
    assert "PipeWire" in check.detail and "audio.device" in check.remedy


def test_with_the_service_running_doctor_asks_it_instead_of_taking_the_hardware(
        start_daemon, daemon_settings, daemon_dirs, alsa_capture, spaces):
    """The daemon owns the camera and the pins; doctor reports what the daemon says."""
    start_daemon(daemon_settings())
    d = doctor.Doctor(daemon_settings(), play=False)
    assert d.daemon is not None
    camera = d.camera()
    assert camera.status == "pass" and "held by the running looksay service" in camera.detail
    (buttons,) = d.buttons_check()
    assert buttons.status == "pass" and "running looksay service" in buttons.detail
