"""Logging to the journal under systemd, to stderr otherwise.

Repeated identical errors are collapsed into one line with a count, so a Space that is
down does not flood the journal on every press.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TextIO

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
             logging.CRITICAL: 2}


class CollapseRepeats(logging.Filter):
    """Drop a warning/error identical to the previous one within ``window`` seconds.

    The next different message is preceded by a note of how many were dropped.
    """

    def __init__(self, window: float = 300.0) -> None:
        super().__init__()
        self.window = window
        self._last: tuple[str, int] | None = None
        self._since = 0.0
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a repeat; annotate the first record after repeats."""
        if record.levelno < logging.WARNING:
            return True
        key = (record.getMessage(), record.levelno)
        now = time.monotonic()
        if key == self._last and now - self._since < self.window:
            self._dropped += 1
            return False
        if self._dropped:
            record.msg = f"{record.msg} (the previous message repeated {self._dropped} more times)"
        self._last, self._since, self._dropped = key, now, 0
        return True


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time, not what it was at set-up."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _StderrFormatter(logging.Formatter):
    def __init__(self, prefix_priority: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.prefix_priority = prefix_priority

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if self.prefix_priority:
            # journald reads a <N> prefix as the priority (SyslogLevelPrefix=yes).
            return f"<{_PRIORITY.get(record.levelno, 6)}>{line}"
        return line


def setup(level: str = "info") -> None:
    """Send looksay's log to the journal when run by systemd, else to stderr."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler: logging.Handler
    under_journal = bool(os.environ.get("JOURNAL_STREAM"))
    try:
        if not under_journal:
            raise ImportError
        from systemd.journal import JournalHandler

        handler = JournalHandler(SYSLOG_IDENTIFIER="looksay")
    except ImportError:
        handler = _Stderr()
        handler.setFormatter(_StderrFormatter(prefix_priority=under_journal))
    handler.addFilter(CollapseRepeats())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries chatter at INFO about every HTTP request.
    for noisy in ("httpx", "httpcore", "gradio_client", "huggingface_hub", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
