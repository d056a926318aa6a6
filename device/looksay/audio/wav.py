"""PCM sound in memory, and reading and writing WAV files.

A :class:`Sound` is interleaved, signed, little-endian linear PCM (8-bit samples are
signed too, as :mod:`audioop` expects; they are unsigned only inside WAV files). Every
Raspberry Pi and PC this runs on is little-endian, which is the byte order audioop uses.

WAV data is recognised by its RIFF/WAVE header, never by a file name: the voice Space sends
its file with no extension. Anything read is turned into 16-bit mono or stereo, which ALSA's
``plughw``/``default`` devices and simpleaudio all take.
"""

from __future__ import annotations

import array
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

with warnings.catch_warnings():
    # audioop is deprecated on 3.11/3.12 and gone from 3.13's standard library; there the
    # audioop-lts package (a dependency on 3.13) provides the same module without a warning.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

# Data-chunk sizes that mean "unknown, read to the end": streaming writers (a pipe cannot
# be rewound to patch the header) leave 0 or 0xFFFFFFFF; RF64 files always say 0xFFFFFFFF.
# espeak-ng --stdout writes 0x7ffff000, which is caught by "bigger than the file".
_UNSET_SIZES = (0, 0xFFFFFFFF)

_PCM = 0x0001
_FLOAT = 0x0003
_ALAW = 0x0006
_ULAW = 0x0007
_EXTENSIBLE = 0xFFFE
_NAMES = {_PCM: "PCM", _FLOAT: "float", _ALAW: "A-law", _ULAW: "µ-law"}

#: The rate used for sounds made in code when nothing else is asked for.
DEFAULT_RATE = 22050


