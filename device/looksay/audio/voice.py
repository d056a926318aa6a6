"""A voice that works without the internet: espeak-ng.

It sounds robotic next to the remote voice, but it is always there, so the device can still
say what went wrong when the network or the voice Space is down.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from looksay.audio import AudioError
from looksay.audio.wav import Sound, silence


class LocalVoice:
    """Speech from ``espeak-ng --stdout -v VOICE``; the text goes in on stdin, no temp files."""

    def __init__(self, voice: str = "en-us", *, words_per_minute: int | None = None,
                 timeout: float = 30.0) -> None:
        """``voice`` is an espeak-ng voice name (``espeak-ng --voices`` lists them)."""
        self.voice = voice
        self.words_per_minute = words_per_minute
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"LocalVoice({self.voice!r})"

    @property
    def available(self) -> bool:
        """True if espeak-ng is installed (on PATH)."""
        return shutil.which("espeak-ng") is not None

    def synthesize(self, text: str) -> Sound:
        """``text`` spoken, as a 16-bit Sound; raises AudioError if espeak-ng cannot do it."""
        exe = shutil.which("espeak-ng")
        if not text.strip():
            return silence(0.0)
        if exe is None:
            raise AudioError("espeak-ng is not installed, so there is no local voice: "
                             "sudo apt install espeak-ng")
        cmd = [exe, "--stdout", "-v", self.voice]
        if self.words_per_minute:
            cmd += ["-s", str(self.words_per_minute)]
        # espeak-ng sets up PulseAudio even with --stdout; with no XDG_RUNTIME_DIR (a system
        # service) that leaves ~/.config/pulse and a /tmp/pulse-* folder behind on every new
        # HOME. A server address that cannot exist makes it skip that; nothing is played.
        env = {**os.environ, "PULSE_SERVER": "unix:/dev/null/no-pulseaudio"}
        # Text on stdin, not as an argument: a caption starting with "-" stays text.
        try:
            done = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True,
                                  timeout=self.timeout, check=False, env=env)
        except subprocess.TimeoutExpired as exc:
            raise AudioError(f"espeak-ng took more than {self.timeout:.0f} s") from exc
        if done.returncode != 0 or not done.stdout:
            said = done.stderr.decode("utf-8", "replace").strip() or "no message"
            raise AudioError(f"espeak-ng could not speak with voice {self.voice!r} "
                             f"(exit status {done.returncode}): {said}")
        try:
            return Sound.from_wav(done.stdout)
        except ValueError as exc:
            raise AudioError(f"espeak-ng gave audio that cannot be read: {exc}") from exc
