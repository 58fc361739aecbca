"""TLS as the real service speaks it: a sandbox on https/wss (throwaway CA, ``tls=True``).

Covers: the quickstart path over TLS with the CA trusted through ``verify=`` (login, channel
list, realtime events, ``join_stream`` and a frame); a wrong CA failing with a clear
``TransportError`` naming the certificate problem on each of the three sockets (HTTP, realtime,
stream server), on the first attempt; ``verify=False`` refused. Not covered: TURN over TLS.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

import mezon_nb
from mezon_nb.client import AsyncClient
from mezon_nb.client.auth import SessionKeeper
from mezon_nb.client.http import HttpTransport
from mezon_nb.client.realtime import RealtimeSocket
from mezon_nb.client.tls import trust_context
from mezon_nb.errors import TransportError
from mezon_nb.media.signaling import StnSignaling
from mezon_nb.sandbox import Sandbox


@pytest.fixture(scope="module")
def tls_sandbox():
    with Sandbox.start(seed=0, crowd=False, tls=True, stream_size=(320, 240),
                       stream_fps=15) as running:
        yield running


@pytest.fixture(scope="module")
def wrong_ca(tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def test_sandbox_serves_https_and_wss_with_its_ca(tls_sandbox):
    assert tls_sandbox.api_url == f"https://127.0.0.1:{tls_sandbox.port}"
    assert tls_sandbox.ws_url.startswith("wss://") and tls_sandbox.stream_url.startswith("wss://")
    assert tls_sandbox.ca_path and Path(tls_sandbox.ca_path).read_text().startswith("-----BEGIN")
    assert tls_sandbox.control("state")["clans"]  # the control channel trusts the CA too


@pytest.mark.media
def test_quickstart_path_over_tls(tls_sandbox):
    with mezon_nb.connect(tls_sandbox.bot_id, tls_sandbox.bot_token,
                          base_url=tls_sandbox.api_url, stream_url=tls_sandbox.stream_url,
                          verify=tls_sandbox.ca_path) as client:
        session = client.session()
        assert session.api_url.startswith("https://") and "://" not in session.ws_url
        assert client.state == "connected"
        channels = client.streaming_channels()
        assert tls_sandbox.stream_channel_id in [ch.channel_id for ch in channels]
        events = client.events(timeout=20)
        tls_sandbox.control("add_viewer", channel_id=tls_sandbox.stream_channel_id,
                            name="Tls Tester")
        joined = next(ev for ev in events if ev.event_name == "streaming_joined")
        events.close()
        assert joined.participant == "Tls Tester"
        stream = client.join_stream(tls_sandbox.stream_channel_id, timeout=60)
        try:
            frame = stream.latest_frame(timeout=30)
            assert frame is not None and frame.array.shape == (240, 320, 3)
        finally:
            stream.leave()


def _assert_names_the_certificate(error: TransportError, *secrets: str) -> None:
    text = str(error)
    assert "certificate verify failed" in text, text
    assert 'verify="ca.pem"' in text
    for secret in secrets:
        assert secret not in text


@pytest.mark.anyio
async def test_wrong_ca_fails_the_login_at_once(tls_sandbox, wrong_ca):
    client = AsyncClient(tls_sandbox.bot_id, tls_sandbox.bot_token, base_url=tls_sandbox.api_url,
                         verify=wrong_ca)
    try:
        with pytest.raises(TransportError) as caught:
            await client.login()
    finally:
        await client.close()
    _assert_names_the_certificate(caught.value, tls_sandbox.bot_token)


@pytest.mark.anyio
async def test_wrong_ca_fails_the_realtime_socket_on_the_first_attempt(tls_sandbox, wrong_ca):
    http = HttpTransport(ssl_context=trust_context(tls_sandbox.ca_path))
    keeper = SessionKeeper(http, tls_sandbox.api_url, bot_id=tls_sandbox.bot_id,
                           token=tls_sandbox.bot_token)
    sock = RealtimeSocket(keeper, on_event=lambda envelope: None,
                          ssl_context=trust_context(wrong_ca))
    try:
        session = await keeper.session()
        with pytest.raises(TransportError) as caught:
            await sock.start()
        assert sock.connections == 0 and sock.state == "idle"  # no retry loop behind it
    finally:
        await sock.close()
        keeper.close()
        await http.aclose()
    _assert_names_the_certificate(caught.value, session.token)


@pytest.mark.anyio
async def test_wrong_ca_fails_the_stream_server_socket(tls_sandbox, wrong_ca):
    async with AsyncClient(tls_sandbox.bot_id, tls_sandbox.bot_token,
                           base_url=tls_sandbox.api_url, verify=tls_sandbox.ca_path) as client:
        session = await client.session()
        signaling = StnSignaling(tls_sandbox.stream_url, session.token,
                                 ssl_context=trust_context(wrong_ca))
        with pytest.raises(TransportError) as caught:
            await signaling.connect()
        await signaling.close()
    _assert_names_the_certificate(caught.value, session.token)


def test_verification_cannot_be_turned_off(tls_sandbox):
    with pytest.raises(ValueError, match="verify=False"):
        AsyncClient(tls_sandbox.bot_id, tls_sandbox.bot_token, verify=False)
    with pytest.raises(ValueError, match="no readable PEM"):
        AsyncClient(tls_sandbox.bot_id, tls_sandbox.bot_token, verify="/nonexistent.pem")
