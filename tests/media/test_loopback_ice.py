"""With a stream server on 127.0.0.1, every UDP socket WebRTC opens, in this process (viewer,
publisher) and in the sandbox's child (stream server), is bound to 127.0.0.1: media never
touches another interface (aioice alone would offer every interface address but loopback)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import numpy as np


def udp_sockets(pid: int) -> list[str]:
    """The local addresses of ``pid``'s UDP sockets (IPv4 and IPv6), from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("udp", "udp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                # the address in hex, each 32-bit word in little-endian order
                address = fields[1].split(":")[0]
                words = [bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, len(address), 8)]
                found.append(str(ipaddress.ip_address(b"".join(words))))
    return found


def test_viewer_publisher_and_stream_server_use_loopback_only(client, sandbox, idle_channels):
    frames = (np.full((120, 160, 3), i % 255, np.uint8) for i in range(10_000))
    publisher = client.publish(idle_channels[0], frames, fps=15)
    try:
        with client.join_stream(sandbox.stream_channel_id, timeout=15) as session:
            assert session.latest_frame(timeout=10) is not None
            mine, theirs = udp_sockets(os.getpid()), udp_sockets(sandbox.pid)
    finally:
        publisher.stop()
    assert len(mine) >= 2 and len(theirs) >= 2, (mine, theirs)   # viewer + publisher, 2 peers
    assert set(mine) == set(theirs) == {"127.0.0.1"}, (mine, theirs)
