"""Stand-ins for the three Hugging Face Spaces: real local Gradio apps.

Each stand-in has the same endpoint name, parameter names and return type as the real
Space (docs/research/gradio_apis.md §1-3, §6), answers deterministically, and can be told
to misbehave at run time, the way the real ones do:

=============  ===========================================================================
mode           what the Space does
=============  ===========================================================================
""             answers normally
slow           waits ``delay`` seconds, then answers normally
error          raises an ordinary exception (the client sees a generic AppError)
quota          raises the ZeroGPU quota error ("... Try again in 0:05:00")
queue_full     the queue refuses the job (HTTP 503 on queue/join -> QueueError)
waking         every request gets HTTP 503, as while a Space starts
gone           every request gets HTTP 404, as for a deleted Space
error_caption  caption only: returns ``message`` (default "Please upload a photo") as text
black          smile only: returns an all-black 512x512 picture (the NSFW answer)
not_wav        speech only: returns a file that is not WAV
empty_audio    speech only: returns an empty file
=============  ===========================================================================

``variant="changed"`` (see :meth:`FakeSpace.restart`) serves the same endpoint with
renamed parameters, as a Space updated by its owner would.

Use from tests through ``tests/fixtures_spaces.py``; by hand, ``scripts/fake-spaces``
starts all three. The state can also be read and set over HTTP, so a stand-in running in
another process can be switched: ``GET /_fake`` and ``POST /_fake`` with JSON such as
``{"mode": "slow", "delay": 5}``.

gradio is imported only when a stand-in starts (it is heavy, and GRADIO_TEMP_DIR must be
set before it is imported).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import secrets
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERVICES = ("caption", "speech", "smile")
API_NAMES = {"caption": "/feifeichat", "speech": "/synthesize", "smile": "/predict"}
DEFAULT_PORTS = {"caption": 7861, "speech": 7862, "smile": 7863}
MODES = ("", "slow", "error", "quota", "queue_full", "waking", "gone", "error_caption",
         "black", "not_wav", "empty_audio")
QUOTA_MESSAGE = ("You have exceeded your GPU quota (60s requested vs. 0s left). "
                 "Try again in 0:05:00")
#: The voice: this many seconds of sound per character of text (at speed 1.0).
SECONDS_PER_CHAR = 0.02
SPEECH_RATE = 44100
EN_SPEAKERS = ["EN-Default", "EN-US", "EN-BR", "EN_INDIA", "EN-AU"]
SPEAKERS = [*EN_SPEAKERS, "ES", "FR", "ZH", "JP", "KR"]
LANGUAGES = ["EN", "ES", "FR", "ZH", "JP", "KR"]

_COLOURS = {
    "black": (20, 20, 20), "white": (235, 235, 235), "grey": (128, 128, 128),
    "red": (200, 30, 30), "orange": (230, 130, 30), "yellow": (230, 210, 40),
    "green": (40, 160, 60), "blue": (40, 80, 200), "purple": (130, 50, 160),
    "brown": (120, 80, 40), "pink": (235, 140, 180),
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def colour_name(rgb: tuple[int, int, int]) -> str:
    """The nearest plain colour word for ``rgb``."""
    return min(_COLOURS, key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, _COLOURS[n],
                                                                           strict=True)))


def describe(path: str) -> str:
    """The stand-in caption: several sentences naming the photo's size and main colour."""
    from PIL import Image

    with Image.open(path) as im:
        width, height = im.size
        mean = im.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    shape = "wide" if width > height * 1.2 else "tall" if height > width * 1.2 else "square"
    return (f"A {shape} photograph, {width} by {height} pixels, in which {colour_name(mean)} "
            "is the main colour. The light is even and the scene is calm, with nothing "
            "moving. The picture is sharp enough to read large shapes, and the edges of the "
            "frame are plain. This is a stand-in description written by a test server.")


def speech_wav(text: str, speed: float = 1.0) -> bytes:
    """A 16-bit mono WAV lasting ``SECONDS_PER_CHAR * len(text) / speed`` seconds.

    Each character is a short tone whose pitch depends on the character, so different
    texts sound (and compare) different.
    """
    per_char = max(1, round(SPEECH_RATE * SECONDS_PER_CHAR / speed))
    blocks: dict[str, bytes] = {}
    out = bytearray()
    for ch in text:
        if ch not in blocks:
            freq = 200 + (ord(ch) * 37) % 600
            blocks[ch] = struct.pack(f"<{per_char}h", *(
                int(6000 * math.sin(2 * math.pi * freq * i / SPEECH_RATE))
                for i in range(per_char)))
        out += blocks[ch]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SPEECH_RATE)
        w.writeframes(bytes(out))
    return buf.getvalue()


