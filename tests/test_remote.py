"""The remote models against real local Gradio servers standing in for the Spaces.

Nothing here is mocked: gradio_client talks HTTP/SSE to Gradio apps on 127.0.0.1 that have
the real Spaces' endpoint and parameter names (tests/fake_spaces.py), and each kind of
trouble is made by the server, a closed port, a silent socket or a TLS certificate.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from looksay.audio.wav import Sound
from looksay.errors import Failure, Kind
from looksay.remote import RemoteModels, Space, read_token
from looksay.remote.models import PARAMS
from looksay.remote.spaces import parse_retry_after, token_allowed
from tests.fake_spaces import QUOTA_MESSAGE, SECONDS_PER_CHAR, SPEECH_RATE, free_port

PHOTOS = Path(__file__).parent / "photos"
TOKEN = "hf_LooksayTestTokenDoNotSend0123456789"
#: Slack on top of a deadline: polling, thread hand-offs, a busy CI machine.
MARGIN = 0.8


def jpeg_of(image: Image.Image) -> bytes:
    """``image`` as JPEG bytes, as the camera code hands them over."""
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def cat() -> bytes:
    """A real photo (451x300)."""
    return (PHOTOS / "cat-chelsea.jpg").read_bytes()


@pytest.fixture
def models(spaces, remote_settings, tmp_path):
    """RemoteModels on the stand-ins with a token configured (it must not be sent)."""
    made = []

    def make(*overrides: str, token: str | None = TOKEN) -> RemoteModels:
        m = RemoteModels(remote_settings(*overrides), tmp_path / "cache", token)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def failure_of(fn, *args, **kwargs) -> tuple[Failure, float]:
    """The Failure ``fn`` raises and how long it took."""
    start = time.monotonic()
    with pytest.raises(Failure) as caught:
        fn(*args, **kwargs)
    return caught.value, time.monotonic() - start


# ---------------------------------------------------------------- calls that work

def test_caption_describes_the_uploaded_photo(models, spaces):
    caption = models().caption(cat())
    assert isinstance(caption, str)
    assert "451 by 300 pixels" in caption
    assert caption.count(". ") >= 3  # prose of several sentences, like the real Space
    # The stand-in streams partial captions; the final, complete one is what we get.
    assert caption.endswith("written by a test server.")


def test_caption_depends_on_the_picture(models):
    m = models()
    red = m.caption(jpeg_of(Image.new("RGB", (320, 240), (210, 20, 20))))
    blue = m.caption(jpeg_of(Image.new("RGB", (240, 320), (30, 60, 210))))
    assert "red is the main colour" in red and "320 by 240" in red
    assert "blue is the main colour" in blue and "240 by 320" in blue


def test_speech_sends_the_settings_and_returns_a_wav_of_the_right_length(models, spaces):
    m = models('speech.speaker="EN-BR"', "speech.speed=1.0")
    text = "The cat sits on a grey blanket and looks at the camera."
    sound = m.synthesize(text)
    assert isinstance(sound, Sound)
    assert sound.rate == SPEECH_RATE and sound.channels == 1
    assert sound.duration == pytest.approx(len(text) * SECONDS_PER_CHAR, abs=0.001)
    assert sound.peak > 1000  # a voice, not silence
    assert spaces["speech"].last_args == {"speaker": "EN-BR", "text": text, "speed": 1.0,
                                          "language": "EN"}


def test_speech_file_without_extension_is_recognised_by_its_header(models, spaces):
    # Like the real MeloTTS Space, the stand-in names its file "audio" with no suffix.
    sound = models().synthesize("Hello.")
    assert sound.duration == pytest.approx(6 * SECONDS_PER_CHAR, abs=0.001)
    downloads = [r.path for r in spaces["speech"].requests if "/file=" in r.path]
    assert downloads and downloads[-1].endswith("/audio")


def test_smile_returns_the_changed_picture_and_sends_whole_numbers(models, spaces):
    m = models("smile.steps=3", "smile.seed=42", "smile.strength=0.5", 'smile.prompt="Smile!"')
    picture = m.smile(cat())
    assert isinstance(picture, Image.Image) and picture.mode == "RGB"
    assert picture.size == (512, 336)  # 512 wide, height a multiple of 8, as the real Space
    got = spaces["smile"].last_args
    assert got["init_image"].size == (451, 300)
    assert got["prompt"] == "Smile!" and got["strength"] == 0.5
    assert type(got["steps"]) is int and got["steps"] == 3
    assert type(got["seed"]) is int and got["seed"] == 42


# ---------------------------------------------------------------- failure kinds

def test_a_self_hosted_server_that_is_down_is_not_available_and_quick(models, spaces):
    # The network works (the connection was refused by the host): not "check the Wi-Fi".
    port = free_port()
    m = models(f'caption.space="http://127.0.0.1:{port}/"')
    failure, took = failure_of(m.caption, cat())
    assert failure.kind is Kind.GONE
    assert "is the server running" in failure.detail
    assert "connection refused" in failure.detail and str(port) in failure.detail
    assert failure.service == "caption"
    assert took < 5


def test_space_starting_up_is_waking_up(models, spaces):
    spaces.set("caption", "waking")
    failure, _ = failure_of(models().caption, cat())
    assert failure.kind is Kind.WAKING_UP
    assert spaces["caption"].url in failure.detail
    assert failure.spoken == "The describing service is starting up. Press again in a minute."


def test_space_that_is_gone(models, spaces):
    spaces.set("smile", "gone")
    failure, _ = failure_of(models().smile, cat())
    assert failure.kind is Kind.GONE
    assert "404" in failure.detail


def test_full_queue_is_busy(models, spaces):
    spaces.set("speech", "queue_full")
    failure, _ = failure_of(models().synthesize, "Hello.")
    assert failure.kind is Kind.BUSY
    assert "queue full" in failure.detail


def test_gpu_quota_is_busy_with_the_wait_it_names(models, spaces):
    spaces.set("smile", "quota")
    failure, _ = failure_of(models().smile, cat())
    assert failure.kind is Kind.BUSY
    assert failure.retry_after == 300
    assert "GPU quota" in failure.detail
    assert failure.spoken == "The smile service is busy. Press again in 5 minutes."


@pytest.mark.parametrize(("message", "seconds"), [
    (QUOTA_MESSAGE, 300),
    ("You have exceeded your GPU quota (60s requested vs. 12s left). Try again in 2:05:11",
     2 * 3600 + 5 * 60 + 11),
    ("You have exceeded your free GPU quota (46s left vs. 60s requested). Sign-up on "
     "Hugging Face to get more quotas or retry in 0:09:48", 9 * 60 + 48),
    ('<a href="https://huggingface.co/join">Create a free account</a> or retry in 1:30', 90),
    ("Too many requests, retry in 45 seconds", 45),
    ("No GPU is currently available for you after 60s", None),
])
def test_wait_is_read_from_quota_messages(message, seconds):
    assert parse_retry_after(message) == seconds


def test_app_error_names_what_the_space_said(models, spaces):
    spaces.set("speech", "error", message="speaker EN-XX is not known")
    failure, _ = failure_of(models().synthesize, "Hello.")
    assert failure.kind is Kind.GONE
    assert "speaker EN-XX is not known" in failure.detail


def test_slow_answer_is_too_slow_within_the_deadline(models, spaces):
    spaces.set("speech", "slow", delay=6)
    m = models("speech.timeout=1")
    failure, took = failure_of(m.synthesize, "Hello.")
    assert failure.kind is Kind.TOO_SLOW
    assert "within 1 s" in failure.detail
    assert 1.0 <= took < 1.0 + MARGIN
    # The Space is fine, so the client is kept and the next call simply works.
    spaces.set("speech")
    again = m.spaces["speech"].call(10, speaker="EN-US", text="Again.", speed=1.0,
                                    language="EN")
    assert again.data.startswith(b"RIFF")
    assert m.spaces["speech"].builds == 1


def test_silent_server_while_connecting_respects_the_deadline(models, spaces):
    # A socket that accepts connections and never answers: like a Space that is building
    # (Client() would wait for ever). The call must still end at its deadline.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        m = models(f'caption.space="http://127.0.0.1:{port}/"', "caption.timeout=1")
        failure, took = failure_of(m.caption, cat())
        assert failure.kind is Kind.WAKING_UP
        assert "still connecting" in failure.detail
        assert took < 1.0 + MARGIN
        # A second press joins the connection attempt still under way; no pile of threads.
        failure, took = failure_of(m.caption, cat())
        assert failure.kind is Kind.WAKING_UP and took < 1.0 + MARGIN
        connecting = [t for t in threading.enumerate() if t.name == "connect-caption"]
        assert len(connecting) == 1


def test_renamed_parameter_is_changed_and_says_what_differs(models, spaces):
    m = models()
    assert m.caption(cat())
    # The owner updates the Space: same endpoint, new parameter names.
    spaces["caption"].restart(variant="changed")
    failure, _ = failure_of(m.caption, cat())
    assert failure.kind is Kind.CHANGED
    assert spaces["caption"].url in failure.detail
    assert "/feifeichat" in failure.detail
    assert "missing parameter 'image'; it has: photo, text" in failure.detail
    assert failure.spoken.startswith("The describing service has changed")


def test_wrong_parameter_names_are_found_before_the_first_call(spaces, tmp_path):
    space = Space("smile", spaces["caption"].url, "/feifeichat", PARAMS["smile"],
                  cache_dir=tmp_path)
    try:
        failure, _ = failure_of(space.call, 5, prompt="x")
    finally:
        space.close()
    assert failure.kind is Kind.CHANGED
    assert "missing parameters 'init_image', 'prompt', 'strength', 'steps', 'seed'; " \
           "it has: image" in failure.detail
    assert spaces["caption"].calls == 0  # nothing was sent to the model


def test_wrong_endpoint_is_changed(models, spaces):
    m = models('caption.api_name="/describe"')
    failure, _ = failure_of(m.caption, cat())
    assert failure.kind is Kind.CHANGED
    assert failure.detail == f"{spaces['caption'].url} has no endpoint /describe; " \
                             "it has: /feifeichat"


@pytest.mark.parametrize("message", [
    "Please upload a photo",
    "An error occurred while generating the description: 500 Internal Server Error",
    "Failed to encode image: cannot identify image file",
    "**Error:** the model is overloaded",
    "ok",
    "   ",
])
def test_error_text_sent_as_a_caption_is_nonsense(models, spaces, message):
    spaces.set("caption", "error_caption", message=message)
    failure, _ = failure_of(models().caption, cat())
    assert failure.kind is Kind.NONSENSE
    assert failure.service == "caption"


def test_black_picture_is_blanked(models, spaces):
    spaces.set("smile", "black")
    failure, _ = failure_of(models().smile, cat())
    assert failure.kind is Kind.BLANKED
    assert "512x512" in failure.detail


@pytest.mark.parametrize(("mode", "words"), [("not_wav", "not a WAV file"),
                                             ("empty_audio", "empty")])
def test_broken_audio_is_nonsense(models, spaces, mode, words):
    spaces.set("speech", mode)
    failure, _ = failure_of(models().synthesize, "Hello.")
    assert failure.kind is Kind.NONSENSE
    assert words in failure.detail


def test_expired_clock_shows_as_a_certificate_not_yet_valid(models, tmp_path, monkeypatch):
    # A TLS server whose certificate starts in 2099, trusted through SSL_CERT_FILE: to the
    # client this is exactly a Pi whose clock is still in the past.
    ca, cert, key = make_future_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    with tls_server(cert, key) as port:
        m = models(f'caption.space="https://127.0.0.1:{port}/"')
        failure, _ = failure_of(m.caption, cat())
    assert failure.kind is Kind.CLOCK
    assert "not yet valid" in failure.detail
    assert failure.spoken == "I'm waiting for the network time. Press again in a minute."


# ---------------------------------------------------------------- cancelling

def test_cancel_event_stops_a_call_promptly(models, spaces):
    spaces.set("smile", "slow", delay=6)
    m = models()
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    failure, took = failure_of(m.smile, cat(), cancel)
    assert failure.kind is Kind.CANCELLED
    assert took < 0.5 + MARGIN


def test_cancel_before_the_call_sends_nothing_to_the_model(models, spaces):
    cancel = threading.Event()
    cancel.set()
    failure, _ = failure_of(models().synthesize, "Hello.", cancel)
    assert failure.kind is Kind.CANCELLED
    assert spaces["speech"].requests == []  # not even a connection


# ---------------------------------------------------------------- client lifetime

def test_client_is_reused_and_rebuilt_after_the_space_comes_back(models, spaces):
    m = models()
    for _ in range(3):
        m.synthesize("Hello.")
    speech = m.spaces["speech"]
    assert speech.builds == 1
    assert sum(r.path == "/config" for r in spaces["speech"].requests) == 1

    spaces["speech"].stop()
    failure, _ = failure_of(m.synthesize, "Hello.")
    assert failure.kind is Kind.GONE

    spaces["speech"].start()  # same port
    assert m.synthesize("Back again.").duration > 0
    assert speech.builds == 2


def test_space_restarted_between_calls_is_used_without_a_failure(models, spaces):
    m = models()
    m.caption(cat())
    spaces["caption"].restart()
    assert "451 by 300" in m.caption(cat())


def test_connection_dropped_mid_call_is_retried_on_a_new_client(models, spaces):
    with TcpProxy(spaces["speech"].port) as proxy:
        m = models(f'speech.space="http://127.0.0.1:{proxy.port}/"', "speech.timeout=10")
        m.synthesize("Warm up.")
        spaces.set("speech", "slow", delay=5)

        def drop_and_heal() -> None:
            proxy.cut()
            spaces.set("speech")

        when(job_streaming(spaces["speech"]), drop_and_heal)
        start = time.monotonic()
        sound = m.synthesize("Hello.")
        assert sound.duration == pytest.approx(6 * SECONDS_PER_CHAR, abs=0.001)
        assert time.monotonic() - start < 4  # did not sit out the slow job
        assert m.spaces["speech"].builds == 2


def test_connection_dropped_on_a_new_client_is_a_passing_trouble(models, spaces):
    with TcpProxy(spaces["caption"].port) as proxy:
        m = models(f'caption.space="http://127.0.0.1:{proxy.port}/"')
        spaces.set("caption", "slow", delay=5)
        when(job_streaming(spaces["caption"]), proxy.cut)
        failure, took = failure_of(m.caption, cat())
    assert failure.kind is Kind.WAKING_UP
    assert "dropped" in failure.detail
    assert took < 4


def test_probe_says_how_each_space_is(models, spaces):
    m = models(f'smile.space="http://127.0.0.1:{free_port()}/"')
    assert m.probe("caption", 5) == "answers"
    assert m.probe("smile", 5).startswith("not reachable: nothing answers")
    spaces["speech"].restart(variant="changed")
    said = m.probe("speech", 5)
    assert said.startswith("changed: /synthesize: missing parameter 'speaker'")
    spaces.set("caption", "waking")
    assert m.probe("caption", 5).startswith("not reachable:")
    assert m.probe("weather", 5) == "unknown service 'weather'"


# ---------------------------------------------------------------- the token

def test_space_page_url_is_taken_as_the_space_id(tmp_path):
    space = Space("speech", "https://huggingface.co/spaces/mrfakename/MeloTTS/", "/synthesize",
                  PARAMS["speech"], cache_dir=tmp_path)
    assert space.src == "mrfakename/MeloTTS"
    local = Space("speech", " http://127.0.0.1:7862/ ", "/synthesize", PARAMS["speech"],
                  cache_dir=tmp_path)
    assert local.src == "http://127.0.0.1:7862/"


def test_token_goes_only_to_hugging_face_hosts():
    assert token_allowed("aifeifei798/Image-To-Flux-Prompt")
    assert token_allowed("https://mrfakename-melotts.hf.space/")
    assert token_allowed("https://huggingface.co/spaces/mrfakename/MeloTTS")
    assert not token_allowed("http://mrfakename-melotts.hf.space/")  # not over plain HTTP
    assert not token_allowed("http://127.0.0.1:7861/")
    assert not token_allowed("https://example.com/")
    assert not token_allowed("https://hf.space.example.com/")
    assert not token_allowed("https://evilhf.space/")
    assert not token_allowed("https://huggingface.co@evil.example/")


def test_token_is_not_sent_to_a_local_server_nor_logged(models, spaces, caplog, capfd,
                                                         monkeypatch):
    caplog.set_level(logging.DEBUG)
    # gradio_client would send $HF_TOKEN to any host if given token=None.
    env_token = "hf_FromTheEnvironmentAlsoNeverSent"
    monkeypatch.setenv("HF_TOKEN", env_token)
    m = models()
    m.caption(cat())
    m.synthesize("Hello.")
    m.smile(cat())
    for service in ("caption", "speech", "smile"):
        m.probe(service, 5)
    spaces.set("smile", "quota")
    quota, _ = failure_of(m.smile, cat())
    m_closed = models(f'caption.space="http://127.0.0.1:{free_port()}/"')
    refused, _ = failure_of(m_closed.caption, cat())

    for space in spaces.spaces.values():
        assert space.requests
        for request in space.requests:
            assert "x-hf-authorization" not in request.headers
            assert TOKEN not in str(request.headers)
            assert env_token not in str(request.headers)
    out, err = capfd.readouterr()
    shown = [caplog.text, out, err, repr(m), str(m), repr(m.spaces), str(quota), repr(quota),
             str(refused), *(m.probe(s, 5) for s in m.spaces)]
    assert not [text for text in shown if TOKEN in text]


def test_token_is_read_from_the_configured_file_or_systemd_credentials(
        remote_settings, tmp_path, monkeypatch, caplog):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert read_token(remote_settings(f'hub.token_file="{token_file}"')) == TOKEN

    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "hf_token").write_text(TOKEN)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert read_token(remote_settings()) == TOKEN
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    assert read_token(remote_settings()) is None

    caplog.set_level(logging.DEBUG)
    token_file.write_text(f"{TOKEN} second-word\n")
    assert read_token(remote_settings(f'hub.token_file="{token_file}"')) is None
    assert read_token(remote_settings(f'hub.token_file="{tmp_path / "none"}"')) is None
    token_file.write_text("\n")
    assert read_token(remote_settings(f'hub.token_file="{token_file}"')) is None
    assert TOKEN not in caplog.text
    assert str(token_file) in caplog.text


# ---------------------------------------------------------------- no files left behind

def test_no_files_left_in_tmp_or_the_cache(models, spaces, tmp_path, monkeypatch):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    m = models()
    for _ in range(4):
        m.caption(cat())
        m.synthesize("One more sentence to say.")
        m.smile(cat())
    spaces.set("smile", "black")
    failure_of(m.smile, cat())
    spaces.set("speech", "not_wav")
    failure_of(m.synthesize, "Hello.")
    spaces.set("caption", "slow", delay=3)
    failure_of(models("caption.timeout=1").caption, cat())

    assert list(system_tmp.iterdir()) == []
    cache = tmp_path / "cache"
    assert sorted(p.name for p in cache.iterdir()) == ["downloads", "uploads"]
    assert [p for p in cache.rglob("*") if p.is_file()] == []


def test_leftovers_from_a_crash_are_removed_at_start(remote_settings, fake_spaces, tmp_path):
    downloads = tmp_path / "cache" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "speech-0123-audio").write_bytes(b"RIFF")
    keep = tmp_path / "cache" / "volume"
    keep.write_text("80")
    RemoteModels(remote_settings(), tmp_path / "cache", None).close()
    assert list(downloads.iterdir()) == []
    assert keep.exists()  # only our transfer folders are touched


def test_importing_looksay_remote_stays_light():
    code = ("import os, sys, looksay.remote; "
            "assert 'gradio_client' not in sys.modules, 'gradio_client imported'; "
            "assert 'httpx' not in sys.modules, 'httpx imported'; "
            "assert os.environ['HF_HUB_DISABLE_TELEMETRY'] == '1'")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_TELEMETRY"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# ---------------------------------------------------------------- helpers

def job_streaming(space):
    """A condition: the next job runs on ``space`` and its result stream is open."""
    calls, seen = space.calls, len(space.requests)

    def condition() -> bool:
        return space.calls > calls and any(r.path.endswith("/queue/data")
                                           for r in space.requests[seen:])

    return condition


def when(condition, action, within: float = 10.0) -> None:
    """Run ``action`` on another thread as soon as ``condition()`` holds."""
    def watch() -> None:
        end = time.monotonic() + within
        while not condition() and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.1)  # let the job get going on the server
        action()

    threading.Thread(target=watch, daemon=True).start()


def make_future_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key): valid for 127.0.0.1 from 2099."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    (folder / "index.txt").write_text("")
    (folder / "serial").write_text("1000\n")
    (folder / "ca.cnf").write_text(
        "[ca]\ndefault_ca = test\n[test]\ndir = .\ndatabase = index.txt\nserial = serial\n"
        "new_certs_dir = .\ncertificate = ca.pem\nprivate_key = ca.key\n"
        "default_md = sha256\npolicy = any\ncopy_extensions = copy\n"
        "[any]\ncommonName = supplied\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "36500", "-subj", "/CN=looksay test CA",
            # Python >= 3.13 verifies strictly (VERIFY_X509_STRICT): a CA needs these.
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
            "server.csr", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    openssl("ca", "-batch", "-config", "ca.cnf", "-startdate", "20990101000000Z",
            "-enddate", "21000101000000Z", "-in", "server.csr", "-out", "server.pem")
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


class tls_server:
    """A TLS listener on 127.0.0.1 that does handshakes and nothing else."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()

    def __enter__(self) -> int:
        threading.Thread(target=self._serve, daemon=True).start()
        return self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass


class TcpProxy:
    """Forwards a local port to a stand-in; :meth:`cut` drops every open connection at once,
    as a Wi-Fi hiccup or a restarting Space does."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(32)
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    def __enter__(self) -> TcpProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.cut()

    def cut(self) -> None:
        """Close every connection going through the proxy (new ones still work)."""
        with self.lock:
            conns, self.open = self.open, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
