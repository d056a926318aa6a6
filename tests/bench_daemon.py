"""Benchmark for ``scripts/bench_daemon`` (not collected by pytest: no test_ prefix).

Against the stand-in Spaces, with ALSA's file plugin standing in for the sound card:

1. acknowledgement latency: the daemon in this process on gpiozero's mock pins; from
   ``drive_low()`` of the button pin to the first samples of the ack written by ALSA;
2. start-up: ``looksay run`` as a process, from spawning it to READY=1 on the notify socket;
3. the daemon process's resident memory, open files and threads before and after N
   presses of describe over the control socket (default 200).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "photos" / "person-astronaut.jpg"
ALSA_CONF = "/usr/share/alsa/alsa.conf"


def _alsa_home(home: Path) -> dict[str, str]:
    """A HOME whose ALSA default device writes one WAV file per opening (null slave)."""
    home.mkdir(parents=True, exist_ok=True)
    rc = home / ".asoundrc"
    rc.write_text('pcm.!default {\n  type file\n  slave.pcm "null"\n'
                  f'  file "{home / "played.wav"}"\n  format "wav"\n  truncate false\n}}\n')
    return {"HOME": str(home), "ALSA_CONFIG_PATH": f"{ALSA_CONF}:{rc}"}


def _captures(home: Path) -> list[Path]:
    return sorted(home.glob("played.wav*"), key=lambda p: (len(p.name), p.name))


def _config(path: Path, spaces, extra: str = "") -> Path:
    path.write_text(spaces.toml() + f"""
[camera]
source = "file"
path = "{PHOTO}"

[audio]
player = "aplay"
device = "default"
{extra}""")
    return path


def _proc_figures(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_kib": int(fields["VmRSS"].split()[0]),
            "peak_rss_kib": int(fields["VmHWM"].split()[0]),
            "threads": int(fields["Threads"]),
            "open_files": len(os.listdir(f"/proc/{pid}/fd"))}


def bench_ack(work: Path, spaces, presses: int) -> list[float]:
    """Edge-to-first-sample latencies of ``presses`` short presses (describe)."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from looksay import config
    from looksay.daemon.daemon import Daemon
    from looksay.daemon.notify import Notifier

    home = work / "ack-home"
    os.environ.update(_alsa_home(home))
    for name in ("state", "cache", "run"):
        (work / f"ack-{name}").mkdir()
    os.environ.update(STATE_DIRECTORY=str(work / "ack-state"),
                      CACHE_DIRECTORY=str(work / "ack-cache"),
                      RUNTIME_DIRECTORY=str(work / "ack-run"))
    settings = config.load(_config(work / "ack.toml", spaces))
    factory = MockFactory(pin_class=MockPWMPin)
    Device.pin_factory = factory
    daemon = Daemon(settings, greet=False, notifier=Notifier({}))
    main = threading.Thread(target=daemon.run, kwargs={"handle_signals": False}, daemon=True)
    main.start()
    while daemon.state != "ready":
        time.sleep(0.01)
    pin = factory.pin(settings.button1.pin)
    latencies = []
    try:
        for n in range(presses):
            known = len(_captures(home))
            pressed = time.monotonic()
            pin.drive_low()
            heard = None
            while heard is None and time.monotonic() - pressed < 2:
                for path in _captures(home)[known:]:
                    if path.stat().st_size > 44:
                        heard = time.monotonic()
                        break
                else:
                    time.sleep(0.0002)
            time.sleep(0.08)
            pin.drive_high()
            if heard is None:
                raise SystemExit("bench_daemon: no acknowledgement reached ALSA within 2 s")
            latencies.append(heard - pressed)
            while not (daemon._job is None and daemon.last_press
                       and int(daemon.last_press["id"]) >= n + 1 and daemon.output.idle):
                time.sleep(0.01)
    finally:
        daemon.request_stop()
        main.join(6)
        factory.reset()
    return latencies


