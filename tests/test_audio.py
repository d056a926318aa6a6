"""Sound: WAV decoding, tones, players on real ALSA (file plugin), and the espeak-ng voice."""

from __future__ import annotations

import array
import importlib.util
import itertools
import os
import struct
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from looksay import config
from looksay.audio import AudioError, players, tones
from looksay.audio.players import (
    AplayPlayer,
    FilePlayer,
    LogPlayer,
    Player,
    SimpleaudioPlayer,
    list_alsa_devices,
    make_player,
    volume_gain,
)
from looksay.audio.voice import LocalVoice
from looksay.audio.wav import Sound, silence
from tests.fixtures_audio import NAMED_PCM, AlsaCapture

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

# aplay pads its last period with silence; the period is at most 125 ms here.
APLAY_PAD = 0.13


def tone(seconds: float, freq: float = 440.0, rate: int = 22050, level: float = 0.5) -> Sound:
    """A plain sine tone made without the code under test."""
    import math

    n = round(seconds * rate)
    samples = array.array("h", (round(level * 32767 * math.sin(2 * math.pi * freq * i / rate))
                                for i in range(n)))
    return Sound(samples.tobytes(), rate, 1, 2)


def sox(*args: str | Path) -> None:
    subprocess.run(["sox", "-D", *map(str, args)], check=True, capture_output=True)


def max_difference(a: Sound, b: Sound) -> int:
    assert a.format == b.format and len(a.frames) == len(b.frames)
    return audioop.max(audioop.add(a.frames, audioop.mul(b.frames, a.width, -1), a.width),
                       a.width)


def settings(tmp_path: Path, *overrides: str) -> config.AudioSettings:
    path = tmp_path / "looksay.toml"
    path.write_text("")
    return config.load(path, overrides=list(overrides)).audio


