"""The daemon's sound output: one sound at a time, presses heard at once, ticks, volume.

Played through the real aplay player on ALSA PCMs that record into files; the real-time
variant takes as long as a speaker would, so interrupting and stopping are tested honestly.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from looksay import config
from looksay.audio import tones
from looksay.audio.players import AplayPlayer
from looksay.audio.wav import Sound
from looksay.daemon.feedback import REWIND, SoundOutput, Ticker, Volume
from looksay.daemon.state import StateFile
from tests.fake_spaces import speech_wav


class TimedAplay(AplayPlayer):
    """The real aplay player, noting when each play() began and ended."""

    def __init__(self) -> None:
        super().__init__("default")
        self.spans: list[tuple[float, float, Sound]] = []

    def play(self, sound: Sound) -> None:
        began = time.monotonic()
        try:
            super().play(sound)
        finally:
            self.spans.append((began, time.monotonic(), sound))


@pytest.fixture
def output():
    """``make() -> (SoundOutput, TimedAplay)``; closed at the end."""
    made = []

    def make():
        player = TimedAplay()
        out = SoundOutput(player)
        made.append(out)
        return out, player

    yield make
    for out in made:
        out.close()


def speech(seconds: float) -> Sound:
    """A stand-in voice recording of about ``seconds``."""
    return Sound.from_wav(speech_wav("abcdefghij" * round(seconds / 0.2)))


def wait_idle(out: SoundOutput, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not out.idle:
        assert time.monotonic() < deadline, "the output never went quiet"
        time.sleep(0.01)


def test_never_two_sounds_at_once(alsa_realtime, output):
    out, player = output()
    talk = threading.Thread(target=out.play, args=(speech(0.6),))
    talk.start()
    time.sleep(0.15)
    for cue, urgent in ((tones.ack(), True), (tones.done(), False), (tones.busy(), True),
                        (tones.error(), False)):
        threading.Thread(target=out.cue, args=(cue,), kwargs={"urgent": urgent}).start()
        time.sleep(0.07)
    out.begin_working(tones.working(), 0.1)
    time.sleep(0.5)
    out.end_working()
    talk.join(10)
    wait_idle(out)
    spans = sorted(player.spans, key=lambda s: s[0])
    assert len(spans) >= 6
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert start >= end, "a sound started before the previous one ended"
    # (An aplay stopped before it opened the device leaves no file.)
    assert len(spans) - 1 <= len(alsa_realtime.files()) <= len(spans)


def test_a_press_interrupts_speech_which_resumes_a_little_earlier(alsa_realtime, output):
    out, player = output()
    words = speech(2.0)
    talk = threading.Thread(target=out.play, args=(words,))
    talk.start()
    time.sleep(0.8)
    asked = time.monotonic()
    started: list[float] = []
    out.cue(tones.ack(), urgent=True, on_start=started.append)
    talk.join(10)
    assert not talk.is_alive(), "play() returns once all the words are out"
    cut = player.spans[0][1]
    assert asked < cut, "the speech was still playing when the press came"
    # The ack follows as soon as the player has let go of the device: at once on a sound
    # card; here aplay takes its SIGTERM grace to close the paced pipe (see players.py).
    assert started and started[0] - cut < 0.1, "the ack is handed over at once"
    assert started[0] - asked < 0.1 + 0.3
    played = [s.duration for s in alsa_realtime.sounds()]
    assert len(played) == 3, played
    first, ack, rest = played
    assert ack < 0.25
    assert 0.5 < first < 1.1
    # The rest starts REWIND before where the speech was cut: nothing is lost.
    assert first + rest >= words.duration + REWIND * 0.8
    assert rest < words.duration - first + REWIND + 0.3


def test_stop_cuts_speech_short(alsa_realtime, output):
    out, _ = output()
    talk = threading.Thread(target=out.play, args=(speech(3.0),))
    talk.start()
    time.sleep(0.4)
    stopped = time.monotonic()
    out.stop()
    talk.join(3)
    assert time.monotonic() - stopped < 0.5
    assert alsa_realtime.captured_seconds() < 1.0


def test_mute_refuses_speech_until_unmuted(alsa_capture, output):
    out, player = output()
    out.mute()
    out.play(speech(0.4))
    out.cue(tones.ack())
    wait_idle(out)
    assert [s for _, _, s in player.spans] == [tones.ack()], "cues still play"
    out.unmute()
    out.play(speech(0.4))
    assert len(player.spans) == 2


def test_working_ticks_every_interval_and_never_over_speech(alsa_realtime, output):
    out, player = output()
    ticker = Ticker(out, tones.working(), 0.3)
    with ticker.working():
        time.sleep(1.0)
        out.play(speech(0.8))
        time.sleep(0.7)
    time.sleep(0.5)
    ticks = [(a, b) for a, b, s in player.spans if s == tones.working()]
    talks = [(a, b) for a, b, s in player.spans if s != tones.working()]
    assert len(talks) == 1
    before = [t for t in ticks if t[1] <= talks[0][0]]
    assert len(before) == 3, f"a tick every 0.3 s while waiting: {len(before)}"
    for a, b in ticks:
        assert b <= talks[0][0] or a >= talks[0][1], "a tick overlapped speech"
    assert not [t for t in ticks if t[0] > talks[0][1] + 1.0], "ticks stop with working()"


def _volume(tmp_path, out, *overrides):
    path = tmp_path / "looksay.toml"
    path.touch()
    settings = config.load(path, overrides=list(overrides))
    store = StateFile(tmp_path / "state")
    return Volume(settings.audio, out, store, store.load())


def _restart(volume):
    # What the daemon does on its way out: the saves it handed off reach the disk.
    assert volume.state_file.flush()


def test_volume_is_capped_remembered_and_followed_by_the_player(tmp_path, alsa_capture,
                                                                 output):
    out, player = output()
    volume = _volume(tmp_path, out, "audio.volume=50", "audio.max_volume=80",
                     "audio.volume_step=20")
    assert volume.level == 50 and player.volume == 50
    assert volume.step(+1) == (70, True)
    assert volume.step(+1) == (80, True)
    assert volume.step(+1) == (80, False), "never above audio.max_volume"
    assert player.volume == 80
    assert volume.set(5) == 10, "never below 10: a mute device could not be found again"
    assert volume.step(-1) == (10, False)
    volume.set(65)
    _restart(volume)
    again = _volume(tmp_path, out, "audio.volume=50", "audio.max_volume=80")
    assert again.level == 65, "remembered"
    lowered = _volume(tmp_path, out, "audio.volume=50", "audio.max_volume=60")
    assert lowered.level == 60, "a lower cap in the config still caps it"


def test_a_changed_config_volume_wins_over_the_remembered_one(tmp_path, output):
    out, _ = output()
    volume = _volume(tmp_path, out, "audio.volume=50")
    volume.set(30)
    _restart(volume)
    assert _volume(tmp_path, out, "audio.volume=50").level == 30
    assert _volume(tmp_path, out, "audio.volume=90").level == 90, "the owner edited it"


def test_volume_changes_never_wait_for_the_disk(tmp_path, output):
    out, _ = output()
    volume = _volume(tmp_path, out, "audio.volume=50")
    began = time.monotonic()
    for level in range(100):
        volume.set(level)
    assert time.monotonic() - began < 0.5, "each press returns at once; saves coalesce"
    _restart(volume)
    assert StateFile(tmp_path / "state").load().volume == 99, "the last one is kept"
