"""`looksay describe` and `looksay smile` end to end, as the maker runs them.

Each test runs the real command as a child process against the stand-in Spaces, with
ALSA's file plugin as the sound card, and checks what a person would notice: the caption
printed, sound reaching the speaker for about as long as the voice said, the smiling
picture on the display, and, on failure, a non-zero exit with the reason printed and
spoken, within the deadline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from looksay import text
from tests import fake_spaces as fs

PHOTOS = Path(__file__).parent / "photos"
CAT = PHOTOS / "cat-chelsea.jpg"
BIG = PHOTOS / "person-astronaut-12mp.jpg"


@pytest.fixture
def run(spaces, alsa_capture, tmp_path):
    """``run(*args, timeout=...)`` runs looksay with its own dirs and the stand-ins."""
    env = dict(alsa_capture.env)
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_RUNTIME_DIR=str(tmp_path / "run"), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    env.pop("LOOKSAY_CONFIG", None)
    config = tmp_path / "looksay.toml"
    config.write_text(spaces.toml() + '\n[audio]\nplayer = "aplay"\n')

    def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "looksay", *args, "--config", str(config)],
                              capture_output=True, text=True, env=env, timeout=timeout)

    return _run


def test_describe_prints_the_caption_and_speaks_it(run, spaces, alsa_capture, tmp_path):
    done = run("describe", "--image", str(CAT))
    assert done.returncode == 0, done.stderr
    caption = done.stdout.strip()
    expected = text.for_listening(fs.describe(str(CAT)), 2, 300)
    assert caption == expected
    # The voice gives SECONDS_PER_CHAR per character; every chunk reached ALSA.
    pieces = text.chunks(caption, 220)
    want = sum(len(p) for p in pieces) * fs.SECONDS_PER_CHAR
    alsa_capture.settle()
    heard = alsa_capture.captured_seconds()
    assert want <= heard <= want + 0.15 * len(pieces) + 0.2, (want, heard)
    assert spaces["speech"].calls == len(pieces)
    assert "describe timings:" in done.stderr and "first_sound=" in done.stderr
    # Downloads are cleaned up; nothing lands in the temp dir.
    assert list((tmp_path / "tmp").iterdir()) == []
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert leftovers == []


def test_a_12mp_frame_is_scaled_down_before_upload(run, spaces):
    done = run("describe", "--image", str(BIG))
    assert done.returncode == 0, done.stderr
    # The stand-in's caption names the size of the picture it received.
    assert "1024 by 576 pixels" in done.stdout


def test_smile_writes_the_fitted_result_to_the_file_display(run, spaces, tmp_path):
    screen = tmp_path / "screen"
    done = run("smile", "--image", str(CAT), "--set", "display.kind=file",
               "--set", f'display.path="{screen}"', "--set", "display.width=240",
               "--set", "display.height=240")
    assert done.returncode == 0, done.stderr
    saved = Path(done.stdout.strip())
    assert saved.is_file() and saved.parent == tmp_path / "state" / "looksay" / "results"
    shown = Image.open(screen / "latest.png")
    assert shown.size == (240, 240)
    # Letterboxed: the 512-wide landscape result leaves black bars top and bottom.
    assert shown.getpixel((120, 2)) == (0, 0, 0)
    assert shown.getpixel((120, 120)) != (0, 0, 0)
    args = spaces["smile"].last_args
    assert args["prompt"] == "Make them smile"
    assert (args["strength"], args["steps"], args["seed"]) == (0.7, 2, 0)


FAILURES = [
    # service, mode, what the person hears (a part of it)
    ("caption", "gone", "describing service is not available"),
    ("caption", "waking", "describing service is starting up"),
    ("caption", "quota", "describing service is busy. Press again in 5 minutes"),
    ("caption", "queue_full", "describing service is busy"),
    ("caption", "error_caption", "gave an answer I can't use"),
    ("caption", "error", "describing service is not available"),
]


@pytest.mark.parametrize(("service", "mode", "heard"), FAILURES)
def test_each_remote_failure_is_printed_spoken_and_non_zero(run, spaces, alsa_capture,
                                                            service, mode, heard):
    spaces.set(service, mode)
    done = run("describe", "--image", str(CAT))
    assert done.returncode == 1
    assert heard in done.stderr
    alsa_capture.settle()
    assert alsa_capture.captured_seconds() > 1.0  # the local voice said it


def test_too_slow_ends_within_the_deadline(run, spaces, alsa_capture):
    spaces.set("caption", "slow", delay=30)
    began = time.monotonic()
    done = run("describe", "--image", str(CAT), "--set", "caption.timeout=3")
    elapsed = time.monotonic() - began
    assert done.returncode == 1
    assert "took too long" in done.stderr
    assert elapsed < 3 + 15  # deadline plus start-up and the spoken reason


def test_no_internet_is_said_plainly(run, alsa_capture):
    port = fs.free_port()
    done = run("describe", "--image", str(CAT), "--set", f'caption.space="http://127.0.0.1:{port}/"')
    assert done.returncode == 1
    assert "describing service is not available" in done.stderr
    alsa_capture.settle()
    assert alsa_capture.captured_seconds() > 1.0


def test_a_black_smile_is_reported(run, spaces, tmp_path):
    spaces.set("smile", "black")
    done = run("smile", "--image", str(CAT))
    assert done.returncode == 1
    assert "black image" in done.stderr


def test_voice_down_falls_back_to_the_local_voice(run, spaces, alsa_capture):
    spaces.set("speech", "gone")
    done = run("describe", "--image", str(CAT))
    assert done.stdout.strip()  # the caption still arrives
    assert done.returncode == 1
    assert "local voice" in done.stderr and "voice service" in done.stderr
    alsa_capture.settle()
    assert alsa_capture.captured_seconds() > 2.0  # caption and reason, by espeak-ng


def test_a_missing_image_is_named(run):
    done = run("describe", "--image", "/nonexistent/photo.jpg")
    assert done.returncode == 66
    assert "/nonexistent/photo.jpg" in done.stderr


def test_many_describes_leave_nothing_behind(spaces, remote_settings, tmp_path, monkeypatch):
    """In process, 15 describes: the temp dir stays empty and the cache does not grow."""
    from looksay import pipelines
    from looksay.parts import open_parts

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    settings = remote_settings("audio.player=file", f'audio.path="{tmp_path / "played"}"')
    image = Image.open(CAT)
    sizes = []
    with open_parts(settings) as parts:
        for _ in range(15):
            outcome = pipelines.describe(parts, image)
            assert outcome.caption
            sizes.append(sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*")
                             if p.is_file()))
    assert list(tmp.iterdir()) == []
    assert max(sizes) == 0
    assert len(list((tmp_path / "played").iterdir())) >= 15


def test_importing_the_cli_does_not_load_gradio_or_pillow():
    code = ("import sys, looksay.cli; bad = [m for m in ('gradio', 'gradio_client', 'PIL', "
            "'httpx', 'numpy') if m in sys.modules]; print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ), check=True)
    assert done.stdout.strip() == "[]"


def test_a_broken_speaker_is_a_failure_not_a_silent_success(run, spaces):
    done = run("describe", "--image", str(CAT), "--set", 'audio.device="nosuchcard"')
    assert done.stdout.strip()  # the caption was printed
    assert done.returncode == 1
    assert "can't play sound" in done.stderr and "audio.device" in done.stderr


def test_a_big_picture_is_refused_plainly(run, tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(huge)
    done = run("describe", "--image", str(huge))
    assert done.returncode == 66
    assert "Traceback" not in done.stderr and str(huge) in done.stderr
