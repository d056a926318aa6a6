"""Before network time arrives, an HTTPS call waits for the clock instead of failing TLS."""

from __future__ import annotations

import threading
import time

import pytest

from looksay import clock
from looksay.errors import Failure, Kind
from looksay.remote import Space
from looksay.remote.models import PARAMS


@pytest.fixture
def unsynced(tmp_path, monkeypatch):
    """A clock that has not been set: no sync flag, and 'now' before the build time."""
    flag = tmp_path / "synchronized"
    monkeypatch.setattr(clock, "SYNC_FLAG", flag)
    monkeypatch.setattr(clock, "build_time", lambda: time.time() + 86400)
    return flag


def test_the_clock_is_plausible_here():
    assert clock.plausible()


def test_an_https_call_waits_for_the_clock_then_says_so(unsynced, tmp_path, spaces):
    space = Space("caption", "https://127.0.0.1:9/", "/feifeichat", PARAMS["caption"],
                  cache_dir=tmp_path)
    began = time.monotonic()
    with pytest.raises(Failure) as err:
        space.call(1.5, files={"image": (b"x", ".jpg")})
    assert err.value.kind is Kind.CLOCK
    assert "waiting for the network time" in err.value.spoken
    assert 1.4 <= time.monotonic() - began < 3
    space.close()


def test_the_call_goes_ahead_once_time_is_synchronised(unsynced, tmp_path):
    threading.Timer(0.6, unsynced.touch).start()
    assert clock.wait_until_plausible(time.monotonic() + 5, poll=0.1)
    assert unsynced.exists()


def test_plain_http_on_the_lan_does_not_wait(unsynced, tmp_path, spaces):
    space = Space("caption", spaces["caption"].url, "/feifeichat", PARAMS["caption"],
                  cache_dir=tmp_path)
    from tests.test_remote import cat

    assert "photograph" in space.call(20, files={"image": (cat(), ".jpg")})
    space.close()
