"""The daemon in this process: mock pins pressed with real timing, the stand-in Spaces,
the file camera on a real photo, and real ALSA recording into files.

What a person relies on: a press is acknowledged within 100 ms of the edge, the right
action runs for each gesture, the description is spoken, a press while busy gets the
busy sound and is dropped, a long press cancels, and the lights say what is happening.
"""

from __future__ import annotations

import time

from looksay import text
from looksay.audio import tones
from looksay.audio.voice import LocalVoice
from looksay.audio.wav import Sound
from tests.fake_spaces import SPEECH_RATE, speech_wav

ACK_LIMIT = 0.100


def wait_for(predicate, timeout: float = 10.0, step: float = 0.005) -> None:
    """Wait until ``predicate()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(step)


def wait_idle(daemon, press: int, timeout: float = 20.0) -> dict:
    """Wait for the job started by press number ``press`` to end; its last_press record."""
    def finished() -> bool:
        last = daemon.last_press
        return daemon._job is None and last is not None and int(last["id"]) >= press
    wait_for(finished, timeout)
    # The job's last sounds are queued on the output; let them reach ALSA.
    wait_for(lambda: daemon.output.idle, 10)
    return daemon.last_press


def first_sample_after(capture, known: int, timeout: float = 2.0) -> float:
    """time.monotonic() when a new capture (opening number > ``known``) first holds samples."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = capture.files()
        for path in files[known:]:
            try:
                if path.stat().st_size > 44:
                    return time.monotonic()
            except FileNotFoundError:
                pass
        time.sleep(0.0005)
    raise AssertionError("nothing was played")


def plays(capture) -> list[Sound]:
    """Every sound that reached ALSA's default device, in order."""
    return capture.sounds()


def played(capture, sound: Sound) -> int:
    """How many times ``sound`` reached ALSA (aplay pads the end with silence)."""
    return sum(1 for got in plays(capture)
               if got.rate == sound.rate and got.frames.startswith(sound.frames))


def speech_pieces(caption: str, settings) -> list[Sound]:
    """What the stand-in voice returns for each piece of ``caption``."""
    return [Sound.from_wav(speech_wav(piece))
            for piece in text.chunks(caption, settings.speech.chunk_chars)]


def remote_speech(capture) -> list[Sound]:
    """The captures made by the stand-in voice (the only 44.1 kHz sounds)."""
    return [s for s in plays(capture) if s.rate == SPEECH_RATE]


def local_words(words: str) -> Sound:
    """``words`` as the on-device voice says them."""
    return LocalVoice().synthesize(words)


def test_short_press_is_acknowledged_in_100ms_and_describes_aloud(
        alsa_capture, spaces, daemon_settings, start_daemon):
    settings = daemon_settings()
    daemon, fingers = start_daemon(settings)
    known = len(alsa_capture.files())
    pressed = fingers.down(1)
    heard = first_sample_after(alsa_capture, known)
    time.sleep(0.08)
    fingers.up(1)
    last = wait_idle(daemon, 1)

    assert heard - pressed < ACK_LIMIT, f"ack after {1000 * (heard - pressed):.0f} ms"
    assert last["action"] == "describe" and last["outcome"] == "ok"
    assert played(alsa_capture, tones.ack()) >= 1
    caption = daemon.memory.last_caption
    assert "photograph" in caption, "the stand-in's caption, shaped for listening"
    expected = speech_pieces(caption, settings)
    got = remote_speech(alsa_capture)
    assert len(got) == len(expected)
    for heard_piece, said in zip(got, expected, strict=True):
        assert heard_piece.frames.startswith(said.frames), "the caption, sample for sample"
    assert played(alsa_capture, tones.done()) == 1
    assert played(alsa_capture, tones.error()) == 0
    assert spaces["caption"].calls == 1


def test_long_press_repeats_the_last_description(
        alsa_capture, spaces, daemon_settings, start_daemon):
    settings = daemon_settings("buttons.hold_time=0.4")
    daemon, fingers = start_daemon(settings)
    fingers.short(1)
    wait_idle(daemon, 1)
    first = remote_speech(alsa_capture)
    fingers.long(1)
    last = wait_idle(daemon, 2)
    assert last["action"] == "repeat" and last["outcome"] == "ok"
    again = remote_speech(alsa_capture)[len(first):]
    assert [s.frames for s in again] == [s.frames for s in first]
    assert spaces["caption"].calls == 1, "repeat does not take a new picture"


def test_double_press_runs_the_double_action(
        alsa_capture, spaces, daemon_settings, start_daemon):
    settings = daemon_settings("button2.double=describe", "display.kind=none")
    daemon, fingers = start_daemon(settings)
    fingers.double(2)
    last = wait_idle(daemon, 1)
    assert last["action"] == "describe" and last["source"] == "button2 double"
    assert spaces["smile"].calls == 0, "the short action of the same button did not run"
    assert spaces["caption"].calls == 1


def test_smile_press_with_a_double_action_waits_then_smiles(
        alsa_capture, spaces, daemon_settings, start_daemon):
    settings = daemon_settings("button2.double=describe", "buttons.double_time=0.3")
    daemon, fingers = start_daemon(settings)
    fingers.short(2)
    released = time.monotonic()
    wait_for(lambda: spaces["smile"].calls == 1)
    assert time.monotonic() - released >= 0.3, "waited for a possible second press"
    last = wait_idle(daemon, 1)
    assert last["action"] == "smile" and last["outcome"] == "ok"
    assert spaces["caption"].calls == 0
    assert played(alsa_capture, tones.done()) == 1
    assert played(alsa_capture, local_words("The smiling picture is saved.")) == 1


