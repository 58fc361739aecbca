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

Every query is one statement built from named CTEs (:func:`sessions_cte`, :data:`STEPS`, then
in :func:`summary_sql` one CTE per group of columns, joined on ``channel_id``), so another
per-channel figure (e.g. blind time from reconnect gaps) is one more CTE and one more join.

>>> sql = summary_sql()
>>> sql.count("WITH"), "peaks" in sql
(1, True)
"""

from __future__ import annotations


def sessions_cte(channel: int | None = None, slim: bool = False) -> str:
    """CTEs ``runs``, ``marked``, ``s0``, ``s``: one row per session (ids, ``joined_at``,
    ``left_at``, ``duration`` in ns, flags, and its first row ``ref_t``, ``ref_seq``).

    ``channel`` (an int64 id) keeps one channel, filtered in the scan (Parquet statistics skip
    the rest); ``slim`` leaves out ``participant`` and ``reconciled`` (lighter sorts, for
    totals); ``$until`` is the time open sessions are measured to (ns).

    >>> "channel_id = 6" in sessions_cte(6), "participant" in sessions_cte(slim=True)
    (True, False)
    """
    only = "" if channel is None else f" AND channel_id = {int(channel)}"
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
    SELECT *, CASE WHEN start_unknown THEN NULL
                   WHEN open THEN greatest($until - joined_at, 0)
                   ELSE greatest(left_at - joined_at, 0) END AS duration
    FROM s0)"""


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


def sessions_sql(channel: int | None = None) -> str:
    """The session table (one channel, or all), ordered by each session's first row; sessions
    overlapping ``[$start, $end)`` (ns, either may be NULL).

    >>> "ORDER BY ref_t, ref_seq" in sessions_sql()
    True
    """
    return _with(sessions_cte(channel)) + """
SELECT CAST(clan_id AS VARCHAR) AS clan_id, CAST(s.channel_id AS VARCHAR) AS channel_id,
       c.label AS channel_label, CAST(user_id AS VARCHAR) AS user_id, participant,
       joined_at, left_at, duration, open, start_unknown, reconciled
FROM s LEFT JOIN channels c USING (channel_id)
WHERE ($end IS NULL OR coalesce(joined_at, left_at) < $end)
  AND ($start IS NULL OR open OR left_at >= $start)
ORDER BY ref_t, ref_seq"""


def steps_sql(channel: int | None = None) -> str:
    """The exact step function (``freq=None``), per channel in first-seen order, then time.

    >>> "viewers" in steps_sql()
    True
    """
    return _with(sessions_cte(channel), STEPS) + f"""
SELECT CAST(channel_id AS VARCHAR) AS channel_id, t, viewers FROM steps x
ORDER BY {_ORDER.format("x")}, t"""


def binned_sql(how: str, channel: int | None = None) -> str:
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
    return _with(sessions_cte(channel), STEPS) + f""",
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


def summary_sql() -> str:
    """One row per channel with sessions, in first-seen order (see :func:`summary.summary`).

    >>> "returning_viewers" in summary_sql()
    True
    """
    return _with(sessions_cte(slim=True), LEVELS) + """,
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
ranked AS (
    SELECT channel_id, duration,
           row_number() OVER (PARTITION BY channel_id ORDER BY duration) AS r,
           count(*) OVER (PARTITION BY channel_id) AS n
    FROM s WHERE duration IS NOT NULL),
medians AS (   -- the middle value, or the mean of the two middle ones, truncated (as pandas)
    SELECT channel_id, trunc(avg(CAST(duration AS DOUBLE))) AS median_watch
    FROM ranked WHERE r IN ((n + 1) // 2, (n + 2) // 2) GROUP BY channel_id),
peaks AS (
    SELECT channel_id, max(viewers) AS peak_viewers,
           arg_max(t, {'v': viewers, 'first': -t}) AS peak_at
    FROM levels WHERE viewers > 0 GROUP BY channel_id),
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


def users_sql() -> str:
    """One row per user who watched, by ``first_seen`` (see :func:`summary.users`).

    >>> "first_seen" in users_sql()
    True
    """
    return _with(sessions_cte()) + """,
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


def durations_sql(channel: int | None = None) -> str:
    """Known session durations with their counts of leaves and censorings (open sessions).

    >>> "censored" in durations_sql()
    True
    """
    return _with(sessions_cte(channel)) + """
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


__all__ = ["LEVELS", "STEPS", "binned_sql", "chat_sql", "durations_sql", "sessions_cte", "sessions_sql",
           "steps_sql", "summary_sql", "users_sql"]
