"""The welcome bot: ``greet_viewers`` against the sandbox, and its rules with a fake client.

Covers: each viewer who joins gets the template's greeting in the channel's chat; the bot
itself and repeat visitors are skipped; the token bucket paces greetings (burst, then rate);
a full queue drops and counts (in simulated time: exact counts at exact instants, no real
wait for a token); a failed send is counted and the greeter carries on; stop() returns final
counts and is idempotent; closing the client stops its greeters; template errors
raise at call time (async and sync clients) without starting anything.
"""

from __future__ import annotations

import asyncio

import pytest
from client_helpers import control, logged_in, wait_until

from mezon_nb import connect
from mezon_nb.client.dispatch import Dispatcher
from mezon_nb.client.greeter import Greeter, TokenBucket, check_template
from mezon_nb.core.events import StreamingJoined
from mezon_nb.errors import ServerError

pytestmark = pytest.mark.anyio


async def viewers_join(sandbox, count: int, **params) -> list[dict]:
    return [await control(sandbox, "add_viewer", name=f"Viewer {i}", **params)
            for i in range(count)]


async def test_each_viewer_who_joins_is_greeted_in_the_chat(sandbox):
    async with logged_in(sandbox) as bot, logged_in(sandbox) as listener:
        await listener.join_chat(sandbox.stream_channel_id)
        heard = listener.messages()
        greeter = await bot.greet_viewers(sandbox.stream_channel_id,
                                          "Welcome {participant} to {channel_label}!")
        await viewers_join(sandbox, 2)
        await wait_until(lambda: greeter.greeted == 2, what="two greetings")
        texts = {heard.get(timeout=5).text for _ in range(2)}
        assert texts == {"Welcome Viewer 0 to main-stage!", "Welcome Viewer 1 to main-stage!"}
        await greeter.aclose()
        assert greeter.counts == {"greeted": 2, "skipped": 0, "failed": 0, "dropped": 0,
                                  "pending": 0}


async def test_the_bot_and_repeat_visitors_are_skipped_other_channels_ignored(sandbox):
    async with logged_in(sandbox) as bot:
        greeter = await bot.greet_viewers(sandbox.stream_channel_id)
        other = next(ch.channel_id for ch in await bot.streaming_channels(sandbox.clan_id)
                     if ch.channel_id != sandbox.stream_channel_id)
        await control(sandbox, "add_viewer", user_id=bot.user_id)  # the bot "joins" its stream
        [viewer] = await viewers_join(sandbox, 1)
        await control(sandbox, "add_viewer", user_id=viewer["user_id"], channel_id=other)
        await control(sandbox, "add_viewer", user_id=viewer["user_id"])  # back again
        await wait_until(lambda: greeter.handled == 3, what="three joins settled")
        await control(sandbox, "remove_viewer", user_id=bot.user_id)
        assert (greeter.greeted, greeter.skipped) == (1, 2)
        await greeter.aclose()


async def test_greetings_are_paced_by_the_token_bucket(sandbox):
    async with logged_in(sandbox) as bot, logged_in(sandbox) as listener:
        await listener.join_chat(sandbox.stream_channel_id)
        heard = listener.messages()
        greeter = await bot.greet_viewers(sandbox.stream_channel_id, rate=5.0, burst=2)
        # Simulated time, not arrival times (a busy listener reads two at once): the greeter's
        # own bucket, on a clock that moves exactly by the waits it hands out.
        now, waits = [0.0], []

        class Timed(TokenBucket):
            def reserve(self) -> float:
                wait = super().reserve()
                waits.append(wait)
                now[0] += wait
                return wait

        greeter._bucket = Timed(greeter._bucket.rate, greeter._bucket.burst,
                                clock=lambda: now[0])
        await viewers_join(sandbox, 6)
        await wait_until(lambda: greeter.greeted == 6, timeout=30, what="six greetings")
        # two at once, then one every 0.2 s, each greeting sent after its wait
        assert waits == pytest.approx([0.0, 0.0, 0.2, 0.2, 0.2, 0.2])
        texts = [(await asyncio.wait_for(anext(aiter(heard)), 10)).text for _ in range(6)]
        assert sorted(texts) == [f"Welcome Viewer {i} to the stream!" for i in range(6)]
        await greeter.aclose()


async def test_closing_the_client_stops_its_greeters(sandbox):
    async with logged_in(sandbox) as bot:
        greeter = await bot.greet_viewers(sandbox.stream_channel_id)
        assert greeter.running
    assert not greeter.running


@pytest.mark.parametrize("template", ["Hi {name}!", "Hi {}!", "Hi {0}", "Hi {participant.x}",
                                      "Hi {participant!z}", "Hi {participant:%}", "Hi {", 42])
async def test_template_errors_raise_at_call_time(sandbox, template):
    async with logged_in(sandbox) as bot:
        with pytest.raises((ValueError, TypeError)):
            await bot.greet_viewers(sandbox.stream_channel_id, template)
        assert bot._greeters == set() and bot._chat.joined == []


