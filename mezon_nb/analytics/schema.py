"""The participant log's table schemas, declared once: column names, dtypes, categories, version.

Every frame the analytics return is built from these constants, so two frames from two logs
(two bots, two days) always have the same columns and the same ``kind``/``source`` categories.
Ids (clan, channel, user) are exact decimal strings stored as categoricals whose categories are
``str``: Mezon ids are int64 snowflakes above 2**53 and must never pass through a float.

>>> list(empty_events().dtypes.astype(str))[:3]
['datetime64[ns, UTC]', 'category', 'category']
>>> list(KIND.categories)
['joined', 'left', 'started', 'ended', 'message']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mezon_nb.errors import MezonError

#: Version of the on-disk layout (SQLite ``user_version``, Parquet metadata). Bump on change.
#: 2 added the SQLite ``gaps`` table (a version 1 file gets it when opened), 3 the ``snapshots``
#: table (the clans a snapshot has set, even one that recorded no row); the Parquet event layout
#: is the same in 1, 2 and 3.
SCHEMA_VERSION = 3

#: Parquet key-value metadata key holding :data:`SCHEMA_VERSION`.
PARQUET_VERSION_KEY = b"mezon_nb.participant_log.schema_version"

#: What happened: a viewer joined or left, a stream started or ended, someone chatted.
KINDS = ("joined", "left", "started", "ended", "message")
KIND = pd.CategoricalDtype(KINDS, ordered=False)

#: Where a row came from: a live event, the first snapshot of a clan, or inferred by the log
#: (a diff after a reconnect, the leave implied by joining another stream or by a stream end).
SOURCES = ("live", "snapshot", "reconciled")
SOURCE = pd.CategoricalDtype(SOURCES, ordered=False)

TIME = pd.DatetimeTZDtype("ns", "UTC")

#: Id and name columns: categoricals of ``str`` (categories differ per frame, values are exact).
ID_COLUMNS = ("clan_id", "channel_id", "channel_label", "user_id", "participant")
#: The columns of the tidy event table, in order: one row per event.
EVENT_COLUMNS = ("time", "kind", "clan_id", "channel_id", "channel_label", "user_id",
                 "participant", "source")

#: One row per watch session (see :func:`mezon_nb.analytics.sessions.sessions`).
SESSION_COLUMNS = ("clan_id", "channel_id", "channel_label", "user_id", "participant",
                   "joined_at", "left_at", "duration", "open", "start_unknown", "reconciled")
#: Per-channel summary (see :func:`mezon_nb.analytics.summary.summary`).
SUMMARY_COLUMNS = ("clan_id", "channel_id", "channel_label", "unique_viewers", "sessions",
                   "peak_viewers", "peak_at", "total_watch", "median_watch", "returning_viewers",
                   "messages", "blind_time")
#: Blind intervals, when the log could not see events (see :mod:`mezon_nb.analytics.gaps`).
GAP_COLUMNS = ("start", "end", "reason")
#: Per-user summary (see :func:`mezon_nb.analytics.summary.users`).
USER_COLUMNS = ("user_id", "participant", "sessions", "total_watch", "first_seen", "last_seen",
                "channels", "messages")
#: Viewers over time, long format (see :func:`mezon_nb.analytics.concurrency.concurrency`).
CONCURRENCY_COLUMNS = ("channel_id", "time", "viewers")
#: Chat messages over time, long format (see :func:`mezon_nb.analytics.chat.chat_activity`).
CHAT_COLUMNS = ("channel_id", "time", "messages")
#: Survival curve (see :func:`mezon_nb.analytics.retention.retention`).
RETENTION_COLUMNS = ("duration", "at_risk", "left", "censored", "retained")


class LogSchemaError(MezonError, ValueError):
    """A log file written by a newer (or foreign) schema than this mezon_nb understands.

    >>> str(LogSchemaError("log.sqlite has schema version 9; this mezon_nb reads up to 1"))
    'log.sqlite has schema version 9; this mezon_nb reads up to 1'
    """


class LogInUseError(MezonError, RuntimeError):
    """The log file is open elsewhere: another ParticipantLog or SQLite connection.

    >>> isinstance(LogInUseError("log.sqlite is in use"), RuntimeError)
    True
    """


def id_categorical(values, categories=None) -> pd.Categorical:
    """A categorical of exact id strings; ``values`` may be codes (with ``categories``) or strings.

    >>> id_categorical([0, 1, 0, -1], ["123456789012345678901", "7"]).tolist()
    ['123456789012345678901', '7', '123456789012345678901', nan]
    >>> id_categorical(["7", None, float("nan")]).tolist()
    ['7', nan, nan]
    """
    if categories is None:
        # Missing stays missing: before pandas 3, "str" is numpy's and makes it 'None' or 'nan'.
        values = pd.Series(values, dtype=object)
        return pd.Categorical(values.astype("str").where(values.notna()))
    cats = pd.Index(list(categories), dtype="str")
    return pd.Categorical.from_codes(values, dtype=pd.CategoricalDtype(cats))


def column_ns(column: pd.Series) -> np.ndarray:
    """A UTC datetime column as int64 nanoseconds (NaT becomes ``int64.min``).

    >>> column_ns(pd.Series(pd.to_datetime(["1970-01-01T00:00:01Z"]))).tolist()
    [1000000000]
    """
    return np.asarray(column.dt.tz_convert("UTC").dt.as_unit("ns").array.asi8)


def to_time(ns: np.ndarray) -> pd.DatetimeIndex:
    """int64 nanoseconds (``int64.min`` for NaT) as a UTC DatetimeIndex.

    >>> to_time(np.array([0])).tolist()
    [Timestamp('1970-01-01 00:00:00+0000', tz='UTC')]
    """
    return pd.DatetimeIndex(np.asarray(ns, np.int64).view("M8[ns]")).tz_localize("UTC")


def codes(column: pd.Series) -> np.ndarray:
    """Integer codes of a categorical (or any) column; missing is -1.

    >>> codes(pd.Series(["b", "a", "b"], dtype="category")).tolist()
    [1, 0, 1]
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return np.asarray(column.cat.codes, dtype=np.int64)
    return pd.factorize(column)[0].astype(np.int64)


