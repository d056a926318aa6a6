"""Benchmark for ``scripts/bench_describe`` (not collected by pytest: no test_ prefix).

Starts the stand-in Spaces in this process, runs ``looksay describe --image`` as a child
process N times with ALSA's file plugin as the sound card, and prints per-stage timings
(from the child's log), the import time of the CLI and the child's peak RSS.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "photos" / "person-astronaut.jpg"


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    from tests.fake_spaces import free_port, start_fake_spaces

    with tempfile.TemporaryDirectory(prefix="looksay-bench-") as tmp:
        home = Path(tmp)
        os.environ["GRADIO_TEMP_DIR"] = str(home / "gradio")
        spaces = start_fake_spaces(home / "spaces",
                                   {s: free_port() for s in ("caption", "speech", "smile")})
        try:
            return _bench(home, spaces, runs)
        finally:
            spaces.stop()


def _bench(home: Path, spaces: object, runs: int) -> int:
    (home / ".asoundrc").write_text(
        'pcm.!default { type file slave.pcm "null" file "%s" format "wav" }\n'
        % (home / "played.wav"))
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / "cache"),
               XDG_STATE_HOME=str(home / "state"), XDG_RUNTIME_DIR=str(home / "run"))
    env.pop("LOOKSAY_CONFIG", None)
    sets = [a for svc, url in spaces.urls.items() for a in ("--set", f'{svc}.space="{url}"')]
    sets += ["--set", "audio.player=aplay", "--set", "log.level=info"]
    # Import time: what `looksay describe` imports before it does any work, minus a
    # bare interpreter start; best of 5 so a busy moment does not count.
    imports = "import looksay.cli, looksay.pipelines, looksay.parts, gradio_client"
    total_s = min(_time([sys.executable, "-c", imports], env) for _ in range(5)) - min(
        _time([sys.executable, "-c", "pass"], env) for _ in range(5))
    stages: dict[str, list[float]] = {}
    walls = []
    peaks = []
    for _ in range(runs):
        began = time.monotonic()
        # GNU time forks from a small process: a child forked from this one (gradio
        # loaded) would report this process's size as its own peak.
        done = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M",
                               str(ROOT / ".venv" / "bin" / "looksay"), "describe",
                               "--image", str(PHOTO), *sets],
                              capture_output=True, text=True, env=env, timeout=120)
        stderr = done.stderr
        peak = re.search(r"maxrss_kb=(\d+)", stderr)
        if peak:
            peaks.append(int(peak.group(1)))
        walls.append(time.monotonic() - began)
        if done.returncode != 0:
            print(stderr, file=sys.stderr)
            return 1
        found = re.search(r"describe timings: (.*)", stderr)
        for key, value in re.findall(r"(\w+)=([\d.]+)s", found.group(1) if found else ""):
            stages.setdefault(key, []).append(float(value))
    print(f"looksay describe x{runs} against the stand-in Spaces ({PHOTO.name})")
    for key, values in stages.items():
        print(f"  {key:12s} median {statistics.median(values):6.3f} s   "
              f"max {max(values):6.3f} s")
    print(f"  {'process':12s} median {statistics.median(walls):6.3f} s (wall, incl. start-up)")
    print(f"  import time (looksay + gradio_client, over a bare python): {total_s:.3f} s")
    if peaks:
        print(f"  peak resident memory of a describe process: {max(peaks) / 1024:.1f} MB")
    return 0


def _time(cmd: list[str], env: dict[str, str]) -> float:
    began = time.monotonic()
    subprocess.run(cmd, env=env, check=True)
    return time.monotonic() - began


if __name__ == "__main__":
    raise SystemExit(main())
