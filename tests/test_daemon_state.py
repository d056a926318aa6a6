"""Runtime state (volume, last caption) survives restarts, kills mid-write and bad files."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

from looksay.daemon.state import State, StateFile


def test_saved_state_comes_back(tmp_path):
    store = StateFile(tmp_path)
    store.save(State(volume=55, config_volume=80, last_caption="A cat on a mat.",
                     last_caption_at="2026-01-01T10:00:00+00:00"))
    again = StateFile(tmp_path).load()
    assert again == State(55, 80, "A cat on a mat.", "2026-01-01T10:00:00+00:00")
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"], "no temp files left"


def test_no_file_gives_the_defaults(tmp_path):
    assert StateFile(tmp_path / "missing").load() == State()


def test_corrupt_files_fall_back_to_defaults_and_say_so(tmp_path, caplog):
    store = StateFile(tmp_path)
    for junk in (b'{"volume": 5', b"\xff\xfe\x00garbage", b"[1, 2]", b"",
                 b'{"volume": "loud", "last_caption": 7}', b'{"volume": 900}'):
        store.path.write_bytes(junk)
        with caplog.at_level(logging.WARNING, logger="looksay.daemon.state"):
            caplog.clear()
            assert store.load() == State(), junk
        assert caplog.records, f"{junk!r} was not logged"


def test_good_fields_survive_next_to_a_bad_one(tmp_path):
    store = StateFile(tmp_path)
    store.path.write_text(json.dumps({"volume": "loud", "last_caption": "A dog."}))
    assert store.load() == State(last_caption="A dog.")


def test_leftover_temp_file_of_an_interrupted_write_is_ignored_and_removed(tmp_path):
    store = StateFile(tmp_path)
    store.save(State(volume=40))
    leftover = tmp_path / ".state.json.abc123.tmp"
    leftover.write_bytes(b'{"volume": 9')  # the half-written new state
    assert store.load() == State(volume=40)
    assert not leftover.exists()


_WRITER = r"""
import sys
from pathlib import Path
from looksay.daemon.state import State, StateFile
store = StateFile(Path(sys.argv[1]))
n = 0
print("go", flush=True)
while True:
    n += 1
    store.save(State(volume=n % 101, last_caption="word " * (n % 400)))
"""


def test_killed_mid_write_leaves_an_old_or_new_state_never_a_broken_one(tmp_path, caplog):
    # SIGKILL at random moments of a tight save loop: the nearest thing to a power cut
    # that a test can do (the fsyncs are what carry it over to a real power cut).
    for round_ in range(12):
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)],
                                  stdout=subprocess.PIPE)
        assert writer.stdout.readline() == b"go\n"
        time.sleep(0.02 + 0.013 * round_)
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        with caplog.at_level(logging.WARNING, logger="looksay.daemon.state"):
            caplog.clear()
            state = StateFile(tmp_path).load()
        assert not caplog.records, [r.getMessage() for r in caplog.records]
        assert state.volume is not None
        assert state.last_caption == "word " * int(state.last_caption.count("word "))
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_save_is_logged_not_raised(tmp_path, caplog):
    target = tmp_path / "gone"
    target.write_text("a file where the folder should be")
    with caplog.at_level(logging.ERROR, logger="looksay.daemon.state"):
        StateFile(target).save(State(volume=10))
    assert "could not save" in caplog.text


def test_daemon_starts_with_a_corrupt_state_file(daemon_dirs, daemon_settings, start_daemon,
                                                 alsa_capture, spaces):
    (daemon_dirs.state / "state.json").write_bytes(b"\x00\x00\x00\x00")  # power cut debris
    daemon, _ = start_daemon(daemon_settings("audio.volume=70"))
    assert daemon.volume.level == 70
    assert daemon.status()["last_caption"] == ""
