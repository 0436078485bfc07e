"""``tmt rerun`` and ``TmtManager.rerun``: a run's command run again, with the code of its
snapshot, into the same store; real processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmt import TmtManager
from tmt.errors import ArgumentError, RerunError

from conftest import REPO, records

TRAIN = """\
import argparse, sys
from tmt import tmt_recorder, tmt_log

STEP = 1.0

@tmt_recorder(name="fit")
def train(args):
    w = 0.0
    for epoch in range(args.epochs):
        w += args.lr * STEP * (1 - w)
        tmt_log("w_logged", w, step=epoch)
    if args.fail:
        raise ValueError("asked to fail")
    print("trained")
    return {"w": w, "epochs": args.epochs}

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--fail", action="store_true")
    train(parser.parse_args())
    sys.exit(int(__import__("os").environ.get("EXIT_AFTER", "0")))
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of the processes: tmt importable, a scratch folder of the test's own."""
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    return {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(scratch)}


@pytest.fixture
def recorded(project: Path, env: dict[str, str]) -> Path:
    """A project whose train.py recorded one run with --lr 0.5, then was edited."""
    (project / "train.py").write_text(TRAIN)
    run(project, env, sys.executable, "train.py", "--lr", "0.5")
    (project / "train.py").write_text(TRAIN.replace("STEP = 1.0", "STEP = 0.5"))
    return project


def run(project: Path, env: dict[str, str], *argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(argv), cwd=project, env=env, capture_output=True, text=True, timeout=120, **kwargs
    )


