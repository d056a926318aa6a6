"""Fixtures for the remote models: local stand-in Spaces (tests/fake_spaces.py).

* ``fake_spaces`` (session): the three stand-ins, started once. ``fake_spaces.urls``,
  ``fake_spaces["smile"].set("black")``, ``fake_spaces.set_args()`` for a subprocess.
* ``spaces`` (function): the same object, reset to normal before and after the test
  (use it whenever a test makes a stand-in misbehave, stops or changes one).
* ``remote_settings``: a function building a :class:`~looksay.config.Settings` whose
  caption/speech/smile point at the stand-ins, plus any ``section.key=value`` overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from looksay import config
from looksay.config import Settings


@pytest.fixture(scope="session")
def fake_spaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The three stand-in Spaces, running for the whole session."""
    work = tmp_path_factory.mktemp("fake_spaces")
    # Imported here: gradio is heavy and reads GRADIO_TEMP_DIR when first imported,
    # which start_fake_spaces sets (into the session's tmp folder) before importing it.
    from tests.fake_spaces import start_fake_spaces

    fakes = start_fake_spaces(Path(work))
    yield fakes
    fakes.stop()


@pytest.fixture
def spaces(fake_spaces):
    """``fake_spaces`` reset to normal behaviour before and after the test."""
    fake_spaces.reset()
    yield fake_spaces
    fake_spaces.reset()


@pytest.fixture
def remote_settings(fake_spaces, tmp_path: Path) -> Callable[..., Settings]:
    """``make(*overrides)`` -> Settings pointing at the stand-ins (overrides win)."""

    def make(*overrides: str) -> Settings:
        path = tmp_path / "remote.toml"
        if not path.exists():
            path.write_text("# written by the remote_settings fixture\n")
        return config.load(path, overrides=[*fake_spaces.set_args(), *overrides])

    return make
