"""What a run's record keeps of the command that started it, and what is read back from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tmt.command import command_line, split_python_command, why_not

from conftest import REPO, records

TRAIN = """\
import argparse, sys
from tmt import tmt_recorder

@tmt_recorder(name="train")
def train(args):
    return {"lr": args.lr}

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--layers", type=int, nargs="+", default=[8])
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--no-cache", dest="cache", action="store_false")
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("data", nargs="?")
    args = parser.parse_args()
    sys.argv[1:] = []  # what a program may do: the record keeps what was typed
    train(args)

main()
"""


def python(project: Path, *argv: str, cwd: Path | None = None) -> dict:
    """Run ``python ARGV...`` in the project; the record of the one run it made."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, *argv], cwd=cwd or project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    (record,) = records(project)
    return record


class TestSplittingACommandLine:
    """sys.orig_argv split into the interpreter's options, what it runs, and its arguments."""

    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            (["py", "train.py", "--lr", "1"], ([], "script", "train.py", ["--lr", "1"])),
            (["py", "-u", "train.py"], (["-u"], "script", "train.py", [])),
            (["py", "-m", "pkg.train", "-x"], ([], "-m", "pkg.train", ["-x"])),
            (["py", "-mpkg.train"], ([], "-m", "pkg.train", [])),
            (["py", "-um", "pkg", "a"], (["-u"], "-m", "pkg", ["a"])),
            (
                ["py", "-X", "dev", "-W", "error", "t.py"],
                (["-X", "dev", "-W", "error"], "script", "t.py", []),
            ),
            (["py", "-Wdefault", "-OO", "t.py"], (["-Wdefault", "-OO"], "script", "t.py", [])),
            (["py", "-c", "print(1)", "a"], ([], "-c", "print(1)", ["a"])),
            (["py", "-", "a"], ([], "-", "-", ["a"])),
            (
                ["py", "--check-hash-based-pycs", "never", "t.py"],
                (["--check-hash-based-pycs", "never"], "script", "t.py", []),
            ),
        ],
    )
    def test_split(self, argv: list[str], expected: tuple) -> None:
        assert split_python_command(argv) == expected

    @pytest.mark.parametrize("argv", [["py"], ["py", "-u"], ["py", "--version"], ["py", "-m"]])
    def test_nothing_run(self, argv: list[str]) -> None:
        assert split_python_command(argv) is None


class TestWhatIsRecorded:
    """The record's ``command``: what ``tmt rerun`` needs to run the run again."""

    def test_a_script(self, project: Path) -> None:
        (project / "train.py").write_text(TRAIN)
        record = python(project, "-u", "train.py", "--lr", "0.5", "--amp", "data.csv")
        command = record["command"]
        assert command["script"] == "train.py" and command["module"] is None
        assert command["python"] == ["-u"]
        assert command["args"] == ["--lr", "0.5", "--amp", "data.csv"]  # not the emptied argv
        assert command["source"] == str(project)
        assert record["rerun_of"] is None

    def test_the_argparse_flags(self, project: Path) -> None:
        (project / "train.py").write_text(TRAIN)
        parser = python(project, "train.py")["command"]["parser"]
        options = {o["dest"]: o for o in parser["options"]}
        assert options["lr"] == {"flags": ["--lr"], "dest": "lr", "values": 1}
        assert options["layers"]["values"] == "+"
        assert options["amp"]["sets"] is True and options["amp"]["values"] == 0
        assert options["cache"] == {
            "flags": ["--no-cache"],
            "dest": "cache",
            "values": 0,
            "sets": False,
        }
        assert options["shuffle"]["flags"] == ["--shuffle", "--no-shuffle"]
        assert parser["positionals"] == ["data"]

    def test_a_parser_at_module_level(self, project: Path) -> None:
        (project / "train.py").write_text(
            textwrap.dedent("""\
                import argparse
                from tmt import tmt_recorder
                parser = argparse.ArgumentParser()
                parser.add_argument("--seed", type=int, default=0)
                tmt_recorder(name="t")(lambda seed: None)(parser.parse_args().seed)
                """)
        )
        options = python(project, "train.py")["command"]["parser"]["options"]
        assert [o["dest"] for o in options] == ["seed"]

    def test_no_parser(self, project: Path) -> None:
        (project / "train.py").write_text(
            "from tmt import tmt_recorder\ntmt_recorder(name='t')(lambda: None)()\n"
        )
        assert python(project, "train.py", "x")["command"]["parser"] is None

    def test_a_script_in_a_folder(self, project: Path) -> None:
        (project / "scripts").mkdir()
        (project / "scripts" / "train.py").write_text(TRAIN)
        record = python(project, "scripts/train.py")
        assert record["command"]["script"] == "scripts/train.py"
        assert command_line(record) == "python scripts/train.py"

    def test_a_module_and_where_the_project_is_imported_from(self, project: Path) -> None:
        package = project / "src" / "pkg"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "train.py").write_text(
            TRAIN.replace("main()\n", "if __name__ == '__main__':\n    main()\n")
        )
        env_path = f"{project / 'src'}{os.pathsep}{REPO}"
        env = {**os.environ, "PYTHONPATH": env_path}
        subprocess.run(
            [sys.executable, "-m", "pkg.train", "--lr", "2"], cwd=project, env=env, check=True
        )
        (record,) = records(project)
        command = record["command"]
        assert command["module"] == "pkg.train"
        assert command["script"] == "src/pkg/train.py"
        assert command["args"] == ["--lr", "2"]
        assert command["paths"] == ["src"]
        assert command_line(record) == "python -m pkg.train --lr 2"

    def test_python_c_has_no_program(self, project: Path) -> None:
        code = "from tmt import tmt_recorder; tmt_recorder(name='t')(lambda: None)()"
        record = python(project, "-c", code)
        assert record["command"]["script"] is None and record["command"]["module"] is None
        assert why_not(record) == "it was started with python -c, not by a script or a module"
        assert command_line(record) is None