@dataclass(frozen=True)
class Sound:
    """A piece of PCM audio held in memory.

    ``frames`` holds interleaved signed little-endian samples; ``width`` is bytes per
    sample (1 to 4), ``channels`` the channel count and ``rate`` frames per second.
    """

    frames: bytes = field(repr=False)
    rate: int
    channels: int
    width: int

    def __post_init__(self) -> None:
        if not isinstance(self.frames, bytes):
            # Accept bytearray/memoryview but store immutable bytes: the object is frozen.
            object.__setattr__(self, "frames", bytes(self.frames))
        if self.width not in (1, 2, 3, 4):
            raise ValueError(f"sample width must be 1 to 4 bytes, not {self.width}")
        if self.channels < 1:
            raise ValueError(f"a sound needs at least one channel, not {self.channels}")
        if self.rate < 1:
            raise ValueError(f"sample rate must be positive, not {self.rate}")
        if len(self.frames) % (self.width * self.channels):
            raise ValueError(
                f"{len(self.frames)} bytes is not a whole number of "
                f"{self.channels}-channel {8 * self.width}-bit frames")

    def __repr__(self) -> str:
        return (f"Sound({self.duration:.3f} s, {self.rate} Hz, {self.channels} ch, "
                f"{8 * self.width}-bit)")

    @property
    def frame_count(self) -> int:
        """Number of frames (one sample per channel each)."""
        return len(self.frames) // (self.width * self.channels)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frame_count / self.rate

    @property
    def format(self) -> tuple[int, int, int]:
        """``(rate, channels, width)``: sounds with equal formats can be joined as they are."""
        return (self.rate, self.channels, self.width)

    @property
    def peak(self) -> int:
        """Largest absolute sample value (0 for silence)."""
        return audioop.max(self.frames, self.width) if self.frames else 0

    @property
    def rms(self) -> float:
        """Root-mean-square sample value, a measure of loudness."""
        return float(audioop.rms(self.frames, self.width)) if self.frames else 0.0

    # -- reading and writing -------------------------------------------------------------

    @classmethod
    def from_wav(cls, data: bytes) -> Sound:
        """Decode a WAV file held in memory into a 16-bit mono or stereo Sound.

        Reads 8/16/24/32-bit PCM, 32/64-bit float, A-law and µ-law, plain or
        WAVE_FORMAT_EXTENSIBLE, RIFF or RF64. A data chunk whose size is unset (0 or
        0xFFFFFFFF) or larger than the file runs to the end of the file. More than two
        channels are mixed down to mono. Raises ValueError, saying what is wrong, for data
        that is empty, not WAV, cut off before its samples, or in an encoding not read here.
        """
        data = bytes(data)
        if not data:
            raise ValueError("no audio: the WAV data is empty (0 bytes)")
        if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
            raise ValueError(
                "not a WAV file: it does not start with a RIFF/WAVE header "
                f"(first bytes: {data[:16]!r}, {len(data)} bytes in all)")
        fmt: _Fmt | None = None
        pos = 12
        while pos + 8 <= len(data):
            chunk_id = data[pos:pos + 4]
            (size,) = struct.unpack_from("<I", data, pos + 4)
            body = pos + 8
            if chunk_id == b"data":
                if fmt is None:
                    raise ValueError("damaged WAV file: its data chunk comes before any fmt chunk")
                end = len(data) if size in _UNSET_SIZES else min(body + size, len(data))
                return _decode(fmt, data[body:end])
            if chunk_id == b"fmt ":
                fmt = _Fmt.parse(data[body:body + size])
            pos = body + size + (size & 1)  # chunks are padded to an even length
        missing = "fmt and data chunks" if fmt is None else "data chunk"
        raise ValueError(
            f"truncated or damaged WAV file: no {missing} in its {len(data)} bytes")

    def to_wav(self) -> bytes:
        """This sound as a complete WAV file (canonical 44-byte header, sizes filled in)."""
        frames = self.frames
        if self.width == 1:
            frames = audioop.bias(frames, 1, 128)  # WAV stores 8-bit samples unsigned
        block = self.channels * self.width
        header = struct.pack(
            "<4sI4s4sIHHIIHH4sI",
            b"RIFF", 36 + len(frames), b"WAVE",
            b"fmt ", 16, _PCM, self.channels, self.rate, self.rate * block, block,
            8 * self.width,
            b"data", len(frames))
        pad = b"\0" if len(frames) & 1 else b""
        return header + frames + pad

    # -- transformations ------------------------------------------------------------------

    def converted(self, rate: int | None = None, channels: int | None = None) -> Sound:
        """This sound as 16-bit PCM at ``rate`` with ``channels`` (1 or 2); None keeps it.

        More channels than asked for are averaged (so a centre speech channel survives);
        mono asked to be stereo is copied to both sides. Resampling is audioop's linear
        interpolation, which is plenty for speech and beeps.
        """
        rate = rate or self.rate
        target = channels or min(self.channels, 2)
        if target not in (1, 2):
            raise ValueError(f"can only convert to 1 or 2 channels, not {target}")
        frames, ch = self.frames, self.channels
        if self.width != 2:
            frames = audioop.lin2lin(frames, self.width, 2)
        if ch > target:
            frames, ch = _mix_to_mono(frames, ch), 1
        if rate != self.rate and frames:
            frames, _state = audioop.ratecv(frames, 2, ch, self.rate, rate, None)
        if ch < target:
            frames, ch = audioop.tostereo(frames, 2, 1.0, 1.0), 2
        if frames is self.frames:
            return self
        return Sound(frames, rate, ch, 2)

    def scaled(self, percent: float) -> Sound:
        """This sound with every sample multiplied by ``percent``/100 (clipped, not wrapped)."""
        if percent < 0:
            raise ValueError(f"volume cannot be negative ({percent}%)")
        if percent == 100:
            return self
        return Sound(audioop.mul(self.frames, self.width, percent / 100.0),
                     self.rate, self.channels, self.width)

    def __add__(self, other: Sound) -> Sound:
        """``a + b`` plays ``a`` then ``b`` (see :meth:`join`)."""
        if not isinstance(other, Sound):
            return NotImplemented
        return Sound.join([self, other])

    @staticmethod
    def join(sounds: Iterable[Sound]) -> Sound:
        """One sound that plays ``sounds`` one after another.

        Sounds of one format are joined as they are; otherwise all become 16-bit at the
        first sound's rate and channel count.
        """
        parts = list(sounds)
        if not parts:
            raise ValueError("nothing to join: no sounds given")
        first = parts[0]
        if any(p.format != first.format for p in parts):
            parts = [p.converted(first.rate, min(first.channels, 2)) for p in parts]
            first = parts[0]
        return Sound(b"".join(p.frames for p in parts), first.rate, first.channels, first.width)


