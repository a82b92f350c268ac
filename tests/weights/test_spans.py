"""The span plan (pieces in order, stealing half of the largest) and --limit-rate parsing."""

from __future__ import annotations

import pytest

from lipforge.errors import ConfigError
from lipforge.weights.control import ControlState, load_control, save_control
from lipforge.weights.ratelimit import parse_rate
from lipforge.weights.spans import SpanPlan, missing_spans


def test_resumed_plan_fetches_only_the_missing_spans():
    plan = SpanPlan(1000, [(0, 300), (500, 600)], parts=2, min_split_bytes=10)
    segments = [plan.next_segment(), plan.next_segment(), plan.next_segment()]
    fetched = sorted((s.start, s.end) for s in segments if s is not None)
    assert sum(e - s for s, e in fetched) == 600
    assert missing_spans(1000, [(0, 300), (500, 600)]) == [(300, 500), (600, 1000)]


def test_an_idle_connection_takes_half_of_the_largest_remaining_segment():
    plan = SpanPlan(1000, [], parts=1, min_split_bytes=10)
    first = plan.next_segment()
    offset, count = plan.reserve(first, 200)
    plan.commit(first, count)
    stolen = plan.next_segment()
    assert (stolen.start, stolen.end) == (600, 1000) and first.end == 600
    assert plan.reserve(first, 1000) == (200, 400)  # the victim stops where the thief starts


def test_pieces_are_handed_out_in_file_order_and_the_prefix_grows():
    plan = SpanPlan(100, [], parts=4, min_split_bytes=1, max_piece_bytes=10)
    starts = [plan.next_segment().start for _ in range(4)]
    assert starts == [0, 10, 20, 30]
    assert plan.prefix_bytes() == 0


def test_control_file_round_trip_and_garbage(tmp_path):
    path = tmp_path / "x.part.json"
    save_control(path, ControlState(100, "ab", {"u": {"etag": '"e"'}}, [(0, 10), (10, 20)]))
    assert load_control(path).done == [(0, 20)]
    path.write_text("{not json")
    assert load_control(path) is None


@pytest.mark.parametrize(
    ("text", "rate"), [("5M", 5 * 1024**2), ("500k", 500 * 1024), ("1.5G", 1.5 * 1024**3)]
)
def test_rates(text, rate):
    assert parse_rate(text) == rate


def test_bad_rate_says_how_to_write_one():
    with pytest.raises(ConfigError, match="5M"):
        parse_rate("fast")
