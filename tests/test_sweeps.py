"""Sweeps on Optuna: trials are ordinary recorded runs, run by workers, stopped early by the
pruner through tmt_log; real processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmt.sweeps import Sweep, all_sweeps, optuna, run_workers

from conftest import REPO, records

pytest.importorskip("optuna")

# A learning curve: it rises, then stays flat from step `plateau` on (a patience pruner stops
# it there); --fail makes the trial fail. A step takes 20 ms, as steps take time: the pruner
# decides a moment after a value is logged, and the run stops at its next value.
TRAIN = """\
import argparse, os, time
from tmt import tmt_recorder, tmt_log

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.5)
parser.add_argument("--plateau", type=int, default=100)
parser.add_argument("--fail", default="no")

@tmt_recorder(name="curve")
def train(args):
    if args.fail == "yes":
        raise ValueError("this trial fails")
    acc = 0.0
    for step in range(20):
        acc = args.lr * min(step, args.plateau)
        tmt_log("acc", acc, step=step)
        time.sleep(float(os.environ.get("STEP_SECONDS", "0.02")))
    return {"acc": acc}

train(parser.parse_args())
"""


def config(**changes: object) -> dict:
    data: dict = {
        "main_script_name": "train.py",
        "hyperparameters": {"lr": {"type": "uniform", "min": 0.1, "max": 1.0}},
        "max_runs": 4,
        "early_stopping": False,
        "optimization_metric": "acc",
        "optimization_goal": "max",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def sweep_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (project / "train.py").write_text(TRAIN)
    (project / ".tmt").mkdir()
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return project


def sweep(project: Path, workers: int = 1, **changes: object) -> tuple[Sweep, list[dict]]:
    created = Sweep.create(str(project / ".tmt"), config(**changes), str(project))
    ended: list[dict] = []
    run_workers(created, workers, ended.append)
    return created, ended


class TestTrials:
    """Each trial is an ordinary recorded run that says which sweep and trial it is."""

    def test_a_sweep_runs_max_runs_trials(self, sweep_project: Path) -> None:
        done, ended = sweep(sweep_project, workers=2)
        assert sorted(e["trial"] for e in ended) == [0, 1, 2, 3]
        runs = {r["id"]: r for r in records(sweep_project)}
        assert len(runs) == 4
        for outcome in ended:
            run = runs[outcome["run"]]
            assert run["sweep"] == {"id": done.id, "trial": outcome["trial"]}
            assert run["params"]["args"]["lr"] == outcome["params"]["lr"]
            assert outcome["value"] == pytest.approx(run["metrics"]["acc"])
        states = {t.state.name for t in done.trials()}
        assert states == {"COMPLETE"}

    def test_the_trials_value_is_the_best_logged(self, sweep_project: Path) -> None:
        (sweep_project / "train.py").write_text(
            TRAIN.replace(
                "acc = args.lr * min(step, args.plateau)", "acc = 1.0 if step == 3 else 0.1"
            )
        )
        _, ended = sweep(sweep_project, max_runs=1)
        assert ended[0]["value"] == 1.0

    def test_a_failing_trial_does_not_stop_the_sweep(self, sweep_project: Path) -> None:
        hyperparameters = {
            "lr": {"type": "uniform", "min": 0.1, "max": 1.0},
            "fail": {"type": "choice", "candidates": ["yes", "no"]},
        }
        _, ended = sweep(sweep_project, hyperparameters=hyperparameters, max_runs=6, seed=3)
        statuses = {e["params"]["fail"]: set() for e in ended}
        for e in ended:
            statuses[e["params"]["fail"]].add(e["status"])
        assert statuses.get("yes") == {"failed"} and statuses.get("no") == {"finished"}
        assert len(ended) == 6

    def test_a_run_that_gives_no_value_fails_its_trial(self, sweep_project: Path) -> None:
        (sweep_project / "train.py").write_text(
            TRAIN.replace(
                'tmt_log("acc", acc, step=step)', 'tmt_log("acc", float("nan"), step=step)'
            ).replace('return {"acc": acc}', "return {}")
        )
        done, ended = sweep(sweep_project, max_runs=1)
        assert ended[0]["status"] == "failed" and ended[0]["why"] == "its run gave no value of acc"
        assert [r["status"] for r in records(sweep_project)] == ["finished"]  # the run is fine
        assert [t.state.name for t in done.trials()] == ["FAIL"]

    def test_a_process_the_script_leaves_behind_does_not_hold_the_sweep(
        self, sweep_project: Path
    ) -> None:
        (sweep_project / "train.py").write_text(
            "import subprocess, sys\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'],"
            " close_fds=False)  # a server the script starts, holding every descriptor\n" + TRAIN
        )
        started = time.monotonic()
        _, ended = sweep(sweep_project, max_runs=1)
        assert ended[0]["status"] == "finished"
        assert time.monotonic() - started < 20


class TestEarlyStopping:
    """The pruner stops a trial through the tmt_log call of the sweep's metric."""

    def test_patience(self, sweep_project: Path) -> None:
        hyperparameters = {"plateau": {"type": "choice", "candidates": [5]}}
        done, ended = sweep(
            sweep_project,
            hyperparameters=hyperparameters,
            max_runs=1,
            early_stopping=True,
            early_stopping_patience=3,
        )
        (outcome,) = ended
        assert outcome["status"] == "pruned"
        (run,) = records(sweep_project)
        assert run["status"] == "pruned"
        assert "stopped early at step" in run["error"]["message"]
        logged = (sweep_project / ".tmt" / "runs" / run["id"] / "metrics.csv").read_text()
        assert logged.count("\n") - 1 < 20  # it did not run to the end
        assert [t.state.name for t in done.trials()] == ["PRUNED"]

    @pytest.mark.parametrize("pruner", ["median", "asha"])
    def test_other_pruners(self, sweep_project: Path, pruner: str) -> None:
        _, ended = sweep(sweep_project, max_runs=3, early_stopping=True, pruner=pruner, seed=1)
        assert len(ended) == 3
        assert {e["status"] for e in ended} <= {"finished", "pruned"}


