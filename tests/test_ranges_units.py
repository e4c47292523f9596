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
    assert ranges.connections_setting() == ranges.DEFAULT_CONNECTIONS
    assert ranges.connections_setting(3) == 3
    monkeypatch.setenv(ranges.CONNECTIONS_VARIABLE, "2")
    assert ranges.connections_setting() == 2
    for bad in ("0", "99", "many"):
        monkeypatch.setenv(ranges.CONNECTIONS_VARIABLE, bad)
        with pytest.raises(ConfigurationError):
            ranges.connections_setting()
    assert not ranges.worth_ranges(2 * ranges.MIN_PIECE, 1)
    assert not ranges.worth_ranges(None, 8)
    assert ranges.worth_ranges(2 * ranges.MIN_PIECE, 8) and not ranges.worth_ranges(2 * ranges.MIN_PIECE - 1, 8)


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
