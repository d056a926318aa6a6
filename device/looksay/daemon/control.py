"""The control socket: ``control.sock`` in the runtime directory, line-delimited JSON.

Only a Unix socket (mode 0660: the daemon's user and group), never a network port, so
over SSH it is reachable by the owner and members of the ``looksay`` group and no one
else. Each request is one JSON object on one line; each reply is one JSON object on one
line with ``"ok": true|false``. A connection may carry several requests in turn.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from looksay import paths

log = logging.getLogger(__name__)

NAME = "control.sock"
#: Where systemd's RuntimeDirectory=looksay puts it; clients look here when their own
#: runtime directory (e.g. /run/user/1000 in an SSH session) has no socket.
SYSTEM_SOCKET = Path("/run/looksay") / NAME
MODE = 0o660
MAX_LINE = 64 * 1024
MAX_CLIENTS = 8
#: A client that says nothing for this long is disconnected.
IDLE_TIMEOUT = 30.0

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class ControlError(Exception):
    """The daemon could not be asked; the message says what to do."""


class NotRunning(ControlError):
    """No daemon listens on the socket."""


class NoPermission(ControlError):
    """This user may not use the socket."""


class AlreadyRunning(Exception):
    """Another daemon already answers on the socket."""


def server_path() -> Path:
    """Where the daemon puts its socket: the runtime directory."""
    return paths.runtime_dir() / NAME


def client_path() -> Path:
    """Where a client finds the socket.

    Its own runtime directory when that is systemd's or holds a socket, else the
    system service's /run/looksay.
    """
    own = server_path()
    if os.environ.get("RUNTIME_DIRECTORY"):
        return own
    try:
        own.stat()
        return own
    except OSError:
        pass
    return SYSTEM_SOCKET


class ControlServer:
    """Listens on ``path`` and answers each request with ``handler(request)``."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._clients = threading.BoundedSemaphore(MAX_CLIENTS)
        self._closing = threading.Event()

    def start(self) -> None:
        """Bind the socket (mode 0660) and serve from a background thread.

        Raises AlreadyRunning when another daemon answers there; a stale socket left by a
        crash is removed.
        """
        paths.ensure(self.path.parent, 0o750)
        if self.path.exists() or self.path.is_symlink():
            if _answers(self.path):
                raise AlreadyRunning(f"another looksay daemon is listening on {self.path}")
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, MODE)
            sock.listen(MAX_CLIENTS)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="control", daemon=True)
        self._thread.start()
        log.info("control socket: %s", self.path)

    def answers(self) -> bool:
        """True when some daemon already listens on ``path``."""
        return _answers(self.path)

    @property
    def alive(self) -> bool:
        """True while the accept loop runs."""
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        """Stop accepting and remove the socket file."""
        self._closing.set()
        sock, self._sock = self._sock, None
        if sock is None:
            return  # never bound: the socket file, if any, is another daemon's
        # shutdown() wakes the thread blocked in accept(); close() alone does not.
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _serve(self) -> None:
        while not self._closing.is_set():
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except OSError:
                if self._closing.is_set():
                    return
                log.exception("control socket accept failed")
                continue
            if not self._clients.acquire(blocking=False):
                _reply(conn, {"ok": False, "error": "busy",
                              "message": "too many control connections at once"})
                conn.close()
                continue
            threading.Thread(target=self._client, args=(conn,), name="control-client",
                             daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(IDLE_TIMEOUT)
            reader = conn.makefile("rb")
            with reader:
                while not self._closing.is_set():
                    line = reader.readline(MAX_LINE + 1)
                    if not line:
                        return
                    if len(line) > MAX_LINE:
                        _reply(conn, {"ok": False, "error": "bad-request",
                                      "message": "request too long"})
                        return
                    _reply(conn, self._answer(line))
        except OSError:
            pass  # the client went away or stayed silent; nothing to tell anyone
        finally:
            conn.close()
            self._clients.release()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "bad-request", "message": "not JSON"}
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            return {"ok": False, "error": "bad-request",
                    "message": 'expected an object with "cmd"'}
        try:
            return self.handler(request)
        except Exception as exc:
            log.exception("control request %s failed", request.get("cmd"))
            return {"ok": False, "error": "internal", "message": repr(exc)}


def _reply(conn: socket.socket, message: dict[str, Any]) -> None:
    # ensure_ascii: a stray surrogate in some text must not break the reply.
    conn.sendall(json.dumps(message).encode("ascii") + b"\n")


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def request(message: dict[str, Any], *, timeout: float | None = 30.0,
            path: Path | None = None) -> dict[str, Any]:
    """Send one request to the daemon and return its reply.

    Raises NotRunning, NoPermission or ControlError with a message for the person at the
    terminal.
    """
    path = path or client_path()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(5.0)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning("looksay is not running: start it with "
                             "sudo systemctl start looksay") from None
        except PermissionError:
            raise NoPermission(f"not allowed to use {path}: add yourself to the looksay "
                               "group (sudo usermod -aG looksay $USER, then log in again)"
                               ) from None
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                raise NotRunning("looksay is not running: start it with "
                                 "sudo systemctl start looksay") from None
            raise ControlError(f"cannot reach looksay at {path}: {exc}") from None
        sock.settimeout(timeout)
        try:
            sock.sendall(json.dumps(message).encode("utf-8") + b"\n")
            with sock.makefile("rb") as reader:
                line = reader.readline(MAX_LINE + 1)
        except TimeoutError:
            raise ControlError(f"looksay did not answer within {timeout:g} s") from None
        except OSError as exc:
            raise ControlError(f"lost the connection to looksay: {exc}") from None
    if not line:
        raise ControlError("looksay closed the connection without answering "
                           "(it may be stopping)")
    try:
        reply = json.loads(line)
    except ValueError:
        raise ControlError("looksay answered something that is not JSON") from None
    if not isinstance(reply, dict):
        raise ControlError("looksay answered something that is not a JSON object")
    return reply
