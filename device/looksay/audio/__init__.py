"""Sound: WAV decoding, tones made in code, players, and a local voice.

Importing this package is cheap: players and voices import their backends lazily.
"""


class AudioError(RuntimeError):
    """Sound cannot be played or made; the message says what to install or configure."""