def _spawn(work: Path, spaces, tag: str) -> tuple[subprocess.Popen, float, dict[str, str],
                                                  socket.socket]:
    """``looksay run`` with a notify socket; (process, seconds to READY=1, env, socket)."""
    dirs = {name: work / f"{tag}-{name}" for name in ("state", "cache", "run")}
    for path in dirs.values():
        path.mkdir()
    notify_path = work / f"{tag}-notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    env = dict(os.environ)
    env.update(_alsa_home(work / f"{tag}-home"))
    env.update(STATE_DIRECTORY=str(dirs["state"]), CACHE_DIRECTORY=str(dirs["cache"]),
               RUNTIME_DIRECTORY=str(dirs["run"]), NOTIFY_SOCKET=str(notify_path),
               WATCHDOG_USEC="10000000", GPIOZERO_PIN_FACTORY="mock",
               LOOKSAY_CONFIG=str(_config(work / f"{tag}.toml", spaces)))
    log = (work / f"{tag}.log").open("wb")
    began = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "looksay", "run"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    sock.settimeout(60)
    while True:
        message = sock.recv(4096).decode()
        if "READY=1" in message.split("\n"):
            return proc, time.monotonic() - began, env, sock


def _stop(proc: subprocess.Popen, sock: socket.socket) -> float:
    began = time.monotonic()
    proc.terminate()
    proc.wait(10)
    sock.close()
    return time.monotonic() - began


def main() -> int:
    """Run the three measurements and print the figures; 1 if any press failed."""
    parser = argparse.ArgumentParser(prog="bench_daemon")
    parser.add_argument("presses", nargs="?", type=int, default=200,
                        help="describe presses over the control socket (default 200)")
    parser.add_argument("--acks", type=int, default=20,
                        help="button presses for the acknowledgement latency (default 20)")
    parser.add_argument("--starts", type=int, default=3, help="start-ups to time (default 3)")
    args = parser.parse_args()
    for var, value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                       ("NO_PROXY", "127.0.0.1,localhost")):
        os.environ.setdefault(var, value)
    os.environ.pop("LOOKSAY_CONFIG", None)
    from looksay import logs
    from looksay.daemon import control
    from tests.fake_spaces import start_fake_spaces

    logs.setup("warning")
    with tempfile.TemporaryDirectory(prefix="lsb-") as tmp:
        work = Path(tmp)
        spaces = start_fake_spaces(work / "spaces")
        proc = None
        try:
            print(f"stand-in Spaces up; {args.acks} button presses in process...", flush=True)
            acks = bench_ack(work, spaces, args.acks)
            starts = []
            for n in range(args.starts):
                proc, ready, env, sock = _spawn(work, spaces, f"start{n}")
                starts.append(ready)
                if n < args.starts - 1:
                    _stop(proc, sock)
            print(f"{args.presses} describe presses over the control socket...", flush=True)
            path = Path(env["RUNTIME_DIRECTORY"]) / control.NAME
            time.sleep(1.0)  # let start-up threads (camera, greeting) finish
            before = _proc_figures(proc.pid)
            took, failed = [], 0
            for n in range(args.presses):
                began = time.monotonic()
                reply = control.request({"cmd": "press", "action": "describe"}, path=path,
                                        timeout=float(os.environ.get("BENCH_TIMEOUT", 120)))
                took.append(time.monotonic() - began)
                failed += not reply.get("ok")
                if n == 0:
                    first = _proc_figures(proc.pid)
            time.sleep(1.0)
            after = _proc_figures(proc.pid)
            leftovers = [p for p in Path(env["CACHE_DIRECTORY"]).rglob("*") if p.is_file()]
            stop = _stop(proc, sock)
        except BaseException:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)  # the daemon dumps its threads' stacks
                time.sleep(3)
                proc.send_signal(signal.SIGUSR1)
                time.sleep(0.5)
            for log in sorted(work.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-12000:]}", file=sys.stderr)
            raise
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            spaces.stop()

    def ms(values: list[float]) -> str:
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        return (f"median {1000 * statistics.median(values):.1f} ms, p95 {1000 * p95:.1f} ms, "
                f"max {1000 * max(values):.1f} ms (n={len(values)})")

    print()
    print(f"ack latency, button edge -> first sample in ALSA: {ms(acks)}")
    print("start -> READY=1: " + ", ".join(f"{s:.2f} s" for s in starts))
    print(f"describe over the control socket: {ms(took)}; failed: {failed}")
    print(f"{'':24}{'before':>10}{'after 1':>10}{'after ' + str(args.presses):>12}")
    for key, label in (("rss_kib", "resident memory (KiB)"), ("peak_rss_kib", "peak RSS (KiB)"),
                       ("open_files", "open files"), ("threads", "threads")):
        print(f"{label:24}{before[key]:>10}{first[key]:>10}{after[key]:>12}")
    print(f"files left in the cache dir: {len(leftovers)}; SIGTERM -> exit: {stop:.2f} s")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
