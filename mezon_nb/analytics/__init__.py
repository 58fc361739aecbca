"""Participant analytics: who watched which stream, how long, how many at once.

:class:`ParticipantLog` collects the streaming join/leave/start/end events (live from a client,
from ``extend(events)``, or from reconnect snapshots) into a columnar table, optionally durable
in SQLite, and answers with tidy pandas frames.

>>> from mezon_nb.analytics import ParticipantLog, demo_events
>>> log = ParticipantLog(); log.extend(demo_events(as_events=True))
>>> log.sessions()["duration"].sum()
Timedelta('0 days 01:40:00')

The analytics are pure functions too, composed the same way the methods do it: the session
table is a function of the event table, and everything else a function of the session table:

>>> from mezon_nb.analytics.sessions import sessions
>>> from mezon_nb.analytics.concurrency import concurrency
>>> int(concurrency(sessions(log.events), freq=None)["viewers"].max())
2

Modules: ``schema`` (columns, dtypes, version), ``store`` (columnar memory), ``durable``
(SQLite), ``reconcile`` (ingest rules), ``sessions``, ``concurrency``, ``retention``,
``summary``, ``plot``, ``parquet``, ``log`` (the facade), ``demo`` (a fixed example log);
past memory: ``archive`` (the hive-partitioned Parquet archive), ``rolling`` (rolling a log
into it, reopening), ``archive_sql`` and ``outofcore`` (:class:`ArchiveAnalytics`: the same
analytics in DuckDB).
"""

from __future__ import annotations

from mezon_nb.analytics.demo import demo_events
from mezon_nb.analytics.log import ParticipantLog
from mezon_nb.analytics.outofcore import ArchiveAnalytics
from mezon_nb.analytics.schema import LogInUseError, LogSchemaError

__all__ = ["ArchiveAnalytics", "LogInUseError", "LogSchemaError", "ParticipantLog",
           "demo_events"]
