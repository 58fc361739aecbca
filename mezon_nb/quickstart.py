"""``make demo``: a bot session against the embedded sandbox, start to finish, in the terminal.

It starts the loopback sandbox, logs in, lists the streaming channels, registers one, prints
each join and leave as it arrives for ``--seconds`` (20), then shows them as a pandas
DataFrame with a per-channel summary, and closes everything.

    python -m mezon_nb.quickstart --seconds 5

>>> joined = StreamingJoined(clan_id="1", clan_name="Lab", id="9", participant="Lan", user_id="5",
...                          streaming_channel_label="main-stage", streaming_channel_id="6")
>>> format_event(joined, {})  # doctest: +ELLIPSIS
'... joined  main-stage     Lan (5)'
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

import pandas as pd

import mezon_nb
from mezon_nb.core.events import StreamingEvent, StreamingJoined, StreamingLeaved


def format_event(event: StreamingEvent, names: dict[str, str],
                 labels: dict[str, str] | None = None) -> str:
    """One line per event: time, kind, channel, who. ``names`` maps user ids seen joining.

    >>> from mezon_nb.core.events import StreamingLeaved
    >>> left = StreamingLeaved(id="1", clan_id="1", streaming_channel_id="6", streaming_user_id="5")
    >>> format_event(left, {"5": "Lan"}, {"6": "main-stage"})  # doctest: +ELLIPSIS
    '... left    main-stage     Lan (5)'
    """
    labels = labels or {}
    when = event.received_at.astimezone().strftime("%H:%M:%S")
    if isinstance(event, StreamingJoined):
        names[event.user_id] = event.participant
        channel = event.streaming_channel_label or event.streaming_channel_id
        return f"{when} joined  {channel:<14} {event.participant} ({event.user_id})"
    if isinstance(event, StreamingLeaved):
        channel = labels.get(event.streaming_channel_id, event.streaming_channel_id)
        who = names.get(event.streaming_user_id, "?")
        return f"{when} left    {channel:<14} {who} ({event.streaming_user_id})"
    return f"{when} {event.event_name.removeprefix('streaming_'):<7} {event.channel_id}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m mezon_nb.quickstart", description=__doc__
                                     .split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long to collect live events (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="the sandbox world's seed")
    parser.add_argument("--verbose", action="store_true", help="log the client's DEBUG lines")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    print("Starting the loopback sandbox ...")
    with mezon_nb.Sandbox.start(seed=args.seed) as sandbox, \
            mezon_nb.connect(sandbox=sandbox) as client:
        print(f"Logged in as bot {client.user_id} at {client.session().api_url}")
        channels = client.streaming_channels()
        print(f"{len(channels)} streaming channel(s):")
        for ch in channels:
            print(f"  {ch.clan_name} / {ch.label}  (channel {ch.channel_id})")
        target = channels[0]
        url = client.register_streaming_channel(target.clan_id, target.channel_id)
        print(f"Registered {target.label}: streaming_url={url}")
        print(f"Listening for joins and leaves for {args.seconds:g} s ...")
        names: dict[str, str] = {}
        labels = {ch.channel_id: ch.label for ch in channels}
        count = 0
        for event in client.events(timeout=args.seconds):
            print("  " + format_event(event, names, labels), flush=True)
            count += 1
        print(f"\n{count} live event(s). The participant log:")
        with pd.option_context("display.width", 160, "display.max_columns", 20,
                               "display.max_rows", 40):
            print(client.participants.events)
            print("\nPer channel:")
            print(client.participants.summary())
    print("Closed the client and the sandbox.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