class TestSamplers:
    @pytest.mark.parametrize("sampler", ["random", "tpe"])
    def test_sampler(self, sweep_project: Path, sampler: str) -> None:
        _, ended = sweep(sweep_project, sampler=sampler, seed=0, max_runs=3)
        assert len(ended) == 3 and all(0.1 <= e["params"]["lr"] <= 1.0 for e in ended)

    def test_grid_stops_when_every_point_ran(self, sweep_project: Path) -> None:
        hyperparameters = {"lr": {"type": "choice", "candidates": [0.1, 0.2, 0.3]}}
        _, ended = sweep(
            sweep_project, sampler="grid", hyperparameters=hyperparameters, max_runs=10
        )
        assert sorted(e["params"]["lr"] for e in ended) == [0.1, 0.2, 0.3]


class TestStorage:
    def test_the_sweep_is_files_in_the_store(self, sweep_project: Path) -> None:
        done, _ = sweep(sweep_project, max_runs=1)
        folder = sweep_project / ".tmt" / "sweeps" / done.id
        saved = json.loads((folder / "sweep.json").read_text())
        assert saved["config"] == config(max_runs=1) and saved["cwd"] == str(sweep_project)
        assert (folder / "journal.log").is_file()
        assert Sweep.load(str(sweep_project / ".tmt"), done.id[:3]).id == done.id

    def test_a_damaged_sweep_is_skipped_with_a_warning(self, sweep_project: Path) -> None:
        done, _ = sweep(sweep_project, max_runs=1)
        (Path(done.folder) / "sweep.json").write_text('{"id": 5}')
        with pytest.warns(UserWarning, match="sweep.json: unreadable sweep skipped: not a sweep"):
            assert all_sweeps(str(sweep_project / ".tmt")) == []

    @pytest.mark.parametrize("storage", ["sqlite:///sweeps.db", "elsewhere/study.log"])
    def test_another_storage_given_relative(
        self, sweep_project: Path, storage: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (sweep_project / "elsewhere").mkdir()
        made = Sweep.create(
            str(sweep_project / ".tmt"), config(max_runs=2), str(sweep_project), storage
        )
        assert str(sweep_project) in made.storage  # the same for a worker started elsewhere
        monkeypatch.chdir(sweep_project / "elsewhere")
        run_workers(Sweep.load(str(sweep_project / ".tmt"), made.id), 1, lambda o: None)
        assert [t.state.name for t in made.trials()] == ["COMPLETE", "COMPLETE"]

    def test_a_killed_workers_trial_is_given_up(self, sweep_project: Path) -> None:
        made = Sweep.create(str(sweep_project / ".tmt"), config(max_runs=2), str(sweep_project))
        study = made.study()
        trial = study.ask()
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        from tmt.liveness import this_host

        worker = {"host": this_host(), "pid": dead.pid}
        study._storage.set_trial_user_attr(trial._trial_id, "worker", worker)
        assert made.counted() == 1
        run_workers(made, 1, lambda o: None)
        rows = made.rows()
        assert sorted(r["status"] for r in rows) == ["finished", "finished", "interrupted"]

    def test_two_processes_share_one_journal(self, sweep_project: Path) -> None:
        done = Sweep.create(str(sweep_project / ".tmt"), config(max_runs=6), str(sweep_project))
        code = (
            "import sys; from tmt.sweeps import Sweep, run_workers\n"
            f"s = Sweep.load({str(sweep_project / '.tmt')!r}, {done.id!r})\n"
            "run_workers(s, 1, lambda o: None)\n"
        )
        others = [
            subprocess.Popen([sys.executable, "-c", code], env={**os.environ}) for _ in range(2)
        ]
        for process in others:
            assert process.wait(timeout=120) == 0
        rows = done.rows()  # both asked for the last trials at once: only max_runs ran
        assert len(rows) == 6 and {r["status"] for r in rows} == {"finished"}
        assert len(records(sweep_project)) == 6


def test_without_optuna_one_line_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError) as caught:
        optuna()
    assert str(caught.value) == "tmt sweep needs Optuna: pip install 'ThatMetricTimeline[sweep]'"


