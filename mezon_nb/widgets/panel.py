"""``ParticipantsPanel``: who is watching now, live, from a participant log.

The panel shows the viewer count per channel, the people watching (name and since when), a
sparkline of concurrent viewers over the last ``window_minutes`` and a ticker of the latest
joins and leaves (``static/panel.js``).

Protocol: the synced ``initial`` trait holds the state when the panel was made (the first paint,
also what a saved notebook shows). After that each log row becomes one small custom message
``{"type": "delta", "seq", "event", "count", "total"}``; the browser applies it. A browser that
sees a gap in ``seq`` (it rendered late, or reloaded) asks ``{"type": "sync"}`` and gets one
``{"type": "reset", "state"}`` with the whole current state.

>>> from mezon_nb.widgets.panel import ParticipantsPanel
>>> "initial" in ParticipantsPanel.class_trait_names(sync=True)
True
"""

from __future__ import annotations

import pathlib
from typing import Any

import anywidget
import traitlets

from mezon_nb.widgets import cells
from mezon_nb.widgets.audience import Audience

_STATIC = pathlib.Path(__file__).parent / "static"


class ParticipantsPanel(anywidget.AnyWidget):
    """Live viewer counts, who watches since when, a concurrency sparkline and a ticker.

    ``source`` is a ``Client`` (its ``participants`` log is used) or a ``ParticipantLog``;
    ``channel_id`` limits the panel to one channel. Updates are pushed as deltas, one per log
    row, never as whole tables. Re-running the cell that made it closes the old panel.

    >>> import mezon_nb
    >>> panel = ParticipantsPanel(mezon_nb.ParticipantLog())
    >>> panel.initial["seq"], panel.initial["channels"]
    (0, {})
    >>> panel.close()
    """

    _esm = _STATIC / "panel.js"
    _css = _STATIC / "widgets.css"

    channel_id = traitlets.Unicode(None, allow_none=True).tag(sync=True)
    window_minutes = traitlets.Float(10.0).tag(sync=True)
    initial = traitlets.Dict().tag(sync=True)

    def __init__(self, source: Any, channel_id: int | str | None = None, *,
                 window_minutes: float = 10.0) -> None:
        channel = None if channel_id is None else str(channel_id)
        super().__init__(channel_id=channel, window_minutes=window_minutes)
        log = getattr(source, "participants", source)
        self._mz_audience = Audience.follow(log, channel)
        self._mz_audience.listeners.append(self._mz_push)
        self.initial = self._mz_audience.snapshot()
        self.on_msg(self._mz_on_msg)
        cells.adopt(self)

    @property
    def audience(self) -> Audience:
        """The live state behind the panel (counts, watchers, history).

        >>> panel = client.participants_panel()                   # the client's log
        >>> panel.audience.count() >= 0
        True
        >>> panel.close()
        """
        return self._mz_audience

    def close(self) -> None:
        """Stop following the log and close the comm (idempotent).

        >>> import mezon_nb
        >>> panel = ParticipantsPanel(mezon_nb.ParticipantLog())
        >>> panel.close(); panel.comm is None
        True
        """
        self._mz_audience.close()
        super().close()

    def _mz_push(self, delta: dict) -> None:
        self.send({"type": "delta", **delta})

    def _mz_on_msg(self, _widget: Any, content: dict, buffers: list) -> None:
        if content.get("type") == "sync":
            self.send({"type": "reset", "state": self._mz_audience.snapshot()})


__all__ = ["ParticipantsPanel"]
