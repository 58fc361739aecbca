"""The participant analytics as DuckDB SQL over an event relation ``ev``: the same rules as
:mod:`~mezon_nb.analytics.sessions`, :mod:`~mezon_nb.analytics.concurrency`,
:mod:`~mezon_nb.analytics.summary` and :mod:`~mezon_nb.analytics.chat`, so that the two engines
give the same frames.

``ev`` has ``seq`` (table order), ``t`` (ns), ``kind``, ``source``, ``clan_id``, ``channel_id``,
``user_id`` (BIGINT) and ``participant``; ``channels`` has ``channel_id``, ``label`` and
``first_seq`` (the channel's first row: result frames list channels in that order).

Sessions take one sort: rows of a (channel, user) in time order are cut into runs by counting
the ``left`` rows before each row. A run is zero or more joins and at most one leave; its first
join opens a session (a repeated join continues it), its leave closes it. A run with no join
is a leave of unknown start if it is the group's first row, else a repeated leave (ignored).

With a session cache (``cached``: the view ``sess`` of
:mod:`~mezon_nb.analytics.session_cache` rows) the same ``s`` is one scan of the cached
sessions, and every query after it is unchanged.

Every query is one statement built from named CTEs (:func:`sessions_cte`, :data:`STEPS`, then
in :func:`summary_sql` one CTE per group of columns, joined on ``channel_id``), so another
per-channel figure (e.g. blind time from reconnect gaps) is one more CTE and one more join.

>>> sql = summary_sql()
>>> sql.count("WITH"), "peaks" in sql
(1, True)
"""

from __future__ import annotations


def sessions_cte(channel: int | None = None, slim: bool = False, cached: bool = False,
                 unknown: bool = True, window: tuple[int | None, int | None] = (None, None)
                 ) -> str:
    """CTEs ending in ``s``: one row per session (ids, ``joined_at``, ``left_at``,
    ``duration`` in ns, flags, and its first row ``ref_t``, ``ref_seq``).

    ``channel`` (an int64 id) keeps one channel, filtered in the scan (Parquet statistics skip
    the rest); ``slim`` leaves out ``participant`` and ``reconciled`` (lighter sorts, for
    totals); ``$until`` is the time open sessions are measured to (ns). ``cached`` reads the
    session cache ``sess`` (:mod:`~mezon_nb.analytics.session_cache`) instead of sorting the
    events; ``unknown`` (it has starts of unknown time) keeps only those with no earlier row
    of their channel and user; ``window`` ``(start, end)`` in ns keeps, in the scan, the
    sessions that can overlap it (it filters sessions only with ``cached``).

    >>> "channel_id = 6" in sessions_cte(6), "participant" in sessions_cte(slim=True)
    (True, False)
    >>> cached = sessions_cte(cached=True)
    >>> "earlier" in cached, "earlier" in sessions_cte(cached=True, unknown=False)
    (True, False)
    """
    only = "" if channel is None else f" AND channel_id = {int(channel)}"
    if cached:
        return _cached_cte(only, slim, unknown, window)
    extra = "" if slim else ", participant, source = 'live' AS live"
    fields = "" if slim else """
           first(participant) FILTER (WHERE starts) AS participant,
           coalesce(bool_or(NOT live) FILTER (WHERE starts OR k = 1), false) AS reconciled,"""
    return f"""
runs AS (
    SELECT *, lag(k) OVER w AS prev, sum(k) OVER (w ROWS UNBOUNDED PRECEDING) - k AS run
    FROM (SELECT seq, t, clan_id, channel_id, user_id, CAST(kind = 'left' AS INTEGER) AS k{extra}
          FROM ev WHERE kind IN ('joined', 'left') AND user_id IS NOT NULL{only})
    WINDOW w AS (PARTITION BY channel_id, user_id ORDER BY t, seq)),
marked AS (
    SELECT *, (k = 0 AND prev IS DISTINCT FROM 0) OR (k = 1 AND prev IS NULL) AS starts
    FROM runs),
s0 AS (
    SELECT channel_id, user_id, first(clan_id) FILTER (WHERE starts) AS clan_id,{fields}
           first(t) FILTER (WHERE starts) AS ref_t, first(seq) FILTER (WHERE starts) AS ref_seq,
           first(k) FILTER (WHERE starts) = 1 AS start_unknown,
           first(t) FILTER (WHERE starts AND k = 0) AS joined_at,
           first(t) FILTER (WHERE k = 1) AS left_at, sum(k) = 0 AS open
    FROM marked GROUP BY channel_id, user_id, run HAVING bool_or(starts)),
s AS MATERIALIZED (
    SELECT *, {_DURATION} AS duration
    FROM s0)"""


