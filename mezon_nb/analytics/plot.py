"""Matplotlib views of a participant log: ``log.plot.concurrency()``, ``.sessions_hist()``,
``.retention()``. Each takes ``ax=None`` (a new figure) and returns the ``Axes``; times are
shown in UTC. Nothing here calls ``show()``, so the Agg backend works.

>>> import matplotlib; matplotlib.use("Agg")
>>> from mezon_nb.analytics import ParticipantLog, demo_events
>>> log = ParticipantLog(); log.extend(demo_events(as_events=True))
>>> log.plot.concurrency().get_ylabel()
'viewers'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 3.5), layout="constrained")
    return ax


def _minutes(durations: Any) -> np.ndarray:
    return durations.to_numpy("m8[ns]").astype(np.int64) / 60e9


class LogPlot:
    """Plot helpers bound to one :class:`~mezon_nb.analytics.ParticipantLog`.

    >>> from mezon_nb.analytics import ParticipantLog
    >>> ParticipantLog().plot.retention().get_title()
    'Retention: share of sessions still watching'
    """

    def __init__(self, log: Any) -> None:
        self._log = log

    def concurrency(self, freq: str | None = None, channel_id: str | None = None,
                    ax: Axes | None = None) -> Axes:
        """Viewers over time, one step line per channel (exact steps unless ``freq`` is given).

        >>> from mezon_nb.analytics import ParticipantLog, demo_events
        >>> log = ParticipantLog(); log.extend(demo_events(as_events=True))
        >>> len(log.plot.concurrency().get_lines())
        2
        """
        import matplotlib.dates as mdates

        ax = _axes(ax)
        steps = self._log.concurrency(freq=freq, channel_id=channel_id)
        labels = self._log.channel_labels
        for channel, part in steps.groupby("channel_id", observed=True):
            ax.step(part["time"].dt.tz_convert(None), part["viewers"], where="post",
                    label=labels.get(channel, channel))
        ax.set(title="Concurrent viewers" + (f" (max per {freq})" if freq else ""),
               xlabel="time (UTC)", ylabel="viewers")
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)  # type: ignore[call-arg]
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        if len(steps):
            ax.legend(title="channel", loc="upper left", fontsize="small")
        return ax

    def sessions_hist(self, bins: int = 30, ax: Axes | None = None) -> Axes:
        """Histogram of session lengths in minutes (sessions with a known duration).

        >>> from mezon_nb.analytics import ParticipantLog
        >>> ParticipantLog().plot.sessions_hist().get_xlabel()
        'session length (minutes)'
        """
        ax = _axes(ax)
        s = self._log.sessions()
        ax.hist(_minutes(s["duration"].dropna()), bins=bins)
        ax.set(title=f"Session lengths ({len(s)} sessions)", xlabel="session length (minutes)",
               ylabel="sessions")
        return ax

    def retention(self, channel_id: str | None = None, ax: Axes | None = None) -> Axes:
        """The Kaplan–Meier retention curve; ``+`` marks censored (still open) sessions.

        >>> from mezon_nb.analytics import ParticipantLog
        >>> [float(y) for y in ParticipantLog().plot.retention().get_ylim()]
        [0.0, 1.05]
        """
        ax = _axes(ax)
        r = self._log.retention(channel_id=channel_id)
        x = _minutes(r["duration"])
        ax.step(x, r["retained"], where="post")
        cens = r["censored"].to_numpy() > 0
        ax.plot(x[cens], r["retained"].to_numpy()[cens], "+", color="k", label="still watching")
        ax.set(title="Retention: share of sessions still watching", ylim=(0.0, 1.05),
               xlabel="minutes since joining", ylabel="share of sessions")
        return ax


__all__ = ["LogPlot"]
