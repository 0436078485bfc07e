"""Charts drawn as text."""

from __future__ import annotations

import math

from tmt.textchart import BLOCKS, end_cells, line_chart, multi_line_chart, sparkline


class TestSparkline:
    def test_rises_from_the_lowest_to_the_highest_block(self) -> None:
        assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == BLOCKS

    def test_flat_gaps_and_empty(self) -> None:
        assert sparkline([2, 2]) == BLOCKS[4] * 2
        assert sparkline([0, math.nan, 1])[1] == " "
        assert sparkline([]) == ""

    def test_resampled_to_a_width(self) -> None:
        assert len(sparkline(list(range(1000)), width=30)) == 30


class TestLineChart:
    def test_height_axes_and_labels(self) -> None:
        lines = line_chart([0, 1, 2], [10.0, 5.0, 0.0], width=40, height=8)
        assert len(lines) == 8
        assert lines[0].startswith("10 ┤") and lines[-3].startswith(" 0 ┤")
        assert lines[-2].lstrip().startswith("└")
        assert lines[-1].split() == ["0", "2"]

    def test_a_falling_line_starts_high_and_ends_low(self) -> None:
        lines = line_chart([0, 1], [1.0, 0.0], width=20, height=6)
        plot = [line.split("┤", 1)[1] for line in lines[:-2]]
        assert plot[0].strip() and plot[0].index(plot[0].strip()[0]) == 0
        assert plot[-1].rstrip().endswith(plot[-1].strip()[-1])

    def test_no_data(self) -> None:
        assert line_chart([], []) == ["(no data)"]

    def test_overlaid_series_report_their_cells(self) -> None:
        _, cells = multi_line_chart([([0, 1], [0, 0]), ([0, 1], [1, 1])], width=20, height=6)
        top, bottom = cells[1][0], cells[0][-1]
        assert any(top) and any(bottom) and not any(cells[0][0])

    def test_a_log_scale_is_labelled_with_the_values(self) -> None:
        lines, _ = multi_line_chart([([0, 1, 2], [1000.0, 10.0, 0.1])], 30, 10, logy=True)
        assert lines[0].startswith("1000 ┤") and lines[-3].startswith(" 0.1 ┤")
        rows = [line.split("┤")[1] for line in lines[:-2]]
        middle = next(r for r, row in enumerate(rows) if row[len(row) // 2] != " ")
        assert 2 <= middle <= 5  # 10 halfway down, as a log scale puts it

    def test_a_log_scale_leaves_out_values_that_are_not_positive(self) -> None:
        lines, _ = multi_line_chart([([0, 1, 2], [-1.0, 0.0, 10.0])], 30, 6, logy=True)
        assert lines[0].startswith("10 ┤") and lines[-3].startswith("10 ┤")
        assert multi_line_chart([([0], [0.0])], logy=True)[0] == ["(no data)"]

    def test_the_x_axis_is_named_between_its_labels_when_it_fits(self) -> None:
        assert line_chart([0, 99], [1, 2], width=40)[-1].split() == ["0", "99"]
        lines, _ = multi_line_chart([([0, 99], [1, 2])], 40, 6, x_label="step")
        assert lines[-1].split() == ["0", "step", "99"]
        lines, _ = multi_line_chart([([0, 99], [1, 2])], 12, 6, x_label="a long name")
        assert lines[-1].split() == ["0", "99"]


class TestEndCells:
    """Where each curve of a chart ends: the cell of its last point."""

    def test_each_at_its_last_point(self) -> None:
        series = [([0, 1, 2, 3], [0.0, 1.0, 2.0, 3.0]), ([0, 1], [3.0, 3.0])]
        lines, cells = multi_line_chart(series, width=24, height=6)
        long, short = end_cells(series, width=24, height=6)
        cols = len(lines[0].split("┤")[1])
        assert long == (0, cols - 1)  # top right
        assert short is not None and short[0] == 0 and 0 < short[1] < cols // 2
        for i, (row, col) in enumerate((long, short)):
            assert cells[i][row][col]  # the curve has a dot there
            assert not any(cells[i][row][col + 1 :]) or i == 0

    def test_gaps_at_the_end_and_series_without_points(self) -> None:
        series = [([0, 1, 2], [0.0, 1.0, math.nan]), ([0, 1], [math.nan, math.inf]), ([], [])]
        ends = end_cells(series, width=24, height=6)
        lines, _ = multi_line_chart(series, width=24, height=6)
        assert ends[0] == (0, len(lines[0].split("┤")[1]) - 1) and ends[1:] == [None, None]
        assert end_cells([([], [])]) == [None]

    def test_on_a_log_scale(self) -> None:
        series = [([0, 1, 2], [100.0, 10.0, 1.0]), ([0, 1], [100.0, 0.0])]
        (down, flat) = end_cells(series, width=24, height=6, logy=True)
        assert down is not None and down[0] == 3  # the bottom row
        assert flat == (0, 0)  # its last value cannot be drawn: it ends at its first
