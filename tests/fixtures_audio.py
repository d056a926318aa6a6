"""Real ALSA with the speaker replaced by files: fixtures ``alsa_capture``, ``alsa_realtime``.

Both write a ``~/.asoundrc`` into a temp HOME whose PCMs use ALSA's ``file`` plugin, so
whatever aplay or simpleaudio plays on them lands in WAV files, sample for sample:

- ``default`` (what simpleaudio and ``aplay`` without ``-D`` use) -> ``played.wav``;
- ``looksay_test`` (for ``aplay -D looksay_test``) -> ``named.wav``.

Facts found by trying alsa-lib 1.2.8 / aplay 1.2.8 (Debian 12), which these fixtures rely on:

- With ``truncate false`` the plugin never overwrites: each open of the PCM gets its own file,
  ``played.wav``, then ``played.wav.0001``, ``played.wav.0002``... (the default,
  ``truncate true``, overwrites the one file on every open). Files are created mode 0600.
- Written to a regular file, the header's RIFF and data sizes are filled in at close. Written
  to a pipe (``file "|command"``) the header cannot be patched and is left at RIFF size 36,
  data size 0. (espeak-ng ``--stdout`` leaves 0x7ffff024 / 0x7ffff000 instead.)
- The ``null`` slave takes samples as fast as they come: a 30 s sound "plays" in ms.
- aplay pads the last period with silence, so its capture is up to one period longer than
  the sound (period 125 ms for 22050 Hz mono here); simpleaudio's capture is exact.
- alsa-lib reads its configuration once per process and only reloads it when the list of
  top-level config files changes; a new HOME alone is not noticed by in-process users
  (simpleaudio) after the first open. So the fixtures also set ``ALSA_CONFIG_PATH`` to
  ``alsa.conf`` plus this test's ``.asoundrc``, a new list per test, which forces a reload.

``alsa_realtime`` sends the samples (converted by a ``plug`` to 96 kHz stereo S32, so the
pipe's 64 KiB is only ~85 ms of sound) through a pipe (``file "|command"``) to a small
reader that takes them at their own rate, so playback takes as long as on a real speaker
and ``stop()`` can be tested honestly; it writes the same numbered files. The pipe is
64 KiB no matter what: the reader starts after aplay has filled it, too late for
F_SETPIPE_SZ to shrink it, and shrinking it later only lets the writer run far ahead.
"""

from __future__ import annotations

import fcntl
import os
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from looksay.audio.wav import Sound

ALSA_CONF = Path("/usr/share/alsa/alsa.conf")

# The real-time reader, run by the file plugin as "|python pacer.py BASE". It names its
# output like the plugin does (BASE, BASE.0001, ...) and holds an flock on it while it
# writes, so AlsaCapture.settle() can wait for it to finish.
_PACER = r'''
import fcntl, os, struct, sys, time
base = sys.argv[1]
for idx in range(10000):
    name = base if idx == 0 else "%s.%04d" % (base, idx)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        break
    except FileExistsError:
        continue
fcntl.flock(fd, fcntl.LOCK_EX)
head = b""
while len(head) < 44:
    chunk = os.read(0, 44 - len(head))
    if not chunk:
        break
    head += chunk
os.write(fd, head)
if len(head) == 44:
    channels, rate = struct.unpack_from("<HI", head, 22)
    (bits,) = struct.unpack_from("<H", head, 34)
    per_second = rate * channels * bits // 8
    start, total = time.monotonic(), 0
    while True:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        os.write(fd, chunk)
        total += len(chunk)
        ahead = start + total / per_second - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
os.close(fd)
'''

NAMED_PCM = "looksay_test"


