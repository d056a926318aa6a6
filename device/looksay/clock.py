"""Is the clock right yet? A Pi has no battery clock.

Until network time arrives, a Pi's clock can be days or months behind, and TLS then
refuses every certificate as "not yet valid". Before the first HTTPS call the device
therefore checks that the clock is plausible: systemd-timesyncd has synchronised it, or it
is at least later than when this package was installed (which must be in the past). If
not, it waits for the network time rather than fail with a certificate error.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

#: systemd-timesyncd touches this after each successful synchronisation.
SYNC_FLAG = Path("/run/systemd/timesync/synchronized")
#: A floor for when the package's files are older: 2025-01-01T00:00:00Z.
RELEASE_FLOOR = 1_735_689_600.0


def build_time() -> float:
    """A moment certainly in the past: when this package was installed (or the floor)."""
    try:
        return max(RELEASE_FLOOR, Path(__file__).stat().st_mtime)
    except OSError:
        return RELEASE_FLOOR


def plausible() -> bool:
    """True when the clock was synchronised, or is later than the package's build time."""
    return SYNC_FLAG.exists() or time.time() >= build_time()


def wait_until_plausible(deadline: float, cancel: threading.Event | None = None,
                         poll: float = 0.5) -> bool:
    """Wait (until the monotonic ``deadline``) for a plausible clock; True once it is."""
    while not plausible():
        left = deadline - time.monotonic()
        if left <= 0 or (cancel is not None and cancel.is_set()):
            return False
        time.sleep(min(poll, left))
    return True
