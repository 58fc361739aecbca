"""Notebook widgets: live video, a grid of streams, and a live participants panel.

* :class:`StreamViewer`: one streaming channel playing inline (``client.viewer(channel_id)``);
* :class:`StreamGrid`: several viewers side by side under one flow-control budget;
* :class:`ParticipantsPanel`: who is watching now, a concurrency sparkline, joins and leaves
  (``client.participants_panel()``).

Frames travel as JPEG in binary comm buffers under an ack window; see
:mod:`mezon_nb.widgets.flow` for the rule and :mod:`mezon_nb.widgets.pump` for why the
library's loop thread may send comm messages.

>>> from mezon_nb.widgets import ParticipantsPanel, StreamGrid, StreamViewer
>>> StreamViewer.__module__
'mezon_nb.widgets.viewer'
"""

from mezon_nb.widgets.grid import StreamGrid
from mezon_nb.widgets.panel import ParticipantsPanel
from mezon_nb.widgets.viewer import StreamViewer

__all__ = ["ParticipantsPanel", "StreamGrid", "StreamViewer"]
