"""The optional Hugging Face token, read from a file and kept out of sight.

A token raises the free ZeroGPU quota (it is counted per account instead of per IP). It is
read from ``hub.token_file``, else from systemd's credentials folder
(``LoadCredential=hf_token:...``), and is only ever sent to Hugging Face hosts (see
:mod:`looksay.remote.spaces`). It never appears in the log, in ``repr()`` or in ``str()``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from looksay import paths
from looksay.config import Settings

log = logging.getLogger(__name__)

#: Name of the credential systemd hands over (``LoadCredential=hf_token:/etc/...``).
CREDENTIAL_NAME = "hf_token"


def token_path(settings: Settings) -> Path | None:
    """The file the token is read from, or None when there is none to look at."""
    if settings.hub.token_file:
        return Path(settings.hub.token_file).expanduser()
    creds = paths.credentials_dir()
    return creds / CREDENTIAL_NAME if creds else None


def read_token(settings: Settings) -> str | None:
    """The token from ``hub.token_file`` (else ``$CREDENTIALS_DIRECTORY/hf_token``), or None.

    A missing, unreadable, empty or malformed file is logged (by path, never by content)
    and gives None: the device still works, with the anonymous quota.
    """
    path = token_path(settings)
    if path is None:
        return None
    explicit = bool(settings.hub.token_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        # Under systemd without LoadCredential= for the token this is the normal case.
        if explicit:
            log.warning("hub.token_file %s does not exist; going on without a token", path)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read the token file %s (%s); going on without a token",
                    path, type(exc).__name__)
        return None
    token = text.strip()
    if not token:
        # The unit's SetCredential= fallback is an empty credential: no token was given.
        (log.warning if explicit else log.info)(
            "the token file %s is empty; going on without a token", path)
        return None
    # A token goes into an HTTP header: one line of printable ASCII, nothing else.
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        log.warning("the token file %s does not hold a single token (one line, no spaces); "
                    "going on without a token", path)
        return None
    return token