def test_template_errors_raise_in_the_sync_client_too(sandbox):
    with connect(sandbox=sandbox) as client:
        with pytest.raises(ValueError, match=r"unknown placeholder \{viewer\}"):
            client.greet_viewers(sandbox.stream_channel_id, "Hello {viewer}")
        greeter = client.greet_viewers(sandbox.stream_channel_id)
        assert greeter.stop()["failed"] == 0
        assert greeter.stop() == greeter.counts  # idempotent


def test_check_template_accepts_every_placeholder_and_literal_braces():
    template = "{{hi}} {participant} {user_id} {channel_id} {channel_label} {clan_id} {clan_name}"
    assert check_template(template) == template


def test_token_bucket_bursts_then_paces():
    now = [0.0]
    bucket = TokenBucket(rate=4.0, burst=3, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.25, 0.5]
    now[0] = 10.0  # a long quiet spell refills to the burst, not beyond
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.0, 0.25]
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


class FakeClient:
    """What a Greeter needs from a client: user_id, join_chat, on, send_message."""

    user_id = "1"

    def __init__(self, fail: set[str]) -> None:
        self.dispatcher = Dispatcher()
        self.sent: list[str] = []
        self.sent_at: list[float] = []  # loop seconds
        self.fail = fail

    async def join_chat(self, channel_id):
        pass

    def on(self, name, fn):
        return self.dispatcher.on(name, fn)

    async def send_message(self, channel_id, text):
        if text in self.fail:
            raise ServerError("channel_message_send failed: boom (code 0)", code=0)
        self.sent.append(text)
        self.sent_at.append(asyncio.get_running_loop().time())


def joined(user: str, channel: str = "6") -> StreamingJoined:
    return StreamingJoined(clan_id="1", clan_name="Lab", id="0", participant=f"u{user}",
                           user_id=user, streaming_channel_label="Live",
                           streaming_channel_id=channel)


async def test_a_failed_send_is_counted_and_the_greeter_carries_on(caplog):
    fake = FakeClient(fail={"hi u3"})
    greeter = await Greeter(fake, "6", "hi {participant}", rate=1000.0, burst=10).start()
    for user in ("2", "3", "4", "1", "2"):
        fake.dispatcher.emit(joined(user))
    fake.dispatcher.emit(joined("5", channel="7"))
    for _ in range(200):
        if greeter.handled == 5:
            break
        await asyncio.sleep(0.01)
    await greeter.aclose()
    assert fake.sent == ["hi u2", "hi u4"]
    assert greeter.counts == {"greeted": 2, "skipped": 2, "failed": 1, "dropped": 0,
                              "pending": 0}
    assert "greeting 3 in channel 6 failed" in caplog.text


def test_a_full_queue_drops_and_stop_counts_what_was_left(in_simulated_time):
    """In simulated seconds, rate 0.2/s, burst 1, max_queue 1: u2 is greeted at once; u3 takes
    the queue's slot and waits for the next token (due at 5 s); u4 queues behind it and u5
    finds the queue full (dropped); u3 goes at exactly 5 s, u4 would go at 10 s, u6 queues
    behind it; the greeter stops at 7 s: u4 (waiting) and u6 (queued) count as dropped."""
    fake = FakeClient(fail=set())

    async def main() -> list[tuple[float, dict]]:
        loop = asyncio.get_running_loop()
        greeter = await Greeter(fake, "6", "hi {participant}", rate=0.2, burst=1,
                                max_queue=1).start()
        seen = []

        async def at(moment: float, *users: str) -> None:
            """At ``moment``, once everything due before it has run: note the counts, then
            let ``users`` join."""
            await asyncio.sleep(moment - loop.time())
            seen.append((moment, greeter.counts))
            for user in users:
                fake.dispatcher.emit(joined(user))

        await at(0.0, "2")
        await at(1.0, "3")
        await at(2.0, "4", "5")
        await at(4.999)
        await at(5.001)
        await at(6.0, "6")
        await at(7.0)
        await greeter.aclose()
        seen.append((7.0, greeter.counts))
        assert not greeter.running and greeter.handled == 5
        await greeter.aclose()  # idempotent
        assert greeter.counts == seen[-1][1]
        return seen

    def c(greeted: int, dropped: int, pending: int) -> dict:
        return {"greeted": greeted, "skipped": 0, "failed": 0, "dropped": dropped,
                "pending": pending}

    assert in_simulated_time(main()) == [
        (0.0, c(0, 0, 0)), (1.0, c(1, 0, 0)), (2.0, c(1, 0, 0)), (4.999, c(1, 1, 1)),
        (5.001, c(2, 1, 0)), (6.0, c(2, 1, 0)), (7.0, c(2, 1, 1)), (7.0, c(2, 3, 0))]
    assert fake.sent == ["hi u2", "hi u3"]
    assert fake.sent_at == pytest.approx([0.0, 5.0])
