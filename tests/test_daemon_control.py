"""The control socket and the commands that use it, over a real Unix socket."""

from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import sys

import pytest

from looksay import cli
from looksay.daemon import commands, control


@pytest.fixture
def server(daemon_dirs):
    """A ControlServer at the daemon's path whose handler echoes the request."""
    seen = []

    def handler(request):
        seen.append(request)
        if request["cmd"] == "boom":
            raise RuntimeError("handler bug")
        return {"ok": True, "echo": request}

    srv = control.ControlServer(control.server_path(), handler)
    srv.start()
    srv.seen = seen
    yield srv
    srv.close()


def test_socket_is_in_the_runtime_directory_with_mode_0660(server, daemon_dirs):
    assert server.path == daemon_dirs.socket
    info = server.path.stat()
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o660


def test_request_and_reply(server):
    reply = control.request({"cmd": "status", "x": "é"})
    assert reply == {"ok": True, "echo": {"cmd": "status", "x": "é"}}
    assert control.client_path() == server.path


def test_several_requests_on_one_connection_and_bad_ones(server):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(server.path))
        sock.sendall(b'{"cmd": "a"}\nnot json\n[1, 2]\n{"cmd": "boom"}\n{"cmd": "b"}\n')
        with sock.makefile("rb") as reader:
            replies = [json.loads(reader.readline()) for _ in range(5)]
    assert replies[0]["echo"]["cmd"] == "a"
    assert replies[1] == {"ok": False, "error": "bad-request", "message": "not JSON"}
    assert replies[2]["error"] == "bad-request"
    assert replies[3]["ok"] is False and replies[3]["error"] == "internal"
    assert replies[4]["echo"]["cmd"] == "b", "a failing request does not end the server"


def test_overlong_request_is_refused(server):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(server.path))
        sock.sendall(b'{"cmd": "' + b"x" * (control.MAX_LINE + 10) + b'"}\n')
        reply = json.loads(sock.makefile("rb").readline())
    assert reply["error"] == "bad-request"


def test_stale_socket_from_a_crash_is_replaced(daemon_dirs):
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(daemon_dirs.socket))
    stale.close()  # the file stays, nobody listens: what a killed daemon leaves
    srv = control.ControlServer(daemon_dirs.socket, lambda r: {"ok": True})
    srv.start()
    try:
        assert control.request({"cmd": "x"}) == {"ok": True}
    finally:
        srv.close()
    assert not daemon_dirs.socket.exists()


def test_a_second_server_is_refused_and_leaves_the_first_alone(server):
    second = control.ControlServer(server.path, lambda r: {"ok": True})
    with pytest.raises(control.AlreadyRunning):
        second.start()
    second.close()
    assert control.request({"cmd": "still"})["ok"]


def test_not_running_says_how_to_start_it(daemon_dirs, capsys):
    with pytest.raises(control.NotRunning, match="sudo systemctl start looksay"):
        control.request({"cmd": "status"})
    assert cli.main(["status"]) == commands.EX_UNAVAILABLE
    err = capsys.readouterr().err
    assert "looksay is not running: start it with sudo systemctl start looksay" in err
    assert cli.main(["press", "describe"]) == commands.EX_UNAVAILABLE
    assert cli.main(["volume", "up"]) == commands.EX_UNAVAILABLE
    assert cli.main(["say", "hello"]) == commands.EX_UNAVAILABLE


def test_client_finds_the_system_socket_from_an_ssh_session(monkeypatch, tmp_path):
    # Over SSH there is no RUNTIME_DIRECTORY, and the user's own runtime dir has no socket.
    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert control.client_path() == control.SYSTEM_SOCKET


def _run_as_nobody(func) -> tuple[int, str]:
    """Run ``func() -> int`` in a forked child as user nobody; (exit status, its stderr)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 70
        try:
            os.close(read)
            sys.stderr = os.fdopen(write, "w")
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            status = func()
        finally:
            sys.stderr.flush()
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        err = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


def test_user_not_allowed_is_told_to_join_the_group(server, capsys):
    if os.geteuid() == 0:
        # root may use any socket: ask as an ordinary user, as the owner over SSH would.
        status, err = _run_as_nobody(lambda: commands.cmd_status(argparse.Namespace(), None))
    else:
        server.path.chmod(0)
        status = commands.cmd_status(argparse.Namespace(), None)
        err = capsys.readouterr().err
    assert status == commands.EX_NOPERM
    assert "not allowed to use" in err and "add yourself to the looksay group" in err
