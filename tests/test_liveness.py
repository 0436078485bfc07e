"""Runs killed without a word (kill -9, a lost node) are reported as crashed, never lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmt import TmtManager
from tmt.errors import RunningRunError
from tmt.liveness import (
    DEBRIS_AGE,
    STALE_AFTER,
    effective_status,
    is_debris,
    is_temp_name,
    machine,
    pid_alive,
    process_start,
    temp_name,
    this_host,
)

from conftest import REPO, records


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class TestKilledRun:
    def test_a_run_killed_mid_way_is_listed_as_crashed(self, project: Path) -> None:
        """kill -9 during a run: the run stays visible, as crashed, and the store readable."""
        code = (
            "import time\n"
            "from tmt import tmt_recorder\n"
            "@tmt_recorder(name='doomed')\n"
            "def run():\n"
            "    time.sleep(60)\n"
            "run()\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=project, env=env)
        try:
            wait_for(lambda: any(r["status"] == "running" for r in records(project)))
            entry = TmtManager().set_entry_by_name("doomed")
            assert entry.status == "running"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        entry = TmtManager().set_entry_by_name("doomed")
        assert entry.status == "crashed"
        assert entry.to_dict()["status"] == "crashed"
        assert records(project)[0]["status"] == "running"  # the file is left as the run wrote it

    def test_other_runs_still_record_after_a_crash(self, project: Path, run_python) -> None:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\nfrom tmt import tmt_recorder\n"
                "tmt_recorder(name='a')(lambda: time.sleep(60))()\n",
            ],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        wait_for(lambda: len(records(project)) == 1)
        proc.kill()
        proc.wait()
        run_python("from tmt import tmt_recorder\ntmt_recorder(name='b')(lambda: {'ok': 1})()\n")
        statuses = {e.name: e.status for e in TmtManager().db.get_all_entries()}
        assert statuses == {"a": "crashed", "b": "finished"}


class TestEffectiveStatus:
    def record(self, **fields) -> dict:
        now = time.time()
        return {
            "status": "running",
            "host": this_host(),
            "pid": os.getpid(),
            "start_time": now,
            "heartbeat_time": now,
            **fields,
        }

    def test_finished_runs_are_what_they_say(self) -> None:
        assert effective_status(self.record(status="finished", pid=0)) == "finished"

    def test_a_live_process_here_is_running(self) -> None:
        assert effective_status(self.record()) == "running"

    def test_a_gone_process_here_is_crashed(self) -> None:
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        proc.wait()
        assert effective_status(self.record(pid=proc.pid)) == "crashed"

    def test_a_reused_pid_is_not_mistaken_for_the_run(self) -> None:
        """The process start time recorded with the pid tells a reused pid apart."""
        assert effective_status(self.record(process_start="1")) == "crashed"

    def test_another_host_is_judged_by_its_heartbeat(self) -> None:
        fresh = self.record(host="elsewhere", pid=1)
        assert effective_status(fresh) == "running"
        stale = self.record(host="elsewhere", pid=1, heartbeat_time=time.time() - STALE_AFTER - 1)
        assert effective_status(stale) == "crashed"

    def test_another_pid_namespace_of_this_host_is_judged_by_its_heartbeat(self) -> None:
        """A container with the host's name sees other pids: its pid says nothing here."""
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        fresh = self.record(pid=dead.pid, pid_namespace="4026530000")
        assert effective_status(fresh) == "running"
        stale = dict(fresh, heartbeat_time=time.time() - STALE_AFTER - 1)
        assert effective_status(stale) == "crashed"
        assert effective_status(self.record(pid=dead.pid, boot_id="another boot")) == "running"

    def test_records_from_before_namespaces_were_recorded_use_the_pid(self) -> None:
        assert effective_status(self.record()) == "running"
        assert effective_status(self.record(process_start="1")) == "crashed"

    def test_a_zombie_is_not_alive(self) -> None:
        proc = subprocess.Popen([sys.executable, "-c", "pass"])
        stat = Path(f"/proc/{proc.pid}/stat")
        wait_for(lambda: stat.read_text().split(") ")[1][0] == "Z")
        try:
            assert not pid_alive(proc.pid)
        finally:
            proc.wait()


class TestOtherNamespace:
    def test_a_live_run_in_another_pid_namespace_is_running_and_kept(self, project: Path) -> None:
        """A run started in its own PID namespace (as in a container) is not taken for dead,
        and tmt rm will not delete it without --force."""
        code = "import time, tmt\ntmt.tmt_recorder(name='box')(time.sleep)(60)\n"
        probe = subprocess.run(
            ["unshare", "-Urpf", "--mount-proc", "true"], capture_output=True, check=False
        )
        if probe.returncode != 0:
            pytest.skip(f"cannot make a PID namespace here: {probe.stderr.decode().strip()}")
        proc = subprocess.Popen(
            ["unshare", "-Urpf", "--mount-proc", sys.executable, "-c", code],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            wait_for(lambda: any(r["status"] == "running" for r in records(project)))
            (record,) = records(project)
            assert record["pid_namespace"] != machine()["pid_namespace"]
            assert TmtManager().last().status == "running"
            with pytest.raises(RunningRunError):
                TmtManager().delete(["last"])
        finally:
            proc.kill()
            proc.wait()


class TestDebris:
    """Temporary files name their maker, so a dead maker's leftovers can be told apart."""

    def test_a_live_makers_file_is_not_debris(self) -> None:
        assert not is_debris(temp_name(), mtime=0.0)

    def test_a_dead_makers_file_on_this_machine_is_debris_at_once(self) -> None:
        code = "from tmt.liveness import temp_name; print(temp_name())"
        name = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        ).stdout.strip()
        assert is_temp_name(name)
        assert is_debris(name, mtime=time.time())

    def test_another_machines_file_is_debris_once_untouched_for_an_hour(self) -> None:
        name = ".tmt-00000000-1-1.0123abcd.tmp"
        assert not is_debris(name, mtime=time.time() - 60)
        assert is_debris(name, mtime=time.time() - DEBRIS_AGE - 1)

    def test_older_temporary_names_are_debris_once_old(self) -> None:
        for name in (".run.json.123.0123abcd.tmp", "model.pkl.77.deadbeef.tmp", ".last.9.0123abcd"):
            assert not is_debris(name, mtime=time.time())
            assert is_debris(name, mtime=time.time() - DEBRIS_AGE - 1)

    @pytest.mark.parametrize(
        "name",
        [
            "model.pkl",
            "run.json",
            ".gitignore",
            "0123456789ab",
            "2024.abcdef012345",
            "m.3.1a2b3c4d",
        ],
    )
    def test_other_names_are_never_debris(self, name: str) -> None:
        assert not is_debris(name, mtime=0.0)