def tmt(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run(project, env, sys.executable, "-m", "tmt", *args)


def newest(project: Path) -> dict:
    return max(records(project), key=lambda r: r["start_time"])


def scratch_left(env: dict[str, str]) -> list[str]:
    return os.listdir(env["TMPDIR"])


class TestRerun:
    """The command again, with the code of the run's snapshot, into the same store."""

    def test_the_snapshot_code_reproduces_the_run(self, recorded: Path, env: dict) -> None:
        (original,) = records(recorded)
        done = tmt(recorded, env, "rerun", "last", "--check")
        assert done.returncode == 0, done.stderr
        assert "all 3 metrics reproduced (exactly)" in done.stderr
        assert "trained" in done.stdout  # the command's own output, as it goes
        rerun = newest(recorded)
        assert rerun["rerun_of"] == original["id"] and rerun["name"] == "fit"
        assert rerun["metrics"] == original["metrics"]
        assert rerun["cwd"] == original["cwd"] == str(recorded)
        assert rerun["command"]["source"] == str(recorded)
        assert rerun["command"]["args"] == ["--lr", "0.5"]
        assert scratch_left(env) == []

    def test_the_same_code_costs_one_link(self, recorded: Path, env: dict) -> None:
        tmt(recorded, env, "rerun", "last")
        first, second = sorted(records(recorded), key=lambda r: r["start_time"])
        snapshots = recorded / ".tmt" / "snapshots"
        assert os.readlink(snapshots / first["id"]) == os.readlink(snapshots / second["id"])
        assert os.readlink(snapshots / "last") == second["id"]

    def test_the_git_facts_are_the_runs(self, project: Path, env: dict) -> None:
        (project / "train.py").write_text(TRAIN)
        for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"]):
            git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command]
            subprocess.run(git, cwd=project, check=True)
        (project / "train.py").write_text(TRAIN + "# uncommitted\n")
        run(project, env, sys.executable, "train.py")
        subprocess.run(
            ["git", "commit", "-qam", "two", "--author", "t <t@t>"],
            cwd=project,
            env={**env, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"},
            check=True,
        )
        assert tmt(project, env, "rerun", "last").returncode == 0
        first, second = sorted(records(project), key=lambda r: r["start_time"])
        assert second["git"] == first["git"] and first["git"]["dirty"] is True
        runs = project / ".tmt" / "runs"
        diff = (runs / second["id"] / "git.diff").read_text()
        assert diff == (runs / first["id"] / "git.diff").read_text() and "+# uncommitted" in diff

    def test_the_current_code(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "--current-code", "--check")
        assert done.returncode == 1
        assert "2 of 3 metrics differ (exactly)" in done.stderr
        assert "differs by" in done.stdout
        first, second = sorted(records(recorded), key=lambda r: r["start_time"])
        assert second["metrics"]["w"] < first["metrics"]["w"]
        assert second["rerun_of"] == first["id"]

    def test_a_tolerance(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "--current-code", "--check", "--rtol", "0.9")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "within rtol 0.9" in done.stderr

    def test_the_exit_status_is_the_commands(self, recorded: Path, env: dict) -> None:
        assert tmt(recorded, env, "rerun", "last", "fail=true").returncode == 1
        assert newest(recorded)["status"] == "failed"
        assert tmt(recorded, env, "rerun", "last", "fail=false").returncode == 0
        done = run(
            recorded, {**env, "EXIT_AFTER": "3"}, sys.executable, "-m", "tmt", "rerun", "last"
        )
        assert done.returncode == 3

    def test_a_failed_command_is_not_checked(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "fail=true", "--check")
        assert done.returncode == 1 and "the command failed (exit status 1): not checked" in (
            done.stderr
        )

    def test_the_data_the_snapshot_left_out(self, project: Path, env: dict) -> None:
        (project / ".gitignore").write_text("data/\n")
        (project / "data").mkdir()
        (project / "data" / "x.txt").write_text("42")
        (project / "train.py").write_text(
            "from tmt import tmt_recorder\n"
            "@tmt_recorder(name='d')\n"
            "def f():\n"
            "    open('data/out.txt', 'w').write('written')\n"
            "    return {'x': int(open('data/x.txt').read())}\n"
            "f()\n"
        )
        run(project, env, sys.executable, "train.py")
        done = tmt(project, env, "rerun", "last", "--check")
        assert done.returncode == 0, done.stderr
        assert (project / "data" / "out.txt").read_text() == "written"  # where it was written

    def test_a_script_in_a_folder_run_from_another(self, project: Path, env: dict) -> None:
        (project / "exp").mkdir()
        (project / "exp" / "train.py").write_text(TRAIN)
        run(project, env, sys.executable, "exp/train.py", "--epochs", "2")
        (project / "exp" / "train.py").write_text("raise SystemExit('edited away')\n")
        done = tmt(project, env, "rerun", "last", "--check")
        assert done.returncode == 0, done.stderr
        assert newest(project)["command"]["script"] == "exp/train.py"

    def test_a_module(self, project: Path, env: dict) -> None:
        package = project / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        (package / "train.py").write_text(TRAIN)
        run(project, env, sys.executable, "-m", "pkg.train", "--epochs", "4")
        (package / "train.py").write_text("raise SystemExit('edited away')\n")
        done = tmt(project, env, "rerun", "last", "lr=0.25", "--dry-run")
        assert done.stdout.splitlines()[1].endswith("-m pkg.train --epochs 4 --lr 0.25")
        done = tmt(project, env, "rerun", "last", "--check")
        assert done.returncode == 0, done.stderr
        assert newest(project)["command"]["module"] == "pkg.train"

    def test_a_src_layout_imports_the_snapshot_not_the_working_tree(
        self, project: Path, env: dict
    ) -> None:
        package = project / "src" / "lib"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("VALUE = 1\n")
        (project / "train.py").write_text(
            "import lib\nfrom tmt import tmt_recorder\n"
            "tmt_recorder(name='v')(lambda: {'v': lib.VALUE})()\n"
        )
        # src/ on the module path as an editable install puts it
        installed = {**env, "PYTHONPATH": f"{project / 'src'}{os.pathsep}{REPO}"}
        run(project, installed, sys.executable, "train.py")
        (package / "__init__.py").write_text("VALUE = 2\n")
        assert tmt(project, installed, "rerun", "last", "--check").returncode == 0
        assert newest(project)["metrics"] == {"v": 1}
        assert tmt(project, installed, "rerun", "last", "--current-code").returncode == 0
        assert newest(project)["metrics"] == {"v": 2}

    def test_a_command_that_records_several_runs(self, project: Path, env: dict) -> None:
        (project / "train.py").write_text(
            "from tmt import tmt_recorder\n"
            "main = tmt_recorder(name='main')(lambda seed: {'s': seed})\n"
            "other = tmt_recorder(name='other')(lambda: {'o': 1})\n"
            "main(1); main(2); other()\n"
        )
        run(project, env, sys.executable, "train.py")
        second = next(r for r in records(project) if r["params"] == {"seed": 2})
        done = tmt(project, env, "rerun", second["id"], "--check")
        assert done.returncode == 0, done.stdout + done.stderr  # the run called as it was
        again = [r for r in records(project) if r["rerun_of"] == second["id"]]
        assert sorted(r["params"]["seed"] for r in again) == [1, 2]
        assert len(records(project)) == 6  # the whole command ran: "other" too, not marked


class TestOverrides:
    """NAME=VALUE replaces a flag's value, or adds a flag the run's parser has."""

    def test_flag_then_value(self, recorded: Path, env: dict) -> None:
        assert tmt(recorded, env, "rerun", "last", "lr=0.2").returncode == 0
        rerun = newest(recorded)
        assert rerun["command"]["args"] == ["--lr", "0.2"]
        assert rerun["params"]["args"]["lr"] == 0.2

    def test_flag_equals_value(self, project: Path, env: dict) -> None:
        (project / "train.py").write_text(TRAIN)
        run(project, env, sys.executable, "train.py", "--lr=0.5")
        assert tmt(project, env, "rerun", "last", "lr=0.2").returncode == 0
        assert newest(project)["command"]["args"] == ["--lr=0.2"]
        assert newest(project)["params"]["args"]["lr"] == 0.2

    def test_a_flag_only_the_parser_has(self, recorded: Path, env: dict) -> None:
        assert tmt(recorded, env, "rerun", "last", "epochs=5").returncode == 0
        rerun = newest(recorded)
        assert rerun["command"]["args"] == ["--lr", "0.5", "--epochs", "5"]
        assert rerun["metrics"]["epochs"] == 5

    def test_an_unknown_flag(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "momentum=0.9")
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1  # one line
        assert "'momentum' is not a flag of the recorded command (its flags: --epochs, " in (
            done.stderr
        )
        assert len(records(recorded)) == 1

    def test_not_name_equals_value(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "lr")
        assert done.returncode == 2 and "'lr' is not NAME=VALUE" in done.stderr

    def test_from_python(self, recorded: Path, env: dict, monkeypatch) -> None:
        monkeypatch.setenv("TMPDIR", env["TMPDIR"])
        monkeypatch.setenv("PYTHONPATH", str(REPO))
        manager = TmtManager()
        original = manager.last()
        rerun = manager.rerun("last", lr=0.25, fail=False)
        assert rerun.rerun_of == original.id and rerun.params["args"]["lr"] == 0.25
        assert rerun.status == "finished"
        with pytest.raises(ArgumentError, match="'momentum' is not a flag"):
            manager.rerun("last", momentum=1)


class TestDryRun:
    def test_says_what_and_where_and_records_nothing(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "lr=0.3", "--dry-run")
        assert done.returncode == 0, done.stderr
        folder, command = done.stdout.splitlines()[:2]
        original = records(recorded)[0]["id"]
        assert folder == f"folder:  a copy of run {original}'s code snapshot (removed after)"
        assert command == f"command: {sys.executable} train.py --lr 0.3"
        assert len(records(recorded)) == 1 and scratch_left(env) == []

    def test_current_code(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "--current-code", "--dry-run")
        assert done.stdout.splitlines()[0] == f"folder:  {recorded}"


class TestEnvironmentNotes:
    def test_one_line_says_what_differs(self, recorded: Path, env: dict) -> None:
        """The run's Python and packages against the interpreter's, before it runs."""
        path = next((recorded / ".tmt" / "runs").glob("*/run.json"))
        record = json.loads(path.read_text())
        record["environment"]["python"] = "3.0.1"
        path.write_text(json.dumps(record))
        listing = recorded / ".tmt" / record["environment"]["packages"]
        packages = json.loads(listing.read_text())
        name = next(iter(packages["packages"]))
        packages["packages"][name] = "0.0.0.old"
        packages["packages"]["gone-package"] = "1.0"
        listing.write_text(json.dumps(packages))
        (recorded / ".tmt" / "changes.log").write_text(f"{record['id']}\n")
        done = tmt(recorded, env, "rerun", "last", "--dry-run")
        (note,) = [line for line in done.stderr.splitlines() if "note:" in line]
        assert note.startswith(f"tmt rerun: note: Python {sys.version.split()[0]} here, 3.0.1 ")
        assert f"packages differ: {name} " in note and "(was 0.0.0.old)" in note
        assert "gone-package not installed (was 1.0)" in note

    def test_none_when_the_same(self, recorded: Path, env: dict) -> None:
        assert "note:" not in tmt(recorded, env, "rerun", "last", "--dry-run").stderr


class TestCannotRerun:
    """What cannot be run again says why, in one line, and runs nothing."""

    def test_python_c(self, project: Path, env: dict) -> None:
        code = "from tmt import tmt_recorder; tmt_recorder(name='t')(lambda: None)()"
        run(project, env, sys.executable, "-c", code)
        done = tmt(project, env, "rerun", "last")
        assert done.returncode == 1
        assert done.stderr.endswith(
            "cannot be run again: it was started with python -c, not by a script or a module\n"
        )

    def test_no_snapshot(self, recorded: Path, env: dict) -> None:
        run_id = records(recorded)[0]["id"]
        os.unlink(recorded / ".tmt" / "snapshots" / run_id)
        done = tmt(recorded, env, "rerun", "last")
        assert done.returncode == 1 and "has no code snapshot to run; --current-code" in done.stderr
        assert tmt(recorded, env, "rerun", "last", "--current-code").returncode == 0

    def test_no_such_interpreter(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "--python", "no-such-python-here")
        assert done.returncode == 1 and "--python no-such-python-here: no such program" in (
            done.stderr
        )

    def test_an_interpreter_without_tmt(self, recorded: Path, env: dict, tmp_path: Path) -> None:
        bare = tmp_path / "bare-python"  # a Python that sees no site-packages, no PYTHONPATH
        bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n')
        bare.chmod(0o755)
        done = tmt(recorded, env, "rerun", "last", "--python", str(bare))
        assert done.returncode == 1
        assert f"--python {bare} cannot import tmt: install ThatMetricTimeline there" in done.stderr
        assert len(records(recorded)) == 1

    def test_not_a_python(self, recorded: Path, env: dict) -> None:
        done = tmt(recorded, env, "rerun", "last", "--python", "false")
        assert done.returncode == 1 and "not a Python interpreter that runs" in done.stderr

    @pytest.mark.parametrize(
        ("field", "value", "said"),
        [
            ("args", ["--lr", 5], "its record's command.args is not a list of strings"),
            ("python", ["-c", "print('owned')"], "command.python holds more than options"),
            ("python", ["-u", "-m", "os"], "command.python holds more than options"),
            ("module", "os; print(1)", "its record's command.module is no module name"),
            ("script", "../../../../../../../etc/hostname", "command.script leaves its project"),
            ("script", "a/../../x.py", "command.script leaves its project"),
            ("source", "relative", "its record does not say where its code was"),
        ],
    )
    def test_a_crafted_command(
        self, recorded: Path, env: dict, field: str, value: object, said: str
    ) -> None:
        path = next((recorded / ".tmt" / "runs").glob("*/run.json"))
        record = json.loads(path.read_text())
        record["command"][field] = value
        path.write_text(json.dumps(record))
        (recorded / ".tmt" / "changes.log").write_text(f"{record['id']}\n")
        done = tmt(recorded, env, "rerun", "last")
        assert done.returncode == 1 and said in done.stderr
        assert done.stderr.count("\n") == 1 and "owned" not in done.stdout

    def test_started_outside_what_the_snapshot_copies(self, project: Path, env: dict) -> None:
        (project / ".tmt").mkdir()
        (project / ".tmt" / "config.json").write_text('{"snapshot_source": "src"}')
        (project / "src").mkdir()
        (project / "src" / "train.py").write_text(TRAIN)
        run(project, env, sys.executable, "src/train.py")
        done = tmt(project, env, "rerun", "last")
        assert done.returncode == 1 and "outside the folder its snapshot copies" in done.stderr
        done = tmt(project, env, "rerun", "last", "--current-code")
        assert done.returncode == 0, done.stderr
        assert f"{sys.executable} src/train.py" in done.stderr

    def test_a_rerun_that_records_nothing(self, recorded: Path, env: dict, monkeypatch) -> None:
        monkeypatch.setenv("PYTHONPATH", str(REPO))
        monkeypatch.setenv("TMPDIR", env["TMPDIR"])
        with pytest.raises(RerunError, match="exited with status 2 and recorded no run of 'fit'"):
            TmtManager().rerun("last", epochs="not-a-number")  # argparse refuses it


class TestSignals:
    """A rerun stopped stops its command, whose run says how; the copy of the code goes."""

    @pytest.fixture
    def rerunning(self, project: Path, env: dict):
        """Start ``tmt rerun`` of a slow run (as ``Popen`` keywords say) and return it once
        its command is in the recorded function."""
        (project / "train.py").write_text(
            "import os, time, pathlib\nfrom tmt import tmt_recorder\n"
            "@tmt_recorder(name='slow')\n"
            "def f():\n"
            "    pathlib.Path(os.environ['MARK']).touch()\n"
            "    time.sleep(60 if os.environ.get('SLOW') else 0)\n"
            "f()\n"
        )
        started = project / "started"
        env["MARK"] = str(started)  # the rerun runs in a copy: a path outside it
        run(project, env, sys.executable, "train.py")
        started.unlink()

        def start(**kwargs) -> subprocess.Popen:
            process = subprocess.Popen(
                [sys.executable, "-m", "tmt", "rerun", "last"],
                cwd=project,
                env={**env, "SLOW": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                **kwargs,
            )
            deadline = time.monotonic() + 60
            while not started.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert started.exists(), "the rerun never started"
            return process

        return start

    def test_interrupted(self, rerunning, project: Path, env: dict) -> None:
        process = rerunning(start_new_session=True)  # no terminal: tmt passes Ctrl-C on
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
        assert process.returncode == 130
        rerun = newest(project)
        assert rerun["status"] == "interrupted" and rerun["rerun_of"] is not None
        assert scratch_left(env) == []

    def test_terminated(self, rerunning, project: Path, env: dict) -> None:
        process = rerunning()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        assert process.returncode == 128 + signal.SIGTERM
        assert newest(project)["status"] == "terminated"
        assert scratch_left(env) == []