def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH on which neither aplay nor espeak-ng can be found."""
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    monkeypatch.setenv("PATH", str(bare))


# -- WAV ------------------------------------------------------------------------------------


def test_wav_is_recognised_by_its_header_not_its_name(tmp_path: Path) -> None:
    sound = tone(0.3)
    # The voice Space's file is called "audio", with no extension.
    nameless = tmp_path / "audio"
    nameless.write_bytes(sound.to_wav())
    assert Sound.from_wav(nameless.read_bytes()) == sound
    misnamed = tmp_path / "speech.wav"
    misnamed.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(400))  # an MP3
    with pytest.raises(ValueError, match="not a WAV file"):
        Sound.from_wav(misnamed.read_bytes())


@pytest.mark.parametrize("data", [
    b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100),
    b"fLaC\x00\x00\x00\x22" + bytes(100),
    b"OggS\x00\x02" + bytes(100),
    b'{"error": "GPU quota exceeded"}',
    b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
    b"RIFF\x24\x00\x00\x00AVI LIST",
], ids=["mp3", "flac", "ogg", "json", "html", "riff-avi"])
def test_data_that_is_not_wav_is_refused_clearly(data: bytes) -> None:
    with pytest.raises(ValueError, match="not a WAV file: it does not start with a RIFF/WAVE"):
        Sound.from_wav(data)


def test_empty_and_truncated_wavs_are_refused_clearly() -> None:
    whole = tone(0.1).to_wav()
    with pytest.raises(ValueError, match="empty"):
        Sound.from_wav(b"")
    with pytest.raises(ValueError, match="truncated"):
        Sound.from_wav(whole[:30])  # cut inside the fmt chunk
    with pytest.raises(ValueError, match="truncated or damaged WAV file: no data chunk"):
        Sound.from_wav(whole[:36])  # fmt complete, data chunk missing
    with pytest.raises(ValueError, match="no audio samples"):
        Sound.from_wav(whole[:44])  # header only


@pytest.mark.parametrize("riff_size, data_size", [
    (0, 0),                     # streaming writers that cannot rewind
    (36, 0),                    # ALSA's file plugin writing into a pipe
    (0xFFFFFFFF, 0xFFFFFFFF),   # RF64 style "look elsewhere"
    (0x7FFFF024, 0x7FFFF000),   # espeak-ng --stdout
])
def test_wav_with_unset_sizes_runs_to_the_end_of_the_file(riff_size: int, data_size: int) -> None:
    sound = tone(0.4)
    data = bytearray(sound.to_wav())
    struct.pack_into("<I", data, 4, riff_size)
    struct.pack_into("<I", data, 40, data_size)
    assert Sound.from_wav(bytes(data)) == sound


def test_wav_data_size_smaller_than_the_file_is_respected() -> None:
    sound = tone(0.2)
    # A trailing chunk (e.g. LIST metadata) after the samples must not be played as noise.
    data = sound.to_wav() + b"LIST\x04\x00\x00\x00INFO"
    assert Sound.from_wav(data) == sound


@pytest.mark.parametrize("sox_args, tolerance", [
    (["-b", "8"], 128),                          # 8-bit unsigned: quantised to 256 steps
    (["-b", "24"], 0),                           # WAVE_FORMAT_EXTENSIBLE, 24-bit
    (["-b", "32"], 0),                           # 32-bit integer
    (["-e", "floating-point", "-b", "32"], 0),
    (["-e", "floating-point", "-b", "64"], 0),
    (["-e", "a-law"], 600),
    (["-e", "u-law"], 600),
    (["-c", "3"], 2),                            # three channels, mixed down to mono
], ids=["u8", "s24", "s32", "f32", "f64", "alaw", "ulaw", "3ch"])
def test_wav_formats_the_device_cannot_take_become_16_bit(
        tmp_path: Path, sox_args: list[str], tolerance: int) -> None:
    source = tone(0.5)
    src = tmp_path / "src.wav"
    src.write_bytes(source.to_wav())
    out = tmp_path / "out.wav"
    sox(src, *sox_args, out)  # a real external writer, not our own to_wav()
    got = Sound.from_wav(out.read_bytes())
    assert (got.width, got.channels, got.rate) == (2, 1, 22050)
    assert got.frame_count == source.frame_count
    assert max_difference(got, source) <= tolerance


def test_compressed_wav_is_refused_with_the_reason(tmp_path: Path) -> None:
    src = tmp_path / "src.wav"
    src.write_bytes(tone(0.3).to_wav())
    out = tmp_path / "adpcm.wav"
    sox(src, "-e", "ima-adpcm", out)
    with pytest.raises(ValueError, match=r"unsupported WAV encoding \(format tag 0x0011"):
        Sound.from_wav(out.read_bytes())


def test_stereo_wav_stays_stereo_and_round_trips(tmp_path: Path) -> None:
    left, right = tone(0.2, 440), tone(0.2, 660)
    stereo = Sound(audioop.add(audioop.tostereo(left.frames, 2, 1, 0),
                               audioop.tostereo(right.frames, 2, 0, 1), 2), 22050, 2, 2)
    src = tmp_path / "st.wav"
    src.write_bytes(stereo.to_wav())
    out = tmp_path / "st24.wav"
    sox(src, "-b", "24", out)
    assert Sound.from_wav(out.read_bytes()) == stereo
    assert Sound.from_wav(stereo.to_wav()) == stereo


@pytest.mark.parametrize("width", [1, 3, 4])
def test_to_wav_of_other_widths_is_read_back_by_sox(tmp_path: Path, width: int) -> None:
    source = tone(0.25)
    wide = Sound(audioop.lin2lin(source.frames, 2, width), 22050, 1, width)
    path = tmp_path / "w.wav"
    path.write_bytes(wide.to_wav())
    def soxi(flag: str) -> str:
        return subprocess.run(["soxi", flag, str(path)], capture_output=True, text=True,
                              check=True).stdout.strip()

    assert int(soxi("-b")) == 8 * width  # sox reads our header as we meant it
    assert float(soxi("-D")) == pytest.approx(0.25, abs=1e-3)
    # Narrowing to 8 bits (in this test, by audioop) drops the low byte: off by < 256.
    assert max_difference(Sound.from_wav(path.read_bytes()), source) <= (255 if width == 1
                                                                         else 0)


def test_converted_resamples_and_remixes() -> None:
    mono = tone(0.5, rate=22050)
    up = mono.converted(rate=44100, channels=2)
    assert up.format == (44100, 2, 2)
    assert up.duration == pytest.approx(0.5, abs=0.002)
    left = audioop.tomono(up.frames, 2, 1, 0)
    right = audioop.tomono(up.frames, 2, 0, 1)
    assert left == right and audioop.rms(left, 2) == pytest.approx(mono.rms, rel=0.02)
    down = up.converted(rate=16000, channels=1)
    assert down.format == (16000, 1, 2)
    assert down.duration == pytest.approx(0.5, abs=0.002)
    assert mono.converted() is mono  # nothing to do
    with pytest.raises(ValueError, match="1 or 2 channels"):
        mono.converted(channels=6)


def test_scaled_changes_amplitude_and_clips_instead_of_wrapping() -> None:
    sound = tone(0.2, level=0.6)
    assert sound.scaled(50).peak == pytest.approx(sound.peak / 2, abs=1)
    assert sound.scaled(0).peak == 0
    assert sound.scaled(100) is sound
    loud = sound.scaled(300)
    assert loud.peak >= 32767
    # Clipped: the first quarter-wave rises to the top and stays there, no sign flip.
    first = array.array("h", loud.frames)[: 22050 // 440 // 2]
    assert min(first) >= 0 and max(first) == 32767
    with pytest.raises(ValueError):
        sound.scaled(-10)


def test_join_silence_and_addition() -> None:
    a, b = tone(0.2), tone(0.3, 660)
    gap = silence(0.1, like=a)
    assert gap.format == a.format and gap.peak == 0
    assert gap.duration == pytest.approx(0.1, abs=1e-4)
    joined = Sound.join([a, gap, b])
    assert joined.duration == pytest.approx(0.6, abs=1e-3)
    assert joined.frames == a.frames + gap.frames + b.frames
    assert (a + b).frames == a.frames + b.frames
    # Different formats are brought to the first one's.
    mixed = a + tone(0.3, rate=44100).converted(channels=2)
    assert mixed.format == a.format and mixed.duration == pytest.approx(0.5, abs=2e-3)
    with pytest.raises(ValueError, match="nothing to join"):
        Sound.join([])


def test_sound_checks_its_fields_and_prints_briefly() -> None:
    with pytest.raises(ValueError, match="whole number"):
        Sound(b"\x00\x00\x00", 22050, 1, 2)
    with pytest.raises(ValueError):
        Sound(b"", 0, 1, 2)
    s = tone(1.0)
    assert repr(s) == "Sound(1.000 s, 22050 Hz, 1 ch, 16-bit)"  # never the samples


# -- tones ----------------------------------------------------------------------------------


def bursts(sound: Sound, gap: float = 0.015, threshold: int = 300) -> list[tuple[float, float]]:
    """(seconds long, pitch in Hz by zero crossings) of each run of sound between pauses."""
    samples = array.array("h", sound.frames)
    runs, start, last, quiet = [], None, 0, 0
    for i, v in enumerate(samples):
        if abs(v) > threshold:
            start = i if start is None else start
            last, quiet = i, 0
        elif start is not None:
            quiet += 1
            if quiet > gap * sound.rate:
                runs.append((start, last))
                start = None
    if start is not None:
        runs.append((start, last))
    out = []
    for a, b in runs:
        part = samples[a:b]
        crossings = sum(1 for x, y in itertools.pairwise(part) if (x < 0) != (y < 0))
        seconds = (b - a) / sound.rate
        out.append((seconds, crossings / 2 / seconds))
    return out


def test_tones_are_short_16_bit_mono_and_cached() -> None:
    every = [tones.ack, tones.working, tones.done, tones.error, tones.busy]
    for make in every:
        sound = make()
        assert sound.format == (tones.RATE, 1, 2)
        assert make() is sound  # made once, reused on every press
        assert 0 < sound.duration < 0.6
    # The press must be heard within 100 ms; the blip itself leaves room for the player.
    assert tones.ack().duration < 0.08


def test_tones_can_be_told_apart_by_ear() -> None:
    shapes = {make.__name__: bursts(make())
              for make in (tones.ack, tones.working, tones.done, tones.error, tones.busy)}
    assert [len(shapes[n]) for n in ("ack", "working", "done", "error", "busy")] == [1, 1, 2, 2, 3]
    (_, done1), (_, done2) = shapes["done"]
    (_, err1), (_, err2) = shapes["error"]
    assert done2 > done1 * 1.3, "done goes up"
    assert err2 < err1 / 1.3, "error goes down"
    assert err1 < done1, "error is lower than done"
    pitches = [p for _, p in shapes["busy"]]
    assert max(pitches) - min(pitches) < 20, "busy pulses are all the same"
    # The waiting tick is soft next to the press blip.
    assert tones.working().rms < tones.ack().rms / 3
    assert len({make().frames for make in
                (tones.ack, tones.working, tones.done, tones.error, tones.busy)}) == 5


# -- players on real ALSA ---------------------------------------------------------------------


def assert_played(captured: Sound, sent: Sound, pad: float) -> None:
    """``captured`` is ``sent`` sample for sample, then at most ``pad`` s of silence."""
    assert captured.format == sent.format
    assert captured.frames[: len(sent.frames)] == sent.frames
    tail = captured.frames[len(sent.frames):]
    assert tail == bytes(len(tail))
    assert 0 <= captured.duration - sent.duration <= pad


def test_aplay_plays_the_sound_on_the_default_device(alsa_capture: AlsaCapture) -> None:
    sound = tone(0.7)
    with AplayPlayer() as player:
        player.play(sound)
        player.play(tones.ack())
    first, second = alsa_capture.sounds()
    assert_played(first, sound, APLAY_PAD)
    assert_played(second, tones.ack(), APLAY_PAD)
    assert alsa_capture.captured_seconds() == pytest.approx(first.duration + second.duration)


def test_aplay_plays_on_the_device_it_is_given(alsa_capture: AlsaCapture) -> None:
    sound = tone(0.3)
    AplayPlayer(NAMED_PCM).play(sound)
    assert alsa_capture.files("default") == []
    (captured,) = alsa_capture.sounds(NAMED_PCM)
    assert_played(captured, sound, APLAY_PAD)


def test_press_blip_is_played_within_100_ms(alsa_capture: AlsaCapture) -> None:
    player = AplayPlayer()
    player.play(tones.ack())  # the first start-up pays for loading aplay from disk
    started = time.monotonic()
    player.play(tones.ack())
    # The null slave takes samples instantly, so this is aplay's start-up plus the writing.
    assert time.monotonic() - started < 0.1


@pytest.mark.skipif(not players.simpleaudio_is_safe(),
                    reason="simpleaudio crashes on Python >= 3.12; it is not used there")
def test_simpleaudio_plays_the_sound_exactly(alsa_capture: AlsaCapture) -> None:
    sound = tone(0.6)
    player = SimpleaudioPlayer()
    player.play(sound)
    player.play(tones.done())
    first, second = alsa_capture.sounds()
    assert_played(first, sound, 0.0)
    assert_played(second, tones.done(), 0.0)


def player_kinds() -> list[str]:
    return ["aplay", "simpleaudio"] if players.simpleaudio_is_safe() else ["aplay"]


def new_player(kind: str) -> Player:
    return AplayPlayer() if kind == "aplay" else SimpleaudioPlayer()


@pytest.mark.parametrize("kind", player_kinds())
def test_volume_scales_the_samples_played(alsa_capture: AlsaCapture, kind: str) -> None:
    sound = tone(0.3, level=0.8)
    player = new_player(kind)
    for volume in (100, 50, 0):
        player.volume = volume
        player.play(sound)
    loud, half, mute = alsa_capture.sounds()
    pad = APLAY_PAD if kind == "aplay" else 0.0
    assert_played(loud, sound, pad)
    assert_played(half, sound.scaled(volume_gain(50)), pad)
    assert half.peak == pytest.approx(loud.peak * 0.25, abs=2)  # 50% sounds about half as loud
    assert mute.peak == 0


def test_volume_is_kept_within_0_to_100() -> None:
    player = LogPlayer()
    player.volume = 150
    assert player.volume == 100
    player.volume = -5
    assert player.volume == 0
    assert [volume_gain(v) for v in (0, 10, 50, 100)] == [0.0, 1.0, 25.0, 100.0]


def test_realtime_capture_takes_as_long_as_the_sound(alsa_realtime: AlsaCapture) -> None:
    # Without this, the stop test below could pass against a device that plays instantly.
    started = time.monotonic()
    AplayPlayer().play(tone(1.0))
    assert time.monotonic() - started >= 0.8
    alsa_realtime.settle()
    assert alsa_realtime.captured_seconds() == pytest.approx(1.0, abs=APLAY_PAD)
    (captured,) = alsa_realtime.sounds()  # written through a pipe: header sizes left at 0
    header = alsa_realtime.files()[0].read_bytes()[:44]
    assert struct.unpack_from("<I", header, 40) == (0,)
    assert captured.duration == pytest.approx(1.0, abs=APLAY_PAD)


@pytest.mark.parametrize("kind", player_kinds())
def test_stop_cuts_a_long_sound_short_promptly(alsa_realtime: AlsaCapture, kind: str) -> None:
    player = new_player(kind)
    long_sound = Sound.join([tones.done(), silence(0.1, like=tones.done())] * 30)  # ~11 s
    failures: list[BaseException] = []

    def play() -> None:
        try:
            player.play(long_sound)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    worker = threading.Thread(target=play)
    worker.start()
    deadline = time.monotonic() + 5
    while alsa_realtime.captured_seconds() < 0.5:  # it is audibly playing
        assert time.monotonic() < deadline, "playback did not start"
        time.sleep(0.01)
    asked = time.monotonic()
    player.stop()
    worker.join(2.0)
    returned = time.monotonic() - asked
    assert not worker.is_alive()
    assert returned < 0.5, f"play() took {returned:.2f} s to return after stop()"
    assert failures == []
    alsa_realtime.settle()
    assert alsa_realtime.captured_seconds() < 2.0  # not the whole ~11 s
    player.stop()  # nothing playing: no effect, no error


def test_aplay_on_a_missing_device_says_to_set_audio_device(alsa_capture: AlsaCapture) -> None:
    player = AplayPlayer("plughw:CARD=NoSuchCard,DEV=0")
    with pytest.raises(AudioError) as caught:
        player.play(tones.ack())
    message = str(caught.value)
    assert "plughw:CARD=NoSuchCard,DEV=0" in message
    assert "audio open error" in message  # aplay's own words
    assert "Set audio.device" in message and "aplay -L" in message
    assert NAMED_PCM in message  # the devices this machine does have


def test_list_alsa_devices_names_what_aplay_lists(alsa_capture: AlsaCapture) -> None:
    devices = list_alsa_devices()
    assert "null" in devices and NAMED_PCM in devices
    assert all(d == d.strip() and d for d in devices)


def test_without_aplay_the_player_explains_and_auto_falls_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_path(tmp_path, monkeypatch)
    with pytest.raises(AudioError, match="alsa-utils"):
        AplayPlayer()
    assert list_alsa_devices() == []
    chosen = make_player(settings(tmp_path, "audio.player=auto"))
    safe = players.simpleaudio_is_safe() and importlib.util.find_spec("simpleaudio")
    assert isinstance(chosen, SimpleaudioPlayer if safe else LogPlayer)
    # Where simpleaudio would crash (Python >= 3.12), "auto" goes mute rather than crash.
    monkeypatch.setattr(players, "simpleaudio_is_safe", lambda: False)
    assert isinstance(make_player(settings(tmp_path, "audio.player=auto")), LogPlayer)
    with pytest.raises(AudioError, match=r"3\.12"):
        SimpleaudioPlayer()


def test_make_player_builds_what_the_settings_ask_for(tmp_path: Path) -> None:
    aplay = make_player(settings(tmp_path, "audio.player=aplay",
                                 "audio.device=plughw:CARD=Headphones,DEV=0",
                                 "audio.volume=40", "audio.max_volume=70"))
    assert isinstance(aplay, AplayPlayer) and aplay.device == "plughw:CARD=Headphones,DEV=0"
    assert aplay.volume == 40
    assert isinstance(make_player(settings(tmp_path, "audio.player=auto")), AplayPlayer)
    folder = tmp_path / "sounds"
    as_files = make_player(settings(tmp_path, "audio.player=file", f"audio.path={folder}"))
    assert isinstance(as_files, FilePlayer) and as_files.folder == folder
    if players.simpleaudio_is_safe():
        assert isinstance(make_player(settings(tmp_path, "audio.player=simpleaudio")),
                          SimpleaudioPlayer)
    for made in (aplay, as_files):
        assert isinstance(made, Player)


def test_file_player_writes_numbered_files_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "played"
    folder.mkdir()
    (folder / "0007-500ms.wav").write_bytes(b"someone else's")
    player = FilePlayer(folder)
    started = time.monotonic()
    player.play(tone(2.0))
    assert time.monotonic() - started < 0.5  # returns at once, does not wait 2 s
    player.volume = 50
    player.play(tones.done())
    first, second = player.written
    assert [p.name for p in player.written] == ["0008-2000ms.wav", "0009-280ms.wav"]
    assert (folder / "0007-500ms.wav").read_bytes() == b"someone else's"
    assert Sound.from_wav(first.read_bytes()) == tone(2.0)
    assert Sound.from_wav(second.read_bytes()) == tones.done().scaled(volume_gain(50))
    assert sorted(p.name for p in folder.iterdir()) == [
        "0007-500ms.wav", "0008-2000ms.wav", "0009-280ms.wav"]  # no temporary files left
    assert FilePlayer(folder).folder == folder  # a second player continues the numbering
    FilePlayer(folder).play(tones.ack())
    assert (folder / "0010-45ms.wav").exists()


def test_closed_player_refuses_to_play(tmp_path: Path, alsa_capture: AlsaCapture) -> None:
    for player in (AplayPlayer(), FilePlayer(tmp_path / "f"), LogPlayer()):
        player.close()
        with pytest.raises(AudioError, match="closed"):
            player.play(tones.ack())
    assert alsa_capture.files() == []


# -- local voice ----------------------------------------------------------------------------


def test_espeak_speaks_a_sentence() -> None:
    voice = LocalVoice("en-us")
    assert voice.available
    short = voice.synthesize("Hello.")
    sentence = voice.synthesize("A cup of coffee is sitting on a wooden table next to a book.")
    assert sentence.width == 2 and sentence.channels == 1 and sentence.rate == 22050
    assert 2.5 < sentence.duration < 8.0  # fourteen words at about 175 per minute
    assert sentence.duration > short.duration * 3
    assert sentence.rms > 500  # speech, not silence


def test_espeak_output_has_unset_sizes_and_is_read_whole() -> None:
    quiet = {**os.environ, "PULSE_SERVER": "unix:/dev/null/no-pulseaudio"}  # see voice.py
    raw = subprocess.run(["espeak-ng", "--stdout", "-v", "en-us"], input=b"Testing one two.",
                         capture_output=True, check=True, env=quiet).stdout
    (declared,) = struct.unpack_from("<I", raw, 40)
    assert declared > len(raw)  # espeak-ng cannot rewind stdout to fill in the size
    assert LocalVoice().synthesize("Testing one two.").frame_count == (len(raw) - 44) // 2


def test_espeak_leaves_no_pulseaudio_folders_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As under systemd: a HOME of its own and no XDG_RUNTIME_DIR. espeak-ng's PulseAudio
    # set-up would otherwise make ~/.config/pulse and a new /tmp/pulse-* folder each time.
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    before = set(Path("/tmp").glob("pulse-*"))
    LocalVoice().synthesize("Nothing left behind.")
    assert list(home.iterdir()) == []
    assert set(Path("/tmp").glob("pulse-*")) <= before


def test_text_starting_with_a_dash_is_spoken_not_taken_as_an_option() -> None:
    spoken = LocalVoice().synthesize("-v means verbose")
    assert spoken.duration > 0.8


def test_nothing_to_say_is_silence() -> None:
    assert LocalVoice().synthesize("   ").duration == 0


def test_unknown_espeak_voice_is_named_in_the_error() -> None:
    with pytest.raises(AudioError, match="'xx-nosuch'"):
        LocalVoice("xx-nosuch").synthesize("Hello.")


def test_missing_espeak_is_reported_with_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_path(tmp_path, monkeypatch)
    voice = LocalVoice()
    assert not voice.available
    with pytest.raises(AudioError, match="apt install espeak-ng"):
        voice.synthesize("Hello.")


def test_local_voice_plays_through_aplay(alsa_capture: AlsaCapture) -> None:
    speech = LocalVoice().synthesize("The camera is ready.")
    AplayPlayer().play(speech)
    (captured,) = alsa_capture.sounds()
    assert_played(captured, speech, APLAY_PAD)


def test_audio_modules_import_no_backends() -> None:
    code = ("import sys, looksay.audio.players, looksay.audio.voice, looksay.audio.tones; "
            "print(sorted(m for m in sys.modules if m.startswith(('simpleaudio', 'gradio'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
