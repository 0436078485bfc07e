"""Charts drawn as text."""

from __future__ import annotations

import math

from tmt.textchart import BLOCKS, line_chart, multi_line_chart, sparkline


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
