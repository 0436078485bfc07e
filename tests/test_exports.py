"""``tmt export --format tensorboard|mlflow``: runs read back by the tools' own readers, equal."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_log, tmt_recorder

from conftest import tmt


@pytest.fixture
def runs(project: Path) -> list[str]:
    """Two finished runs with a curve and a returned metric, one failed, one tagged."""

    def train(lr, optimizer="adam", layers=None):
        for step in range(0, 30, 10):
            tmt_log("loss", lr / (step + 1), step=step)
        if lr > 0.5:
            raise ValueError("diverged")
        return {"acc": 0.9 + lr / 7, "eval": {"f1": 0.8}}

    for lr in (0.1, 0.3, 0.9):
        try:
            tmt_recorder(name="mnist")(train)(lr, layers={"depth": 3})
        except ValueError:
            pass
    manager = TmtManager()
    manager.tag("last~1", "paper")
    return [e.id for e in manager.runs()]


# TensorBoard -------------------------------------------------------------------------------
def tensorboard_runs(folder: Path) -> dict[str, object]:
    """Each run folder's accumulator, as TensorBoard's own reader loads it."""
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator

    found = {}
    for events in folder.rglob("events.out.tfevents.*"):
        accumulator = EventAccumulator(str(events.parent))
        accumulator.Reload()
        found[events.parent.relative_to(folder).as_posix()] = accumulator
    return found


def scalars(accumulator, tag: str) -> list[tuple[int, float, float]]:
    from tensorboard.util import tensor_util

    return [
        (e.step, e.wall_time, tensor_util.make_ndarray(e.tensor_proto).item())
        for e in accumulator.Tensors(tag)
    ]


def test_tensorboard_gets_a_folder_a_run_with_curves_metrics_and_parameters(runs, project):
    pytest.importorskip("tensorboard")
    import numpy
    from tensorboard.plugins.hparams import metadata

    proc = tmt("export", "--format", "tensorboard", "tb")
    assert proc.returncode == 0, proc.stderr
    assert "3 runs written to tb" in proc.stdout
    found = tensorboard_runs(project / "tb")
    assert sorted(found) == [".", *sorted(f"mnist/{i}" for i in runs)]
    for entry in TmtManager().runs():
        accumulator = found[f"mnist/{entry.id}"]
        series = entry.series("loss")
        assert scalars(accumulator, "loss") == [
            (step, pytest.approx(when), float(numpy.float32(value)))
            for step, value, when in zip(series.steps, series.values, series.times)
        ]
        if entry.status == "finished":
            [(step, _, acc)] = scalars(accumulator, "acc")
            assert step == 20 and acc == float(numpy.float32(entry.metrics["acc"]))
            assert scalars(accumulator, "eval.f1")[0][2] == float(numpy.float32(0.8))
        start = metadata.parse_session_start_info_plugin_data(
            accumulator.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
        )
        assert start.group_name == entry.id
        assert start.hparams["lr"].number_value == entry.params["lr"]
        assert start.hparams["optimizer"].string_value == "adam"
        assert start.hparams["layers.depth"].number_value == 3
    root = found["."]
    config = metadata.parse_experiment_plugin_data(
        root.SummaryMetadata("_hparams_/experiment").plugin_data.content
    )
    assert {h.name for h in config.hparam_infos} == {"lr", "optimizer", "layers.depth"}
    assert {m.name.tag for m in config.metric_infos} == {"loss", "acc", "eval.f1"}


def test_exporting_to_tensorboard_again_replaces_the_earlier_export(runs, project):
    pytest.importorskip("tensorboard")
    for _ in range(2):
        assert tmt("export", "--format", "tensorboard", "tb").returncode == 0
    for folder in (project / "tb" / "mnist").iterdir():
        assert len(list(folder.iterdir())) == 1
    assert len(scalars(tensorboard_runs(project / "tb")[f"mnist/{runs[0]}"], "loss")) == 3


def test_the_filters_apply_to_tensorboard_too(runs, project):
    pytest.importorskip("tensorboard")
    assert tmt("export", "--format", "tensorboard", "tb", "--where", "tag:paper").returncode == 0
    assert sorted(tensorboard_runs(project / "tb")) == [".", f"mnist/{runs[1]}"]


def test_tensorboard_needs_a_folder(runs):
    proc = tmt("export", "--format", "tensorboard")
    assert proc.returncode == 2 and "needs DIR" in proc.stderr


# MLflow ------------------------------------------------------------------------------------
@pytest.fixture
def mlflow_uri(tmp_path: Path) -> str:
    pytest.importorskip("mlflow")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def mlflow_runs(uri: str, experiment: str = "mnist") -> dict[str, object]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    return {r.data.tags["tmt.run_id"]: r for r in client.search_runs([found.experiment_id])}


def test_mlflow_gets_params_metric_histories_tags_status_and_times(runs, mlflow_uri):
    from mlflow.tracking import MlflowClient

    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert proc.returncode == 0, proc.stderr
    assert "3 MLflow runs created" in proc.stdout
    client = MlflowClient(mlflow_uri)
    exported = mlflow_runs(mlflow_uri)
    assert sorted(exported) == sorted(runs)
    statuses = {"finished": "FINISHED", "failed": "FAILED"}
    for entry in TmtManager().runs():
        run = exported[entry.id]
        assert run.info.status == statuses[entry.status]
        assert run.info.start_time == int(entry.start_time * 1000)
        assert run.info.end_time == int(entry.end_time * 1000)
        assert run.info.run_name == "mnist"
        assert run.data.params == {"lr": str(entry.params["lr"]), "optimizer": "adam",
                                   "layers.depth": "3"}  # fmt: skip
        history = client.get_metric_history(run.info.run_id, "loss")
        series = entry.series("loss")
        assert [(m.step, m.value, m.timestamp) for m in history] == [
            (step, value, int(when * 1000))
            for step, value, when in zip(series.steps, series.values, series.times)
        ]
        if entry.status == "finished":
            assert run.data.metrics["acc"] == entry.metrics["acc"]  # doubles, exactly
            assert run.data.metrics["eval.f1"] == 0.8
        assert ("tmt.tag.paper" in run.data.tags) == ("paper" in entry.tags)
        command = entry.command or {}
        source = command.get("script") or command.get("module")
        assert run.data.tags.get("mlflow.source.name") == (str(source) if source else None)


def test_exporting_to_mlflow_twice_does_not_duplicate_runs(runs, mlflow_uri):
    tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert "0 MLflow runs created, 0 replaced" in proc.stdout and "3 exported before" in proc.stdout
    assert len(mlflow_runs(mlflow_uri)) == 3
    tmt("tag", runs[0], "best")  # changed since: exported anew, in place of the earlier one
    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert "1 replaced" in proc.stdout
    exported = mlflow_runs(mlflow_uri)
    assert len(exported) == 3 and "tmt.tag.best" in exported[runs[0]].data.tags


def test_mlflow_experiment_and_filters(runs, mlflow_uri):
    proc = tmt(
        "export", "--format", "mlflow", "--tracking-uri", mlflow_uri, "--experiment", "paper",
        "--status", "finished",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(mlflow_runs(mlflow_uri, "paper")) == 2


def test_mlflow_options_need_the_mlflow_format(runs):
    proc = tmt("export", "--csv", "--experiment", "x")
    assert proc.returncode == 2 and "--experiment is for --format mlflow" in proc.stderr


@pytest.mark.parametrize(
    ("module", "extra"), [("tensorboard", "tensorboard"), ("mlflow", "mlflow")]
)
def test_without_the_extra_one_line_says_how_to_install_it(runs, monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    args = ["tb"] if module == "tensorboard" else []
    proc = tmt("export", "--format", module, *args)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith(f"pip install 'ThatMetricTimeline[{extra}]'")
    assert proc.stderr.count("\n") == 1


def test_csv_and_json_exports_are_unchanged(runs):
    assert tmt("export").stdout.splitlines()[0].startswith("id,name,status")
    assert [row["id"] for row in json.loads(tmt("export", "--json").stdout)] == runs


# What an adversarial review found ----------------------------------------------------------
def test_names_that_read_as_one_key_are_kept_apart_in_mlflow(project, mlflow_uri):
    from mlflow.tracking import MlflowClient

    def train(**kw):
        tmt_log("a?b", 1.0, step=0)
        tmt_log("a_b", 2.0, step=0)
        return {}

    tmt_recorder(name="keys")(train)(**{"x?y": 1, "x_y": 2})
    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert proc.returncode == 0, proc.stderr
    (run,) = mlflow_runs(mlflow_uri, "keys").values()
    assert run.data.params == {"kw.x_y": "1", "kw.x_y_2": "2"}
    client = MlflowClient(mlflow_uri)
    histories = {
        key: [m.value for m in client.get_metric_history(run.info.run_id, key)]
        for key in run.data.metrics
    }
    assert histories == {"a_b": [1.0], "a_b_2": [2.0]}


def test_an_mlflow_export_that_fails_leaves_no_half_run(runs, mlflow_uri, monkeypatch):
    from tmt import exports

    def broken(client, run_id, entry):
        raise RuntimeError("the server went away")

    working = exports._log_run
    monkeypatch.setattr(exports, "_log_run", broken)
    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert proc.returncode == 1 and "the server went away" in proc.stderr
    assert mlflow_runs(mlflow_uri) == {}
    monkeypatch.setattr(exports, "_log_run", working)
    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert "3 MLflow runs created" in proc.stdout


def test_a_deleted_mlflow_experiment_is_named(runs, mlflow_uri):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(mlflow_uri)
    client.delete_experiment(client.create_experiment("mnist"))
    proc = tmt("export", "--format", "mlflow", "--tracking-uri", mlflow_uri)
    assert proc.returncode == 1 and "experiment 'mnist' is deleted" in proc.stderr


def test_exporting_some_runs_again_keeps_the_others_in_the_hparams_dashboard(runs, project):
    pytest.importorskip("tensorboard")
    from tensorboard.plugins.hparams import metadata

    tmt_recorder(name="other")(lambda seed: {"f1": 0.5})(seed=3)
    assert tmt("export", "--format", "tensorboard", "tb").returncode == 0
    assert tmt("export", "--format", "tensorboard", "tb", "--where", "name=mnist").returncode == 0
    config = metadata.parse_experiment_plugin_data(
        tensorboard_runs(project / "tb")["."]
        .SummaryMetadata("_hparams_/experiment")
        .plugin_data.content
    )
    assert "seed" in {h.name for h in config.hparam_infos}
    assert "f1" in {m.name.tag for m in config.metric_infos}


def test_long_names_make_folders_tensorboard_can_hold(project):
    pytest.importorskip("tensorboard")
    tmt_recorder(name="é" * 200)(lambda: {"acc": 1.0})()
    proc = tmt("export", "--format", "tensorboard", "tb")
    assert proc.returncode == 0, proc.stderr
    (folder,) = [p for p in (project / "tb").iterdir() if p.is_dir()]
    assert len(os.fsencode(folder.name)) <= 100


def test_tensorboard_is_not_written_into_the_store(runs, project):
    proc = tmt("export", "--format", "tensorboard", ".tmt/tb")
    assert proc.returncode == 1 and "inside the store" in proc.stderr
    assert not (project / ".tmt" / "tb").exists()