def test_press_while_busy_gets_the_busy_sound_and_is_dropped(
        alsa_capture, spaces, daemon_settings, start_daemon):
    settings = daemon_settings()
    daemon, fingers = start_daemon(settings)
    spaces.set("caption", "slow", delay=1.5)
    fingers.short(1)
    wait_for(lambda: spaces["caption"].calls == 1)
    known = len(alsa_capture.files())
    pressed = fingers.short(2)  # smile, while describe waits for the caption
    heard = first_sample_after(alsa_capture, known)
    assert heard - pressed < ACK_LIMIT
    wait_for(lambda: played(alsa_capture, tones.busy()) == 1, 2)
    last = wait_idle(daemon, 1)
    assert last["action"] == "describe" and last["outcome"] == "ok"
    time.sleep(0.3)
    assert spaces["smile"].calls == 0, "dropped, not queued behind the slow job"
    assert daemon._job is None
    assert daemon.presses == 2


def test_long_press_while_busy_cancels_and_says_cancelled(
        alsa_capture, spaces, daemon_settings, start_daemon):
    settings = daemon_settings("buttons.hold_time=0.4")
    daemon, fingers = start_daemon(settings)
    spaces.set("caption", "slow", delay=8)
    fingers.short(1)
    wait_for(lambda: spaces["caption"].calls == 1)
    fingers.long(2)  # button 2's long action is status, but while busy it cancels
    released = time.monotonic()
    last = wait_idle(daemon, 1, timeout=5)
    assert last["action"] == "describe" and last["outcome"] == "cancelled"
    assert time.monotonic() - released < 2.0, "cancelled at once, not after the 8 s caption"
    assert played(alsa_capture, local_words("Cancelled.")) == 1
    assert played(alsa_capture, tones.error()) == 0
    assert remote_speech(alsa_capture) == []
    assert daemon.memory.last_caption == ""


def test_failure_is_spoken_with_the_error_sound(
        alsa_capture, spaces, daemon_settings, start_daemon):
    daemon, fingers = start_daemon(daemon_settings())
    spaces.set("caption", "gone")
    fingers.short(1)
    last = wait_idle(daemon, 1, timeout=30)
    assert last["outcome"] == "failed"
    failure_words = daemon.last_error["spoken"]
    assert "describing service" in failure_words
    sounds = plays(alsa_capture)
    errors = [i for i, s in enumerate(sounds) if s.frames.startswith(tones.error().frames)]
    spoken = [i for i, s in enumerate(sounds)
              if s.frames.startswith(local_words(failure_words).frames)]
    assert len(errors) == 1 and len(spoken) == 1
    assert errors[0] < spoken[0], "the error sound, then the reason"


def test_leds_ready_pulsing_privacy_and_error(
        alsa_capture, spaces, daemon_settings, start_daemon, mock_pins):
    settings = daemon_settings("feedback.status_led_pin=5", "feedback.privacy_led_pin=6")
    daemon, fingers = start_daemon(settings)
    status, privacy = mock_pins.pin(5), mock_pins.pin(6)
    assert status.state == 1, "steady when ready"
    assert privacy.state == 0
    privacy.clear_states()
    spaces.set("caption", "slow", delay=1.5)
    fingers.short(1)
    wait_for(lambda: spaces["caption"].calls == 1)
    seen = set()
    end = time.monotonic() + 0.8
    while time.monotonic() < end:
        seen.add(round(status.state, 2))
        time.sleep(0.01)
    assert len([v for v in seen if 0 < v < 1]) >= 5, f"pulsing while working: {sorted(seen)}"
    wait_idle(daemon, 1)
    assert status.state == 1, "steady again when done"
    assert [s.state for s in privacy.states] == [0, 1, 0], "lit only while capturing"

    spaces.set("caption", "gone")
    fingers.short(1)
    wait_idle(daemon, 2, timeout=30)
    seen = set()
    end = time.monotonic() + 0.8
    while time.monotonic() < end:
        seen.add(status.state)
        time.sleep(0.01)
    assert seen == {0, 1}, "blinking after a failure"


def test_volume_buttons_are_capped_remembered_and_heard(
        alsa_capture, spaces, daemon_settings, start_daemon, daemon_dirs):
    settings = daemon_settings("audio.volume=60", "audio.max_volume=70",
                               "audio.volume_step=10",
                               "button2.short=volume_up", "button2.long=volume_down",
                               "buttons.hold_time=0.4")
    daemon, fingers = start_daemon(settings)
    assert daemon.volume.level == 60
    fingers.short(2)
    wait_for(lambda: daemon.volume.level == 70)
    fingers.short(2)
    time.sleep(0.2)
    assert daemon.volume.level == 70, "capped at audio.max_volume"
    assert daemon.output.volume == 70, "the player follows"
    wait_for(lambda: played(alsa_capture, tones.busy().scaled(49)) == 1, 2)

    daemon.request_stop()
    daemon.test_thread.join(6)
    again, fingers = start_daemon(settings)
    assert again.volume.level == 70, "remembered across a restart"
    fingers.long(2)
    wait_for(lambda: again.volume.level == 60)
