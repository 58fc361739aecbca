"""The analytics package surface: exports, the lazy facade name, exact times and ids, repr,
thread-safe recording, and the columnar store's footprint.

Not covered here: rules and numbers (the other test_analytics_* files).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import numpy as np
from analytics_helpers import BIG_USER, join, leave, workload

import mezon_nb
from mezon_nb import analytics
from mezon_nb.analytics import ParticipantLog
from mezon_nb.analytics.reconcile import time_ns


def test_exports_resolve_and_the_facade_is_the_same_class():
    assert analytics.__all__ == sorted(analytics.__all__)
    assert all(getattr(analytics, n) is not None for n in analytics.__all__)
    assert mezon_nb.ParticipantLog is ParticipantLog


def test_times_are_exact_nanoseconds_and_naive_means_utc():
    aware = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert time_ns(aware) == 1772366400123456000
    assert time_ns(aware.replace(tzinfo=None)) == time_ns(aware)
    plus2 = aware.astimezone(timezone(timedelta(hours=2)))
    assert time_ns(plus2) == time_ns(aware)
    log = ParticipantLog()
    log.record(join(0, BIG_USER))
    assert log.events["time"].dt.tz is not None and log.events["user_id"][0] == BIG_USER


def test_threads_record_concurrently_without_losing_rows():
    log = ParticipantLog()
    events = workload(4000)

    def feed(part):
        for e in part:
            log.record(e)

    threads = [threading.Thread(target=feed, args=(events[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    frame = log.events
    assert len(frame) >= 4000 and frame["user_id"].notna().all()
    assert (frame["kind"] == "joined").sum() == sum(type(e).__name__ == "StreamingJoined"
                                                    for e in events)


def test_columns_stay_small_per_event():
    log = ParticipantLog()
    log.extend(workload(20_000))
    assert log._store.nbytes() / len(log) < 32  # 26 bytes of columns + array slack
    assert repr(log).startswith("<ParticipantLog 2") and "in memory" in repr(log)


def test_record_and_extend_agree():
    events = workload(300) + [leave(9, "5")]
    a, b = ParticipantLog(), ParticipantLog()
    a.extend(events)
    for e in events:
        b.record(e)
    for c in a.events.columns:
        x, y = a.events[c].astype(object), b.events[c].astype(object)
        assert np.array_equal(x.where(x.notna(), 0), y.where(y.notna(), 0))
