"""scripts/install against a temporary root: what the owner gets, twice, then an update, an
uninstall and a purge.

The installer runs for real (a real venv, a real pip install of a copy of this checkout);
only the commands that would change this machine (apt-get, useradd, systemctl, ...) are
replaced on PATH by stand-ins that record the call, and none may be called under --root.
The whole story runs once per module (about half a minute, mostly pip) and each test checks
one promise from its record.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The first test also builds the venv: pip may need minutes on a machine with a cold cache.
pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "install"
TOKEN = "hf_TESTonlyNotARealToken0123456789"
SYSTEM_TOOLS = ("apt-get", "apt", "dpkg", "useradd", "userdel", "usermod", "groupadd",
                "systemctl", "runuser", "su", "sudo")
#: Where a real install writes; a --root install must leave them alone.
HOST_PATHS = ("/etc/looksay", "/opt/looksay", "/etc/systemd/system/looksay.service",
              "/etc/systemd/system/multi-user.target.wants/looksay.service",
              "/usr/local/bin/looksay", "/var/lib/looksay", "/var/cache/looksay")
VENV = "opt/looksay/venv"
UNIT = "etc/systemd/system/looksay.service"
WANTS = "etc/systemd/system/multi-user.target.wants/looksay.service"
CONFIG = "etc/looksay/looksay.toml"
TOKEN_PATH = "etc/looksay/hf_token"


def _python_for_venv() -> str:
    """The system Python (the one apt's picamera2 belongs to on a Pi), if it can make venvs."""
    system = "/usr/bin/python3"
    if os.access(system, os.X_OK) and subprocess.run(
            [system, "-c", "import venv, ensurepip"], capture_output=True,
            check=False).returncode == 0:
        return system
    return getattr(sys, "_base_executable", sys.executable)


def _snapshot(top: Path, skip: str | None = None) -> dict[str, tuple]:
    """Every path under ``top`` with its mode and content hash (or link target)."""
    found: dict[str, tuple] = {}
    if not top.exists():
        return found
    for here, dirs, files in os.walk(top):
        rel_here = Path(here).relative_to(top)
        if skip and str(rel_here) == skip:
            dirs[:] = []
            found[str(rel_here)] = ("skipped",)
            continue
        for name in dirs + files:
            path = Path(here) / name
            rel = str(rel_here / name)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                found[rel] = ("file", stat.S_IMODE(st.st_mode),
                              hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def _host_state() -> dict[str, tuple | None]:
    found: dict[str, tuple | None] = {}
    for path in HOST_PATHS:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            found[path] = None
        else:
            found[path] = (st.st_mode, st.st_mtime_ns, st.st_size)
    return found


def _venv_snapshot(venv: Path) -> dict[str, tuple]:
    """Every file in the venv with size and modification time: a rebuild changes them."""
    found = {}
    for here, _dirs, files in os.walk(venv):
        for name in files:
            st = (Path(here) / name).lstat()
            found[str(Path(here, name).relative_to(venv))] = (st.st_size, st.st_mtime_ns)
    return found


@dataclass
class Run:
    """One run of the installer."""

    args: list[str]
    returncode: int
    output: str


@dataclass
class Story:
    """What happened, recorded at each stage."""

    root: Path
    checkout: Path
    runs: dict[str, Run] = field(default_factory=dict)
    files: dict[str, dict] = field(default_factory=dict)
    venvs: dict[str, dict] = field(default_factory=dict)
    checkout_before: dict = field(default_factory=dict)
    checkout_after: dict = field(default_factory=dict)
    venv_prefix: str = ""
    venv_sees_system_site: bool = False
    entry_point: str = ""
    help_returncode: int = -1
    help_output: str = ""
    site_packages: list[str] = field(default_factory=list)
    forbidden_calls: str = ""
    scratch_left: list[str] = field(default_factory=list)
    installed_init: str = ""
    config_after_update: str = ""
    broken_config_kept: bool = False
    host_before: dict = field(default_factory=dict)
    host_after: dict = field(default_factory=dict)


def _copy_checkout(dest: Path) -> Path:
    """A private copy of the checkout, so the story can also change the source."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    dest.mkdir()
    shutil.copy2(REPO / "pyproject.toml", dest)
    if (REPO / "README.md").exists():
        shutil.copy2(REPO / "README.md", dest)
    for folder in ("device", "systemd"):
        shutil.copytree(REPO / folder, dest / folder, ignore=ignore)
    (dest / "scripts").mkdir()
    shutil.copy2(SCRIPT, dest / "scripts" / "install")
    return dest


def _stand_ins(folder: Path, log: Path) -> None:
    """System tools that must not run under --root: each records its call and fails."""
    folder.mkdir()
    for tool in SYSTEM_TOOLS:
        path = folder / tool
        path.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexit 97\n')
        path.chmod(0o755)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Install, install again, update with an edited config, uninstall, purge."""
    base = tmp_path_factory.mktemp("install")
    root = base / "root"
    root.mkdir()
    checkout = _copy_checkout(base / "checkout")
    scratch = base / "scratch"
    scratch.mkdir()
    log = base / "forbidden-calls.log"
    _stand_ins(base / "bin", log)
    token_file = base / "token"
    token_file.write_text(TOKEN + "\n")
    env = dict(os.environ)
    env["PATH"] = f"{base / 'bin'}{os.pathsep}{env['PATH']}"
    env["LOOKSAY_PYTHON"] = _python_for_venv()
    # The installer's and pip's scratch files go here, so leftovers can be seen.
    env["TMPDIR"] = str(scratch)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    s = Story(root=root, checkout=checkout)
    s.checkout_before = _snapshot(checkout)
    s.host_before = _host_state()

    def run(stage: str, *extra: str) -> Run:
        args = [str(checkout / "scripts" / "install"), "--root", str(root), *extra]
        done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600,
                              check=False)
        result = Run(args, done.returncode, done.stdout + done.stderr)
        s.runs[stage] = result
        s.files[stage] = _snapshot(root, skip=VENV)
        s.venvs[stage] = _venv_snapshot(root / VENV)
        assert done.returncode == 0, f"{stage}: {result.output[-3000:]}"
        return result

    run("first", "--hf-token-file", str(token_file))
    run("second", "--hf-token-file", str(token_file))
    s.checkout_after = _snapshot(checkout)
    site = next((root / VENV / "lib").glob("python3*/site-packages"))
    s.site_packages = sorted(p.name for p in site.iterdir())
    probe = subprocess.run(
        [str(root / VENV / "bin" / "python"), "-c",
         "import site, sys; print(sys.prefix); "
         "print(any(not p.startswith(sys.prefix) for p in site.getsitepackages()))"],
        capture_output=True, text=True, timeout=60, check=True)
    prefix, sees_system = probe.stdout.split()
    s.venv_prefix, s.venv_sees_system_site = prefix, sees_system == "True"
    s.entry_point = (root / VENV / "bin" / "looksay").read_text()
    helped = subprocess.run([str(root / VENV / "bin" / "looksay"), "--help"],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={k: v for k, v in env.items() if k != "TMPDIR"})
    s.help_returncode, s.help_output = helped.returncode, helped.stdout + helped.stderr

    # The owner edits the settings; a newer checkout arrives.
    with (root / CONFIG).open("a") as fh:
        fh.write("\n# edited by the owner\n")
    init = checkout / "device" / "looksay" / "__init__.py"
    init.write_text(init.read_text() + "\n# a newer checkout\n")
    run("update")

    # A typo in the settings: the installer must not restart onto it (exit 78, no restart
    # loop), and must keep the owner's file as it is.
    good = (root / CONFIG).read_text()
    (root / CONFIG).write_text(good + "\n[speach]\nspeed = 2\n")
    args = [str(checkout / "scripts" / "install"), "--root", str(root)]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    s.runs["broken"] = Run(args, done.returncode, done.stdout + done.stderr)
    s.broken_config_kept = (root / CONFIG).read_text().endswith("[speach]\nspeed = 2\n")
    (root / CONFIG).write_text(good)
    s.installed_init = (site / "looksay" / "__init__.py").read_text()
    s.config_after_update = (root / CONFIG).read_text()

    run("uninstall", "--uninstall")
    run("purge", "--uninstall", "--purge")
    s.forbidden_calls = log.read_text() if log.exists() else ""
    s.host_after = _host_state()
    s.scratch_left = sorted(p.name for p in scratch.iterdir())
    return s


def test_layout_after_install(story: Story) -> None:
    files = story.files["first"]
    # A working venv that also sees the system's packages (apt's picamera2 on a Pi).
    assert story.venv_prefix == str(story.root / VENV)
    assert story.venv_sees_system_site
    assert ("looksay" in story.site_packages
            and any(n.startswith("looksay-") for n in story.site_packages))
    assert story.entry_point.startswith(f"#!{story.root / VENV}/bin/python")
    assert "from looksay.cli import main" in story.entry_point
    assert files[UNIT][:2] == ("file", 0o644)
    assert files[UNIT][2] == hashlib.sha256(
        (REPO / "systemd" / "looksay.service").read_bytes()).hexdigest()
    # What `systemctl enable` makes for WantedBy=multi-user.target.
    assert files[WANTS] == ("link", "/etc/systemd/system/looksay.service")
    assert files["usr/local/bin/looksay"] == ("link", "/opt/looksay/venv/bin/looksay")
    assert files["etc/looksay"] == ("dir", 0o755)
    example = REPO / "device" / "looksay" / "looksay.example.toml"
    assert files[CONFIG] == ("file", 0o644, hashlib.sha256(example.read_bytes()).hexdigest())
    assert files[TOKEN_PATH] == ("file", 0o600,
                                 hashlib.sha256((TOKEN + "\n").encode()).hexdigest())


def test_the_installed_command_runs(story: Story) -> None:
    assert story.help_returncode == 0, story.help_output
    assert "doctor" in story.help_output


def test_the_token_is_never_printed(story: Story) -> None:
    for stage, run in story.runs.items():
        assert TOKEN not in run.output, stage
        assert TOKEN[:12] not in run.output, stage


def test_a_second_run_changes_nothing(story: Story) -> None:
    assert story.files["second"] == story.files["first"]
    # The venv is neither rebuilt nor reinstalled: not one file in it was rewritten.
    assert story.venvs["second"] == story.venvs["first"]
    assert "up to date" in story.runs["second"].output


def test_pip_brings_no_numpy_or_picamera2(story: Story) -> None:
    """On a Pi those come from apt; a pip copy in the venv would shadow them."""
    for name in story.site_packages:
        assert not name.lower().startswith(("numpy", "picamera2", "simplejpeg")), name


def test_nothing_outside_the_root_is_touched(story: Story) -> None:
    assert story.forbidden_calls == ""
    first = story.runs["first"].output
    assert "would run: apt-get install" in first
    apt_line = next(line for line in first.splitlines() if "apt-get install" in line)
    assert "--no-install-recommends" in apt_line
    for package in ("python3-picamera2", "python3-lgpio", "python3-systemd", "espeak-ng",
                    "alsa-utils"):
        assert package in apt_line.split(), package
    assert "would run: useradd" in first and "looksay" in first
    assert "would run: systemctl restart looksay.service" in first
    # Neither the checkout (no build/ or egg-info from pip) nor the temp dir keeps anything.
    assert story.checkout_after == story.checkout_before
    assert story.scratch_left == []
    # The real places are as they were (absent here, unless looksay is installed for real).
    assert story.host_after == story.host_before


def test_update_upgrades_in_place_and_keeps_the_edited_settings(story: Story) -> None:
    assert "# a newer checkout" in story.installed_init
    assert story.config_after_update.endswith("\n# edited by the owner\n")
    update = story.runs["update"].output
    assert "keeping /etc/looksay/looksay.toml" in update
    assert "keeping the token" in update
    assert "would run: systemctl restart looksay.service" in update
    assert story.files["update"][TOKEN_PATH] == story.files["second"][TOKEN_PATH]


def test_a_broken_config_is_named_and_the_service_not_restarted(story: Story) -> None:
    broken = story.runs["broken"]
    assert broken.returncode != 0
    assert "[speach]" in broken.output and "not (re)started" in broken.output
    assert "would run: systemctl restart" not in broken.output
    assert story.broken_config_kept


def test_uninstall_keeps_settings_and_purge_removes_them(story: Story) -> None:
    after = story.files["uninstall"]
    for gone in (VENV, "opt/looksay", UNIT, WANTS, "usr/local/bin/looksay"):
        assert gone not in after, gone
    assert story.venvs["uninstall"] == {}
    assert after[CONFIG][0] == "file" and after[TOKEN_PATH][1] == 0o600
    assert "would run: systemctl disable --now looksay.service" in story.runs[
        "uninstall"].output
    purged = story.files["purge"]
    assert not any(path.startswith(("etc/looksay", "opt/looksay")) for path in purged)
    assert "would run: userdel looksay" in story.runs["purge"].output


def _as_nobody(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args]


def test_a_real_install_needs_root() -> None:
    done = subprocess.run(_as_nobody([str(SCRIPT)]), capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode != 0
    assert "run as root: sudo" in done.stderr


def test_bad_token_files_are_refused_before_anything_changes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    empty = tmp_path / "empty"
    empty.write_text("\n")
    two = tmp_path / "two"
    two.write_text("hf_abc def\nsecond line\n")
    for token_file, message in ((tmp_path / "missing", "cannot read the token file"),
                                (empty, "is empty"), (two, "one token on one line")):
        done = subprocess.run([str(SCRIPT), "--root", str(root), "--hf-token-file",
                               str(token_file)], capture_output=True, text=True,
                              timeout=30, check=False)
        assert done.returncode != 0 and message in done.stderr, done.stderr
    assert list(root.iterdir()) == []


def test_the_script_passes_shellcheck() -> None:
    tool = shutil.which("shellcheck")
    assert tool, "shellcheck is missing: apt-get install shellcheck (scripts/setup does)"
    done = subprocess.run([tool, str(SCRIPT)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout
