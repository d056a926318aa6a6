"""systemd's notify protocol: readiness, status line, watchdog pings, stopping.

The protocol is one datagram to the AF_UNIX socket in ``$NOTIFY_SOCKET`` (``@`` for the
abstract namespace), which systemd documents as stable. It is spoken directly, with a
non-blocking send, rather than through systemd-python: ``systemd.daemon.notify`` (235)
blocks in sendmsg() while holding the GIL when the socket's queue is full (it holds 10
datagrams on Debian 12, ``net.unix.max_dgram_qlen``), and that freezes every thread of
the daemon, buttons and sound included. A message that finds the queue full is dropped
instead (the next watchdog ping or status follows soon). ``use_library=True`` still
selects systemd-python. Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)


def _send_directly(message: str, env: Mapping[str, str]) -> bool:
    addr = env.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr[0] == "@":
        addr = "\0" + addr[1:]  # abstract namespace
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(addr)
        sock.send(message.encode("utf-8"), socket.MSG_DONTWAIT)
    return True


def _library_sender() -> Callable[[str], bool] | None:
    try:
        from systemd import daemon
    except ImportError:
        return None
    notify = getattr(daemon, "notify", None)
    return notify if callable(notify) else None


class Notifier:
    """Sends notify messages to ``env``'s NOTIFY_SOCKET (default: os.environ).

    ``use_library`` selects systemd-python (see the module docstring for why not).
    """

    def __init__(self, env: Mapping[str, str] | None = None, *,
                 use_library: bool = False) -> None:
        self.env = os.environ if env is None else env
        library = _library_sender() if use_library and env is None else None
        # systemd-python reads os.environ itself, so it is only used for the real environment.
        self.backend = "systemd-python" if library else "socket"
        self._library = library
        self._failed = False
        self._full = False

    @property
    def enabled(self) -> bool:
        """True when a service manager listens ($NOTIFY_SOCKET is set)."""
        return bool(self.env.get("NOTIFY_SOCKET"))

    def send(self, *lines: str) -> bool:
        """Send ``lines`` as one message; True when it was sent. Never raises."""
        if not self.enabled:
            return False
        message = "\n".join(lines)
        # Readiness and stopping must not be lost to a momentarily full queue.
        tries = 10 if {"READY=1", "STOPPING=1"} & set(lines) else 1
        try:
            if self._library is not None:
                return bool(self._library(message))
            for attempt in range(tries):
                try:
                    sent = _send_directly(message, self.env)
                    break
                except BlockingIOError:
                    if attempt == tries - 1:
                        raise
                    time.sleep(0.05)
            self._full = False
            return sent
        except BlockingIOError:
            if not self._full:
                log.warning("sd_notify: the queue of %s is full; dropping %r (is the "
                            "service manager reading it?)", self.env.get("NOTIFY_SOCKET"),
                            message.split("\n", 1)[0])
            self._full = True
            return False
        except OSError as exc:
            if not self._failed:  # once is enough: it fails the same way every time
                log.warning("sd_notify to %s failed: %s", self.env.get("NOTIFY_SOCKET"), exc)
            self._failed = True
            return False

    def ready(self, status: str) -> bool:
        """The service is up: READY=1 with a status line."""
        return self.send("READY=1", _status(status))

    def status(self, status: str) -> bool:
        """A short human state, shown by ``systemctl status``."""
        return self.send(_status(status))

    def watchdog(self) -> bool:
        """The main loop is alive and making progress."""
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "Stopping") -> bool:
        """Shutdown has begun."""
        return self.send("STOPPING=1", _status(status))

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of WATCHDOG_USEC), None when not asked for."""
        usec = self.env.get("WATCHDOG_USEC")
        pid = self.env.get("WATCHDOG_PID")
        if not usec:
            return None
        if pid and pid.isdigit() and int(pid) != os.getpid():
            return None  # the watchdog is meant for another process (e.g. our parent)
        try:
            value = int(usec)
        except ValueError:
            log.warning("ignoring WATCHDOG_USEC=%r: not a number", usec)
            return None
        return value / 2e6 if value > 0 else None


def _status(text: str) -> str:
    # STATUS= is a single line.
    return "STATUS=" + " ".join(text.split())
