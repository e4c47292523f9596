"""The bookkeeping of ranged downloads: intervals, pieces and the ranges file beside a part."""

from __future__ import annotations

import json

import pytest

from crunch.exceptions import ConfigurationError
from crunch.transfer import ranges


def test_intervals_merge_holes_and_prefix():
    assert ranges.merge([(5, 9), (0, 3), (3, 4), (8, 12), (20, 20)]) == [(0, 4), (5, 12)]
    assert ranges.holes([(0, 4), (5, 12)], 15) == [(4, 5), (12, 15)]
    assert ranges.holes([], 7) == [(0, 7)]
    assert ranges.holes([(0, 7)], 7) == []
    assert ranges.prefix_end([(5, 12), (0, 4)]) == 4
    assert ranges.prefix_end([(1, 4)]) == 0
    assert ranges.split([(0, 10), (20, 25)], 4) == [(0, 4), (4, 8), (8, 10), (20, 24), (24, 25)]


def test_piece_size_is_bounded():
    gib = 1 << 30
    assert ranges.piece_size(gib, 8, ranges.MIN_PIECE) == 32 << 20
    assert ranges.piece_size(100 << 20, 8, ranges.MIN_PIECE) == ranges.MIN_PIECE
    assert ranges.piece_size(64 * gib, 8, ranges.MIN_PIECE) == ranges.MAX_PIECE


def test_connections_setting(monkeypatch):
    monkeypatch.delenv(ranges.CONNECTIONS_VARIABLE, raising=False)
    auto = ranges.Connections(ranges.DEFAULT_CONNECTIONS, adaptive=True)
    assert ranges.connections_setting() == auto
    assert ranges.connections_setting(3) == ranges.Connections(3)
    assert ranges.connections_setting("auto") == ranges.connections_setting(" AUTO ") == auto
    assert ranges.connections_setting("5") == ranges.Connections(5)
    monkeypatch.setenv(ranges.CONNECTIONS_VARIABLE, "2")
    assert ranges.connections_setting() == ranges.Connections(2)
    monkeypatch.setenv(ranges.CONNECTIONS_VARIABLE, "auto")
    assert ranges.connections_setting() == auto
    for bad in ("0", "99", "many", "-1"):
        monkeypatch.setenv(ranges.CONNECTIONS_VARIABLE, bad)
        with pytest.raises(ConfigurationError, match="use auto, or 1"):
            ranges.connections_setting()
        with pytest.raises(ConfigurationError, match="use auto, or 1"):
            ranges.connections_setting(bad)
    assert not ranges.worth_ranges(2 * ranges.MIN_PIECE, 1)
    assert not ranges.worth_ranges(None, 8)
    assert ranges.worth_ranges(2 * ranges.MIN_PIECE, 8) and not ranges.worth_ranges(2 * ranges.MIN_PIECE - 1, 8)
    assert ranges.worth_ranges(2 * ranges.MIN_PIECE, auto)


def test_adaptive_steps_go_on_while_they_pay_and_back_one_for_good():
    steps = [1, 2, 8]
    # one connection measured: try two
    assert ranges.next_step(steps, 0, [100.0]) == (1, False)
    # one connection that gets more than the sha256 could follow stays alone
    assert ranges.next_step(steps, 0, [float(ranges.FAST_ENOUGH)]) == (0, True)
    # two got no more than one (a machine that one connection fills): back to one, for good
    assert ranges.next_step(steps, 1, [100.0, 120.0]) == (0, True)
    # two got nearly twice one (a link capped per connection): try the most
    assert ranges.next_step(steps, 1, [40.0, 79.0]) == (2, False)
    # the most paid again: stay there
    assert ranges.next_step(steps, 2, [40.0, 79.0, 300.0]) == (2, True)
    # the most added too little over two: back to two
    assert ranges.next_step(steps, 2, [40.0, 79.0, 90.0]) == (1, True)
    # a step held back by the sha256 (its writer waited for the hash thread) goes no further
    assert ranges.next_step(steps, 0, [100.0], hash_bound=True) == (0, True)
    assert ranges.next_step(steps, 1, [40.0, 79.0], hash_bound=True) == (1, True)
    assert ranges.next_step(steps, 1, [100.0, 120.0], hash_bound=True) == (0, True)
    # a fixed count is one step, already final
    assert ranges.next_step([4], 0, [10.0]) == (0, True)


def test_ranges_file_round_trip_and_what_it_cannot_claim(tmp_path):
    part = tmp_path / "x.bin.part"
    assert ranges.load_done(part, 100, "ab") == []  # no part: nothing
    part.write_bytes(b"\0" * 60)
    assert ranges.load_done(part, 100, "ab") == [(0, 60)]  # a part without ranges file: a prefix
    ranges.save_done(part, 100, "ab", [(50, 80), (0, 10), (10, 20)])
    assert json.loads(ranges.ranges_path(part).read_text())["done"] == [[0, 20], [50, 80]]
    assert ranges.load_done(part, 100, "ab") == [(0, 20), (50, 60)]  # never past the part's end
    assert ranges.load_done(part, 101, "ab") == []  # another size: another file
    assert ranges.load_done(part, 100, "cd") == []  # another sha256: another file
    ranges.ranges_path(part).write_text("{not json")
    assert ranges.load_done(part, 100, "ab") == []
    ranges.forget(part)
    assert not ranges.ranges_path(part).exists()
