"""``python -m mezon_nb.sandbox [--port 7350] [--seed 0] [--no-crowd] …``: serve until Ctrl-C.

Prints the sandbox's own development credentials (labelled) so a notebook or another SDK can
log in to it.

>>> build_parser().parse_args(["--port", "7350"]).port
7350
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from mezon_nb.sandbox.config import SandboxConfig
from mezon_nb.sandbox.server import Credentials, SandboxServer
from mezon_nb.sandbox.stn.server import offer_loopback_only


def build_parser() -> argparse.ArgumentParser:
    """The command-line options (a subset of :class:`SandboxConfig`).

    >>> build_parser().parse_args([]).crowd
    True
    >>> build_parser().parse_args(["--stream-codec", "h264"]).stream_codec
    'h264'
    """
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(prog="python -m mezon_nb.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=7350, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--no-crowd", dest="crowd", action="store_false")
    parser.add_argument("--crowd-rate", type=float, default=defaults.crowd_rate,
                        help="viewer joins per minute per streaming channel")
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--session-ttl", type=float, default=defaults.session_ttl)
    parser.add_argument("--no-stream", dest="stream", action="store_false",
                        help="no built-in publisher on the main streaming channel")
    parser.add_argument("--stream-codec", choices=("vp8", "h264"), default=defaults.stream_codec,
                        help="the video codec viewers get (encoded once for all of them)")
    parser.add_argument("--verbose", action="store_true", help="debug logging")
    return parser


def describe(credentials: Credentials) -> str:
    """The banner printed at start-up, credentials labelled.

    >>> print(describe(Credentials(1, "http://h:1", "ws://h:1", "ws://h:1/stn",
    ...                            "11", "tok", "22", "33", "key")).splitlines()[1])
      api_url            http://h:1
    """
    rows = [
        ("api_url", credentials.api_url),
        ("ws_url", credentials.ws_url),
        ("stream_url", credentials.stream_url),
        ("bot_id", credentials.bot_id),
        ("bot_token", f"{credentials.bot_token}   (sandbox dev credential)"),
        ("clan_id", credentials.clan_id),
        ("stream_channel_id", credentials.stream_channel_id),
        ("admin_key", f"{credentials.admin_key}   (X-Sandbox-Key for /sandbox/*)"),
    ]
    lines = ["mezon_nb sandbox serving (Ctrl-C to stop)"]
    lines += [f"  {name:<18} {value}" for name, value in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv``, serve, print the banner once ready.

    >>> callable(main)
    True
    """
    args = build_parser().parse_args(argv)
    offer_loopback_only()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    config = SandboxConfig(
        port=args.port, seed=args.seed, crowd=args.crowd, crowd_rate=args.crowd_rate,
        time_scale=args.time_scale, session_ttl=args.session_ttl, stream=args.stream,
        stream_codec=args.stream_codec,
    )
    try:
        server = SandboxServer(config)
    except OSError as exc:
        raise SystemExit(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); "
                         "try another --port, or --port 0 for a free one") from None
    try:
        asyncio.run(server.serve(lambda credentials: print(describe(credentials), flush=True)))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