@dataclass
class AlsaCapture:
    """A temp HOME whose ALSA PCMs write what is played into WAV files."""

    home: Path
    realtime: bool
    #: The environment for subprocesses (os.environ is patched the same way for this test).
    env: dict[str, str] = field(default_factory=dict)

    def base(self, pcm: str = "default") -> Path:
        """The first capture file of ``pcm`` ("default" or ``NAMED_PCM``)."""
        return self.home / ("played.wav" if pcm == "default" else "named.wav")

    def files(self, pcm: str = "default") -> list[Path]:
        """One file per opening of ``pcm``, in the order they were opened."""
        base = self.base(pcm)
        found = [p for p in self.home.glob(base.name + "*")
                 if p.name == base.name or p.name[len(base.name) + 1:].isdigit()]
        return sorted(found, key=lambda p: (len(p.name), p.name))

    def sounds(self, pcm: str = "default") -> list[Sound]:
        """What each opening of ``pcm`` played, decoded (header sizes set or not)."""
        self.settle()
        out = []
        for path in self.files(pcm):
            data = path.read_bytes()
            out.append(Sound.from_wav(data) if len(data) > 44 else _empty_like(data))
        return out

    def captured_seconds(self, pcm: str = "default") -> float:
        """Total seconds played on ``pcm`` so far: (file size - 44) / bytes per second, summed.

        Works while a real-time capture is still being written and whether or not the
        plugin filled in the header's sizes.
        """
        total = 0.0
        for path in self.files(pcm):
            data = path.read_bytes()
            if len(data) < 44:
                continue
            channels, rate = struct.unpack_from("<HI", data, 22)
            (bits,) = struct.unpack_from("<H", data, 34)
            total += (len(data) - 44) / (rate * channels * (bits // 8))
        return total

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until no real-time reader is still writing a capture file."""
        deadline = time.monotonic() + timeout
        for path in self.files("default") + self.files(NAMED_PCM):
            with path.open("rb") as fh:
                while True:
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.flock(fh, fcntl.LOCK_UN)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            raise TimeoutError(f"{path} still being written") from None
                        time.sleep(0.02)


def _empty_like(header: bytes) -> Sound:
    if len(header) >= 36:
        channels, rate = struct.unpack_from("<HI", header, 22)
        (bits,) = struct.unpack_from("<H", header, 34)
        return Sound(b"", rate, channels, bits // 8)
    return Sound(b"", 22050, 1, 2)


def _hint(name: str) -> str:
    # A hint makes `aplay -L` list the PCM, as it lists a real card's devices.
    return "" if name.startswith("!") else '  hint { show on description "looksay test" }\n'


def _file_pcm(name: str, target: str, hint: bool = True) -> str:
    return (f"pcm.{name} {{\n  type file\n  slave.pcm \"null\"\n  file \"{target}\"\n"
            f"  format \"wav\"\n  truncate false\n{_hint(name) if hint else ''}}}\n")


def _plug_pcm(name: str, slave: str) -> str:
    # A fast sample format in front of the pipe: the pipe's fixed 64 KiB then holds only
    # ~85 ms, a buffer like a sound card's, instead of 0.74 s of 22 kHz mono.
    return (f"pcm.{name} {{\n  type plug\n  slave {{\n    pcm \"{slave}\"\n"
            f"    format S32_LE\n    rate 96000\n    channels 2\n  }}\n{_hint(name)}}}\n")


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, realtime: bool) -> AlsaCapture:
    if not ALSA_CONF.exists():
        pytest.fail(f"{ALSA_CONF} is missing: install libasound2-data / alsa-utils")
    home = tmp_path / "alsa-home"
    home.mkdir()
    cap = AlsaCapture(home=home, realtime=realtime)
    asoundrc = home / ".asoundrc"
    if realtime:
        pacer = home / "pacer.py"
        pacer.write_text(_PACER)
        conf = ""
        for pcm, inner in (("!default", "looksay_rt_default"), (NAMED_PCM, "looksay_rt_named")):
            base = cap.base("default" if pcm == "!default" else pcm)
            # stderr to /dev/null: the reader must not hold aplay's stderr pipe open.
            command = f"|exec {sys.executable} -I -S {pacer} {base} 2>/dev/null"
            conf += _plug_pcm(pcm, inner) + _file_pcm(inner, command, hint=False)
    else:
        conf = (_file_pcm("!default", str(cap.base("default")))
                + _file_pcm(NAMED_PCM, str(cap.base(NAMED_PCM))))
    asoundrc.write_text(conf)
    config_path = f"{ALSA_CONF}:{asoundrc}"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ALSA_CONFIG_PATH", config_path)
    # Card choices from the machine's environment would not apply to these PCMs.
    for var in ("ALSA_CARD", "ALSA_PCM_CARD", "ALSA_PCM_DEVICE"):
        monkeypatch.delenv(var, raising=False)
    cap.env = dict(os.environ)
    return cap


@pytest.fixture
def alsa_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AlsaCapture:
    """ALSA "default" and "looksay_test" record into WAV files instantly (null slave)."""
    return _setup(tmp_path, monkeypatch, realtime=False)


@pytest.fixture
def alsa_realtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Like ``alsa_capture`` but playback takes real time, as on a speaker."""
    cap = _setup(tmp_path, monkeypatch, realtime=True)
    yield cap
    cap.settle()
