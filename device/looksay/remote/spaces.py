"""One remote Gradio app (a Hugging Face Space, or any Gradio server by URL) and its client.

Why this wrapper exists, point by point (facts: docs/research/gradio_apis.md):

* ``gradio_client.Client()`` can block forever while a Space builds, so it is built on a
  worker thread and the caller waits only until its own deadline. A build that outlives
  the deadline keeps going in the background and is reused by the next call.
* ``predict()`` has no deadline, so every call is ``submit()`` + a polling ``result()``
  that honours both the deadline and a cancel event, and cancels the job when either fires.
* The Space may change under us: its API is checked (endpoint and parameter names) before
  the first use of each client, and the client is rebuilt after failures that suggest the
  Space restarted or changed.
* gradio_client downloads result files into folders it never cleans (plus one empty
  40-hex folder per download in the system temp dir). Here it never downloads
  (``download_files=False``); the result file is fetched with httpx into our cache
  folder and deleted as soon as it is read.
* The Hugging Face token goes only to Hugging Face hosts over HTTPS; any other host gets
  ``token=False`` (otherwise gradio_client sends ``$HF_TOKEN`` to every host).
* Every error becomes a :class:`~looksay.errors.Failure` whose kind says what the person
  hears; the detail (for the log and ``status``) names the Space and what happened.

gradio_client is imported lazily so ``import looksay`` stays light.
"""

from __future__ import annotations

import concurrent.futures
import html
import logging
import os
import re
import secrets
import threading
import time
import urllib.parse
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from looksay import clock
from looksay.errors import Failure, Kind

log = logging.getLogger(__name__)

# Telemetry is read from the environment when huggingface_hub / gradio_client are imported,
# and analytics_enabled=False alone is ignored by gradio_client 2.7.2; set both first.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

#: Seconds between checks of the deadline and the cancel event while a call runs.
POLL = 0.05
#: httpx limits for each request gradio_client makes. The read limit also applies to the
#: SSE stream, where the server sends a heartbeat every 15 s, so it must stay well above 15.
CONNECT_S, READ_S, WRITE_S, POOL_S = 15.0, 60.0, 60.0, 15.0
#: A result file larger than this is not a caption, a voice or a picture.
MAX_DOWNLOAD = 64 * 1024 * 1024
#: Subfolders of the cache folder that hold our transfers (emptied after each use).
DOWNLOADS, UPLOADS = "downloads", "uploads"

_SPACE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_SPACE_PAGE = re.compile(
    r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co)/spaces/([\w.-]+)/([\w.-]+?)/?$", re.I)
_HF_HOSTS = ("huggingface.co", "hf.co")
_HF_DOMAINS = (".hf.space", ".huggingface.co", ".hf.co")
_WAIT_CLOCK = re.compile(r"(?:try again|retry)\s+in\s+(\d+):(\d{1,2})(?::(\d{1,2}))?", re.I)
_WAIT_WORDS = re.compile(
    r"(?:try again|retry)\s+in\s+(\d+(?:\.\d+)?)\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|"
    r"secs?|s)\b", re.I)
_BUSY_WORDS = ("gpu quota", "exceeded your", "no gpu", "zerogpu", "queue is stopped",
               "queue is full", "too many requests", "rate limit", "try again in", "retry in")


class Secret:
    """A string that never shows itself in ``repr()``, ``str()``, logs or pickles."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class RemoteFile:
    """A file the remote model returned, already fetched and deleted from disk."""

    name: str
    data: bytes

    def __repr__(self) -> str:
        return f"RemoteFile(name={self.name!r}, {len(self.data)} bytes)"


def normalise_src(src: str) -> str:
    """A Space's page URL (huggingface.co/spaces/owner/name) becomes its id; else as is.

    People copy the page URL from the browser; gradio_client needs the id (or the app's
    own *.hf.space URL) to find the app.
    """
    src = src.strip()
    found = _SPACE_PAGE.match(src)
    return f"{found.group(1)}/{found.group(2)}" if found else src


def is_space_id(src: str) -> bool:
    """True for ``owner/name`` (a Hugging Face Space id) rather than a URL."""
    return "://" not in src and bool(_SPACE_ID.match(src))


def is_hf_url(url: str) -> bool:
    """True for an HTTPS URL on a Hugging Face host (huggingface.co, ``*.hf.space``)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return False
    return parts.scheme == "https" and (host in _HF_HOSTS or host.endswith(_HF_DOMAINS))


