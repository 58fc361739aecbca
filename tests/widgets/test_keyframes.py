"""KeyframeGate in simulated time: no delta frame reaches a decoder after a break, requests
are rate limited and repeated while unanswered, and the picture resumes at the next keyframe."""

from __future__ import annotations

import itertools
import random

import pytest

from mezon_nb.widgets.keyframes import KeyframeGate


class ModelDecoder:
    """A decoder that can only decode a delta frame right after the frame it decoded last."""

    def __init__(self) -> None:
        self.last: int | None = None
        self.bad = 0

    def decode(self, seq: int, key: bool) -> None:
        if not key and (self.last is None or seq != self.last + 1):
            self.bad += 1
        self.last = seq


def stream(seconds: float, fps: int = 30, gop: int = 60, loss: float = 0.0, seed: int = 0,
           keyframe_at: list[float] | None = None):
    """(seq, key, time) of a stream with a keyframe every ``gop`` frames (and at the times in
    ``keyframe_at``), each frame lost with probability ``loss``."""
    rng = random.Random(seed)
    forced = sorted(keyframe_at or [])
    for seq in range(int(seconds * fps)):
        now = seq / fps
        key = seq % gop == 0 or bool(forced and forced[0] <= now)
        if forced and forced[0] <= now:
            forced.pop(0)
        if rng.random() >= loss:
            yield seq, key, now


@pytest.mark.parametrize("loss", [0.0, 0.01, 0.1, 0.5])
@pytest.mark.parametrize("seed", range(5))
def test_no_delta_frame_reaches_the_decoder_after_a_gap(loss, seed):
    gate, decoder = KeyframeGate(min_interval=0.5), ModelDecoder()
    requests = []
    for seq, key, now in stream(20, loss=loss, seed=seed):
        decision = gate.offer(seq, key, now)
        if decision.forward:
            decoder.decode(seq, key)
        if decision.request_keyframe:
            requests.append(now)
    assert decoder.bad == 0
    assert all(b - a >= 0.5 for a, b in itertools.pairwise(requests))
    if loss == 0.0:
        assert gate.dropped == 0 and requests == []  # starts on a keyframe, never breaks
        assert gate.forwarded == 600


def test_requests_repeat_until_a_keyframe_answers():
    gate = KeyframeGate(min_interval=0.5)
    assert gate.offer(0, True, 0.0).forward
    assert gate.decoder_error(1.0) is True
    asked = [t / 10 for t in range(11, 40) if gate.poll(t / 10)]
    assert asked == [1.5, 2.0, 2.5, 3.0, 3.5]
    assert not gate.offer(1, False, 4.0).forward  # a delta, even in sequence, waits
    assert gate.offer(2, True, 4.1).forward
    assert gate.poll(10.0) is False  # answered: no more requests
    assert gate.breaks == {"decoder_error": 1}


def test_a_keyframe_request_is_answered_and_the_picture_resumes():
    # frames lost at 1.0-1.2 s; the sender answers the first request with a keyframe 0.1 s later
    gate, decoder = KeyframeGate(), ModelDecoder()
    forwarded_after = []
    answered: list[float] = []
    for seq, key, now in stream(4, gop=10_000):
        if 1.0 <= now < 1.2:
            continue
        key = key or bool(answered and answered[0] <= now)
        if key and answered:
            answered.clear()
        decision = gate.offer(seq, key, now)
        if decision.request_keyframe:
            answered.append(now + 0.1)
        if decision.forward:
            decoder.decode(seq, key)
            if now > 1.2:
                forwarded_after.append(now)
    assert decoder.bad == 0
    assert gate.requests == 1
    assert forwarded_after and forwarded_after[0] == pytest.approx(1.2 + 0.1, abs=0.05)
    assert len(forwarded_after) >= 70


def test_skipped_frames_and_a_browser_behind_are_breaks():
    gate, decoder = KeyframeGate(), ModelDecoder()
    for seq in range(10):
        if seq == 3:
            gate.skipped(seq)
            continue
        if seq == 7:
            assert gate.fell_behind(0.65) is False  # the gap's request (0.4 s) is too recent
            assert gate.poll(0.9) is True  # 0.5 s later: asked again
        decision = gate.offer(seq, seq in (0, 5), seq / 10)
        if decision.forward:
            decoder.decode(seq, seq in (0, 5))
    assert decoder.bad == 0
    assert gate.forwarded == 5  # 0,1,2 then 5,6; after falling behind nothing until a key
    assert gate.breaks == {"skipped": 1, "behind": 1}


def test_old_or_repeated_frames_are_dropped_and_bad_settings_refused():
    gate = KeyframeGate()
    assert gate.offer(5, True, 0.0).forward
    assert not gate.offer(5, True, 0.1).forward
    assert not gate.offer(2, True, 0.1).forward
    assert gate.offer(6, False, 0.2).forward  # a repeat is not a break
    with pytest.raises(ValueError):
        KeyframeGate(min_interval=0)


@pytest.mark.parametrize("seed", range(5))
def test_a_frame_the_jitter_buffer_marks_as_after_a_loss_is_a_break(seed):
    """RTP loss does not show in the frame numbers (the receiver counts the frames it
    releases): only the ``gap`` flag says it. The model decoder knows the sender's numbers."""
    rng = random.Random(seed)
    gate, decoder = KeyframeGate(min_interval=0.5), ModelDecoder()
    received = 0
    requests = []
    lost_before = False
    for sender_seq, key, now in stream(20, gop=60):
        if rng.random() < 0.05:
            lost_before = True
            continue
        decision = gate.offer(received, key, now, gap=lost_before)
        received, lost_before = received + 1, False
        if decision.forward:
            decoder.decode(sender_seq, key)
        if decision.request_keyframe:
            requests.append(now)
    assert decoder.bad == 0 and gate.breaks.get("loss", 0) >= 1
    assert "gap" not in gate.breaks
    assert requests and all(b - a >= 0.5 for a, b in itertools.pairwise(requests))