def empty_events() -> pd.DataFrame:
    """An event table with no rows and the declared columns and dtypes.

    >>> empty_events().shape
    (0, 8)
    """
    return events_frame(pd.DatetimeIndex([], dtype=TIME), pd.Categorical([], dtype=KIND),
                        {c: id_categorical([], []) for c in ID_COLUMNS},
                        pd.Categorical([], dtype=SOURCE))


def events_frame(time, kind, ids: dict, source) -> pd.DataFrame:
    """Assemble an event table from its parts in the declared column order.

    >>> t = pd.DatetimeIndex(["2026-01-01T00:00Z"])
    >>> ids = {c: id_categorical(["9"]) for c in ID_COLUMNS}
    >>> f = events_frame(t, pd.Categorical(["joined"], dtype=KIND), ids,
    ...                  pd.Categorical(["live"], dtype=SOURCE))
    >>> f.loc[0, "user_id"], str(f["time"].dtype)
    ('9', 'datetime64[ns, UTC]')
    """
    cols = {"time": pd.DatetimeIndex(time).tz_convert("UTC").as_unit("ns"), "kind": kind,
            **{c: ids[c] for c in ID_COLUMNS}, "source": source}
    return pd.DataFrame({c: cols[c] for c in EVENT_COLUMNS})


__all__ = [
    "CHAT_COLUMNS",
    "CONCURRENCY_COLUMNS",
    "EVENT_COLUMNS",
    "GAP_COLUMNS",
    "ID_COLUMNS",
    "KIND",
    "KINDS",
    "PARQUET_VERSION_KEY",
    "RETENTION_COLUMNS",
    "SCHEMA_VERSION",
    "SESSION_COLUMNS",
    "SOURCE",
    "SOURCES",
    "SUMMARY_COLUMNS",
    "TIME",
    "USER_COLUMNS",
    "LogInUseError",
    "LogSchemaError",
    "codes",
    "column_ns",
    "empty_events",
    "events_frame",
    "id_categorical",
    "to_time",
]