_DURATION = """CASE WHEN start_unknown THEN NULL
                   WHEN open THEN greatest($until - joined_at, 0)
                   ELSE greatest(left_at - joined_at, 0) END"""


def _cached_cte(only: str, slim: bool, unknown: bool, window: tuple[int | None, int | None]
                ) -> str:
    """The ``s`` of :func:`sessions_cte` over the session cache ``sess``: no sort, one scan."""
    start, end = window
    scan = ("TRUE" + only + ("" if end is None else f" AND ref_t < {int(end)}")
            + ("" if start is None else f" AND (left_at IS NULL OR left_at >= {int(start)})"))
    extra = "" if slim else ", participant, reconciled"
    resolve = ""
    if unknown:  # a leave of unknown start that has an earlier row of its group repeats a leave
        resolve = f"""
earlier AS (
    SELECT DISTINCT u.ref_seq FROM c0 u JOIN sess e
        ON e.channel_id = u.channel_id AND e.user_id = u.user_id
       AND (e.ref_t < u.ref_t OR (e.ref_t = u.ref_t AND e.ref_seq < u.ref_seq))
    WHERE u.start_unknown{only.replace("channel_id", "e.channel_id")}),"""
    keep = " WHERE NOT start_unknown OR ref_seq NOT IN (SELECT ref_seq FROM earlier)" \
        if unknown else ""
    return f"""
c0 AS (
    SELECT channel_id, user_id, clan_id{extra}, ref_t, ref_seq, start_unknown,
           CASE WHEN start_unknown THEN NULL ELSE ref_t END AS joined_at, left_at,
           left_at IS NULL AS open
    FROM sess WHERE {scan}),{resolve}
s AS (SELECT *, {_DURATION} AS duration FROM c0{keep})"""


#: The running viewer count over every join and leave of ``s`` in time order, leaves of an
#: instant first: its maximum per channel is the peak, first reached at the least ``t`` holding
#: it (inside an instant the count never passes the larger of the levels before and after;
#: a channel never above 0 viewers has no peak, as with no step).
LEVELS = """
levels AS (
    SELECT channel_id, t, sum(d) OVER (PARTITION BY channel_id ORDER BY t, d
                                       ROWS UNBOUNDED PRECEDING) AS viewers
    FROM (SELECT channel_id, joined_at AS t, 1 AS d FROM s WHERE NOT start_unknown
          UNION ALL
          SELECT channel_id, left_at, -1 FROM s WHERE NOT start_unknown AND NOT open))"""

#: The exact concurrency step function of ``s``: channel, t, viewers after each change.
STEPS = """
deltas AS (
    SELECT channel_id, t, sum(d) AS d FROM (
        SELECT channel_id, joined_at AS t, 1 AS d FROM s WHERE NOT start_unknown
        UNION ALL
        SELECT channel_id, left_at, -1 FROM s WHERE NOT start_unknown AND NOT open)
    GROUP BY channel_id, t HAVING sum(d) <> 0),
steps AS (
    SELECT channel_id, t, CAST(sum(d) OVER (PARTITION BY channel_id ORDER BY t
                                            ROWS UNBOUNDED PRECEDING) AS BIGINT) AS viewers
    FROM deltas)"""

_ORDER = "(SELECT first_seq FROM channels c WHERE c.channel_id = {}.channel_id)"


def _with(*parts: str) -> str:
    return "WITH " + ",".join(parts)


def sessions_sql(channel: int | None = None, cached: bool = False, unknown: bool = True,
                 window: tuple[int | None, int | None] = (None, None)) -> str:
    """The session table (one channel, or all), ordered by each session's first row; sessions
    overlapping ``[$start, $end)`` (ns, either may be NULL; with ``cached``, ``window`` has
    the same bounds, for the scan to skip what cannot overlap).

    >>> "ORDER BY ref_t, ref_seq" in sessions_sql()
    True
    """
    return _with(sessions_cte(channel, cached=cached, unknown=unknown, window=window)) + """
SELECT CAST(clan_id AS VARCHAR) AS clan_id, CAST(s.channel_id AS VARCHAR) AS channel_id,
       c.label AS channel_label, CAST(user_id AS VARCHAR) AS user_id, participant,
       joined_at, left_at, duration, open, start_unknown, reconciled
FROM s LEFT JOIN channels c USING (channel_id)
WHERE ($end IS NULL OR coalesce(joined_at, left_at) < $end)
  AND ($start IS NULL OR open OR left_at >= $start)
ORDER BY ref_t, ref_seq"""


