"""The replay chart's layout helpers (issue 12, item 2): records that would overlap are
grouped, labels are wrapped instead of cut."""

from __future__ import annotations

from api.replay import _wrap, clusters


def test_records_closer_than_the_gap_in_a_lane_form_one_group():
    points = [("a", 0, 10.0), ("b", 0, 14.0), ("c", 1, 12.0), ("d", 0, 26.0),
              ("e", 0, 41.9), ("f", 0, 42.0)]
    groups = clusters(points, 16)
    assert groups == [["a", "b"], ["d", "e"], ["f"], ["c"]]
    # every record in exactly one group; group starts at least a gap apart in a lane
    assert sorted(r for g in groups for r in g) == list("abcdef")


def test_groups_keep_the_log_order_of_their_records():
    # "late" is created first in the log but drawn to the right of "early" (clock skew)
    assert clusters([("late", 0, 5.0), ("early", 0, 1.0)], 10) == [["late", "early"]]


def test_a_long_label_is_wrapped_between_words_and_never_cut_when_it_fits():
    lines = _wrap("IT-avdelningen (kommunledningskontoret)", 31)
    assert lines == ["IT-avdelningen", "(kommunledningskontoret)"]
    assert " ".join(lines) == "IT-avdelningen (kommunledningskontoret)"
    assert _wrap("V1 Digitalisering", 28) == ["V1 Digitalisering"]


def test_a_word_longer_than_a_line_is_broken_and_too_many_lines_end_in_an_ellipsis():
    assert _wrap("kommunledningsförvaltningen", 10) == ["kommunled-", "ningsförv-",
                                                       "altningen"]
    lines = _wrap("one two three four five six seven", 5, lines=2)
    assert len(lines) == 2 and lines[-1].endswith("…") and len(lines[-1]) <= 5
