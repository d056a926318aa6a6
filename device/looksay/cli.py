"""The ``looksay`` command: a thin layer that parses arguments and calls the pipelines.

Exit status: 0 done; 1 the job failed (the reason is printed and spoken); 2 bad usage;
66 an input file cannot be read; 78 the configuration is bad; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
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
    if getattr(args, "own_config", False):
        # doctor reports a bad config as one of its checks instead of stopping.
        logs.setup("warning")
        return args.func(args, None)
    try:
        settings = config.load(args.config or args.global_config, args.global_sets + args.sets)
    except ConfigError as exc:
        print(f"looksay: bad configuration: {exc}", file=sys.stderr)
        return config.EX_CONFIG
    logs.setup(settings.log.level)
    try:
        return args.func(args, settings)
    except KeyboardInterrupt:
        print("looksay: interrupted", file=sys.stderr)
        return EX_INTERRUPTED


def _open_image(path: str, max_side: int):
    from PIL import Image, UnidentifiedImageError

    from looksay.camera.frames import draft_for

    try:
        img = Image.open(path)
        # Decode a big JPEG at reduced scale: a 12 MP photo would take ~100 MB in full.
        draft_for(img, max_side)
        img.load()
        return img
    except FileNotFoundError:
        raise SystemExit(_fail_input(f"--image {path}: no such file.")) from None
    except IsADirectoryError:
        raise SystemExit(_fail_input(f"--image {path}: is a folder; give one picture.")) from None
    except PermissionError:
        raise SystemExit(_fail_input(f"--image {path}: not allowed to read it.")) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise SystemExit(_fail_input(f"--image {path}: not a picture Pillow can open "
                                     f"({exc}). Use a JPEG or PNG.")) from None


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
    if args.action == "example":
        print(config.example_toml(), end="")
        return 0
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

