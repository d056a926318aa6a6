"""The ``looksay`` command: a thin layer that parses arguments and calls the pipelines.

Exit status: 0 done; 1 the job failed (the reason is printed and spoken); 2 bad usage;
66 an input file cannot be read; 78 the configuration is bad; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

from looksay import __version__, config, logs
from looksay.config import ConfigError, Settings

if TYPE_CHECKING:
    from looksay.errors import Failure
    from looksay.parts import Parts

log = logging.getLogger("looksay")

EX_FAILED = 1
EX_NOINPUT = 66
EX_INTERRUPTED = 130


def _common(prefix: str = "") -> argparse.ArgumentParser:
    # The same options before and after the sub-command, kept in separate destinations
    # because argparse lets a sub-command's defaults overwrite the main parser's values.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", dest=f"{prefix}config", metavar="FILE",
                        help="settings file (default: $LOOKSAY_CONFIG, else "
                        "/etc/looksay/looksay.toml; built-in defaults if absent)")
    common.add_argument("--set", dest=f"{prefix}sets", action="append", default=[],
                        metavar="SECTION.KEY=VALUE",
                        help="override one setting, e.g. --set audio.volume=60 (repeatable)")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with one sub-command per job."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="looksay", parents=[_common("global_")],
        description="A camera that says what it sees. Press a button, hear a description.")
    parser.add_argument("--version", action="version", version=f"looksay {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("describe", parents=[common],
                       help="take a picture (or use --image), print and speak what is in it")
    p.add_argument("--image", metavar="PATH", help="describe this picture instead of the camera's")
    p.set_defaults(func=cmd_describe)

    p = sub.add_parser("smile", parents=[common],
                       help="take a picture (or use --image), make them smile, show the result")
    p.add_argument("--image", metavar="PATH", help="use this picture instead of the camera's")
    p.set_defaults(func=cmd_smile)

    p = sub.add_parser("config", parents=[common], help="check or show the settings")
    p.add_argument("action", choices=["check", "show", "example"],
                   help="check: validate the file; show: print the effective settings; "
                   "example: print a complete commented settings file")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("doctor", parents=[common],
                       help="check camera, speaker, buttons, display, network, Spaces, disk, "
                       "service; say what to fix")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.add_argument("--buttons", action="store_true",
                   help="also ask for a press of each button (interactive)")
    p.add_argument("--list-audio", action="store_true",
                   help="list the ALSA devices for audio.device and exit")
    p.add_argument("--quiet", action="store_true", help="play and speak nothing")
    p.add_argument("--hub-url", default="https://huggingface.co", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_doctor, own_config=True)

    # The daemon (`run`) and the commands that talk to it over the control socket.
    from looksay.daemon.commands import add_commands

    add_commands(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "config" and args.action == "example":
        # The way out of a broken config must not depend on the config.
        return _print(config.example_toml())
    if getattr(args, "own_config", False):
        # doctor reports a bad config as one of its checks instead of stopping.
        logs.setup("warning")
        return args.func(args, None)
    try:
        settings = config.load(args.config or args.global_config, args.global_sets + args.sets)
    except ConfigError as exc:
        print(f"looksay: bad configuration: {exc}", file=sys.stderr)
        if args.command == "run":
            _say_config_error()
        return config.EX_CONFIG
    logs.setup(settings.log.level)
    if args.command != "run":
        # SIGTERM unwinds like Ctrl-C, so uploads and downloads are still cleaned up.
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        print("looksay: interrupted", file=sys.stderr)
        return EX_INTERRUPTED
    except BrokenPipeError:
        # `looksay config show | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print(text: str) -> int:
    try:
        print(text, end="", flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _say_config_error() -> None:
    """The device is about to stop for a bad config: say so, or the person hears nothing.

    systemd will not restart it (exit 78), so this is the last thing the device says until
    the owner fixes the file. The built-in audio settings are used: the file is unreadable.
    """
    from looksay.audio.players import make_player
    from looksay.audio.voice import LocalVoice

    sentence = ("My settings file has a mistake, so I cannot start. Ask the owner to run "
                "looksay config check.")
    try:
        player = make_player(config.Settings().audio)
        player.play(LocalVoice().synthesize(sentence))
        player.close()
    except Exception as exc:  # the printed message still stands
        print(f"looksay: could not say it either: {exc}", file=sys.stderr)


def _open_image(path: str, max_side: int):  # -> PIL.Image.Image
    """The picture given with --image (big JPEGs decoded at reduced scale), or exit 66."""
    import warnings

    from looksay.camera.file import FileCamera
    from looksay.errors import Failure

    # Our own picture: a very large one is decoded small, not a decompression bomb.
    warnings.filterwarnings("ignore", message=".*decompression bomb.*")
    if not os.path.exists(path):
        raise SystemExit(_fail_input(f"--image {path}: no such file."))
    try:
        return FileCamera(path, max_side=max_side).capture()
    except Failure as failure:
        raise SystemExit(_fail_input(f"--image: {failure.detail}")) from None


def _fail_input(message: str) -> int:
    print(f"looksay: {message}", file=sys.stderr)
    return EX_NOINPUT


def cmd_describe(args: argparse.Namespace, settings: Settings) -> int:
    """``looksay describe``: print the caption, then speak it."""
    from looksay import pipelines
    from looksay.errors import Failure
    from looksay.parts import open_parts

    image = _open_image(args.image, settings.camera.max_side) if args.image else None
    with open_parts(settings) as parts:
        try:
            outcome = pipelines.describe(
                parts, image, on_caption=lambda caption: print(caption, flush=True))
        except Failure as failure:
            return _failed(parts, failure)
        log.info("describe timings: %s", _timings(outcome.timings))
        if outcome.voice_failure:
            return _failed(parts, outcome.voice_failure,
                           "the caption was read by the local voice: ")
    return 0


def cmd_smile(args: argparse.Namespace, settings: Settings) -> int:
    """``looksay smile``: show the smiling picture and print where it was saved."""
    from looksay import pipelines
    from looksay.errors import Failure
    from looksay.parts import open_parts

    image = _open_image(args.image, settings.camera.max_side) if args.image else None
    with open_parts(settings) as parts:
        try:
            outcome = pipelines.smile(parts, image)
        except Failure as failure:
            return _failed(parts, failure)
    log.info("smile timings: %s", _timings(outcome.timings))
    if outcome.saved:
        print(outcome.saved)
    else:
        print("looksay: shown on the display; not kept (smile.keep_results = 0)", file=sys.stderr)
    return 0


def _failed(parts: Parts, failure: Failure, prefix: str = "") -> int:
    """Print the reason (and the detail for the maker), say it, and give the exit status."""
    from looksay import pipelines

    print(f"looksay: {prefix}{failure.spoken} [{failure}]", file=sys.stderr)
    pipelines.announce(parts, failure)
    return EX_FAILED


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    """``looksay config check|show``."""
    where = settings.source or "built-in defaults (no config file)"
    if args.action == "check":
        print(f"looksay: configuration OK: {where}")
        return 0
    print(f"# effective settings from {where}")
    for section, values in settings.as_dict(redact=True).items():
        print(f"\n[{section}]")
        for key, value in values.items():
            print(f"{key} = {json.dumps(value)}")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings | None) -> int:
    """``looksay doctor``."""
    from looksay import doctor

    if args.list_audio:
        return doctor.list_audio()
    return doctor.run(args.config or args.global_config, args.global_sets + args.sets,
                      as_json=args.json, buttons=args.buttons, hub_url=args.hub_url,
                      play=not args.quiet)


def _timings(timings: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.2f}s" for k, v in timings.items())


if __name__ == "__main__":
    sys.exit(main())

