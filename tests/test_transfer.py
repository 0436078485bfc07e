"""``tmt pull`` and ``tmt push``: runs copied whole between stores, here or over ssh, once."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tmt import TmtManager, storeside, tmt_log, tmt_recorder, tmt_save, transfer
from tmt.runfolder import ORIGIN_NAME
from tmt.snapshot import collect_garbage

from conftest import tmt


def record(folder: Path, lr: float, name: str = "mnist", code: str | None = None) -> str:
    """Record one run of ``name`` in the project ``folder``; returns its id."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        if code is not None:
            (folder / "train.py").write_text(code)

        def train(lr):
            for step in range(3):
                tmt_log("loss", lr / (step + 1), step=step)
            tmt_save({"lr": lr}, name="model")
            print(f"trained with {lr}")
            return {"acc": 0.9 + lr / 10}

        tmt_recorder(name=name)(train)(lr)
        return TmtManager().last().id
    finally:
        os.chdir(here)


@pytest.fixture
def lab(tmp_path: Path) -> Path:
    """A project on "the cluster" with three runs (the code changed before the third)."""
    folder = tmp_path / "lab"
    folder.mkdir()
    (folder / "train.py").write_text("print('v1')\n")
    (folder / "lib.py").write_text("x = 1\n" * 100)
    for lr in (0.1, 0.2):
        record(folder, lr)
    record(folder, 0.3, code="print('v2')\n")
    return folder


@pytest.fixture
def laptop(tmp_path: Path) -> Path:
    """An empty project, where the runs are wanted."""
    folder = tmp_path / "laptop"
    (folder / ".tmt").mkdir(parents=True)
    return folder