def token_allowed(src: str) -> bool:
    """Whether the Hugging Face token may be sent to ``src`` (a Space id or an HF URL)."""
    return is_space_id(src) or is_hf_url(src)


def parse_retry_after(message: str) -> float | None:
    """Seconds to wait from "Try again in 1:02:03" / "retry in 0:09:48" / "retry in 30s"."""
    found = _WAIT_CLOCK.search(message)
    if found:
        a, b, c = found.groups()
        if c is None:  # M:SS
            return float(int(a) * 60 + int(b))
        return float(int(a) * 3600 + int(b) * 60 + int(c))
    found = _WAIT_WORDS.search(message)
    if found:
        number, unit = float(found.group(1)), found.group(2).lower()
        scale = 3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1
        return number * scale
    return None


def clean_cache(cache_dir: Path) -> None:
    """Remove transfers left in our cache folders by a crash (never anything else)."""
    for sub in (DOWNLOADS, UPLOADS):
        folder = cache_dir / sub
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            try:
                if entry.is_file() or entry.is_symlink():
                    entry.unlink()
            except OSError as exc:
                log.warning("cannot remove %s: %s", entry, exc)


def _gradio_client() -> Any:
    """Import gradio_client on first use (it pulls httpx and huggingface_hub)."""
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio_client  # heavy, only when a Space is used

    # Old servers cannot stop a cancelled job; gradio_client warns on stderr every time.
    warnings.filterwarnings("ignore", message="Cancelling this job will not stop")
    return gradio_client


