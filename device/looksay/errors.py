"""What can go wrong, in words a person at the device understands.

Every failure that reaches the person becomes a :class:`Failure` with a :class:`Kind`.
Each kind has one short spoken sentence that says what happened and what to do; the
technical detail goes to the log only.
"""

from __future__ import annotations

import enum


class Kind(enum.Enum):
    """The kinds of failure, each with its spoken sentence (``{service}`` is filled in)."""

    NO_INTERNET = "I can't reach the internet. Check the Wi-Fi, then press again."
    CLOCK = "I'm waiting for the network time. Press again in a minute."
    WAKING_UP = "The {service} is starting up. Press again in a minute."
    BUSY = "The {service} is busy. Press again {wait}."
    TOO_SLOW = "The {service} took too long. Press again to try once more."
    CHANGED = ("The {service} has changed and I can't use it. "
               "Ask the owner to update the settings.")
    GONE = ("The {service} is not available. "
            "Ask the owner to check the settings, or press again later.")
    NONSENSE = "The {service} gave an answer I can't use. Press again to try once more."
    BLANKED = "The {service} refused this picture and sent back a black image. Try another picture."
    CAMERA_MISSING = "I can't find the camera. Ask the owner to check its cable."
    CAMERA_BUSY = "The camera is in use by another program. Ask the owner to close it."
    CAMERA_FAILED = "The camera did not take a picture. Press again."
    SPEAKER = "I can't play sound. Ask the owner to check the speaker and audio.device."
    CANCELLED = "Cancelled."
    INTERNAL = "Something went wrong inside me. Press again, and tell the owner if it repeats."


#: How the three remote models are named when spoken.
SERVICE_NAMES = {
    "caption": "describing service",
    "speech": "voice service",
    "smile": "smile service",
}


class Failure(Exception):
    """A failure with a kind (what the person hears) and a detail (what the log shows).

    ``service`` is "caption", "speech", "smile" or "" for local failures; ``retry_after``
    is the wait the remote side asked for, in seconds, when it gave one.
    """

    def __init__(self, kind: Kind, detail: str = "", *, service: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(detail or kind.name)
        self.kind = kind
        self.detail = detail
        self.service = service
        self.retry_after = retry_after

    @property
    def spoken(self) -> str:
        """The one sentence said to the person."""
        name = SERVICE_NAMES.get(self.service, "service")
        return self.kind.value.format(service=name, wait=_wait_words(self.retry_after))

    def __str__(self) -> str:
        where = f"{self.service}: " if self.service else ""
        return f"{where}{self.kind.name.lower()}: {self.detail}" if self.detail else \
            f"{where}{self.kind.name.lower()}"


def _wait_words(seconds: float | None) -> str:
    if seconds is None:
        return "in a minute"
    if seconds < 90:
        return "in a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"in {minutes} minutes"
    hours = round(seconds / 3600)
    return f"in {hours} hour" + ("s" if hours != 1 else "")