def pull(laptop: Path, source: str, *args: str, env: dict | None = None) -> str:
    proc = tmt("pull", source, *args, cwd=laptop, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def loaded(entry) -> object:
    """The object the run saved."""
    with open(entry.results[0].path, "rb") as f:
        return pickle.load(f)


def objects(project: Path) -> set[str]:
    root = project / ".tmt" / "snapshots" / ".objects"
    if not root.exists():
        return set()
    return {b.name + f.name for b in root.iterdir() for f in b.iterdir()}


# Between two projects on one machine ---------------------------------------------------------
def test_pulled_runs_keep_ids_metrics_curves_results_output_and_code(lab: Path, laptop: Path):
    said = pull(laptop, str(lab))
    assert "copied 3 new runs" in said
    there, here = TmtManager(path=str(lab / ".tmt")), TmtManager(path=str(laptop / ".tmt"))
    assert [e.id for e in here.runs()] == [e.id for e in there.runs()]
    for mine, theirs in zip(here.runs(), there.runs()):
        assert mine.metrics == theirs.metrics and mine.params == theirs.params
        assert mine.series("loss").values == theirs.series("loss").values
        assert loaded(mine) == {"lr": mine.params["lr"]}
        assert mine.output() == theirs.output() != ""
        assert mine.snapshot_path.startswith(str(laptop / ".tmt" / "snapshots"))
        assert (Path(mine.snapshot_path) / "train.py").read_text() == (
            Path(theirs.snapshot_path) / "train.py"
        ).read_text()
        assert mine.origin["from"] == str(lab / ".tmt")
    assert "-print('v1')" in tmt("diff", "last~2", "last", cwd=laptop).stdout


def test_a_second_pull_moves_nothing_and_says_so(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    files = sorted(str(p) for p in (laptop / ".tmt").rglob("*"))
    assert "nothing to copy" in pull(laptop, str(lab))
    assert sorted(str(p) for p in (laptop / ".tmt").rglob("*")) == files


def test_the_code_of_many_runs_moves_once(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    stored = objects(laptop)
    assert stored == objects(lab)  # train.py twice, lib.py once
    for lr in (0.4, 0.5, 0.6):
        record(lab, lr)  # same code
    said = pull(laptop, str(lab))
    assert "copied 3 new runs" in said and "code tree" not in said
    assert objects(laptop) == stored


def test_a_dry_run_lists_what_would_move_and_copies_nothing(lab: Path, laptop: Path):
    said = pull(laptop, str(lab), "--dry-run")
    assert "would copy 3 new runs" in said and said.count("mnist") == 3
    assert not (laptop / ".tmt" / "runs").exists()


def test_filters_choose_the_runs_to_move(lab: Path, laptop: Path):
    said = pull(laptop, str(lab), "--where", "lr>=0.2")
    assert "copied 2 new runs" in said and "1 left out by the filters" in said
    assert sorted(e.params["lr"] for e in TmtManager(path=str(laptop / ".tmt")).runs()) == [
        0.2,
        0.3,
    ]
    assert "copied 0" not in pull(laptop, str(lab), "--since", "1h")


def test_a_run_still_running_is_updated_by_a_later_pull(lab: Path, laptop: Path):
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    record_path = lab / ".tmt" / "runs" / run_id / "run.json"
    finished = json.loads(record_path.read_text())
    running = {**finished, "status": "running", "end_time": None, "ended": None}
    record_path.write_text(json.dumps(running))
    pull(laptop, str(lab))
    pulled = laptop / ".tmt" / "runs" / run_id / "run.json"
    assert json.loads(pulled.read_text())["status"] == "running"
    record_path.write_text(json.dumps(finished))
    os.utime(record_path, (time.time() + 5, time.time() + 5))
    assert "1 updated" in pull(laptop, str(lab))
    assert TmtManager(path=str(laptop / ".tmt")).run(run_id).status == "finished"


def test_a_newer_record_here_is_never_replaced_by_an_older_one(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    theirs = lab / ".tmt" / "runs" / run_id / "run.json"
    older = {**json.loads(theirs.read_text()), "status": "running", "end_time": None}
    theirs.write_text(json.dumps(older))
    assert "nothing to copy" in pull(laptop, str(lab))
    assert TmtManager(path=str(laptop / ".tmt")).run(run_id).status == "finished"


def test_tags_added_later_follow_the_newer_side(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    tmt("tag", "last", "paper", cwd=lab)
    assert "the tags or note of 1" in pull(laptop, str(lab))
    assert TmtManager(path=str(laptop / ".tmt")).last().tags == ["paper"]
    tmt("tag", "last", "camera-ready", cwd=laptop)
    assert "nothing to copy" in pull(laptop, str(lab))  # ours are newer
    assert TmtManager(path=str(laptop / ".tmt")).last().tags == ["paper", "camera-ready"]


def test_push_copies_to_another_store(lab: Path, laptop: Path):
    record(laptop, 0.9, name="local")
    proc = tmt("push", str(lab), cwd=laptop)
    assert proc.returncode == 0, proc.stderr
    assert "copied 1 new run to" in proc.stdout
    assert TmtManager(path=str(lab / ".tmt")).last().name == "local"
    assert "nothing to copy" in tmt("push", str(lab), cwd=laptop).stdout


def test_runs_pushed_and_pulled_back_are_already_there(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    assert "nothing to copy" in tmt("push", str(lab), cwd=laptop).stdout


def test_an_interrupted_pull_lists_no_half_copied_run_and_the_next_completes_it(
    lab: Path, laptop: Path, monkeypatch: pytest.MonkeyPatch
):
    written = storeside._write

    def killed(folder: str, name: str, text: str, mtime_ns: int | None) -> None:
        if name == "run.json":
            raise KeyboardInterrupt
        written(folder, name, text, mtime_ns)

    monkeypatch.setattr(storeside, "_write", killed)
    assert tmt("pull", str(lab), cwd=laptop).returncode == 130
    assert TmtManager(path=str(laptop / ".tmt")).runs() == []
    monkeypatch.setattr(storeside, "_write", written)
    assert "copied 3 new runs" in pull(laptop, str(lab))
    assert len(TmtManager(path=str(laptop / ".tmt")).runs()) == 3


def test_a_run_starting_during_a_pull_is_left_for_the_next(lab: Path, laptop: Path):
    (lab / ".tmt" / "runs" / "0123456789ab").mkdir()  # its folder is made before its record
    assert "copied 3 new runs" in pull(laptop, str(lab))
    assert not (laptop / ".tmt" / "runs" / "0123456789ab").exists()


def test_garbage_collection_keeps_what_was_pulled(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    collect_garbage(str(laptop / ".tmt" / "snapshots"))
    assert tmt("gc", cwd=laptop).returncode == 0
    for entry in TmtManager(path=str(laptop / ".tmt")).runs():
        assert (Path(entry.snapshot_path) / "lib.py").exists()


def test_a_store_on_another_filesystem(lab: Path, tmp_path: Path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) to copy across")
    elsewhere = shm / f"tmt-test-{os.getpid()}"
    (elsewhere / ".tmt").mkdir(parents=True)
    try:
        assert "copied 3 new runs" in pull(elsewhere, str(lab))
        assert len(TmtManager(path=str(elsewhere / ".tmt")).runs()) == 3
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(elsewhere)], check=False)
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_a_folder_that_is_no_store_is_a_one_line_error(laptop: Path, tmp_path: Path):
    proc = tmt("pull", str(tmp_path), cwd=laptop)
    assert proc.returncode == 1
    assert proc.stderr.startswith("tmt: error: ") and "no tmt store" in proc.stderr
    assert proc.stderr.count("\n") == 1
    proc = tmt("pull", str(tmp_path / "nowhere"), cwd=laptop)
    assert proc.returncode == 1 and "no folder" in proc.stderr


# What the store's side refuses ---------------------------------------------------------------
def layout(project: Path) -> dict:
    return storeside.locate(str(project))


RUN = "0123456789ab"


def planned_run(tree: str | None = None, files: list | None = None) -> dict:
    """A run in a plan, as the other store's side describes one."""
    record = json.dumps({"id": RUN, "status": "finished", "start_time": 1.0})
    return {"id": RUN, "record": record, "stat": [len(record), 0], "tree": tree,
            "files": files or [], "results": []}  # fmt: skip


def installed(laptop: Path, plan: dict) -> dict:
    """What the store's side did with ``plan``; the run it names is never listed half-done."""
    done = storeside.install(layout(laptop), plan)
    assert RUN not in {e.id for e in TmtManager(path=str(laptop / ".tmt")).runs()} or (
        RUN not in done["skipped"]
    )
    return done


def test_an_object_whose_content_does_not_match_its_hash_is_refused(tmp_path: Path, laptop):
    fake = tmp_path / "fake"
    fake.write_bytes(b"not what the name says")
    manifest = [["train.py", "f", "0" * 64]]
    tree = storeside.tree_id(manifest)
    plan = {"objects": [["0" * 64, str(fake)]], "trees": {tree: manifest}}
    done = installed(laptop, {**plan, "runs": [planned_run(tree)]})
    assert "does not match its hash" in done["skipped"][RUN] and done["new"] == []
    assert objects(laptop) == set()


@pytest.mark.parametrize("rel", ["../escape", "a/../../escape", "/etc/passwd", "a//b", "."])
def test_a_tree_with_a_path_out_of_it_is_refused(laptop: Path, rel: str):
    manifest = [[rel, "l", "/etc"]]
    tree = storeside.tree_id(manifest)
    done = installed(laptop, {"trees": {tree: manifest}, "runs": [planned_run(tree)]})
    assert "refused a file name" in done["skipped"][RUN]
    assert not (laptop / ".tmt" / "snapshots" / ".trees" / tree).exists()


def test_nothing_is_written_through_a_symlink_in_a_tree(laptop: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    manifest = sorted([["a", "l", str(outside)], ["a/x", "f", "0" * 64]])
    tree = storeside.tree_id(manifest)
    done = installed(laptop, {"trees": {tree: manifest}, "runs": [planned_run(tree)]})
    assert RUN in done["skipped"]
    assert list(outside.iterdir()) == []


def test_a_tree_whose_manifest_does_not_match_its_id_is_refused(laptop: Path):
    plan = {"trees": {"0" * 32: [["a", "d", ""]]}, "runs": [planned_run("0" * 32)]}
    assert "does not match its id" in installed(laptop, plan)["skipped"][RUN]


@pytest.mark.parametrize("name", ["../run.json", ".tmt-x.tmp", "", "a/b"])
def test_run_files_named_out_of_the_run_folder_are_refused(laptop: Path, tmp_path: Path, name):
    source = tmp_path / "f"
    source.write_text("x")
    done = installed(laptop, {"runs": [planned_run(files=[[name, str(source), 1, 0]])]})
    assert "refused a file name" in done["skipped"][RUN]


def test_one_damaged_snapshot_file_leaves_only_its_runs_for_later(lab: Path, laptop: Path):
    """Bit rot in the other store costs the runs whose code it holds, not the transfer."""
    damaged = TmtManager(path=str(lab / ".tmt")).last()
    snapshot = Path(damaged.snapshot_path) / "train.py"  # print('v2'): the last run's only
    obj = next(p for p in (lab / ".tmt" / "snapshots" / ".objects").rglob("*")
               if p.is_file() and p.stat().st_ino == snapshot.stat().st_ino)  # fmt: skip
    obj.chmod(0o644)
    obj.write_text("print('rotten')\n")
    proc = tmt("pull", str(lab), cwd=laptop)
    assert proc.returncode == 0, proc.stderr
    assert "copied 2 new runs" in proc.stdout
    assert f"1 run left for the next transfer: {damaged.id}: " in proc.stderr
    assert "does not match its hash" in proc.stderr
    assert damaged.id not in {e.id for e in TmtManager(path=str(laptop / ".tmt")).runs()}


def test_temporary_names_are_tmts_own(tmp_path: Path):
    from tmt.liveness import is_debris, is_temp_name

    name = storeside.temp_name()
    assert is_temp_name(name)
    assert not is_debris(name, time.time())  # this process is alive
    assert storeside.ORIGIN == ORIGIN_NAME


def test_tree_ids_are_the_snapshots_own(lab: Path):
    snapshots = lab / ".tmt" / "snapshots"
    trees = [p.name for p in (snapshots / ".trees").iterdir()]
    found = storeside.manifests(layout(lab), trees)
    assert sorted(found["trees"]) == sorted(trees)


def test_the_store_side_runs_with_nothing_but_python(lab: Path, tmp_path: Path):
    """What is sent to another host needs neither tmt nor anything outside the standard
    library: run by a bare interpreter, it describes a store."""
    boot = transfer._boot() + json.dumps({"path": str(lab)}).encode() + b"\n"
    proc = subprocess.run(
        ["python3", "-I", "-c", storeside.BOOT, "locate"],
        input=boot,
        capture_output=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.split(storeside.MARKER)[1])
    assert answer["root"] == str(lab / ".tmt")


# Over ssh ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory):
    """An ssh server on a free port of localhost, letting this user in with a key of its own;
    yields the ssh command (for ``TMT_SSH``)."""
    server = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(server) or not shutil.which("ssh"):
        pytest.skip("no ssh server here (install openssh-server to run these tests)")
    folder = tmp_path_factory.mktemp("sshd")
    for key in ("host", "user"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True
        )
    shutil.copy(folder / "user.pub", folder / "authorized_keys")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\n"
    )
    if os.getuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)
    process = subprocess.Popen(
        [server, "-D", "-e", "-f", str(folder / "config")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    command = (
        f"ssh -p {port} -i {folder / 'user'} -o BatchMode=yes -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10"
    )
    try:
        for _ in range(50):
            probe = subprocess.run(
                [*command.split(), "127.0.0.1", "true"], capture_output=True, timeout=20
            )
            if probe.returncode == 0:
                break
            if process.poll() is not None:
                pytest.skip(f"the ssh server would not start: {process.stderr.read().decode()}")
            time.sleep(0.1)
        else:
            pytest.skip(f"cannot log in to the test's ssh server: {probe.stderr.decode()}")
        yield command
    finally:
        process.terminate()
        process.wait()


@pytest.fixture(params=["rsync", "stream"])
def over_ssh(request: pytest.FixtureRequest, sshd: str, monkeypatch: pytest.MonkeyPatch):
    """The environment for tmt to reach localhost with the test's ssh server; files move by
    rsync, or (no rsync here) as a stream over ssh."""
    if request.param == "rsync" and not shutil.which("rsync"):
        pytest.skip("no rsync here")
    if request.param == "stream":
        real = shutil.which
        monkeypatch.setattr(
            transfer.shutil, "which", lambda name: None if name == "rsync" else real(name)
        )
    return {transfer.SSH_ENV: sshd}


def test_pull_and_push_over_ssh(lab: Path, laptop: Path, over_ssh: dict):
    said = pull(laptop, f"127.0.0.1:{lab}", env=over_ssh)
    assert "copied 3 new runs from 127.0.0.1:" in said
    here = TmtManager(path=str(laptop / ".tmt"))
    assert [e.metrics for e in here.runs()] == [
        e.metrics for e in TmtManager(path=str(lab / ".tmt")).runs()
    ]
    assert loaded(here.last()) == {"lr": 0.3}
    assert here.last().origin["from"] == f"127.0.0.1:{lab / '.tmt'}"
    assert "-print('v1')" in tmt("diff", "last~2", "last", cwd=laptop).stdout
    assert "nothing to copy" in pull(laptop, f"127.0.0.1:{lab}", env=over_ssh)
    record(laptop, 0.7, name="from-laptop", code="print('laptop')\n")
    proc = tmt("push", f"127.0.0.1:{lab}", cwd=laptop, env=over_ssh)
    assert proc.returncode == 0 and "copied 1 new run" in proc.stdout, proc.stderr
    pushed = TmtManager(path=str(lab / ".tmt")).last()
    assert pushed.name == "from-laptop"
    assert (Path(pushed.snapshot_path) / "train.py").read_text() == "print('laptop')\n"
    assert not [p for p in (lab / ".tmt").iterdir() if p.name.startswith(".tmt-")]
    assert "nothing to copy" in tmt("push", f"127.0.0.1:{lab}", cwd=laptop, env=over_ssh).stdout


def test_an_unreachable_host_is_a_one_line_error(laptop: Path, sshd: str):
    proc = tmt("pull", "127.0.0.2:/nowhere", cwd=laptop, env={transfer.SSH_ENV: sshd})
    assert proc.returncode == 1 and proc.stderr.startswith("tmt: error: 127.0.0.2: ")
    assert proc.stderr.count("\n") == 1


def test_a_missing_remote_python_is_named(laptop: Path, sshd: str, lab: Path):
    env = {transfer.SSH_ENV: sshd}
    proc = tmt("pull", f"127.0.0.1:{lab}", "--remote-python", "python-nowhere", cwd=laptop, env=env)
    assert proc.returncode == 1 and "--remote-python" in proc.stderr


@pytest.mark.parametrize("path", ["relative/file", "/a/../../etc/passwd", "/a//b", "/a/./b"])
def test_a_path_to_copy_that_is_not_plain_is_refused(laptop: Path, path: str):
    run = {"id": "0123456789ab", "files": [["x", path, 1, 0]], "record": None}
    with pytest.raises(storeside.StoreSideError, match="refused a path"):
        storeside.install(layout(laptop), {"runs": [run]}, "/tmp/staging")
    assert not (laptop / ".tmt" / "runs").exists()


def test_a_stream_holding_a_path_out_of_its_folder_is_refused(tmp_path: Path):
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        member = tarfile.TarInfo("a/../../escape")
        member.size = 1
        tar.addfile(member, io.BytesIO(b"x"))
    data.seek(0)
    with pytest.raises(storeside.StoreSideError):
        storeside.unpack(data, str(tmp_path / "in"), {"/a/../../escape"})
    assert not (tmp_path / "escape").exists()


def test_run_folders_that_are_symlinks_are_not_read(lab: Path, laptop: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(next((lab / ".tmt" / "runs").iterdir()), elsewhere)
    record = json.loads((elsewhere / "run.json").read_text())
    record["id"] = "0123456789ab"
    (elsewhere / "run.json").write_text(json.dumps(record))
    (lab / ".tmt" / "runs" / "0123456789ab").symlink_to(elsewhere)
    assert "copied 3 new runs" in pull(laptop, str(lab))


def test_two_pulls_at_once_copy_each_run_once(lab: Path, laptop: Path):
    from conftest import tmt_process

    for lr in (0.4, 0.5, 0.6, 0.7):
        record(lab, lr, code=f"print({lr})\n")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tmt", "pull", str(lab)],
            cwd=laptop,
            env={**os.environ, "PYTHONPATH": str(Path(transfer.__file__).parent.parent)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    here = TmtManager(path=str(laptop / ".tmt"))
    assert len(here.runs()) == 7
    assert all(Path(e.snapshot_path, "train.py").exists() for e in here.runs())
    assert "nothing to copy" in tmt_process("pull", str(lab), cwd=laptop).stdout
    assert objects(laptop) == objects(lab)


def test_progress_is_told_the_bytes_copied(lab: Path, laptop: Path):
    told = []
    moved = TmtManager(path=str(laptop / ".tmt")).pull(
        str(lab), progress=lambda done, total: told.append((done, total))
    )
    total = told[-1][1]  # the files' bytes, and the records'
    assert told[-1] == (total, total) and total > moved.bytes > 0
    assert [d for d, _ in told] == sorted(d for d, _ in told)
    assert {t for _, t in told} == {total}


def test_a_host_that_reads_as_an_option_is_refused(laptop: Path):
    proc = tmt("pull", "-oProxyCommand=touch x:path", cwd=laptop)
    assert proc.returncode in (1, 2) and not (laptop / "x").exists()


def clone_runs(project: Path, copies: int) -> None:
    """Make ``copies`` more of each run of ``project`` (new ids, same files): a store big
    enough for a pull to take a while."""
    store = project / ".tmt"
    for folder in list((store / "runs").iterdir()):
        for n in range(copies):
            new = f"{folder.name[:8]}{n:04x}"
            shutil.copytree(folder, store / "runs" / new)
            shutil.copytree(store / "results" / folder.name, store / "results" / new)
            os.symlink(os.readlink(store / "snapshots" / folder.name), store / "snapshots" / new)
            text = (store / "runs" / new / "run.json").read_text()
            (store / "runs" / new / "run.json").write_text(text.replace(folder.name, new))


def test_a_pull_killed_at_any_moment_lists_only_whole_runs(lab: Path, tmp_path: Path):
    clone_runs(lab, 60)
    theirs = {e.id: e for e in TmtManager(path=str(lab / ".tmt")).runs()}
    env = {**os.environ, "PYTHONPATH": str(Path(transfer.__file__).parent.parent)}
    partial = 0
    for attempt, copied in enumerate((0, 1, 10, 40, 80, 120, 170, len(theirs))):
        laptop = tmp_path / f"laptop{attempt}"
        (laptop / ".tmt").mkdir(parents=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tmt", "pull", str(lab)],
            cwd=laptop,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        runs = laptop / ".tmt" / "runs"
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:  # killed once so many
            if not copied or (runs.is_dir() and len(os.listdir(runs)) >= copied):  # folders
                break
            time.sleep(0.001)
        proc.kill()
        proc.wait()
        listed = TmtManager(path=str(laptop / ".tmt")).runs()
        partial += 0 < len(listed) < len(theirs)
        for entry in listed:
            source = theirs[entry.id]
            assert entry.series("loss").values == source.series("loss").values
            assert entry.output() == source.output()
            assert loaded(entry) == loaded(source)
            assert (
                Path(entry.snapshot_path, "train.py").read_text()
                == Path(source.snapshot_path, "train.py").read_text()
            )
        pull(laptop, str(lab))
        assert sorted(e.id for e in TmtManager(path=str(laptop / ".tmt")).runs()) == sorted(theirs)
        assert "nothing to copy" in pull(laptop, str(lab))
    assert partial, "no pull was killed half-way: the test proves nothing (make the store bigger)"


# What an adversarial review found ----------------------------------------------------------
def run_json(project: Path, run_id: str) -> Path:
    return project / ".tmt" / "runs" / run_id / "run.json"


def test_an_ended_run_here_is_never_replaced_whatever_the_other_claims(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    forged = json.loads(run_json(lab, run_id).read_text())
    forged["end_time"] += 1e6
    forged["metrics"]["acc"] = 0.01
    run_json(lab, run_id).write_text(json.dumps(forged))
    (lab / ".tmt" / "results" / run_id / "model.pkl").write_bytes(pickle.dumps("forged"))
    assert "nothing to copy" in pull(laptop, str(lab))
    mine = TmtManager(path=str(laptop / ".tmt")).run(run_id)
    assert mine.metrics["acc"] != 0.01 and loaded(mine) == {"lr": 0.3}


def test_another_run_by_the_same_id_is_left_out_and_named(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    run_id = TmtManager(path=str(laptop / ".tmt")).last().id
    mine = json.loads(run_json(laptop, run_id).read_text())
    run_json(laptop, run_id).write_text(json.dumps({**mine, "status": "running"}))
    other = json.loads(run_json(lab, run_id).read_text())
    run_json(lab, run_id).write_text(json.dumps({**other, "start_time": 1.0, "acc": 0.01}))
    proc = tmt("pull", str(lab), cwd=laptop)
    assert (
        proc.returncode == 0
        and run_id in proc.stderr
        and "another run by the same id" in (proc.stderr)
    )
    assert json.loads(run_json(laptop, run_id).read_text())["status"] == "running"


@pytest.mark.parametrize("content", [["config.json"], ["results"], ["snapshots"]])
def test_a_folder_that_only_looks_like_a_store_is_not_taken_for_one(
    lab: Path, tmp_path: Path, content: list[str]
):
    folder = tmp_path / "ml-project"
    folder.mkdir()
    for name in content:
        (folder / name).write_text("{}") if "." in name else (folder / name).mkdir()
    before = sorted(p.name for p in folder.iterdir())
    proc = tmt("push", str(folder), cwd=lab)
    assert proc.returncode == 1 and "no tmt store" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_snapshot_file_may_not_arrive_writable(laptop: Path, tmp_path: Path):
    content = b"code\n"
    digest = hashlib.sha256(content).hexdigest() + "m777"
    (tmp_path / "obj").write_bytes(content)
    manifest = [["train.py", "f", digest]]
    tree = storeside.tree_id(manifest)
    plan = {"objects": [[digest, str(tmp_path / "obj")]], "trees": {tree: manifest}}
    done = installed(laptop, {**plan, "runs": [planned_run(tree)]})
    assert "not a snapshot object" in done["skipped"][RUN]
    assert objects(laptop) == set()


def test_record_paths_that_lead_outside_are_not_followed(lab: Path, laptop: Path):
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    record = json.loads(run_json(lab, run_id).read_text())
    record["results"].append({"name": "secret", "path": "/etc/hostname", "saved_with": "pickle"})
    record["git"] = {"commit": "0" * 40, "diff": "/etc/passwd"}
    record["environment"]["packages"] = "/etc/shadow"
    run_json(lab, run_id).write_text(json.dumps(record))
    pull(laptop, str(lab))
    mine = TmtManager(path=str(laptop / ".tmt")).run(run_id)
    results = laptop / ".tmt" / "results" / run_id
    assert [r.path for r in mine.results] == [str(results / "model.pkl"), str(results / "hostname")]
    assert mine.git["diff"] is None
    assert mine.environment.get("packages") is None


def test_records_with_fields_of_the_wrong_type_are_filtered_and_listed_safely(
    lab: Path, laptop: Path
):
    ids = [e.id for e in TmtManager(path=str(lab / ".tmt")).runs()]
    for run_id, field, value in zip(ids, ("name", "start_time", "status"), (5, "yesterday", ["x"])):
        record = json.loads(run_json(lab, run_id).read_text())
        run_json(lab, run_id).write_text(json.dumps({**record, field: value}))
    for args in (["--dry-run"], ["--name", "mnist", "--dry-run"], ["--since", "1d", "--dry-run"]):
        proc = tmt("pull", str(lab), *args, cwd=laptop)
        assert proc.returncode == 0, proc.stderr
        assert "fields of the wrong type ignored" in proc.stderr and ids[0] in proc.stderr


def test_a_running_run_brings_its_new_curves_before_its_next_heartbeat(lab: Path, laptop: Path):
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    record = json.loads(run_json(lab, run_id).read_text())
    run_json(lab, run_id).write_text(json.dumps({**record, "status": "running"}))
    pull(laptop, str(lab))
    curves = lab / ".tmt" / "runs" / run_id / "metrics.csv"
    with curves.open("a") as f:
        f.write("loss,3,0.01,1.0\n")  # logged since, the record not yet rewritten
    assert "1 updated" in pull(laptop, str(lab))
    assert TmtManager(path=str(laptop / ".tmt")).run(run_id).series("loss").steps[-1] == 3
    assert "nothing to copy" in pull(laptop, str(lab))


def test_files_already_there_are_not_sent_again(lab: Path, laptop: Path):
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    (lab / ".tmt" / "results" / run_id / "big.bin").write_bytes(os.urandom(1_000_000))
    finished = json.loads(run_json(lab, run_id).read_text())
    run_json(lab, run_id).write_text(json.dumps({**finished, "status": "running"}))
    pull(laptop, str(lab))
    run_json(lab, run_id).write_text(json.dumps(finished))
    moved = TmtManager(path=str(laptop / ".tmt")).pull(str(lab))
    assert [r.id for r in moved.updated] == [run_id]
    assert moved.bytes < 10_000  # the record; not the megabyte already here


def test_file_names_that_are_not_utf8_move_over_ssh(lab: Path, laptop: Path, over_ssh: dict):
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    odd = os.fsencode(lab / ".tmt" / "results" / run_id) + b"/bad\xff name.bin"
    with open(odd, "wb") as f:
        f.write(b"bytes")
    assert "copied 3 new runs" in pull(laptop, f"127.0.0.1:{lab}", env=over_ssh)
    here = os.fsencode(laptop / ".tmt" / "results" / run_id) + b"/bad\xff name.bin"
    with open(here, "rb") as f:
        assert f.read() == b"bytes"


def test_nothing_is_written_through_a_run_folder_here_that_is_a_link(
    lab: Path, laptop: Path, tmp_path: Path
):
    run_id = TmtManager(path=str(lab / ".tmt")).last().id
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (laptop / ".tmt" / "runs").mkdir()
    (laptop / ".tmt" / "runs" / run_id).symlink_to(elsewhere)
    proc = tmt("pull", str(lab), cwd=laptop)
    assert proc.returncode == 0 and "copied 2 new runs" in proc.stdout
    assert f"{run_id}: " in proc.stderr and "symbolic link" in proc.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_dry_run_says_what_the_pull_then_copies(lab: Path, laptop: Path):
    pull(laptop, str(lab))
    record(lab, 0.8)  # the same code and packages as the runs already pulled
    manager = TmtManager(path=str(laptop / ".tmt"))
    planned = manager.pull(str(lab), dry_run=True)
    done = manager.pull(str(lab))
    assert [r.id for r in planned.new] == [r.id for r in done.new]
    assert (planned.files, planned.bytes) == (done.files, done.bytes)
