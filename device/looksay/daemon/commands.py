"""The daemon's sub-commands: ``run``, and ``press``, ``status``, ``say``, ``volume``.

Only argparse is imported here (``looksay --help`` stays fast); each command imports what
it needs when it runs. The client commands talk to the running daemon over its control
socket and exit with: 0 done; 1 the job failed (the reason is printed; the device said
it); 69 looksay is not running; 75 looksay is busy with another job; 77 this user may not
use the socket.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EX_FAILED = 1
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_NOPERM = 77

#: How long a client waits for a job: longer than any job's deadline with default settings.
WAIT_SECONDS = 600.0


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the daemon's sub-commands on ``sub`` (argparse sub-parsers)."""
    from looksay.config import ACTIONS

    p = sub.add_parser("run", parents=[common],
                       help="run the device: buttons, sounds, camera (what systemd starts)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("press", parents=[common],
                       help="do what a button does, on the running device (e.g. over SSH)")
    p.add_argument("action", choices=ACTIONS, help="the action, as in the button settings")
    p.add_argument("--no-wait", action="store_true",
                   help="return once the job has started instead of when it is done")
    p.set_defaults(func=cmd_press)

    p = sub.add_parser("status", parents=[common],
                       help="print the running device's state as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("say", parents=[common], help="speak TEXT through the device")
    p.add_argument("text", nargs="+", help="the words to say")
    p.set_defaults(func=cmd_say)

    p = sub.add_parser("volume", parents=[common],
                       help="show the volume, or set it: a percentage, up or down")
    p.add_argument("value", nargs="?", metavar="N|up|down",
                   help="0 to 100 (capped at audio.max_volume), or up/down by audio.volume_step")
    p.set_defaults(func=cmd_volume)


def cmd_run(args: argparse.Namespace, settings: Any) -> int:
    """``looksay run``: the daemon, until SIGTERM or SIGINT."""
    import faulthandler
    import logging
    import signal

    from looksay.config import EX_CONFIG, ConfigError
    from looksay.daemon.daemon import Daemon, DaemonError

    log = logging.getLogger("looksay.daemon")
    # `systemctl kill -s USR1 looksay` writes every thread's stack to the journal: how a
    # hang on a device out in the world gets diagnosed.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        status = Daemon(settings).run()
    except DaemonError as exc:
        print(f"looksay: {exc}", file=sys.stderr)
        status = EX_FAILED
    except ConfigError as exc:
        print(f"looksay: bad configuration: {exc}", file=sys.stderr)
        status = EX_CONFIG
    except Exception:
        log.exception("looksay stopped on an unexpected error")
        status = EX_SOFTWARE
    _exit_despite_stuck_threads(status)
    return status


def _exit_despite_stuck_threads(status: int) -> None:
    # A remote call that ignores its cancel would keep a non-daemon thread (an executor's)
    # alive, and Python waits for those at exit: systemd would then have to kill us.
    import logging
    import os
    import threading
    import time

    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        stuck = [t for t in threading.enumerate()
                 if t is not threading.main_thread() and not t.daemon and t.is_alive()]
        if not stuck:
            return
        time.sleep(0.05)
    logging.getLogger("looksay.daemon").warning(
        "leaving threads still running: %s", ", ".join(t.name for t in stuck))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _ask(message: dict[str, Any], timeout: float | None = 30.0) -> dict[str, Any] | int:
    """The daemon's reply, or an exit status after printing why it could not be asked."""
    from looksay.daemon import control

    try:
        return control.request(message, timeout=timeout)
    except control.NotRunning as exc:
        print(f"looksay: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    except control.NoPermission as exc:
        print(f"looksay: {exc}", file=sys.stderr)
        return EX_NOPERM
    except control.ControlError as exc:
        print(f"looksay: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE


def _job_result(reply: dict[str, Any], show_said: bool = True) -> int:
    """Print a job's reply the way a person wants to read it; the exit status."""
    if reply.get("ok"):
        if show_said and reply.get("said"):
            print(reply["said"])
        if reply.get("spoken"):  # done, but with a hitch (the local voice took over)
            print(f"looksay: {reply['spoken']} [{reply.get('detail', '')}]", file=sys.stderr)
        return 0
    if reply.get("outcome") == "busy":  # the device was busy; a busy Space is a failure
        print(f"looksay: {reply.get('message', 'busy')}", file=sys.stderr)
        return EX_TEMPFAIL
    if reply.get("outcome") == "cancelled":
        print("looksay: cancelled", file=sys.stderr)
        return EX_FAILED
    said = reply.get("spoken") or reply.get("message") or reply.get("outcome", "failed")
    detail = f" [{reply['detail']}]" if reply.get("detail") else ""
    print(f"looksay: {said}{detail}", file=sys.stderr)
    return EX_FAILED


def cmd_press(args: argparse.Namespace, settings: Any) -> int:
    """``looksay press ACTION``: like pressing a button; prints the caption if there is one."""
    reply = _ask({"cmd": "press", "action": args.action, "wait": not args.no_wait},
                 timeout=WAIT_SECONDS)
    if isinstance(reply, int):
        return reply
    if "volume" in reply:
        print(f"volume {reply['volume']}%")
    return _job_result(reply)


def cmd_status(args: argparse.Namespace, settings: Any) -> int:
    """``looksay status``: the daemon's state as JSON."""
    import json

    reply = _ask({"cmd": "status"})
    if isinstance(reply, int):
        return reply
    if not reply.get("ok"):
        print(f"looksay: {reply.get('message', 'no status')}", file=sys.stderr)
        return EX_FAILED
    print(json.dumps(reply["status"], indent=2, ensure_ascii=False))
    return 0


def cmd_say(args: argparse.Namespace, settings: Any) -> int:
    """``looksay say TEXT``: speak through the device."""
    text = " ".join(args.text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        print("looksay: the text is not valid UTF-8; set a UTF-8 locale (e.g. LANG=C.UTF-8)",
              file=sys.stderr)
        return 2
    reply = _ask({"cmd": "say", "text": text}, timeout=WAIT_SECONDS)
    if isinstance(reply, int):
        return reply
    return _job_result(reply, show_said=False)


def cmd_volume(args: argparse.Namespace, settings: Any) -> int:
    """``looksay volume [N|up|down]``: show or change the volume (remembered)."""
    value: Any = args.value
    if value is not None and value not in ("up", "down"):
        try:
            value = int(value.rstrip("%"))
        except ValueError:
            print(f"looksay: volume {args.value!r}: give a number from 10 to 100, up or down",
                  file=sys.stderr)
            return 2
        if not 10 <= value <= 100:
            print(f"looksay: volume {value}: give a number from 10 to 100 (below 10 the "
                  "device could not be heard)", file=sys.stderr)
            return 2
    reply = _ask({"cmd": "volume", "value": value})
    if isinstance(reply, int):
        return reply
    if not reply.get("ok"):
        print(f"looksay: {reply.get('message', 'failed')}", file=sys.stderr)
        return EX_FAILED
    note = ""
    if reply.get("capped") or (value in ("up", "down") and not reply.get("changed")):
        note = f" (the limit is 0 to {reply.get('max_volume')}%)"
    print(f"volume {reply['volume']}%{note}")
    return 0