def steps_sql(channel: int | None = None, cached: bool = False, unknown: bool = True) -> str:
    """The exact step function (``freq=None``), per channel in first-seen order, then time.

    >>> "viewers" in steps_sql()
    True
    """
    return _with(sessions_cte(channel, cached=cached, unknown=unknown), STEPS) + f"""
SELECT CAST(channel_id AS VARCHAR) AS channel_id, t, viewers FROM steps x
ORDER BY {_ORDER.format("x")}, t"""


def binned_sql(how: str, channel: int | None = None, cached: bool = False,
               unknown: bool = True) -> str:
    """Concurrency per ``$step``-ns bin, from each channel's first bin to the bin of ``$end``
    (or of its last change, if later); ``how`` is ``"max"`` or ``"mean"``.

    The level carried into a bin and the integral at its bounds come from ASOF joins on the
    step function; ``mean`` is the exact integral over the observed part of the bin divided
    by its width, as in :func:`~mezon_nb.analytics.concurrency.concurrency`.

    >>> "ASOF" in binned_sql("mean")
    True
    """
    if how == "max":
        value = "greatest(coalesce(a.viewers, 0), coalesce(i.inside, 0))"
    else:
        at = "coalesce({0}.area + {0}.viewers * CAST({1} - {0}.s_t AS HUGEINT), 0)"
        value = f"""CASE WHEN g.stop > g.t
            THEN CAST({at.format("e", "g.stop")} - {at.format("a", "g.t")} AS DOUBLE)
                 / CAST(g.stop - g.t AS DOUBLE)
            ELSE CAST(coalesce(a.viewers, 0) AS DOUBLE) END"""
    return _with(sessions_cte(channel, cached=cached, unknown=unknown), STEPS) + f""",
lim AS (SELECT greatest(max(t), coalesce($end, max(t))) AS e FROM steps),
areas AS (
    SELECT channel_id, t AS s_t, viewers,
           coalesce(sum(CAST(viewers AS HUGEINT) * (next_t - t)) OVER (
               PARTITION BY channel_id ORDER BY t ROWS BETWEEN UNBOUNDED PRECEDING
               AND 1 PRECEDING), 0) AS area
    FROM (SELECT *, lead(t) OVER (PARTITION BY channel_id ORDER BY t) AS next_t FROM steps)),
grid0 AS (
    SELECT channel_id, unnest(range((min(t) // $step), (any_value(e) // $step) + 1))
               * $step AS t, any_value(e) AS e
    FROM steps, lim GROUP BY channel_id),
grid AS (SELECT channel_id, t, least(t + $step, e) AS stop FROM grid0),
inside AS (SELECT channel_id, (t // $step) * $step AS t, max(viewers) AS inside
           FROM steps GROUP BY ALL),
atstart AS (SELECT g.channel_id, g.t, s.viewers, s.area, s.s_t FROM grid g
            ASOF LEFT JOIN areas s ON g.channel_id = s.channel_id AND s.s_t <= g.t),
atstop AS (SELECT g.channel_id, g.t, s.viewers, s.area, s.s_t FROM grid g
           ASOF LEFT JOIN areas s ON g.channel_id = s.channel_id AND s.s_t <= g.stop)
SELECT CAST(g.channel_id AS VARCHAR) AS channel_id, g.t, {value} AS viewers
FROM grid g
LEFT JOIN inside i USING (channel_id, t)
LEFT JOIN atstart a USING (channel_id, t)
LEFT JOIN atstop e USING (channel_id, t)
ORDER BY {_ORDER.format("g")}, g.t"""


