"""``StreamGrid``: several live streams side by side under one flow-control budget.

>>> from mezon_nb.widgets.grid import StreamGrid
>>> StreamGrid.__mro__[1].__name__
'GridBox'
"""

from __future__ import annotations

from typing import Any

import ipywidgets

from mezon_nb.widgets.flow import SharedBudget
from mezon_nb.widgets.viewer import StreamViewer


class StreamGrid(ipywidgets.GridBox):
    """A grid of :class:`StreamViewer` widgets, one per channel, sharing an in-flight budget.

    Each viewer keeps its own window of unacknowledged frames, and while the browser does not
    paint every frame fast the whole grid has at most ``max_in_flight`` (default: one per stream
    plus one) frames in flight; a freed slot goes to the viewer that has waited longest, so a
    busy browser slows every stream evenly instead of starving some. While a cell keeps the kernel busy, each viewer is paced at the rate its
    frames were painted before the cell, which already reflects that share. ``columns`` defaults to 2 (1 for a single stream); ``options`` go to every
    viewer (and on to ``client.join_stream``).

    >>> grid = StreamGrid(client, [sandbox.stream_channel_id] * 2)   # display(grid) to watch
    >>> grid.budget.limit, len(grid.viewers)
    (3, 2)
    >>> grid.close()
    """

    def __init__(self, client: Any, channel_ids: list, *, columns: int | None = None,
                 max_in_flight: int | None = None, **options: Any) -> None:
        channel_ids = [str(c) for c in channel_ids]
        if not channel_ids:
            raise ValueError("StreamGrid needs at least one channel id")
        self.budget = SharedBudget(max_in_flight or len(channel_ids) + 1)
        viewers: list[StreamViewer] = []
        try:
            for channel_id in channel_ids:
                viewers.append(StreamViewer(client, channel_id, budget=self.budget, **options))
        except BaseException:
            for viewer in viewers:
                viewer.close()
            raise
        columns = columns or min(2, len(viewers))
        super().__init__(children=viewers, layout=ipywidgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))", grid_gap="6px"))

    @property
    def viewers(self) -> list[StreamViewer]:
        """The viewers, in the order of ``channel_ids``.

        >>> grid = StreamGrid(client, [sandbox.stream_channel_id])
        >>> [v.channel_id for v in grid.viewers] == [sandbox.stream_channel_id]
        True
        >>> grid.close()
        """
        return list(self.children)

    def get_stats(self) -> list[dict]:
        """Each viewer's :meth:`StreamViewer.get_stats`, in order.

        >>> grid = StreamGrid(client, [sandbox.stream_channel_id])
        >>> [s["channel_id"] for s in grid.get_stats()] == [sandbox.stream_channel_id]
        True
        >>> grid.close()
        """
        return [viewer.get_stats() for viewer in self.viewers]

    def close(self) -> None:
        """Close every viewer (leaving their streams), then the grid (idempotent).

        >>> grid = StreamGrid(client, [sandbox.stream_channel_id])
        >>> grid.close(); [v.status for v in grid.viewers]
        ['closed']
        """
        for viewer in self.viewers:
            viewer.close()
        super().close()


__all__ = ["StreamGrid"]
