"""Parquet files of event tables, so logs of many bots and days combine into one.

Ids are written as dictionary-encoded strings (never numbers) and the file carries
:data:`~mezon_nb.analytics.schema.SCHEMA_VERSION` in its metadata. Many files can also be queried
straight from DuckDB:

>>> import duckdb, os, tempfile
>>> from mezon_nb.analytics import demo_events
>>> path = os.path.join(tempfile.mkdtemp(), "day1.parquet")
>>> write_events(demo_events(), path)
>>> duckdb.sql(f"SELECT channel_id, count(DISTINCT user_id) AS viewers FROM '{path}' "
...            "WHERE kind = 'joined' GROUP BY ALL ORDER BY ALL").fetchall()
[('6', 2), ('8', 1)]

(use a glob such as ``'logs/*.parquet'`` for many files).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mezon_nb.analytics import schema


def write_events(events: pd.DataFrame, path: str | Path) -> None:
    """Write an event table to ``path``.

    >>> import os, tempfile
    >>> write_events(schema.empty_events(), os.path.join(tempfile.mkdtemp(), "e.parquet"))
    """
    table = pa.Table.from_pandas(events[list(schema.EVENT_COLUMNS)], preserve_index=False)
    meta = {**(table.schema.metadata or {}),
            schema.PARQUET_VERSION_KEY: str(schema.SCHEMA_VERSION).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)


def read_events(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """One event table from one or many files, ordered by time (stable), ids exact strings.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "e.parquet")
    >>> write_events(schema.empty_events(), p); read_events([p, p]).shape
    (0, 8)
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    frames = [_read_one(Path(p)) for p in paths]   # every file is checked, empty or not
    frames = [f for f in frames if len(f)]          # (pandas 2 warns on concatenating empties)
    if not frames:
        return schema.empty_events()
    both = pd.concat(frames, ignore_index=True)
    frame = schema.events_frame(
        both["time"], both["kind"].astype(schema.KIND),
        {c: schema.id_categorical(both[c].astype(object)) for c in schema.ID_COLUMNS},
        both["source"].astype(schema.SOURCE))
    return frame.sort_values("time", kind="stable", ignore_index=True)


def _read_one(path: Path) -> pd.DataFrame:
    table = pq.read_table(path)
    version = int((table.schema.metadata or {}).get(schema.PARQUET_VERSION_KEY, b"0"))
    if not 1 <= version <= schema.SCHEMA_VERSION:
        raise schema.LogSchemaError(
            f"{path} has participant-log schema version {version}; this mezon_nb reads "
            f"1 to {schema.SCHEMA_VERSION}. Upgrade mezon_nb or check the file.")
    missing = set(schema.EVENT_COLUMNS) - set(table.column_names)
    if missing:
        raise schema.LogSchemaError(f"{path} lacks event columns {sorted(missing)}")
    return table.to_pandas()


def labels(events: pd.DataFrame) -> dict[str, tuple[str | None, str]]:
    """``{channel_id: (clan_id, label)}``, the last label seen for each channel.

    >>> labels(schema.empty_events())
    {}
    """
    named = events.dropna(subset=["channel_label"]).drop_duplicates("channel_id", keep="last")
    clans = named["clan_id"].astype(object).where(named["clan_id"].notna(), None)
    return {str(c): (clan, str(lab)) for c, clan, lab in
            zip(named["channel_id"], clans, named["channel_label"])}


__all__ = ["labels", "read_events", "write_events"]
