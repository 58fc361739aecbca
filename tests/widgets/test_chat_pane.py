"""The viewer's chat pane and the panel's "who is talking", against the sandbox's chat.

The viewer gets a fake stream (no WebRTC) but the real client's chat: messages a sandbox viewer
posts reach ``chat_messages``; the pane's box (a ``{"type": "chat"}`` message) sends as the bot;
errors land in ``chat_status``, never in the picture; other channels' chat is not shown; no
token reaches the widget state. The panel marks watchers who spoke. Not covered: the DOM of the
pane in a browser (viewer.js).
"""

from __future__ import annotations

import json

import pandas as pd
from widget_fakes import FakeClient, FakeLog, Frontend, poll_until

from mezon_nb.widgets import ParticipantsPanel, StreamViewer


class ChatClient(FakeClient):
    """A fake stream with the real client's chat (``on``, ``join_chat``, ``send_message``)."""

    def __init__(self, real, channels) -> None:
        super().__init__(channels=channels)
        self._real = real
        self.user_id = real.user_id

    def on(self, name, fn):
        return self._real.on(name, fn)

    def join_chat(self, channel_id):
        return self._real.join_chat(channel_id)

    def send_message(self, channel_id, text):
        return self._real.send_message(channel_id, text)


def test_chat_pane_shows_the_channel_and_sends_as_the_bot(real_client, sandbox):
    channels = [c.channel_id for c in real_client.streaming_channels(sandbox.clan_id)]
    main = sandbox.stream_channel_id
    other = next(c for c in channels if c != main)
    viewer = StreamViewer(ChatClient(real_client, channels), main, chat=True, chat_limit=3)
    frontend = Frontend(viewer)
    try:
        assert viewer.chat and viewer.chat_messages == []
        real_client.join_chat(other)
        sandbox.control("post_message", channel_id=other, text="elsewhere")
        sandbox.control("post_message", channel_id=main, text="hi <b>bot</b>", name="Ann")
        assert poll_until(lambda: viewer.chat_messages)
        [line] = viewer.chat_messages
        assert (line["sender"], line["text"], line["own"]) == ("Ann", "hi <b>bot</b>", False)
        assert isinstance(line["time"], float) and line["id"].isdigit()
        frontend.say(type="chat", text="Welcome, Ann!")
        assert viewer.chat_messages[-1]["text"] == "Welcome, Ann!"
        assert viewer.chat_messages[-1]["own"] is True and viewer.chat_status == ""
        for n in range(3):
            sandbox.control("post_message", channel_id=main, text=f"line {n}")
        assert poll_until(lambda: viewer.chat_messages[-1]["text"] == "line 2")
        assert [m["text"] for m in viewer.chat_messages] == ["line 0", "line 1", "line 2"]
        state = json.dumps(viewer.get_state(), default=str)
        assert sandbox.bot_token not in state and real_client.session().token not in state
        assert "token" not in state.lower()
        viewer.join(other)  # another channel: its chat, from a clean slate
        assert viewer.chat_messages == []
    finally:
        viewer.close()
    # The marker: a handler added after the viewer's sees the message, and the client calls
    # handlers in order, so a pane still listening would already have it.
    seen = []
    handle = real_client.on("channel_message", lambda message: seen.append(message.text))
    try:
        sandbox.control("post_message", channel_id=other, text="after close")
        assert poll_until(lambda: "after close" in seen)
    finally:
        handle.cancel()
    assert viewer.chat_messages == []


def test_chat_errors_go_to_chat_status(real_client, sandbox):
    plain = StreamViewer(FakeClient(), "7")
    Frontend(plain).say(type="chat", text="hi")
    assert plain.chat is False and plain.chat_status.startswith("not sent: ")
    plain.close()
    nowhere = StreamViewer(ChatClient(real_client, ["7"]), None, chat=True)
    Frontend(nowhere).say(type="chat", text="hi")
    assert nowhere.chat_status == "not sent: no chat to send to: join a channel first"
    nowhere.close()
    broken = StreamViewer(ChatClient(real_client, ["1234"]), "1234", chat=True)
    assert broken.status != "error" and broken.chat_status.startswith("chat unavailable: ")
    broken.close()


def test_panel_shows_who_is_talking():
    row = {"time": pd.Timestamp(100, unit="s", tz="UTC"), "kind": "joined", "clan_id": "1",
           "channel_id": "7", "channel_label": "chan-7", "user_id": "u1", "participant": "ann",
           "source": "live"}
    log = FakeLog([row])
    panel = ParticipantsPanel(log)
    frontend = Frontend(panel)
    log.add("message", "u1")
    log.add("message", "u1")
    log.add("message", "u9")  # someone who is not watching: ticker only
    deltas = [content for content, _ in frontend.messages if content["type"] == "delta"]
    assert [d["event"]["kind"] for d in deltas] == ["message"] * 3
    assert [d["count"] for d in deltas] == [1, 1, 1]
    [watcher] = panel.audience.watchers("7")
    assert watcher["messages"] == 2 and watcher["spoke"] > 100
    assert panel.audience.snapshot()["channels"]["7"]["watchers"] == [watcher]
    assert panel.audience.snapshot()["series"] == [[100.0, 1]]  # talk changes no count
    panel.close()