class TestCommandLine:
    """tmt sweep start, join, list and show, as a person at the keyboard runs them."""

    def tmt(self, project: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "tmt", "sweep", *args],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=300,
            **kwargs,
        )

    def test_start_list_show(self, sweep_project: Path) -> None:
        (sweep_project / "experiment_cfg.json").write_text(
            json.dumps(config(early_stopping=True, early_stopping_patience=3, max_runs=3))
        )
        done = self.tmt(sweep_project, "start", "--workers", "2")
        assert done.returncode == 0, done.stderr
        sweep_id = done.stdout.strip()
        lines = [line for line in done.stderr.splitlines() if line.startswith("trial ")]
        assert len(lines) == 3 and all("/3 done" in line for line in lines)
        assert f"sweep {sweep_id} done: 3/3 done, 0 running" in done.stderr
        listed = json.loads(self.tmt(sweep_project, "list", "--json").stdout)
        assert [s["id"] for s in listed] == [sweep_id]
        shown = self.tmt(sweep_project, "show", sweep_id[:4])
        assert "optimises: max acc; sampler: random; early stopping: patience (patience 3)" in (
            shown.stdout
        )
        assert "best: trial" in shown.stdout
        trials = json.loads(self.tmt(sweep_project, "show", sweep_id, "--json").stdout)["trials"]
        assert trials[0]["best"] and len(trials) == 3

    def test_a_bad_configuration_is_one_line(self, sweep_project: Path) -> None:
        (sweep_project / "experiment_cfg.json").write_text(json.dumps(config(max_runs=0)))
        done = self.tmt(sweep_project, "start")
        assert done.returncode == 1
        assert done.stderr == (
            "tmt: error: experiment_cfg.json: key 'max_runs' must be a whole number of 1 or more\n"
        )
        assert not (sweep_project / ".tmt" / "sweeps").exists()

    def test_interrupted_then_joined(self, sweep_project: Path) -> None:
        (sweep_project / "experiment_cfg.json").write_text(json.dumps(config(max_runs=3)))
        process = subprocess.Popen(
            [sys.executable, "-m", "tmt", "sweep", "start"],
            cwd=sweep_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "STEP_SECONDS": "0.5"},  # interrupted well before its end
        )
        sweep_id = process.stdout.readline().strip()
        runs = sweep_project / ".tmt" / "runs"
        deadline = time.monotonic() + 60
        while not (runs.exists() and any(runs.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert f"go on with: tmt sweep join {sweep_id}" in err
        assert [r["status"] for r in records(sweep_project)] == ["interrupted"]
        joined = self.tmt(sweep_project, "join", sweep_id)
        assert joined.returncode == 0, joined.stderr
        assert "3/3 done" in joined.stderr
        statuses = sorted(r["status"] for r in records(sweep_project))
        assert statuses == ["finished", "finished", "finished", "interrupted"]

    def test_workers_zero_makes_the_sweep_only(self, sweep_project: Path) -> None:
        (sweep_project / "experiment_cfg.json").write_text(json.dumps(config()))
        done = self.tmt(sweep_project, "start", "--workers", "0")
        assert done.returncode == 0 and len(done.stdout.strip()) == 8
        assert records(sweep_project) == []

    def test_without_optuna(self, sweep_project: Path, tmp_path: Path) -> None:
        hide = tmp_path / "hide"
        hide.mkdir()
        (hide / "optuna.py").write_text("raise ImportError('no optuna here')\n")
        (sweep_project / "experiment_cfg.json").write_text(json.dumps(config()))
        env = {**os.environ, "PYTHONPATH": f"{hide}{os.pathsep}{REPO}"}
        done = self.tmt(sweep_project, "start", env=env)
        assert done.returncode == 1
        assert done.stderr == (
            "tmt: error: tmt sweep needs Optuna: pip install 'ThatMetricTimeline[sweep]'\n"
        )


class TestInProcess:
    """tmt.sweep(fn, config): the same, calling a function of a notebook's process."""

    def test_a_function(self, project: Path) -> None:
        import tmt

        @tmt.tmt_recorder(name="fn")
        def train(lr: float, width: int) -> dict:
            acc = 0.0
            for step in range(15):
                acc = min(step, 3) * lr
                tmt.tmt_log("acc", acc, step=step)
                time.sleep(0.01)
            return {"acc": acc}

        hyperparameters = {
            "lr": {"type": "uniform", "min": 0.1, "max": 1.0},
            "width": {"type": "int", "min": 1, "max": 4},
        }
        ended: list[dict] = []
        made = tmt.sweep(
            train,
            config(
                main_script_name=None,
                hyperparameters=hyperparameters,
                max_runs=3,
                early_stopping=True,
                early_stopping_patience=2,
            ),
            events=ended.append,
        )
        assert [e["status"] for e in ended] == ["pruned"] * 3
        runs = records(project)
        assert sorted(r["sweep"]["trial"] for r in runs) == [0, 1, 2]
        assert all(r["status"] == "pruned" and 1 <= r["params"]["width"] <= 4 for r in runs)
        assert made.progress()["best"]["value"] == max(e["value"] for e in ended)
        assert "TMT_SWEEP" not in os.environ

    def test_a_failing_call_does_not_stop_it(self, project: Path) -> None:
        import tmt

        calls = []

        @tmt.tmt_recorder(name="fn")
        def train(lr: float) -> dict:
            calls.append(lr)
            if len(calls) == 1:
                raise ValueError("first call fails")
            return {"acc": lr}

        made = tmt.sweep(train, config(main_script_name=None, max_runs=3))
        statuses = sorted(r["status"] for r in made.rows())
        assert statuses == ["failed", "finished", "finished"]

    def test_joining_from_elsewhere_is_refused(self, project: Path) -> None:
        import tmt

        made = Sweep.create(
            str(project / ".tmt"), config(max_runs=2), str(project), function="train"
        )
        with pytest.raises(tmt.TmtError, match="calls train in the Python process that made it"):
            run_workers(Sweep.load(str(project / ".tmt"), made.id), 1, lambda o: None)
