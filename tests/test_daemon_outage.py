"""The caption Space absent at start, going away mid-run and coming back.

The daemon must stay up, say why a press failed, and work again on the next press after
the Space returns, without a restart.
"""

from __future__ import annotations

from looksay.audio import tones
from tests.test_daemon_presses import local_words, played, remote_speech, wait_idle


def test_caption_space_absent_then_back_then_gone_then_back(
        alsa_capture, spaces, daemon_settings, start_daemon):
    spaces["caption"].stop()
    daemon, fingers = start_daemon(daemon_settings())

    fingers.short(1)
    last = wait_idle(daemon, 1, timeout=60)
    assert last["outcome"] == "failed"
    reason = daemon.last_error["spoken"]
    assert daemon.last_error["service"] == "caption" or "internet" in reason
    assert played(alsa_capture, tones.error()) == 1
    assert played(alsa_capture, local_words(reason)) == 1, "the reason is spoken"
    assert daemon.health() is None, "still up and making progress"

    spaces["caption"].start()
    fingers.short(1)
    last = wait_idle(daemon, 2, timeout=60)
    assert last["outcome"] == "ok", daemon.last_error
    first_speech = len(remote_speech(alsa_capture))
    assert first_speech >= 1, "described aloud once the Space is back"

    spaces["caption"].stop()
    fingers.short(1)
    last = wait_idle(daemon, 3, timeout=60)
    assert last["outcome"] == "failed"
    assert played(alsa_capture, tones.error()) == 2
    assert played(alsa_capture, local_words(daemon.last_error["spoken"])) >= 1
    assert daemon.health() is None

    spaces["caption"].start()
    fingers.short(1)
    last = wait_idle(daemon, 4, timeout=60)
    assert last["outcome"] == "ok", daemon.last_error
    assert len(remote_speech(alsa_capture)) > first_speech
    assert daemon.status()["state"] == "ready"
