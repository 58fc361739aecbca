"""TURN for the kernel's WebRTC leg, through a real coturn on loopback (``coturn.py``).

Covers: with ``ice_transport_policy="relay"`` the viewer plays and a publisher publishes
through the relay, over UDP and over TCP, the selected candidate pair being of type relay (and
coturn logging the allocation); wrong credentials failing at once with a MediaError that names
the candidate types tried and the TURN server, without the credentials; ``MEZON_ICE_SERVERS``.
Not covered: TURN over TLS (``turns:``), STUN.
"""

from __future__ import annotations

import json
import socket

import pytest

import mezon_nb
from mezon_nb.client import AsyncClient
from mezon_nb.errors import MediaError
from mezon_nb.media import ice

pytestmark = pytest.mark.media

TRANSPORTS = ["udp", "tcp"]


def _relay_client(sandbox, turn, transport, credential=None):
    return mezon_nb.connect(sandbox=sandbox, ice_servers=[turn.server(transport, credential)],
                            ice_transport_policy="relay")


def _watch_through_relay(client, sandbox) -> None:
    """Join the test pattern, get a frame, check the selected pair is a relay one, leave."""
    stream = client.join_stream(sandbox.stream_channel_id, timeout=60)
    try:
        frame = stream.latest_frame(timeout=30)
        assert frame is not None and frame.array.shape == (240, 320, 3)
        pair = stream.candidate_pair
        assert pair is not None and pair.local_type == "relay", pair
    finally:
        stream.leave()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_viewer_plays_through_the_relay(sandbox, turn, transport):
    allocations = turn.log().count("ALLOCATE processed, success")
    tcp_clients = turn.log().count("tcp or tls connected")
    with _relay_client(sandbox, turn, transport) as client:
        _watch_through_relay(client, sandbox)
    assert turn.log().count("ALLOCATE processed, success") > allocations
    if transport == "tcp":  # the allocations really went over TCP
        assert turn.log().count("tcp or tls connected") > tcp_clients


def test_the_next_turn_url_is_tried_when_one_gives_no_relay(sandbox, turn):
    """aiortc takes one TURN URL; a hosted service lists several (UDP, TCP, TLS)."""
    closed = _closed_port()
    servers = [{"urls": [f"turn:127.0.0.1:{closed}?transport=tcp", turn.url("tcp")],
                "username": turn.username, "credential": turn.credential}]
    with mezon_nb.connect(sandbox=sandbox, ice_servers=servers,
                          ice_transport_policy="relay") as client:
        _watch_through_relay(client, sandbox)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_relay_only_is_enforced_without_aiortc_policy_support(sandbox, turn, monkeypatch):
    """aiortc releases for Python 3.10 have no iceTransportPolicy: relay-only must hold anyway."""
    monkeypatch.setattr(ice, "RTCIceTransportPolicy", None)
    with _relay_client(sandbox, turn, "udp") as client:
        _watch_through_relay(client, sandbox)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_publisher_publishes_through_the_relay(sandbox, turn, transport, idle_channels, client):
    channel_id = idle_channels[TRANSPORTS.index(transport)]
    with _relay_client(sandbox, turn, transport) as relayed:
        publisher = relayed.publish(channel_id, "pattern", size=(320, 240), fps=15, timeout=60)
        try:
            assert publisher.state == "live"
            pair = publisher.candidate_pair
            assert pair is not None and pair.local_type == "relay", pair
            stream = client.join_stream(channel_id, timeout=60)  # a direct viewer sees it
            try:
                frame = stream.latest_frame(timeout=30)
                assert frame is not None and frame.array.shape == (240, 320, 3)
            finally:
                stream.leave()
        finally:
            publisher.stop()


def _assert_clear_and_secret_free(error: MediaError, turn, wrong: str) -> None:
    text = str(error)
    assert "ICE failed" in text and "local candidates: none" in text, text
    assert "remote:" in text and "policy 'relay'" in text
    assert turn.url("udp") in text and "credential" in text  # which server, what to check
    assert wrong not in text and turn.credential not in text and turn.username not in text


def test_wrong_credentials_fail_the_viewer_at_once(sandbox, turn):
    wrong = "not-the-password"
    with _relay_client(sandbox, turn, "udp", credential=wrong) as client, \
            pytest.raises(MediaError) as caught:
        client.join_stream(sandbox.stream_channel_id, timeout=60)
    _assert_clear_and_secret_free(caught.value, turn, wrong)
    assert "401" in turn.log() or "Unauthorized" in turn.log()


def test_wrong_credentials_fail_the_publisher_at_once(sandbox, turn, idle_channels):
    wrong = "also-wrong"
    with _relay_client(sandbox, turn, "udp", credential=wrong) as client, \
            pytest.raises(MediaError) as caught:
        client.publish(idle_channels[0], "pattern", size=(320, 240), fps=15, timeout=60)
    _assert_clear_and_secret_free(caught.value, turn, wrong)


def test_ice_servers_from_the_environment(monkeypatch, turn):
    monkeypatch.setenv("MEZON_ICE_SERVERS", json.dumps([turn.server("tcp")]))
    monkeypatch.setenv("MEZON_ICE_TRANSPORT_POLICY", "relay")
    client = AsyncClient("1", "token")
    assert client.ice.policy == "relay" and client.ice.turn_urls == [turn.url("tcp")]
    assert turn.credential not in repr(client.ice) and turn.username not in repr(client.ice)


def test_relay_without_a_turn_server_is_refused():
    with pytest.raises(ValueError, match="needs a TURN server"):
        AsyncClient("1", "token", ice_servers=[], ice_transport_policy="relay")