def transform(image: Any, strength: float) -> Any:
    """The stand-in "smile": 512 wide (height a multiple of 8), warmed by ``strength``."""
    from PIL import Image

    rgb = image.convert("RGB")
    width, height = rgb.size
    new_h = max(8, int(512 * height / width) // 8 * 8)
    resized = rgb.resize((512, new_h), Image.Resampling.BICUBIC)
    warm = Image.new("RGB", resized.size, (255, 200, 60))
    return Image.blend(resized, warm, max(0.0, min(1.0, float(strength))) * 0.4)


@dataclass
class Request:
    """One HTTP request a stand-in received (for checking what the client sent)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass
class FakeSpace:
    """One stand-in Space on a fixed port; start, stop and restart it at will."""

    service: str
    port: int
    work_dir: Path
    mode: str = ""
    delay: float = 0.0
    message: str = ""
    variant: str = "normal"
    #: Every request received, oldest first.
    requests: list[Request] = field(default_factory=list)
    #: How many times the model function ran.
    calls: int = 0
    #: The arguments of the last model call (name -> value), as the function got them.
    last_args: dict[str, Any] = field(default_factory=dict)
    _demo: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0

    @property
    def url(self) -> str:
        """The base URL clients use (what goes into caption.space etc.)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_name(self) -> str:
        """The endpoint name, with the leading slash."""
        return API_NAMES[self.service]

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._demo is not None

    def set(self, mode: str = "", delay: float = 0.0, message: str = "") -> None:
        """Switch behaviour (see the module docstring); ``set()`` makes it normal again."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; modes: {', '.join(map(repr, MODES))}")
        self.mode, self.delay, self.message = mode, float(delay), message

    def state(self) -> dict[str, Any]:
        """The switchable state as plain data (also served at GET /_fake)."""
        return {"service": self.service, "mode": self.mode, "delay": self.delay,
                "message": self.message, "variant": self.variant, "calls": self.calls}

    def start(self) -> None:
        """Start serving on ``self.port`` (no-op when already running)."""
        if self._demo is not None:
            return
        from starlette.middleware import Middleware

        demo = _build_demo(self)
        demo.queue(default_concurrency_limit=16)
        demo.launch(server_name="127.0.0.1", server_port=self.port, prevent_thread_lock=True,
                    quiet=True, ssr_mode=False, show_error=True,
                    allowed_paths=[str(self.work_dir)],
                    app_kwargs={"middleware": [Middleware(_Switch, space=self)]})
        self._demo = demo

    def stop(self) -> None:
        """Stop serving; the port is free until :meth:`start`."""
        demo, self._demo = self._demo, None
        self._generation += 1
        if demo is not None:
            demo.close()

    def restart(self, variant: str | None = None) -> None:
        """Stop and start again on the same port, optionally as another ``variant``."""
        self.stop()
        if variant is not None:
            self.variant = variant
        self.start()

    def reset(self) -> None:
        """Normal behaviour, the normal API, running, and no requests recorded.

        Slow jobs still sleeping end now (with a normal answer nobody waits for).
        """
        self._generation += 1
        self.set()
        if self.variant != "normal" or not self.running:
            self.stop()
            self.variant = "normal"
            self.start()
        self.requests.clear()
        self.calls = 0
        self.last_args = {}

    # -- what the model functions share ---------------------------------------------------

    def _begin(self, **args: Any) -> str:
        """Record a call and apply the switch; returns the mode for output misbehaviour."""
        import gradio as gr

        with self._lock:
            self.calls += 1
            self.last_args = dict(args)
        mode = self.mode
        if mode == "slow" and self.delay > 0:
            # Sleep in steps so reset()/stop() free the worker (a slow job from one test
            # must not hold a Gradio worker through the next ones).
            generation, end = self._generation, time.monotonic() + self.delay
            while time.monotonic() < end and self._generation == generation:
                time.sleep(0.02)
        if mode == "error":
            raise RuntimeError(self.message or "the stand-in model broke")
        if mode == "quota":
            raise gr.Error(self.message or QUOTA_MESSAGE)
        return mode

    def _file(self, name: str, data: bytes) -> str:
        """Write a result file where Gradio may serve it from; the path to return."""
        folder = self.work_dir / secrets.token_hex(8)
        folder.mkdir(parents=True)
        path = folder / name
        path.write_bytes(data)
        return str(path)


class _Switch:
    """ASGI middleware: records requests, serves /_fake, and fakes HTTP-level trouble."""

    def __init__(self, app: Any, space: FakeSpace) -> None:
        self.app = app
        self.space = space

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        from starlette.requests import Request as StarletteRequest
        from starlette.responses import HTMLResponse, JSONResponse

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if path == "/_fake":
            if scope["method"] == "POST":
                body = await StarletteRequest(scope, receive).body()
                try:
                    wanted = json.loads(body or b"{}")
                    self.space.set(str(wanted.get("mode", "")), float(wanted.get("delay", 0)),
                                   str(wanted.get("message", "")))
                except (ValueError, TypeError) as exc:
                    await JSONResponse({"error": str(exc)}, status_code=400)(
                        scope, receive, send)
                    return
            await JSONResponse(self.space.state())(scope, receive, send)
            return
        self.space.requests.append(Request(scope["method"], path, headers))
        mode = self.space.mode
        if mode == "waking":
            await HTMLResponse("<h1>Your space is starting</h1>", status_code=503)(
                scope, receive, send)
            return
        if mode == "gone":
            await HTMLResponse("<h1>404 - not found</h1>", status_code=404)(
                scope, receive, send)
            return
        if mode == "queue_full" and path.endswith("/queue/join"):
            await JSONResponse({"detail": "Queue is full."}, status_code=503)(
                scope, receive, send)
            return
        await self.app(scope, receive, send)


def _build_demo(space: FakeSpace) -> Any:
    import gradio as gr
    from PIL import Image

    changed = space.variant == "changed"
    with gr.Blocks(title=f"looksay stand-in: {space.service}") as demo:
        if space.service == "caption":

            def feifeichat(image):
                # Streams like the real Space (Mistral chat.stream): partial text, then all.
                mode = space._begin(image=image)
                if mode == "error_caption":
                    yield space.message or "Please upload a photo"
                    return
                words = describe(image).split()
                for end in range(6, len(words), 6):
                    yield " ".join(words[:end])
                yield " ".join(words)

            def feifeichat_changed(photo, text):
                yield "changed"

            fn = feifeichat_changed if changed else feifeichat
            inputs = [gr.Image(type="filepath", label="Image")]
            if changed:
                inputs.append(gr.Textbox(label="Text"))
            gr.Button().click(fn, inputs, gr.Textbox(label="Prompt"), api_name="feifeichat")

        elif space.service == "speech":

            def synthesize(speaker, text, speed, language):
                mode = space._begin(speaker=speaker, text=text, speed=speed,
                                    language=language)
                if mode == "not_wav":
                    return space._file("audio", b"ID3\x04\x00\x00\x00\x00\x00\x00not a wav")
                if mode == "empty_audio":
                    return space._file("audio", b"")
                # No extension, as the real MeloTTS Space (Gradio 4) names its file.
                return space._file("audio", speech_wav(text, float(speed or 1.0)))

            def synthesize_changed(voice, text, speed, language):
                return space._file("audio", speech_wav(text))

            speaker = gr.Dropdown(SPEAKERS, value="EN-US", label="Speaker")
            text = gr.Textbox(label="Text to speak")
            speed = gr.Slider(minimum=0.1, maximum=10.0, value=1.0, step=0.1, label="Speed")
            language = gr.Radio(LANGUAGES, value="EN", label="Language")
            gr.Button().click(synthesize_changed if changed else synthesize,
                              [speaker, text, speed, language],
                              gr.Audio(type="filepath", interactive=False),
                              api_name="synthesize")

        else:

            def predict(init_image, prompt, strength, steps, seed=1231231):
                mode = space._begin(init_image=init_image, prompt=prompt, strength=strength,
                                    steps=steps, seed=seed)
                if mode == "black" or init_image is None:
                    return Image.new("RGB", (512, 512))
                return transform(init_image, strength)

            def predict_changed(image, text, strength, steps, seed=1231231):
                return Image.new("RGB", (512, 512), (90, 90, 90))

            image = gr.Image(type="pil", label="Webcam")
            prompt = gr.Textbox()
            strength = gr.Slider(0.0, 1.0, value=0.7, step=0.001, label="Strength")
            steps = gr.Slider(1, 10, value=2, step=1, label="Steps")
            seed = gr.Slider(0, 12013012031030, value=0, step=1, label="Seed")
            gr.Button().click(predict_changed if changed else predict,
                              [image, prompt, strength, steps, seed],
                              gr.Image(type="filepath"), api_name="predict")
    return demo


class FakeSpaces:
    """All three stand-ins: ``fake["caption"]`` etc., their URLs and ``--set`` lines."""

    def __init__(self, ports: dict[str, int], work_dir: Path) -> None:
        self.work_dir = work_dir
        self.spaces = {name: FakeSpace(name, ports[name], work_dir / name)
                       for name in SERVICES}

    def __getitem__(self, service: str) -> FakeSpace:
        return self.spaces[service]

    @property
    def urls(self) -> dict[str, str]:
        """Service name -> base URL."""
        return {name: space.url for name, space in self.spaces.items()}

    def set(self, service: str, mode: str = "", delay: float = 0.0, message: str = "") -> None:
        """Make one stand-in misbehave (see the module docstring); ``set(service)`` heals."""
        self.spaces[service].set(mode, delay, message)

    def set_args(self) -> list[str]:
        """``section.key=value`` overrides (TOML values) pointing looksay at the stand-ins."""
        return [f'{name}.space="{space.url}"' for name, space in self.spaces.items()]

    def toml(self) -> str:
        """A config snippet pointing looksay at the stand-ins."""
        return "".join(f'[{name}]\nspace = "{space.url}"\n\n'
                       for name, space in self.spaces.items())

    def start(self) -> None:
        """Start all three."""
        for space in self.spaces.values():
            space.start()

    def stop(self) -> None:
        """Stop all three."""
        for space in self.spaces.values():
            space.stop()

    def reset(self) -> None:
        """All three back to normal, running, with empty request logs."""
        for space in self.spaces.values():
            space.reset()


def start_fake_spaces(work_dir: Path, ports: dict[str, int] | None = None) -> FakeSpaces:
    """Start the three stand-ins (free ports unless given); files go under ``work_dir``.

    GRADIO_TEMP_DIR is pointed into ``work_dir`` unless already set; it must be set before
    gradio is first imported, which this function does.
    """
    os.environ.setdefault("GRADIO_TEMP_DIR", str(work_dir / "gradio"))
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1,localhost"]))
    ports = ports or {name: free_port() for name in SERVICES}
    fakes = FakeSpaces(ports, work_dir)
    fakes.start()
    return fakes


def main(argv: list[str] | None = None) -> int:
    """Run the three stand-ins until Ctrl-C (see scripts/fake-spaces)."""
    parser = argparse.ArgumentParser(
        prog="fake-spaces", description="Local stand-ins for looksay's three Spaces.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORTS["caption"],
                        help="first port; the three use it and the next two (default 7861)")
    args = parser.parse_args(argv)
    # Stopped by a service manager or `timeout`: clean up as for Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ports = {name: args.port + i for i, name in enumerate(SERVICES)}
    with tempfile.TemporaryDirectory(prefix="looksay-fake-spaces-") as work:
        fakes = start_fake_spaces(Path(work), ports)
        overrides = " ".join(f"--set '{line}'" for line in fakes.set_args())
        print("Stand-in Spaces running:", file=sys.stderr)
        for name, space in fakes.spaces.items():
            print(f"  {name:8} {space.url}  ({space.api_name})", file=sys.stderr)
        print(f"\nUse them:\n  .venv/bin/looksay describe --image tests/photos/cat-chelsea.jpg "
              f"{overrides}\n\nor put this in looksay.toml:\n\n{fakes.toml()}"
              f"Make one misbehave (modes: {', '.join(m for m in MODES if m)}):\n"
              f"  curl -d '{{\"mode\": \"slow\", \"delay\": 5}}' "
              f"{fakes['caption'].url}_fake\n\nCtrl-C stops them.", file=sys.stderr)
        try:
            while True:
                time.sleep(3600)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            fakes.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
