"""The viewer's chat pane, Python side: the latest messages of one channel, and sending as the bot.

:class:`ChatFeed` joins the chat of the channel the viewer shows, keeps its latest ``limit``
messages as small JSON-ready dicts (``id``, ``sender``, ``text``, ``time`` in epoch seconds,
``own`` for the bot's lines) and hands the list to ``on_change`` after each change (the viewer
puts it in its ``chat_messages`` trait). Incoming messages arrive on the library's loop thread;
everything here is thread-safe.

>>> feed = ChatFeed(client, on_change=lambda lines: None)
>>> feed.follow(sandbox.stream_channel_id)
>>> said = sandbox.control("post_message", text="hello pane", name="Ann")
>>> import time; deadline = time.monotonic() + 10
>>> while not feed.lines and time.monotonic() < deadline:
...     time.sleep(0.02)
>>> [(line["sender"], line["text"]) for line in feed.lines]
[('Ann', 'hello pane')]
>>> feed.close()
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Any

from mezon_nb.core.events import ChannelMessage


class ChatFeed:
    """Follows one channel's chat for a widget; see the module docstring.

    >>> ChatFeed(client, on_change=print).channel_id is None
    True
    """

    def __init__(self, client: Any, on_change: Callable[[list[dict]], Any],
                 limit: int = 50) -> None:
        self.channel_id: str | None = None
        self._client = client
        self._on_change = on_change
        self._lock = threading.Lock()
        self._lines: collections.deque[dict] = collections.deque(maxlen=limit)
        self._handle = client.on("channel_message", self._on_message)

    @property
    def lines(self) -> list[dict]:
        """The latest messages, oldest first (a copy).

        >>> ChatFeed(client, on_change=print).lines
        []
        """
        with self._lock:
            return list(self._lines)

    def follow(self, channel_id: str) -> None:
        """Show ``channel_id``'s chat from now on (joins it; earlier lines are cleared).

        >>> feed = ChatFeed(client, on_change=print)
        >>> feed.follow(sandbox.stream_channel_id)
        []
        >>> feed.close()
        """
        channel = str(channel_id)
        if channel != self.channel_id:
            self._client.join_chat(channel)
            self.channel_id = channel
            self._change(clear=True)

    def send(self, text: str) -> Any:
        """Send ``text`` to the followed channel as the bot; the line shows as ``own``.
        Returns the server's ack; raises ``ValueError`` when no channel is followed.

        >>> feed = ChatFeed(client, on_change=lambda lines: None)
        >>> feed.follow(sandbox.stream_channel_id)
        >>> feed.send("hi from the pane").message_id.isdigit(), feed.lines[-1]["own"]
        (True, True)
        >>> feed.close()
        """
        if self.channel_id is None:
            raise ValueError("no chat to send to: join a channel first")
        ack = self._client.send_message(self.channel_id, text)
        when = ack.create_time.timestamp() if ack.create_time else None
        self._change({"id": ack.message_id, "sender": ack.username or "bot", "text": text,
                      "time": when, "own": True})
        return ack

    def close(self) -> None:
        """Stop following the chat (idempotent).

        >>> ChatFeed(client, on_change=print).close()
        """
        self._handle.cancel()

    def _on_message(self, message: ChannelMessage) -> None:
        # the bot's own lines are shown from their acks, not again if the server echoes them
        if message.channel_id == self.channel_id and message.sender_id != self._client.user_id:
            self._change({"id": message.message_id, "sender": message.sender_name,
                          "text": message.text, "time": message.received_at.timestamp(),
                          "own": False})

    def _change(self, line: dict | None = None, clear: bool = False) -> None:
        with self._lock:
            if clear:
                self._lines.clear()
            if line is not None:
                self._lines.append(line)
            lines = list(self._lines)
        self._on_change(lines)


__all__ = ["ChatFeed"]
