"""sd_notify: through systemd-python and through the protocol directly, to a real socket."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

import pytest

from looksay.daemon.notify import Notifier


@pytest.fixture
def listener(daemon_dirs):
    """A bound datagram socket, like systemd's notify socket; (socket, path)."""
    path = daemon_dirs.root / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def test_systemd_python_can_still_be_chosen(listener, monkeypatch):
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert Notifier().backend == "socket", "the non-blocking sender is the default"
    notifier = Notifier(use_library=True)
    assert notifier.backend == "systemd-python"
    assert notifier.ready("Ready; camera starting")
    assert sock.recv(4096).decode().split("\n") == ["READY=1", "STATUS=Ready; camera starting"]


def test_a_full_notify_queue_never_freezes_the_daemon(listener, caplog):
    # Nobody reads the socket (a hung or busy service manager): the queue fills up after
    # a few datagrams. Sending must then drop, not block, and other threads keep running.
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    ticker = threading.Thread(target=tick)
    ticker.start()
    began = time.monotonic()
    sent = []
    while time.monotonic() - began < 0.3:
        sent.append(notifier.watchdog())
    stop.set()
    ticker.join()
    assert sent[0] and not sent[-1], "the first went out; once full, the rest are dropped"
    assert len(sent) > 100, "each send returned at once"
    assert len(ticks) > 20, "the other thread kept running"
    assert caplog.text.count("queue") == 1, "said once, not every time"
    sock.setblocking(False)
    while True:  # the manager catches up: the next message goes out again
        try:
            sock.recv(4096)
        except BlockingIOError:
            break
    assert notifier.watchdog()


@pytest.mark.parametrize("abstract", [False, True])
def test_the_protocol_spoken_directly(listener, abstract):
    if abstract:
        name = f"looksay-test-{uuid.uuid4().hex}"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind("\0" + name)
        sock.settimeout(2)
        address = "@" + name
    else:
        sock, address = listener
    try:
        notifier = Notifier({"NOTIFY_SOCKET": address})
        assert notifier.backend == "socket"
        assert notifier.status("Working: describe\n(press 0001)")
        assert sock.recv(4096) == b"STATUS=Working: describe (press 0001)", "one line"
        assert notifier.stopping()
        assert sock.recv(4096).decode().split("\n") == ["STOPPING=1", "STATUS=Stopping"]
    finally:
        if abstract:
            sock.close()


def test_outside_systemd_nothing_is_sent_and_nothing_breaks():
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready("Ready") is False
    assert notifier.watchdog_interval is None


def test_a_vanished_socket_is_logged_once_not_raised(daemon_dirs, caplog):
    notifier = Notifier({"NOTIFY_SOCKET": str(daemon_dirs.root / "nobody")})
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    assert caplog.text.count("sd_notify") == 1


def test_watchdog_interval_is_half_of_watchdog_usec():
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    mine = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval == 0.5
    other = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(other).watchdog_interval is None, "meant for another process"
    assert Notifier({"WATCHDOG_USEC": "soon"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None