#: Each channel's median known duration, exactly, without sorting them all: counts per bucket
#: of ``2**30`` ns (about a second) find the buckets holding the middle rank(s), and only
#: their durations are sorted (the middle value, or the mean of the two, truncated as pandas).
MEDIANS = """
known AS (SELECT channel_id, duration FROM s WHERE duration IS NOT NULL),
buckets AS (
    SELECT channel_id, b, c, sum(c) OVER (PARTITION BY channel_id ORDER BY b
                                          ROWS UNBOUNDED PRECEDING) - c AS below,
           sum(c) OVER (PARTITION BY channel_id) AS n
    FROM (SELECT channel_id, duration // 1073741824 AS b, count(*) AS c FROM known GROUP BY ALL)),
wanted AS (
    SELECT channel_id, b, below, (n + 1) // 2 AS r1, (n + 2) // 2 AS r2 FROM buckets
    WHERE (n + 1) // 2 BETWEEN below + 1 AND below + c
       OR (n + 2) // 2 BETWEEN below + 1 AND below + c),
middle AS (
    SELECT k.channel_id, k.duration, w.r1, w.r2,
           w.below + row_number() OVER (PARTITION BY k.channel_id, w.b ORDER BY k.duration) AS r
    FROM known k JOIN wanted w ON k.channel_id = w.channel_id AND k.duration // 1073741824 = w.b),
medians AS (
    SELECT channel_id, trunc(avg(CAST(duration AS DOUBLE))) AS median_watch
    FROM middle WHERE r = r1 OR r = r2 GROUP BY channel_id)"""

#: The peak from :data:`LEVELS`, or (``cached``) from the session cache's ``sess_peaks``.
_PEAKS = """
peaks AS (
    SELECT channel_id, max(viewers) AS peak_viewers,
           arg_max(t, {'v': viewers, 'first': -t}) AS peak_at
    FROM levels WHERE viewers > 0 GROUP BY channel_id)"""
_CACHED_PEAKS = """
peaks AS (SELECT channel_id, peak_viewers, peak_at FROM sess_peaks)"""


def summary_sql(cached: bool = False, unknown: bool = True) -> str:
    """One row per channel with sessions, in first-seen order (see :func:`summary.summary`).

    >>> "returning_viewers" in summary_sql(), "levels" in summary_sql(cached=True)
    (True, False)
    """
    peaks = [_CACHED_PEAKS] if cached else [LEVELS, _PEAKS]
    return _with(sessions_cte(slim=True, cached=cached, unknown=unknown), *peaks, MEDIANS) + """,
totals AS (
    SELECT channel_id,
           arg_min(clan_id, {'t': ref_t, 's': ref_seq}) FILTER (WHERE clan_id IS NOT NULL)
               AS clan_id,
           count(*) AS sessions, coalesce(sum(duration), 0) AS total_watch
    FROM s GROUP BY channel_id),
viewers AS (   -- grouped, not DISTINCT / holistic aggregates: these spill to disk
    SELECT channel_id, count(*) AS unique_viewers,
           count(*) FILTER (WHERE n > 1) AS returning_viewers
    FROM (SELECT channel_id, user_id, count(*) AS n FROM s GROUP BY ALL) GROUP BY channel_id),
messages AS (SELECT channel_id, count(*) AS messages FROM ev WHERE kind = 'message'
             GROUP BY channel_id)
SELECT CAST(x.clan_id AS VARCHAR) AS clan_id, CAST(x.channel_id AS VARCHAR) AS channel_id,
       c.label AS channel_label, unique_viewers, sessions,
       coalesce(peak_viewers, 0) AS peak_viewers, peak_at, total_watch,
       CAST(median_watch AS BIGINT) AS median_watch, returning_viewers,
       coalesce(messages, 0) AS messages
FROM totals x LEFT JOIN channels c USING (channel_id) LEFT JOIN viewers USING (channel_id)
LEFT JOIN medians USING (channel_id) LEFT JOIN peaks USING (channel_id)
LEFT JOIN messages USING (channel_id)
ORDER BY c.first_seq"""


def users_sql(cached: bool = False, unknown: bool = True) -> str:
    """One row per user who watched, by ``first_seen`` (see :func:`summary.users`).

    >>> "first_seen" in users_sql()
    True
    """
    return _with(sessions_cte(cached=cached, unknown=unknown)) + """,
per_user AS (
    SELECT user_id,
           arg_max(participant, {'t': ref_t, 's': ref_seq})
               FILTER (WHERE participant IS NOT NULL) AS participant,
           count(*) AS sessions, coalesce(sum(duration), 0) AS total_watch,
           min(coalesce(joined_at, left_at)) AS first_seen,
           max(greatest(joined_at, left_at)) AS last_seen,
           count(DISTINCT channel_id) AS channels
    FROM s GROUP BY user_id),
seen AS (SELECT user_id, min(seq) AS first_seq,
                count(*) FILTER (WHERE kind = 'message') AS messages
         FROM ev WHERE user_id IS NOT NULL GROUP BY user_id)
SELECT CAST(user_id AS VARCHAR) AS user_id, participant, sessions, total_watch, first_seen,
       last_seen, channels, messages
FROM per_user JOIN seen USING (user_id) ORDER BY first_seen, first_seq"""