def silence(duration: float, like: Sound | None = None, *, rate: int = DEFAULT_RATE,
            channels: int = 1, width: int = 2) -> Sound:
    """``duration`` seconds of silence, in the format of ``like`` if given."""
    if duration < 0:
        raise ValueError(f"duration cannot be negative ({duration} s)")
    if like is not None:
        rate, channels, width = like.format
    return Sound(bytes(round(duration * rate) * channels * width), rate, channels, width)


@dataclass(frozen=True)
class _Fmt:
    """The parts of a WAV ``fmt `` chunk this module uses."""

    encoding: int
    channels: int
    rate: int
    width: int

    @classmethod
    def parse(cls, body: bytes) -> _Fmt:
        if len(body) < 16:
            raise ValueError(
                f"truncated or damaged WAV file: its fmt chunk has {len(body)} bytes, not 16")
        encoding, channels, rate, _byte_rate, block, bits = struct.unpack_from("<HHIIHH", body)
        if encoding == _EXTENSIBLE and len(body) >= 26:
            # The real encoding is the first two bytes of the SubFormat GUID.
            (encoding,) = struct.unpack_from("<H", body, 24)
        if channels < 1 or rate < 1:
            raise ValueError(
                f"damaged WAV file: {channels} channels at {rate} Hz in its fmt chunk")
        # The block size says how wide each sample's container is (24-bit samples may sit
        # in 32-bit containers); fall back on the bit depth if the block size is nonsense.
        width = block // channels if block and block % channels == 0 else (bits + 7) // 8
        return cls(encoding, channels, rate, width)


def _decode(fmt: _Fmt, raw: bytes) -> Sound:
    """Samples of one data chunk as a 16-bit mono/stereo Sound."""
    width = fmt.width
    usable = len(raw) - len(raw) % (width * fmt.channels)  # drop a cut-off last frame
    raw = raw[:usable]
    if not raw:
        raise ValueError("empty WAV file: its data chunk holds no audio samples")
    if fmt.encoding == _PCM and width in (1, 2, 3, 4):
        if width == 1:
            raw = audioop.bias(raw, 1, -128)  # unsigned in the file, signed for audioop
        pcm16 = audioop.lin2lin(raw, width, 2) if width != 2 else raw
    elif fmt.encoding == _FLOAT and width in (4, 8):
        pcm16 = _float_to_16(raw, "f" if width == 4 else "d")
    elif fmt.encoding in (_ALAW, _ULAW) and width == 1:
        decode = audioop.alaw2lin if fmt.encoding == _ALAW else audioop.ulaw2lin
        pcm16 = decode(raw, 2)
    elif fmt.encoding in (_PCM, _FLOAT, _ALAW, _ULAW):
        raise ValueError(f"unsupported WAV sample width: {8 * width}-bit samples in a "
                         f"{_NAMES[fmt.encoding]} WAV file")
    else:
        raise ValueError(
            f"unsupported WAV encoding (format tag 0x{fmt.encoding:04x}, e.g. a compressed "
            "one such as ADPCM): PCM, float, A-law and µ-law WAV files can be read")
    channels = fmt.channels
    if channels > 2:
        pcm16, channels = _mix_to_mono(pcm16, channels), 1
    return Sound(pcm16, fmt.rate, channels, 2)


def _float_to_16(raw: bytes, typecode: str) -> bytes:
    return array.array("h", map(_float_sample, array.array(typecode, raw))).tobytes()


def _float_sample(s: float) -> int:
    # Full scale is -1..1; x 32768 maps 16-bit sources stored as float back exactly.
    if s != s:  # NaN
        return 0
    if s >= 32767 / 32768:
        return 32767
    if s <= -1.0:
        return -32768
    return round(s * 32768.0)


def _mix_to_mono(frames16: bytes, channels: int) -> bytes:
    """Average the channels of 16-bit interleaved frames into one."""
    if channels == 1:
        return frames16
    if channels == 2:
        return audioop.tomono(frames16, 2, 0.5, 0.5)
    samples = array.array("h", frames16)
    mixed: bytes | None = None
    for c in range(channels):
        part = audioop.mul(array.array("h", samples[c::channels]).tobytes(), 2, 1.0 / channels)
        mixed = part if mixed is None else audioop.add(mixed, part, 2)
    return mixed or b""
