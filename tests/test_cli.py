"""The tmt command line, run as a user runs it: the real entry point, in a temporary project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmt import TmtManager, tmt_log, tmt_recorder, tmt_save

from conftest import REPO, ok, tmt, tmt_on_a_terminal, tmt_process


@pytest.fixture
def runs(project: Path) -> dict[str, str]:
    """Four runs of "mnist" (one failed, code changed before the third) and one of "cifar"."""
    source = project / "train.py"

    def train(lr, epochs=3):
        loss = 1.0
        for epoch in range(epochs):
            loss *= 1 - lr
            tmt_log("loss", loss, step=epoch)
        if lr > 0.5:
            raise ValueError("diverged")
        tmt_save({"lr": lr}, name="model")
        return {"acc": round(1 - loss, 4)}

    ids = {}
    for lr in (0.1, 0.3, 0.2, 0.9):
        if lr == 0.2:
            source.write_text("print('training, version 2')\n")
        try:
            tmt_recorder(name="mnist", tags=["sweep"])(train)(lr)
        except ValueError:
            pass
        ids[lr] = TmtManager().last().id
        time.sleep(0.01)
    tmt_recorder(name="cifar")(lambda: {"acc": 0.5})()
    ids["cifar"] = TmtManager().last().id
    return ids


class TestList:
    def test_a_table_newest_first(self, runs) -> None:
        out = ok("list").splitlines()
        assert out[0].split()[:5] == ["id", "name", "status", "started", "duration"]
        assert "acc" in out[0] and "loss" in out[0]
        assert [line.split()[0] for line in out[1:]] == [
            runs[k][:8] for k in ("cifar", 0.9, 0.2, 0.3, 0.1)
        ]
        assert "failed" in out[2]

    def test_piped_output_is_plain(self, runs) -> None:
        assert "\033[" not in ok("list")

    def test_varying_parameters_are_columns_and_columns_can_be_chosen(self, runs) -> None:
        header = ok("list", "--name", "mnist").splitlines()[0].split()
        assert header[5:] == ["loss", "acc", "lr"]  # epochs is 3 everywhere: not shown
        chosen = ok("list", "--name", "mnist", "--columns", "lr,epochs").splitlines()
        assert chosen[0].split()[5:] == ["lr", "epochs"] and chosen[1].split()[-2:] == ["0.9", "3"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--sort", "ac"], "tmt list: no parameter or metric named 'ac'; did you mean acc"),
            (["--columns", "lr,eposh"], "did you mean epochs"),
            (["--where", "acc>0.5lr=0.1"], "separate terms with spaces"),
            (["--where", "status:done"], "no status 'done'"),
        ],
    )
    def test_a_misspelt_name_or_query_is_a_usage_error(self, runs, args, message) -> None:
        proc = tmt("list", *args)
        assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""

    def test_export_takes_where(self, runs) -> None:
        rows = json.loads(ok("export", "--json", "--where", "lr=0.3"))
        assert [r["id"] for r in rows] == [runs[0.3]]

    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            (["--name", "cif"], ["cifar"]),
            (["--name", "^mn.*t$", "--status", "failed"], [0.9]),
            (["--status", "finished", "--tag", "sweep"], [0.2, 0.3, 0.1]),
            (["--since", "1h"], ["cifar", 0.9, 0.2, 0.3, 0.1]),
            (["--until", "2000-01-01"], []),
            (["--limit", "2"], ["cifar", 0.9]),
            (["--sort", "acc", "--name", "mnist", "--status", "finished"], [0.3, 0.2, 0.1]),
            (["--sort", "acc", "--asc", "--status", "finished", "--tag", "sweep"], [0.1, 0.2, 0.3]),
            (["--where", "lr>0.15 status:finished"], [0.2, 0.3]),
            (["--where", "mnist acc>0.5"], [0.3]),
            (["--where", "lr!=0.1", "--name", "mnist"], [0.9, 0.2, 0.3]),
            (["--sort", "lr", "--name", "mnist"], [0.9, 0.3, 0.2, 0.1]),  # a parameter
            (["--sort", "acc", "--name", "mnist"], [0.3, 0.2, 0.1, 0.9]),  # finished first
            (["--sort", "name", "--limit", "1"], ["cifar"]),
        ],
    )
    def test_filters_and_sorting(self, runs, args, expected) -> None:
        data = json.loads(ok("list", "--json", *args))
        assert [d["id"] for d in data] == [runs[k] for k in expected]

    def test_json_has_stable_keys(self, runs) -> None:
        (first,) = json.loads(ok("list", "--json", "--limit", "1", "--name", "mnist"))
        assert set(first) >= {
            "id",
            "name",
            "status",
            "started",
            "duration",
            "params",
            "metrics",
            "tags",
        }
        assert first["params"] == {"lr": 0.9, "epochs": 3}
        assert isinstance(first["metrics"], dict)

    def test_an_empty_project_says_so(self, project: Path) -> None:
        proc = tmt("list")
        assert proc.returncode == 0 and proc.stdout == ""
        assert "no runs recorded here" in proc.stderr
        assert not (project / ".tmt").exists()

    def test_dash_c_and_config(self, runs, project: Path, tmp_path: Path) -> None:
        assert "mnist" in ok("-C", str(project), "list", cwd=tmp_path)
        (project / "c.json").write_text('{"tmt_dir": "elsewhere"}')
        proc = tmt("--config", "c.json", "list", cwd=project)
        assert proc.stdout == "" and "no runs" in proc.stderr

    def test_ints_too_large_for_a_float_sort_as_the_largest(self, project: Path) -> None:
        for value in (1, 10**400, -(10**400)):
            tmt_recorder(name="h")(lambda v=value: {"huge": v})()
        out = ok("list", "--sort", "huge").splitlines()
        assert [line.split()[-1][:4] for line in out[1:]] == ["1000", "1", "-100"]
        assert ok("timeline", "h", "--metric", "huge", "--json")
        from tmt.tui.model import RunsModel

        model = RunsModel()
        model.reload()
        model.next_sort(), model.next_sort()
        model.search("huge>1")
        assert len(model.visible) == 1

    def test_a_bad_date_is_one_line(self, runs) -> None:
        proc = tmt("list", "--since", "someday")
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1 and "cannot read 'someday' as a date" in proc.stderr


class TestShow:
    def test_everything_about_a_run(self, runs) -> None:
        out = ok("show", "mnist~1")
        for text in (
            "mnist",
            runs[0.2],
            "params",
            "lr",
            "0.2",
            "metrics",
            "acc",
            "loss",
            "results",
            "model",
            "snapshot",
            "environment",
            "python",
        ):
            assert text in out
        assert any(ch in out for ch in "▁▂▃▄▅▆▇█")  # the loss curve

    def test_a_failed_run_shows_its_traceback(self, runs) -> None:
        out = ok("show", runs[0.9][:6])
        assert "error: ValueError: diverged" in out
        assert 'raise ValueError("diverged")' in out

    def test_default_is_the_last_run(self, runs) -> None:
        assert ok("show").startswith("cifar")

    def test_json(self, runs) -> None:
        data = json.loads(ok("show", "last", "--json"))
        assert data["id"] == runs["cifar"] and data["metrics"] == {"acc": 0.5}
        assert data["environment"]["python"]

    def test_unknown_and_ambiguous_references(self, runs) -> None:
        proc = tmt("show", "nope")
        assert proc.returncode == 1 and proc.stderr.startswith("tmt: error: no run matches")
        assert "\n" not in proc.stderr.strip()


class TestDiffAndCompare:
    def test_compare_the_runs_a_query_selects(self, runs) -> None:
        data = json.loads(ok("compare", "--where", "lr>0.15 status:finished", "--json"))
        assert data["runs"] == [runs[0.2], runs[0.3]]
        picked = json.loads(
            ok("compare", runs[0.1], runs[0.2], runs[0.3], "--where", "lr>0.15", "--json")
        )
        assert picked["runs"] == [runs[0.2], runs[0.3]]
        proc = tmt("compare", runs[0.1], runs[0.3], "--where", "lr>0.2")
        assert proc.returncode == 1 and f"only {runs[0.3]} matches --where" in proc.stderr
        proc = tmt("compare")
        assert proc.returncode == 2 and "name the runs (REF...) or select them" in proc.stderr
        proc = tmt("compare", "last")
        assert proc.returncode == 2 and "give two runs or more" in proc.stderr

    def test_diff_shows_params_metrics_and_code(self, runs) -> None:
        out = ok("diff", runs[0.1], runs[0.2])
        assert "lr" in out and "0.1" in out and "0.2" in out
        assert "-print('training')" in out
        assert "+print('training, version 2')" in out

    def test_diff_json(self, runs) -> None:
        data = json.loads(ok("diff", runs[0.1], runs[0.3], "--json"))
        assert data["params"] == {"lr": [0.1, 0.3]}
        assert data["code"] == ""

    def test_compare_marks_differing_rows(self, runs) -> None:
        out = ok("compare", runs[0.1], runs[0.3])
        assert "* params.lr" in out and "* metrics.acc" in out
        assert "params.epochs" not in out  # the same in both
        assert "params.epochs" in ok("compare", runs[0.1], runs[0.3], "--all")

    def test_compare_json(self, runs) -> None:
        data = json.loads(ok("compare", runs[0.1], runs[0.3], "--json"))
        rows = {r["key"]: r for r in data["rows"]}
        assert rows["params.lr"] == {"key": "params.lr", "values": [0.1, 0.3], "differs": True}
        assert rows["params.epochs"]["differs"] is False

    def test_compare_on_a_narrow_terminal_shows_every_run_in_blocks(self, runs) -> None:
        refs = [runs[k] for k in (0.1, 0.3, 0.2, 0.9, "cifar")]
        screen = tmt_on_a_terminal("compare", *refs, NO_COLOR="1")
        blocks = [block.splitlines() for block in screen.split("\n\n")]
        assert len(blocks) == 2  # four runs side by side, then the fifth
        assert [b[0].split()[::2] for b in blocks] == [[r[:8] for r in refs[:4]], [refs[4][:8]]]
        keys = [line.split()[1] for line in blocks[0][1:]]
        assert keys == [line.split()[1] for line in blocks[1][1:]] and "params.lr" in keys
        assert max(len(line) for line in screen.splitlines()) <= 80
        assert "did not fit" not in screen

    def test_compare_piped_is_one_table_of_every_run(self, runs) -> None:
        refs = [runs[k] for k in (0.1, 0.3, 0.2, 0.9, "cifar")]
        out = ok("compare", *refs)
        assert "\n\n" not in out
        assert out.splitlines()[0].split()[::2] == [r[:8] for r in refs]


class TestTimeline:
    def test_a_table_and_a_chart_of_the_finished_runs(self, runs) -> None:
        out = ok("timeline", "mnist", "--metric", "acc")
        assert "mnist: acc across 3 runs (1 other runs left out by --status;" in out
        assert "┤" in out and "└" in out
        assert any(0x2800 <= ord(ch) <= 0x28FF for ch in out)

    def test_json(self, runs) -> None:
        points = json.loads(ok("timeline", "mnist", "--metric", "acc", "--json"))
        assert [p["id"] for p in points] == [runs[k] for k in (0.1, 0.3, 0.2)]

    def test_every_status_on_request(self, runs) -> None:
        points = json.loads(ok("timeline", "mnist", "-m", "acc", "--status", "all", "--json"))
        assert [p["id"] for p in points] == [runs[k] for k in (0.1, 0.3, 0.2, 0.9)]
        assert points[-1]["value"] is None and points[-1]["status"] == "failed"
        failed = json.loads(ok("timeline", "mnist", "--status", "failed", "--json"))
        assert [p["id"] for p in failed] == [runs[0.9]]

    def test_where_picks_runs(self, runs) -> None:
        points = json.loads(ok("timeline", "mnist", "-m", "acc", "--where", "lr>0.15", "--json"))
        assert [p["id"] for p in points] == [runs[k] for k in (0.3, 0.2)]

    def test_a_misspelt_metric_is_a_usage_error_naming_the_real_ones(self, runs) -> None:
        proc = tmt("timeline", "mnist", "--metric", "acx")
        assert proc.returncode == 2
        assert "no parameter or metric named 'acx'; did you mean acc?" in proc.stderr

    def test_an_unknown_experiment(self, runs) -> None:
        proc = tmt("timeline", "nope")
        assert proc.returncode == 1 and "no runs of an experiment named 'nope'" in proc.stderr


class TestAnnotations:
    def test_tag_untag_and_note(self, runs) -> None:
        ok("tag", runs[0.3], "best", "paper")
        assert [d["id"] for d in json.loads(ok("list", "--json", "--tag", "best"))] == [runs[0.3]]
        ok("untag", runs[0.3], "paper")
        ok("note", runs[0.3], "the one in table 2")
        out = ok("show", runs[0.3])
        assert "note: the one in table 2" in out and "tags: sweep, best" in out


class TestDeleting:
    def test_rm_needs_yes_off_a_terminal(self, runs) -> None:
        proc = tmt("rm", runs[0.1])
        assert proc.returncode == 1 and "without --yes" in proc.stderr
        assert len(json.loads(ok("list", "--json"))) == 5

    def test_rm_deletes_the_run_and_the_data_only_it_used(self, runs, project: Path) -> None:
        import hashlib

        def stored(text: str) -> bool:
            digest = hashlib.sha256(text.encode()).hexdigest()
            return (project / ".tmt" / "snapshots" / ".objects" / digest[:2] / digest[2:]).exists()

        version_1, version_2 = "print('training')\n", "print('training, version 2')\n"
        assert stored(version_1) and stored(version_2)
        proc = tmt("rm", "--yes", runs[0.2], runs[0.9], "cifar")  # all that used version 2
        assert proc.returncode == 0 and "deleted 3 run(s)" in proc.stderr
        ids = [d["id"] for d in json.loads(ok("list", "--json"))]
        assert ids == [runs[0.3], runs[0.1]]
        assert not (project / ".tmt" / "results" / runs[0.2]).exists()
        assert not stored(version_2) and stored(version_1)
        snapshot = project / ".tmt" / "snapshots" / runs[0.1] / "train.py"
        assert snapshot.read_text() == version_1

    def test_a_running_run_needs_force(self, project: Path) -> None:
        code = (
            "import time\nfrom tmt import tmt_recorder\n"
            "tmt_recorder(name='long')(lambda: time.sleep(60))()\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code], cwd=project, env={**os.environ, "PYTHONPATH": str(REPO)}
        )
        try:
            deadline = time.monotonic() + 30
            while not json.loads(ok("list", "--json", "--status", "running")):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            refused = tmt("rm", "--yes", "long")
            assert refused.returncode == 1 and "running" in refused.stderr
            assert tmt("rm", "--yes", "--force", "long").returncode == 0
        finally:
            proc.kill()
            proc.wait()

    def test_gc_frees_what_no_run_uses(self, runs, project: Path) -> None:
        orphan = project / ".tmt" / "results" / "0123456789ab"
        orphan.mkdir(parents=True)
        (orphan / "x.pkl").write_bytes(b"x" * 5000)
        proc = tmt("gc")
        assert proc.returncode == 0 and "freed 5.0 KB" in proc.stderr
        assert not orphan.exists()
        assert len(json.loads(ok("list", "--json"))) == 5


class TestRestoreAndExport:
    def test_restore_copies_the_code_writable(self, runs, project: Path, tmp_path) -> None:
        dest = tmp_path / "old"
        proc = tmt("restore", runs[0.1], str(dest))
        assert proc.returncode == 0 and "restored" in proc.stderr
        assert (dest / "train.py").read_text() == "print('training')\n"
        assert os.access(dest / "train.py", os.W_OK)
        again = tmt("restore", runs[0.1], str(dest))
        assert again.returncode == 1 and "already exists" in again.stderr

    def test_export_csv(self, runs) -> None:
        import csv
        import io

        rows = list(csv.DictReader(io.StringIO(ok("export", "--name", "mnist"))))
        assert len(rows) == 4
        assert {"id", "name", "status", "params.lr", "metrics.acc"} <= set(rows[0])

    def test_export_json(self, runs) -> None:
        rows = json.loads(ok("export", "--format", "json", "--status", "failed"))
        assert [r["id"] for r in rows] == [runs[0.9]]


class TestUsage:
    def test_usage_errors_are_one_line_with_status_2(self, project: Path) -> None:
        proc = tmt("list", "--limit", "many")
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "see tmt list --help" in proc.stderr

    @pytest.mark.parametrize(
        ("args", "command", "unknown"),
        [
            (["list", "--bogus"], "list", "--bogus"),
            (["show", "last", "extra"], "show", "extra"),
            (["compare", "a", "b", "--bogus", "-z"], "compare", "--bogus -z"),
            (["--bogus", "list"], "", "--bogus"),  # before the command: tmt's own option
        ],
    )
    def test_an_unknown_argument_names_the_command_it_was_given_to(
        self, project: Path, args: list[str], command: str, unknown: str
    ) -> None:
        prog = f"tmt {command}".strip()
        proc = tmt(*args)
        assert proc.returncode == 2
        assert proc.stderr == f"{prog}: unrecognized arguments: {unknown} (see {prog} --help)\n"

    def test_no_command_prints_help(self, project: Path) -> None:
        proc = tmt()
        assert proc.returncode == 2 and "COMMAND" in proc.stdout


class TestAsAProgram:
    """``python -m tmt``, the installed command's code path, as its own process: the rest of
    this file calls ``tmt.cli.main`` in-process."""

    def test_lists_runs_and_exits_0(self, runs) -> None:
        proc = tmt_process("list", "--csv")
        assert proc.returncode == 0 and proc.stdout.startswith("id,name,status")
        assert runs["cifar"] in proc.stdout and proc.stderr == ""

    def test_an_error_is_one_line_with_status_1(self, project: Path) -> None:
        proc = tmt_process("show", "nosuchrun")
        assert proc.returncode == 1 and proc.stderr.count("\n") == 1
        assert proc.stderr.startswith("tmt: error: ") and "Traceback" not in proc.stderr

    def test_a_closed_pipe_ends_it_quietly(self, runs) -> None:
        import subprocess
        import sys

        code = (
            "import subprocess, sys; p = subprocess.Popen([sys.executable, '-m', 'tmt', 'list',"
            " '--json'], stdout=subprocess.PIPE, stderr=subprocess.PIPE); p.stdout.close();"
            " err = p.stderr.read(); sys.exit(p.wait() if not err else 99)"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        assert subprocess.run([sys.executable, "-c", code], env=env, timeout=60).returncode == 0