class TestHeartbeat:
    def test_a_running_run_refreshes_its_heartbeat(self, project: Path) -> None:
        """While the function runs, the heartbeat thread keeps rewriting heartbeat_time."""
        code = (
            "import glob, json, time\n"
            "import tmt.activerun\n"
            "tmt.activerun.HEARTBEAT_INTERVAL = 0.1\n"
            "from tmt import tmt_recorder\n"
            "def work():\n"
            "    time.sleep(0.6)\n"
            "    (path,) = glob.glob('.tmt/runs/*/run.json')\n"
            "    r = json.load(open(path))\n"
            "    print(r['status'], r['heartbeat_time'] - r['start_time'])\n"
            "tmt_recorder(name='beat')(work)()\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=project,
            check=True,
            timeout=60,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        ).stdout.split()
        assert out[0] == "running"
        assert float(out[1]) > 0.2


class TestMachine:
    """A run records the facts that make its pid meaningful, read from the kernel."""

    def test_the_boot_id_and_pid_namespace(self) -> None:
        boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"
        assert machine() == {
            "boot_id": boot_id,
            "pid_namespace": namespace[len("pid:[") : -1],
        }
        assert machine()["pid_namespace"].isdigit()

    def test_process_start_is_the_kernels_start_time(self) -> None:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text()
        assert process_start(os.getpid()) == stat[stat.rfind(")") + 2 :].split()[19]
        assert process_start(2**22 + 1) is None  # above the largest pid Linux gives


class TestPidAlive:
    """Only a positive int that names a running process (the one that began then) is alive."""

    @pytest.mark.parametrize("pid", [0, -1, True, "1", 1.0, None, 2**80])
    def test_what_is_not_a_pid_is_not_alive(self, pid) -> None:
        assert pid_alive(pid) is False

    def test_asking_does_not_disturb_the_process(self) -> None:
        proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert pid_alive(proc.pid) is True
            assert pid_alive(proc.pid, process_start(proc.pid)) is True
            assert pid_alive(proc.pid, "1") is False
            time.sleep(0.05)
            assert proc.poll() is None
        finally:
            proc.kill()
            proc.wait()
        assert pid_alive(proc.pid) is False

    def test_without_proc_the_signal_decides(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Where there is no /proc (macOS), a process that takes the signal is alive."""
        import tmt.liveness

        monkeypatch.setattr(tmt.liveness, "_stat_fields", lambda pid: None)
        assert pid_alive(os.getpid(), "1") is True
        assert process_start(os.getpid()) is None


class TestStatusEdges:
    def test_a_record_without_a_status_is_unknown(self) -> None:
        assert effective_status({}) == "unknown"
        assert effective_status({"status": ""}) == "unknown"

    def test_a_heartbeat_exactly_stale_after_old_is_still_running(self) -> None:
        record = {"status": "running", "host": "elsewhere", "heartbeat_time": 1000.0}
        assert effective_status(record, now=1000.0 + STALE_AFTER) == "running"
        assert effective_status(record, now=1000.0 + STALE_AFTER + 0.5) == "crashed"

    def test_without_a_heartbeat_the_start_time_is_used(self) -> None:
        record = {"status": "running", "host": "elsewhere", "start_time": 1000.0}
        assert effective_status(record, now=1000.0 + STALE_AFTER + 1) == "crashed"
        assert effective_status(record, now=1001.0) == "running"

    def test_a_run_elsewhere_with_no_time_is_as_recorded(self) -> None:
        assert effective_status({"status": "running", "host": "elsewhere"}) == "running"


class TestDebrisEdges:
    def test_exactly_an_hour_old_is_not_yet_debris(self) -> None:
        for name in (".tmt-00000000-1-1.0123abcd.tmp", ".run.json.123.0123abcd.tmp"):
            assert not is_debris(name, mtime=0.0, now=DEBRIS_AGE)
            assert is_debris(name, mtime=0.0, now=DEBRIS_AGE + 0.5)

    def test_older_names_can_be_left_alone(self) -> None:
        assert not is_debris(".run.json.123.0123abcd.tmp", mtime=0.0, now=1e9, old_names=False)

    def test_a_temporary_name_says_this_machine_and_process(self) -> None:
        name = temp_name()
        assert is_temp_name(name)
        _, maker, pid, started = name.split(".")[1].split("-")
        assert (int(pid), started) == (os.getpid(), process_start(os.getpid()))
        assert len(maker) == 8
