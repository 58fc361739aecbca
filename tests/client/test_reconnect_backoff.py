"""The reconnect rule in simulated time: the delays a run of losses gets, with no clock at all.

Covers: the first retry after a loss waits at most FIRST_RETRY_JITTER; failed retries back off
(the ceiling doubles from reconnect_delay[0] to reconnect_delay[1], each delay in its upper
half); only a connection that was set up and lasted STABLE_AFTER restarts the sequence, so a
server that accepts and drops at once is not hammered. The supervisor's use of it against a
server is in test_realtime_hostile.py.
"""

from __future__ import annotations

import random

import pytest

from mezon_nb.client.realtime import FIRST_RETRY_JITTER, STABLE_AFTER, Backoff


@pytest.mark.parametrize("seed", range(20))
def test_first_retry_is_immediate_then_the_ceiling_doubles_to_the_cap(seed):
    random.seed(seed)
    backoff = Backoff(0.5, 4.0)
    delays = [backoff.delay() for _ in range(8)]
    assert 0 <= delays[0] <= FIRST_RETRY_JITTER
    for delay, ceiling in zip(delays[1:], [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]):
        assert ceiling / 2 <= delay <= ceiling


def simulate(timeline, first=0.5, cap=8.0):
    """Play ``timeline`` (per connection: (set up?, seconds it lasted)) on a simulated clock;
    return each connection's start time and the delay chosen after it was lost."""
    random.seed(1)
    backoff, now, log = Backoff(first, cap), 0.0, []
    for set_up, lasted in timeline:
        start = now
        now += lasted
        backoff.lost(set_up=set_up, lasted=lasted)
        delay = backoff.delay()
        log.append((start, delay))
        now += delay
    return log


def test_a_flapping_server_backs_off_and_a_stable_connection_resets():
    log = simulate([
        (True, 3600.0),         # an hour of service, then a drop: retry at once
        (False, 0.01),          # the retry dies during its set-up: back off
        (False, 0.01),          # ... and again, longer
        (True, 0.5),            # set up, but lost after 0.5 s (< STABLE_AFTER): no reset
        (True, STABLE_AFTER),   # stable: the next loss is retried at once again
        (True, 0.5),
    ])
    delays = [delay for _, delay in log]
    assert delays[0] <= FIRST_RETRY_JITTER
    assert 0.25 <= delays[1] <= 0.5 and 0.5 <= delays[2] <= 1.0 and 1.0 <= delays[3] <= 2.0
    assert delays[4] <= FIRST_RETRY_JITTER
    assert 0.25 <= delays[5] <= 0.5
    # Blind time after the hour-long connection: from the drop to the next set-up connection.
    blind = log[3][0] - (log[0][0] + 3600.0)
    assert blind == pytest.approx(sum(delays[:3]) + 0.02)
    assert blind < 1.6  # immediate first retry: 0.75-1.5 s of backoff, not the old 1.75-3.5 s


def test_a_server_that_accepts_and_drops_at_once_never_gets_immediate_retries():
    log = simulate([(True, 0.05)] * 12, first=0.5, cap=8.0)
    delays = [delay for _, delay in log]
    assert delays[0] <= FIRST_RETRY_JITTER
    assert all(delay >= 0.25 for delay in delays[1:])
    assert all(4.0 <= delay <= 8.0 for delay in delays[5:])
