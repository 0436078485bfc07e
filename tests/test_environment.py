"""Environment: the Python, platform, user and installed distributions of every run."""

from __future__ import annotations

import sys
from pathlib import Path

from tmt import TmtManager, tmt_recorder

from conftest import records


class TestEnvironment:
    def test_python_platform_and_user(self, project: Path) -> None:
        tmt_recorder(name="e")(lambda: None)()
        env = TmtManager().set_entry_by_name("e").environment
        assert env["python"] == ".".join(map(str, sys.version_info[:3]))
        assert env["executable"] == sys.executable
        assert env["platform"] and env["implementation"]
        assert "user" in env

    def test_installed_distributions_with_versions(self, project: Path) -> None:
        import importlib.metadata

        tmt_recorder(name="e")(lambda: None)()
        packages = TmtManager().set_entry_by_name("e").packages()
        assert packages["pytest"] == importlib.metadata.version("pytest")

    def test_the_package_list_is_stored_once_for_many_runs(self, project: Path) -> None:
        for _ in range(3):
            tmt_recorder(name="e")(lambda: None)()
        paths = {r["environment"]["packages"] for r in records(project)}
        assert len(paths) == 1
        assert len(list((project / ".tmt" / "envs").iterdir())) == 1
