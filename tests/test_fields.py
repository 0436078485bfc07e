"""Names of parameters and metrics: full, dotted, leaf; typos named with the closest."""

from __future__ import annotations

import pytest

from tmt import UnknownFieldError
from tmt.entry import Entry
from tmt.fields import Fields


def run(
    run_id: str, params: dict | None = None, metrics: dict | None = None, status: str = "finished"
) -> Entry:
    record = {"schema": 1, "id": run_id, "name": "r", "status": status, "start_time": 1.0}
    record.update(params=params or {}, metrics=metrics or {})
    return Entry(record, "/store")


SWEEP = [
    run("a", {"args": {"lr": 0.3, "seed": 0, "opt": {"lr": 1.0}}}, {"val_acc": 0.9, "loss": 1}),
    run("b", {"args": {"lr": 0.1, "seed": 0, "opt": {"lr": 1.0}}}, {"val_acc": 0.8, "loss": 2}),
]


class TestResolve:
    """A cell is reached by its full name, its name without prefix, and any unique tail."""

    @pytest.mark.parametrize(
        ("name", "cell"),
        [
            ("params.args.lr", "params.args.lr"),
            ("args.lr", "params.args.lr"),
            ("opt.lr", "params.args.opt.lr"),
            ("seed", "params.args.seed"),
            ("val_acc", "metrics.val_acc"),
            ("metrics.loss", "metrics.loss"),
        ],
    )
    def test_names_that_reach_one_cell(self, name: str, cell: str) -> None:
        assert Fields(SWEEP).resolve(name) == cell

    def test_a_leaf_two_cells_share_is_ambiguous_and_lists_them(self) -> None:
        with pytest.raises(UnknownFieldError, match=r"ambiguous.*args\.lr.*opt\.lr") as caught:
            Fields(SWEEP).resolve("lr")
        assert caught.value.suggestions == ["params.args.lr", "params.args.opt.lr"]

    def test_a_metric_wins_over_a_parameter_of_the_same_name(self) -> None:
        runs = [run("a", {"acc": 1}, {"acc": 0.5})]
        assert Fields(runs).resolve("acc") == "metrics.acc"
        assert Fields(runs).resolve("params.acc") == "params.acc"
        assert Fields(runs).short("metrics.acc") == "acc"  # headed by the name that reaches it
        assert Fields(runs).short("params.acc") == "params.acc"

    def test_a_typo_names_the_closest_real_names(self) -> None:
        with pytest.raises(UnknownFieldError, match="did you mean val_acc") as caught:
            Fields(SWEEP).resolve("val_ac")
        assert caught.value.suggestions == ["val_acc"]

    def test_nothing_close_lists_what_there_is(self) -> None:
        with pytest.raises(UnknownFieldError, match=r"the runs have: args.lr, seed"):
            Fields(SWEEP).resolve("zzz")

    def test_an_unknown_error_is_a_value_error_too(self) -> None:
        with pytest.raises(ValueError):
            Fields([]).resolve("x")

    def test_live_fields_hold_what_unfinished_runs_logged(self, tmp_path) -> None:
        folder = tmp_path / "r"
        folder.mkdir()
        (folder / "metrics.csv").write_text("name,step,value,time\nloss,3,0.5,10.0\n")
        record = {"schema": 1, "id": "r", "name": "r", "status": "running", "start_time": 1.0}
        live = Entry(record, str(tmp_path), str(folder))
        assert "metrics.loss" not in Fields([live]).cells
        assert Fields([live], live=True).resolve("loss") == "metrics.loss"


class TestShortNames:
    """Columns are headed by the shortest name that reaches them alone."""

    def test_short_names(self) -> None:
        fields = Fields(SWEEP)
        assert fields.names() == ["args.lr", "seed", "opt.lr", "val_acc", "loss"]


class TestVarying:
    """Only parameters whose values differ among the runs are worth a column."""

    def test_varying_parameters(self) -> None:
        assert Fields(SWEEP).varying(SWEEP) == ["params.args.lr"]

    def test_a_run_without_the_parameter_differs(self) -> None:
        runs = [*SWEEP, run("c", {"args": {"lr": 0.3, "opt": {"lr": 1.0}}})]
        assert Fields(runs).varying(runs) == ["params.args.lr", "params.args.seed"]

    def test_one_and_one_point_zero_are_the_same_value(self) -> None:
        runs = [run("a", {"x": 1}), run("b", {"x": 1.0})]
        assert Fields(runs).varying(runs) == []

    def test_columns_are_metrics_most_common_first_then_varying_parameters(self) -> None:
        runs = [*SWEEP, run("c", {"args": {"lr": 0.2}}, {"loss": 3})]
        assert Fields(runs).columns(runs) == [
            "metrics.loss",
            "metrics.val_acc",
            "params.args.lr",
            "params.args.seed",
            "params.args.opt.lr",
        ]