def durations_sql(channel: int | None = None, cached: bool = False, unknown: bool = True
                  ) -> str:
    """Known session durations with their counts of leaves and censorings (open sessions).

    >>> "censored" in durations_sql()
    True
    """
    return _with(sessions_cte(channel, cached=cached, unknown=unknown)) + """
SELECT duration, count(*) FILTER (WHERE NOT open) AS left,
       count(*) FILTER (WHERE open) AS censored
FROM s WHERE duration IS NOT NULL GROUP BY duration ORDER BY duration"""


def chat_sql(channel: int | None = None) -> str:
    """Messages per ``$step``-ns bin per channel, from its first message to the bin of
    ``$end`` (or of the last message, if later).

    >>> "messages" in chat_sql()
    True
    """
    only = "" if channel is None else f" AND channel_id = {int(channel)}"
    return f"""WITH
m AS (SELECT channel_id, t FROM ev WHERE kind = 'message'{only}),
lim AS (SELECT greatest(max(t), coalesce($end, max(t))) AS e FROM m),
counts AS (SELECT channel_id, (t // $step) * $step AS t, count(*) AS messages
           FROM m GROUP BY ALL),
grid AS (SELECT channel_id, unnest(range((min(t) // $step), (any_value(e) // $step) + 1))
                * $step AS t FROM m, lim GROUP BY channel_id)
SELECT CAST(g.channel_id AS VARCHAR) AS channel_id, g.t, coalesce(messages, 0) AS messages
FROM grid g LEFT JOIN counts USING (channel_id, t)
ORDER BY {_ORDER.format("g")}, g.t"""


def rebuild_sql() -> dict[str, str]:
    """The statements that recompute a session cache from the events: ``table`` makes the
    temp table ``rebuilt`` (every session, from :func:`sessions_cte`), then ``closed`` (the
    rows of the cache's file, by channel and start), ``open``, ``newest``, ``unknown`` and
    ``levels`` read it (see :class:`~mezon_nb.analytics.session_cache.SessionState`).

    >>> sorted(rebuild_sql())
    ['closed', 'levels', 'newest', 'open', 'table', 'unknown']
    """
    ids = "CAST(channel_id AS VARCHAR) AS channel_id"
    return {
        "table": "CREATE TEMP TABLE rebuilt AS " + _with(sessions_cte()).replace("$until", "0")
                 + "\nSELECT * FROM s",
        "closed": "SELECT channel_id, user_id, clan_id, participant, ref_t, left_at, "
                  "start_unknown, ref_seq, reconciled FROM rebuilt WHERE NOT open "
                  "ORDER BY channel_id, ref_t, ref_seq",
        "open": f"SELECT {ids}, CAST(user_id AS VARCHAR), CAST(clan_id AS VARCHAR), participant, "
                "joined_at, ref_seq, reconciled FROM rebuilt WHERE open ORDER BY ref_t, ref_seq",
        "newest": f"SELECT {ids}, max(t) FROM ev WHERE kind IN ('joined', 'left') "
                  "AND user_id IS NOT NULL GROUP BY channel_id",
        "unknown": "SELECT count(*) FROM rebuilt WHERE start_unknown",
        "levels": _with("s AS (SELECT * FROM rebuilt)", LEVELS) + f""",
last AS (SELECT channel_id, max(t) AS last_t FROM levels GROUP BY channel_id),
counts AS (SELECT channel_id, count(*) FILTER (WHERE open) AS viewers FROM s
           WHERE NOT start_unknown GROUP BY channel_id),
before AS (   -- the peak of every instant but the last (a later roll may add to that one)
    SELECT l.channel_id, max(viewers) AS peak,
           arg_max(t, {{'v': viewers, 'first': -t}}) AS peak_at
    FROM levels l JOIN last USING (channel_id) WHERE t < last_t AND viewers > 0
    GROUP BY l.channel_id)
SELECT {ids}, coalesce(c.viewers, 0), coalesce(peak, 0), peak_at, last_t
FROM last LEFT JOIN counts c USING (channel_id) LEFT JOIN before USING (channel_id)"""}


__all__ = ["LEVELS", "MEDIANS", "STEPS", "binned_sql", "chat_sql", "durations_sql",
           "rebuild_sql", "sessions_cte", "sessions_sql", "steps_sql", "summary_sql", "users_sql"]
