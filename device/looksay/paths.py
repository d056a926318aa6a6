"""Where looksay keeps its files.

Under systemd the unit's ``StateDirectory=``, ``CacheDirectory=``, ``RuntimeDirectory=``,
``ConfigurationDirectory=`` and ``LoadCredential=`` set the matching environment variables;
run by hand, the XDG locations of the user running it are used instead.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "looksay"


def _systemd_dir(var: str) -> Path | None:
    # systemd may list several directories separated by ':'; the first is ours.
    value = os.environ.get(var)
    return Path(value.split(":")[0]) if value else None


def _xdg(var: str, fallback: str) -> Path:
    base = os.environ.get(var)
    return Path(base) if base else Path.home() / fallback


def config_dir() -> Path:
    """Folder of looksay.toml: $CONFIGURATION_DIRECTORY, else /etc/looksay."""
    return _systemd_dir("CONFIGURATION_DIRECTORY") or Path("/etc") / APP


def state_dir() -> Path:
    """Remembered state (volume, last caption, recent results)."""
    return _systemd_dir("STATE_DIRECTORY") or _xdg("XDG_STATE_HOME", ".local/state") / APP


def cache_dir() -> Path:
    """Downloads from the remote models; emptied after each use."""
    return _systemd_dir("CACHE_DIRECTORY") or _xdg("XDG_CACHE_HOME", ".cache") / APP


def runtime_dir() -> Path:
    """The control socket lives here."""
    found = _systemd_dir("RUNTIME_DIRECTORY")
    if found:
        return found
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / APP
    return Path(f"/tmp/{APP}-{os.getuid()}")


def credentials_dir() -> Path | None:
    """systemd's credentials folder (``LoadCredential=``), if any."""
    return _systemd_dir("CREDENTIALS_DIRECTORY")


def ensure(path: Path, mode: int = 0o700) -> Path:
    """Create ``path`` (and parents) if missing and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    return path