class TestReadingItBack:
    """Why a run cannot be run again, and its command as typed, from records of any kind."""

    def test_a_record_without_a_command(self) -> None:
        assert "older than 0.2" in (why_not({"argv": ["train.py"]}) or "")

    def test_a_notebook(self) -> None:
        record = {"command": {"script": None, "module": None}, "argv": ["/x/ipykernel_launcher.py"]}
        assert why_not(record) == "it was recorded in a notebook, not by a script"

    def test_an_interactive_session(self) -> None:
        record = {"command": {"script": None, "module": None}, "argv": [""]}
        assert why_not(record) == "it was recorded in an interactive session, not by a script"

    def test_quoted_as_a_shell_takes_it(self) -> None:
        record = {
            "cwd": "/p/exp",
            "command": {"script": "exp/train.py", "source": "/p", "args": ["--name", "a b"]},
        }
        assert command_line(record) == "python train.py --name 'a b'"

    def test_the_record_is_plain_json(self, project: Path) -> None:
        (project / "train.py").write_text(TRAIN)
        python(project, "train.py")
        text = next((project / ".tmt" / "runs").glob("*/run.json")).read_text()
        assert json.loads(text)["command"]["args"] == []


class TestTheWordFromTmtRerun:
    """TMT_RERUN, as tmt rerun sets it for the runs of the command it starts: anything else
    there is ignored with a warning, and writes nowhere."""

    def record(self, project: Path, value: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(REPO), "TMT_RERUN": value}
        code = "from tmt import tmt_recorder\ntmt_recorder(name='n')(lambda: {'a': 1})()\n"
        (project / "t.py").write_text(code)
        return subprocess.run(
            [sys.executable, "t.py"], cwd=project, env=env, capture_output=True, text=True
        )

    def test_not_json(self, project: Path) -> None:
        done = self.record(project, "{not json")
        assert "t.py:2: UserWarning: tmt: TMT_RERUN is not what tmt rerun sets" in done.stderr
        assert [r["rerun_of"] for r in records(project)] == [None]

    def test_a_store_that_cannot_be(self, project: Path) -> None:
        word = {
            "of": "x",
            "name": "n",
            "source": str(project),
            "receipt": "r",
            "config": {"tmt_dir": 5},
            "scratch": None,
            "snapshot": None,
        }
        done = self.record(project, json.dumps(word))
        assert "the store tmt rerun named cannot be used" in done.stderr
        assert len(records(project)) == 1

    def test_only_a_list_of_runs_is_written_to(self, project: Path, tmp_path: Path) -> None:
        victim = tmp_path / "victim.txt"
        victim.write_text("keep\n")
        word = {
            "of": "x",
            "name": "n",
            "source": str(project),
            "receipt": str(victim),
            "config": {"tmt_dir": str(tmp_path / "store")},
            "scratch": None,
            "snapshot": None,
        }
        assert self.record(project, json.dumps(word)).returncode == 0
        assert victim.read_text() == "keep\n"
        (record,) = records(tmp_path, "store")
        assert record["rerun_of"] == "x"