class _Build:
    """One client being built on a worker thread; several callers may wait on it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.failure: Failure | None = None
        self.client: Any = None
        self.started = time.monotonic()


class Space:
    """One remote Gradio endpoint with a lazily built, reused, self-healing client.

    ``service`` is "caption", "speech" or "smile" (it picks the spoken name of failures);
    ``src`` a Space id or a server URL; ``params`` the keyword parameters the endpoint
    must accept. ``token`` is sent only if ``src`` is on Hugging Face.
    """

    def __init__(self, service: str, src: str, api_name: str, params: Sequence[str], *,
                 cache_dir: Path, token: str | None = None) -> None:
        self.service = service
        self.src = normalise_src(src)
        self.api_name = api_name
        self.params = tuple(params)
        self._token = Secret(token) if token else None
        self._downloads = cache_dir / DOWNLOADS
        self._uploads = cache_dir / UPLOADS
        self._lock = threading.Lock()
        self._client: Any = None
        self._build: _Build | None = None
        self._closed = False
        #: How many clients have been built (and passed the API check) so far.
        self.builds = 0

    def __repr__(self) -> str:
        state = "connected" if self._client is not None else "not connected"
        return f"Space({self.service}: {self.src} {self.api_name}, {state})"

    # ----------------------------------------------------------------- calling

    def call(self, timeout: float, cancel: threading.Event | None = None, *,
             files: Mapping[str, tuple[bytes, str]] | None = None, **kwargs: Any) -> Any:
        """Call the endpoint with keyword arguments and return its result.

        ``files`` maps a parameter name to (content, suffix such as ".jpg"); each is written
        to our cache folder, sent with ``handle_file`` and deleted afterwards. File results
        come back as :class:`RemoteFile`. Raises :class:`Failure` for every problem.

        ``timeout`` covers connecting, uploading, queueing, the model and fetching the
        result. It is checked every ``POLL`` seconds, except while a result chunk is being
        read, where httpx's read limit (at most the time left when the fetch began) applies.
        """
        deadline = time.monotonic() + timeout
        if cancel is not None and cancel.is_set():
            raise Failure(Kind.CANCELLED, f"{self.src} {self.api_name}: cancelled before "
                          "the call", service=self.service)
        # Plain HTTP (a server on the LAN) has no certificates, so needs no clock.
        tls = is_space_id(self.src) or self.src.lower().startswith("https:")
        if tls and not clock.wait_until_plausible(deadline, cancel):
            if cancel is not None and cancel.is_set():
                raise Failure(Kind.CANCELLED, f"{self.src}: cancelled while waiting for "
                              "the clock", service=self.service)
            raise Failure(Kind.CLOCK, f"{self.src}: the clock is not synchronised yet "
                          f"({time.strftime('%Y-%m-%d %H:%M')}); waiting for network time",
                          service=self.service)
        uploads = self._write_uploads(files or {})
        try:
            for attempt in (1, 2):
                client, reused = self._get_client(deadline, cancel, timeout)
                try:
                    return self._run(client, uploads, kwargs, deadline, cancel, timeout)
                except Failure:
                    raise
                except Exception as exc:
                    failure = self.classify(exc)
                    if not _keeps_client(failure, exc):
                        self._drop(client, failure)
                    if attempt == 1 and reused and deadline - time.monotonic() > 1.0:
                        # A reused client may simply be stale (the Space restarted or was
                        # updated since it was built): rebuild once and try again.
                        # A rebuilt client re-runs the API check, which names what changed.
                        if _stale_sign(failure, exc):
                            log.info("%s: retrying with a new client after: %s",
                                     self.src, failure)
                            continue
                        # The Space's code failed. Calling again could cost GPU time, but
                        # checking its API once more is cheap and tells "updated" apart.
                        if failure.kind is Kind.GONE:
                            self._recheck(deadline, cancel, timeout, failure)
                    raise failure from exc
            raise AssertionError("unreachable")  # pragma: no cover
        finally:
            for path in uploads.values():
                path.unlink(missing_ok=True)

    def probe(self, timeout: float) -> str:
        """Connect afresh, check the API and say in a few words how it went; never raises.

        "answers", "busy: ...", "changed: ..." or "not reachable: ...". The new client is
        kept for the next call.
        """
        try:
            self._get_client(time.monotonic() + timeout, None, timeout, fresh=True)
        except Failure as failure:
            return describe_failure(failure, self.src)
        except Exception as exc:  # a status line must never raise
            return f"not reachable: {type(exc).__name__}"
        return "answers"

    def close(self) -> None:
        """Close the client; a build still running closes its client when it ends."""
        with self._lock:
            self._closed = True
            client, self._client = self._client, None
        if client is not None:
            _close_quietly(client)

    def _run(self, client: Any, uploads: Mapping[str, Path], kwargs: Mapping[str, Any],
             deadline: float, cancel: threading.Event | None, timeout: float) -> Any:
        gc = _gradio_client()
        args = dict(kwargs)
        args.update({name: gc.handle_file(str(path)) for name, path in uploads.items()})
        job = client.submit(api_name=self.api_name, **args)
        while True:
            if cancel is not None and cancel.is_set():
                _cancel_in_background(job)
                raise Failure(Kind.CANCELLED, f"{self.src} {self.api_name}: cancelled",
                              service=self.service)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _cancel_in_background(job)
                raise self._too_slow(job, timeout)
            try:
                result = job.result(timeout=min(POLL, remaining))
                break
            except concurrent.futures.TimeoutError:
                if job.done():  # the job itself raised a TimeoutError
                    raise
        return self._fetch_files(result, client, deadline, cancel, timeout)

    def _recheck(self, deadline: float, cancel: threading.Event | None, timeout: float,
                 failure: Failure) -> None:
        """Raise CHANGED if a new client finds the API changed; otherwise return."""
        try:
            self._get_client(deadline, cancel, timeout, fresh=True)
        except Failure as newer:
            if newer.kind is Kind.CHANGED:
                raise newer from None
            log.debug("%s: re-checking after %s gave: %s", self.src, failure, newer)

    def _too_slow(self, job: Any, timeout: float) -> Failure:
        where = f"{self.src} {self.api_name}"
        try:
            status = job.status()
            code = getattr(status.code, "name", "")
            rank = status.rank
        except Exception:  # only used to word the failure
            code, rank = "", None
        if code in ("IN_QUEUE", "JOINING_QUEUE") and rank is not None:
            return Failure(Kind.BUSY, f"{where}: still in the queue (position {rank + 1}) "
                           f"after {timeout:g} s", service=self.service)
        return Failure(Kind.TOO_SLOW, f"{where}: no answer within {timeout:g} s",
                       service=self.service)

    # ------------------------------------------------------------ the client

    def _get_client(self, deadline: float, cancel: threading.Event | None, timeout: float,
                    fresh: bool = False) -> tuple[Any, bool]:
        """(client, reused): the current client, or one built within the deadline."""
        stale = None
        with self._lock:
            if self._closed:
                raise Failure(Kind.INTERNAL, f"{self.src}: used after close()",
                              service=self.service)
            if self._client is not None and not fresh:
                return self._client, True
            if fresh:
                stale, self._client = self._client, None
            build = self._build
            # A build still running is joined (even by a probe: it will be fresh); a
            # finished one has either failed or installed a client that was since dropped.
            if build is None or build.done.is_set():
                build = self._build = _Build()
                threading.Thread(target=self._build_client, args=(build,),
                                 name=f"connect-{self.service}", daemon=True).start()
        if stale is not None:
            _close_quietly(stale)
        while not build.done.wait(min(POLL, max(0.0, deadline - time.monotonic()))):
            if cancel is not None and cancel.is_set():
                raise Failure(Kind.CANCELLED, f"{self.src}: cancelled while connecting",
                              service=self.service)
            if time.monotonic() >= deadline:
                waited = time.monotonic() - build.started
                raise Failure(Kind.WAKING_UP, f"{self.src}: still connecting after "
                              f"{waited:.0f} s (the Space may be starting or building)",
                              service=self.service)
        if build.failure is not None:
            raise build.failure
        return build.client, False

    def _build_client(self, build: _Build) -> None:
        client = None
        started = time.monotonic()
        try:
            gc = _gradio_client()
            import httpx  # comes with gradio_client

            token: str | bool = False
            if self._token is not None and token_allowed(self.src):
                token = self._token.reveal()
            client = gc.Client(
                self.src, token=token, verbose=False, download_files=False,
                httpx_kwargs={"timeout": httpx.Timeout(connect=CONNECT_S, read=READ_S,
                                                       write=WRITE_S, pool=POOL_S)},
                max_workers=8, analytics_enabled=False)
            self._check_api(client)
        except Exception as exc:  # every failure is classified
            failure = exc if isinstance(exc, Failure) else self.classify(exc)
            if failure.kind is Kind.WAKING_UP and "config" in failure.detail:
                failure = self._refine_unreachable(failure)
            build.failure = failure
            log.debug("%s: connecting failed: %s", self.src, failure)
            if client is not None:
                _close_quietly(client)
            build.done.set()
            return
        old = None
        with self._lock:
            keep = not self._closed
            if keep:
                old, self._client = self._client, client
                self.builds += 1
        if not keep:
            _close_quietly(client)
        elif old is not None and old is not client:
            _close_quietly(old)
        build.client = client
        log.info("%s: connected in %.1f s", self.src, time.monotonic() - started)
        build.done.set()

    def _check_api(self, client: Any) -> None:
        """Fail with CHANGED unless the endpoint and its parameter names are as expected."""
        info = client.view_api(print_info=False, return_format="dict") or {}
        endpoints = info.get("named_endpoints") or {}
        if self.api_name not in endpoints:
            have = ", ".join(sorted(endpoints)) or "none"
            raise Failure(Kind.CHANGED, f"{self.src} has no endpoint {self.api_name}; "
                          f"it has: {have}", service=self.service)
        params = endpoints[self.api_name].get("parameters") or []
        names = [str(p.get("parameter_name") or p.get("label") or "?") for p in params]
        where = f"{self.src} {self.api_name}"
        listed = ", ".join(names) or "no parameters"
        missing = [p for p in self.params if p not in names]
        if missing:
            raise Failure(Kind.CHANGED, f"{where}: missing {_plural('parameter', missing)}; "
                          f"it has: {listed}", service=self.service)
        required = [str(p.get("parameter_name")) for p in params
                    if not p.get("parameter_has_default", True)
                    and p.get("parameter_name") not in self.params]
        if required:
            raise Failure(Kind.CHANGED, f"{where}: new required "
                          f"{_plural('parameter', required)}; it has: {listed}",
                          service=self.service)

    def _drop(self, client: Any, why: Failure) -> None:
        """Forget ``client`` (if still current) so the next call builds a new one."""
        with self._lock:
            if self._client is not client:
                return
            self._client = None
        log.info("%s: dropping the client after: %s", self.src, why)
        _close_quietly(client)

    def _refine_unreachable(self, failure: Failure) -> Failure:
        """Tell "nothing there" (404/410) from "starting up" when the config fetch failed."""
        if is_space_id(self.src):
            return failure
        try:
            import httpx

            status = httpx.get(self.src, timeout=5.0, follow_redirects=False).status_code
        except Exception:  # keep the first classification
            return failure
        if status in (404, 410):
            return Failure(Kind.GONE, f"{self.src}: nothing there (HTTP {status})",
                           service=self.service)
        if status == 429:
            return Failure(Kind.BUSY, f"{self.src}: too many requests (HTTP 429)",
                           service=self.service)
        return failure

    # ---------------------------------------------------------------- files

    def _write_uploads(self, files: Mapping[str, tuple[bytes, str]]) -> dict[str, Path]:
        written: dict[str, Path] = {}
        if not files:
            return written
        self._uploads.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            for name, (data, suffix) in files.items():
                path = self._uploads / f"{self.service}-{secrets.token_hex(8)}{suffix}"
                path.write_bytes(data)
                written[name] = path
        except OSError as exc:
            for path in written.values():
                path.unlink(missing_ok=True)
            raise Failure(Kind.INTERNAL, f"cannot write the upload in {self._uploads}: {exc}",
                          service=self.service) from exc
        return written

    def _fetch_files(self, value: Any, client: Any, deadline: float,
                     cancel: threading.Event | None, timeout: float) -> Any:
        if _is_file_data(value):
            return self._download(value, client, deadline, cancel, timeout)
        if isinstance(value, (list, tuple)):
            return type(value)(self._fetch_files(v, client, deadline, cancel, timeout)
                               for v in value)
        return value

    def _download(self, data: Mapping[str, Any], client: Any, deadline: float,
                  cancel: threading.Event | None, timeout: float) -> RemoteFile:
        import httpx

        server_path = str(data["path"])
        # Like gradio_client itself: the file route under the Space's own prefix, not the
        # "url" field (old servers behind a proxy put http:// there).
        url = client.src_prefixed + "file=" + urllib.parse.quote(server_path, safe="/")
        if data.get("is_stream") and data.get("url"):
            url = urllib.parse.urljoin(client.src_prefixed, str(data["url"]))
        name = _safe_name(PurePosixPath(server_path).name or str(data.get("orig_name") or ""))
        self._downloads.mkdir(parents=True, exist_ok=True, mode=0o700)
        dest = self._downloads / f"{self.service}-{secrets.token_hex(8)}-{name}"
        try:
            remaining = max(0.5, deadline - time.monotonic())
            limits = httpx.Timeout(connect=min(CONNECT_S, remaining),
                                   read=min(READ_S, remaining), write=min(WRITE_S, remaining),
                                   pool=min(POOL_S, remaining))
            with httpx.Client(timeout=limits, verify=client.ssl_verify,
                              cookies=client.cookies, follow_redirects=False) as http:
                for _hop in range(5):
                    with http.stream("GET", url, headers=self._headers_for(url, client)) as r:
                        if r.is_redirect and "location" in r.headers:
                            url = urllib.parse.urljoin(url, r.headers["location"])
                            continue
                        r.raise_for_status()
                        self._save(r, dest, deadline, cancel, timeout)
                        break
                else:
                    raise Failure(Kind.NONSENSE, f"{self.src}: too many redirects fetching "
                                  f"the result", service=self.service)
            return RemoteFile(name, dest.read_bytes())
        finally:
            dest.unlink(missing_ok=True)

    def _save(self, response: Any, dest: Path, deadline: float,
              cancel: threading.Event | None, timeout: float) -> None:
        size = 0
        with dest.open("wb") as fh:
            for chunk in response.iter_bytes(65536):
                if cancel is not None and cancel.is_set():
                    raise Failure(Kind.CANCELLED, f"{self.src}: cancelled while fetching "
                                  "the result", service=self.service)
                if time.monotonic() > deadline:
                    raise Failure(Kind.TOO_SLOW, f"{self.src} {self.api_name}: no "
                                  f"complete answer within {timeout:g} s (still fetching "
                                  "the result)", service=self.service)
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise Failure(Kind.NONSENSE, f"{self.src}: the result is larger than "
                                  f"{MAX_DOWNLOAD // 2**20} MiB", service=self.service)
                fh.write(chunk)

    def _headers_for(self, url: str, client: Any) -> dict[str, str]:
        headers = {k: v for k, v in client.headers.items()
                   if k.lower() not in ("x-hf-authorization", "authorization")}
        if self._token is not None and is_hf_url(url):
            headers["x-hf-authorization"] = f"Bearer {self._token.reveal()}"
        return headers

    # ------------------------------------------------------------ errors

    def classify(self, exc: BaseException) -> Failure:
        """The :class:`Failure` (kind and detail) for an exception from gradio_client/httpx."""
        return classify(exc, self.service, self.src, self.api_name)


def classify(exc: BaseException, service: str, src: str, api_name: str = "") -> Failure:
    """Map an exception raised while using a Space to a :class:`Failure`.

    Exceptions are recognised by class name (and module) because huggingface_hub raises
    httpx2 errors while gradio_client raises httpx ones, and both are imported lazily.
    """
    if isinstance(exc, Failure):
        return exc
    names = {cls.__name__ for cls in type(exc).__mro__}
    module = type(exc).__module__
    text = _chain_text(exc)
    low = text.lower()
    where = f"{src} {api_name}".strip()

    def fail(kind: Kind, detail: str, retry_after: float | None = None) -> Failure:
        return Failure(kind, detail, service=service, retry_after=retry_after)

    # TLS first: a ConnectError whose cause is a certificate the clock makes invalid.
    if "not yet valid" in low and "certificate" in low:
        return fail(Kind.CLOCK, f"{src}: certificate not yet valid - the clock is not set "
                    "(waiting for network time?)")
    if "certificate verify failed" in low or "certificate_verify_failed" in low:
        if not clock.plausible():
            return fail(Kind.CLOCK, f"{src}: certificate check failed and the clock says "
                        f"{time.strftime('%Y-%m-%d')} (not synchronised yet)")
        return fail(Kind.NO_INTERNET, f"{src}: the secure connection was refused "
                    f"({_short(text)}); a Wi-Fi login page?")

    # gradio_client. AppError subclasses ValueError, so it comes before ValueError.
    if "AppError" in names:
        message = _plain(str(getattr(exc, "message", "") or exc))
        low_msg = message.lower()
        if any(word in low_msg for word in _BUSY_WORDS):
            return fail(Kind.BUSY, f"{where}: {_short(message)}", parse_retry_after(message))
        if "not in the list of choices" in low_msg or "not a valid" in low_msg:
            return fail(Kind.CHANGED, f"{where} refused our settings: {_short(message)}")
        if "verbose error reporting" in low_msg:
            return fail(Kind.GONE, f"{where}: the Space failed (it gives no details)")
        return fail(Kind.GONE, f"{where}: the Space failed: {_short(message)}")
    if "QueueError" in names:
        return fail(Kind.BUSY, f"{where}: queue full")
    if "TooManyRequestsError" in names:
        return fail(Kind.BUSY, f"{where}: too many requests (HTTP 429)")
    if "AuthenticationError" in names:
        return fail(Kind.GONE, f"{src}: needs a login (private app?)")
    if "ValidationError" in names and module.startswith("gradio_client"):
        return fail(Kind.CHANGED, f"{where} refused our input: {_short(text)}")
    if "InvalidAPIEndpointError" in names:
        return fail(Kind.CHANGED, f"{where}: endpoint not available over the API")

    # huggingface_hub (Space ids only): the Hub API.
    if "RepositoryNotFoundError" in names:
        return fail(Kind.GONE, f"{src}: no such Space on Hugging Face (deleted, renamed or "
                    "private)")
    if "HfHubHTTPError" in names:
        status = _status_code(exc)
        if status in (401, 403):
            return fail(Kind.GONE, f"{src}: Hugging Face refused access (HTTP {status}); "
                        "check the token")
        if status == 429:
            return fail(Kind.BUSY, f"{src}: Hugging Face says too many requests (HTTP 429)")
        return fail(Kind.GONE, f"{src}: Hugging Face answered HTTP {status}")

    # httpx / httpx2 / httpcore.
    if module.startswith(("httpx", "httpcore")):
        host = urllib.parse.urlsplit(src).netloc or "huggingface.co"
        if "ConnectTimeout" in names:
            return fail(Kind.NO_INTERNET, f"{src}: no answer from {host} (connect timeout)")
        if "ConnectError" in names:
            reason = _connect_reason(low, text)
            if "refused" in reason and not (is_space_id(src) or is_hf_url(src)):
                # The network works: a self-hosted server is just not running. "Check
                # the Wi-Fi" would send the person the wrong way.
                return fail(Kind.GONE, f"{src}: nothing answers at {host} ({reason}); "
                            "is the server running?")
            return fail(Kind.NO_INTERNET, f"{src}: cannot connect to {host} ({reason})")
        if "TimeoutException" in names:
            return fail(Kind.TOO_SLOW, f"{where}: the server stopped answering "
                        f"({type(exc).__name__})")
        if "HTTPStatusError" in names:
            status = _status_code(exc)
            if status == 429:
                return fail(Kind.BUSY, f"{where}: too many requests (HTTP 429)")
            if status == 503:
                return fail(Kind.WAKING_UP, f"{where}: HTTP 503 (starting up?)")
            return fail(Kind.GONE, f"{where}: HTTP {status}")
        if names & {"RemoteProtocolError", "ReadError", "WriteError", "CloseError",
                    "NetworkError"}:
            return fail(Kind.WAKING_UP, f"{where}: the connection dropped "
                        f"({type(exc).__name__}; the Space may be restarting)")
        return fail(Kind.NO_INTERNET, f"{src}: {type(exc).__name__}: {_short(text)}")

    if isinstance(exc, concurrent.futures.CancelledError):
        # Nobody asked for it: the SSE stream broke (network, or the Space restarted).
        return fail(Kind.WAKING_UP, f"{where}: the connection dropped during the call "
                    "(the Space may be restarting)")
    if isinstance(exc, TypeError) and ("key-word argument" in low
                                       or "required argument" in low):
        return fail(Kind.CHANGED, f"{where}: {_short(text)}")
    if isinstance(exc, ValueError):
        if "cannot find a function with" in low:
            return fail(Kind.CHANGED, f"{src} has no endpoint {api_name}")
        if "invalid state" in low:
            state = re.search(r"invalid state:\s*([A-Za-z_.]+)", text)
            label = (state.group(1).rsplit(".", 1)[-1] if state else "broken").lower()
            return fail(Kind.GONE, f"{src}: the Space is {label.replace('_', ' ')}")
        if any(s in low for s in ("could not fetch config", "could not get gradio config",
                                  "could not fetch api info")):
            return fail(Kind.WAKING_UP, f"{src}: could not fetch its config (starting up?)")
        if "server stopped" in low or "did not receive process_completed" in low:
            return fail(Kind.WAKING_UP, f"{where}: the server stopped during the call")
        if "key-word arguments" in low:
            return fail(Kind.CHANGED, f"{where}: takes no keyword arguments any more")
        if "maximum file size" in low:
            return fail(Kind.CHANGED, f"{where}: refuses a file this large ({_short(text)})")
        return fail(Kind.GONE, f"{where}: {_short(text)}")
    if isinstance(exc, KeyError) and "unexpected_error" in low:
        # A Gradio 6 server shutting down sends a message gradio_client 2.7.2 cannot map.
        return fail(Kind.WAKING_UP, f"{where}: the server stopped during the call")
    if isinstance(exc, KeyError) and "data" in low:
        return fail(Kind.NONSENSE, f"{where}: an answer without data ({_short(text)})")
    return fail(Kind.INTERNAL, f"{where}: {type(exc).__name__}: {_short(text)}")


def describe_failure(failure: Failure, src: str = "") -> str:
    """A few words for ``status``/doctor: "busy: ...", "changed: ...", "not reachable: ...".

    The Space's own name is left out when ``src`` is given (the caller says which one).
    """
    detail = failure.detail
    if src and detail.startswith(src):
        detail = detail[len(src):].lstrip(" :") or detail
    if failure.kind is Kind.CHANGED:
        return f"changed: {detail}"
    if failure.kind is Kind.BUSY:
        return f"busy: {detail}"
    if failure.kind is Kind.CANCELLED:
        return "cancelled"
    return f"not reachable: {detail}"


# ------------------------------------------------------------------ helpers

def _keeps_client(failure: Failure, exc: BaseException) -> bool:
    """Whether the client is still good after this failure (the Space itself is fine)."""
    return failure.kind in (Kind.BUSY, Kind.TOO_SLOW, Kind.NONSENSE, Kind.BLANKED,
                            Kind.CANCELLED) and not isinstance(exc,
                                                              concurrent.futures.CancelledError)


def _stale_sign(failure: Failure, exc: BaseException) -> bool:
    """Failures a client built before a Space restart or update typically shows."""
    if isinstance(exc, concurrent.futures.CancelledError):
        return True
    return failure.kind in (Kind.CHANGED, Kind.WAKING_UP) or (
        failure.kind in (Kind.NO_INTERNET, Kind.GONE) and "refused" in failure.detail)


def _is_file_data(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        return False
    meta = value.get("meta")
    return (isinstance(meta, dict) and meta.get("_type") == "gradio.FileData") or \
        "url" in value or "orig_name" in value


def _cancel_in_background(job: Any) -> None:
    """job.cancel() POSTs to the server and may block; the caller must not wait for it."""
    def cancel() -> None:
        try:
            job.cancel()
        except Exception as exc:  # best effort
            log.debug("cancelling a job failed: %s", exc)

    threading.Thread(target=cancel, name="cancel-job", daemon=True).start()


def _close_quietly(client: Any) -> None:
    try:
        client.close()
    except Exception as exc:  # closing must not fail a call
        log.debug("closing a client failed: %s", exc)


def _chain_text(exc: BaseException) -> str:
    parts, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return " <- ".join(p for p in parts if p)


def _connect_reason(low: str, text: str) -> str:
    if "refused" in low:
        return "connection refused"
    if any(s in low for s in ("name or service not known", "temporary failure in name",
                              "nodename nor servname", "no address associated",
                              "name resolution", "getaddrinfo")):
        return "name not found: no DNS, so probably no internet"
    if "network is unreachable" in low or "no route to host" in low:
        return "network unreachable"
    return _short(text)


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _plain(message: str) -> str:
    """Error text without HTML (ZeroGPU messages carry links)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", message)).split())


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(word: str, items: Sequence[str]) -> str:
    quoted = ", ".join(f"'{i}'" for i in items)
    return f"{word}{'s' if len(items) > 1 else ''} {quoted}"


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:60].lstrip(".")
    return cleaned or "file"
