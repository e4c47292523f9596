"""crunch.api.deadline: the clock-driven parts, with a fake clock and fake bodies."""

from __future__ import annotations

from typing import Iterator, List

import pytest

from crunch.api.deadline import DeadlineExceeded, ProgressFloor, TooSlow, answer_seconds, read_body


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeResponse:
    """A streamed response whose pieces arrive ``step`` seconds apart on ``clock``."""

    def __init__(self, pieces: List[bytes], clock: Clock, step: float) -> None:
        self.pieces, self.clock, self.step = pieces, clock, step
        self.closed = False
        self.raw = self  # no read1: read through stream(), as with an older urllib3
        self.headers: dict = {}  # no Content-Encoding, no Content-Length: the body as it comes

    def stream(self, size: int, decode_content: bool = False) -> Iterator[bytes]:
        for piece in self.pieces:
            self.clock.now += self.step
            yield piece

    def close(self) -> None:
        self.closed = True


def test_a_body_whole_in_time_is_returned() -> None:
    clock = Clock()
    response = FakeResponse([b"a", b"b", b"c"], clock, step=0.5)
    assert read_body(response, deadline=2.0, clock=clock) == b"abc"
    assert response.closed


def test_a_trickled_body_stops_at_the_deadline_not_at_its_end() -> None:
    clock = Clock()
    response = FakeResponse([b"x"] * 1000, clock, step=1.0)  # a byte a second: 1000 s in all
    with pytest.raises(DeadlineExceeded):
        read_body(response, deadline=answer_seconds(2.0), clock=clock)
    assert 4.0 < clock.now <= 5.0  # stopped just past the 4 s deadline
    assert response.closed


def test_a_stream_above_the_floor_goes_on_for_as_long_as_it_takes() -> None:
    clock = Clock()
    floor = ProgressFloor(window=1.0, rate=1024, clock=clock)
    for _ in range(10_000):  # 2 KiB every second, for almost three hours
        clock.now += 1.0
        floor.update(2048)


def test_a_stream_below_the_floor_over_a_window_is_cut() -> None:
    clock = Clock()
    floor = ProgressFloor(window=5.0, rate=1024, clock=clock)
    floor.update(100_000)  # a fast start does not buy a later stall beyond its window
    clock.now += 5.0
    floor.update(0)
    with pytest.raises(TooSlow) as caught:
        for _ in range(10):
            clock.now += 1.0
            floor.update(500)  # 500 B/s
    assert caught.value.received < 1024 * caught.value.window
    assert 5.0 <= caught.value.window < 6.5
