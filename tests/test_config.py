"""Configuration: the 0.1.x config.json keys, defaults, comments, and clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tmt import ConfigError, Configs, TmtManager, tmt_recorder
from tmt.config import strip_comments

README_CONFIG = """{
    // tmt_dir specifies the path where code snapshots and
    // results will be saved. You may use an absolute
    // path as well
    "tmt_dir": ".example",

    // this is the folder we will take a snapshot of
    // for every experiment
    "snapshot_source": ".",

    // snapshot_target is where code snapshots will be
    // saved. It will be joined with tmt_dir. So in this
    // case the target will be .examples/snapshot_example
    "snapshot_target": "snapshot_example",

    // this path will be a symlink to the last snapshot
    // taken. Same rules as for snapshot_target apply
    "last_snapshot_link": "snapshot_example/last",

    // this might actually be any file with a .gitignore
    // syntax. These files will be ignored and not backupped
    "gitignore_path": "path/to/.gitignore",

    // the two paths below are for the db and the results
    // directory, respectively. Same rules apply as for
    // snapshot_target, so path will be .example/tmt_db.json
    "json_db_path": "tmt_db.json",
    "results_path": "results"
}
"""


class TestDefaults:
    def test_everything_lives_under_dot_tmt(self, project: Path) -> None:
        """Without a configuration file, every path is under .tmt in the working folder."""
        c = Configs.from_default_path_or_default_config()
        assert c.source is None
        assert c.tmt_dir == str(project / ".tmt")
        assert c.snapshot_source == str(project)
        assert c.snapshot_target == str(project / ".tmt" / "snapshots")
        assert c.last_snapshot_link == str(project / ".tmt" / "snapshots" / "last")
        assert c.json_db_path == str(project / ".tmt" / "tmt_db.json")
        assert c.results_path == str(project / ".tmt" / "results")
        assert c.gitignore_path is None


class TestReadmeExample:
    def test_the_readme_config_with_comments_loads(self, project: Path) -> None:
        """The README's own example, // comments and all, loads with the README's path rules."""
        path = project / "config.json"
        path.write_text(README_CONFIG)
        c = Configs.from_config(str(path))
        assert c.tmt_dir == str(project / ".example")
        assert c.snapshot_target == str(project / ".example" / "snapshot_example")
        assert c.last_snapshot_link == str(project / ".example" / "snapshot_example" / "last")
        assert c.json_db_path == str(project / ".example" / "tmt_db.json")
        assert c.results_path == str(project / ".example" / "results")
        assert c.gitignore_path == str(project / "path" / "to" / ".gitignore")

    def test_missing_keys_take_the_defaults_under_the_configured_tmt_dir(
        self, project: Path
    ) -> None:
        """A config naming only tmt_dir puts everything else under that folder."""
        (project / "c.json").write_text('{"tmt_dir": "store"}')
        c = Configs.from_config("c.json")
        assert c.results_path == str(project / "store" / "results")

    def test_absolute_tmt_dir_is_kept(self, project: Path, tmp_path: Path) -> None:
        """An absolute tmt_dir is used as it is."""
        (project / "c.json").write_text(json.dumps({"tmt_dir": str(tmp_path / "elsewhere")}))
        assert Configs.from_config("c.json").tmt_dir == str(tmp_path / "elsewhere")


class TestPickedUpByDefault:
    def test_recorder_and_manager_both_use_dot_tmt_config(self, project: Path) -> None:
        """.tmt/config.json is used by the recorder and the manager alike (0.1.x's recorder
        ignored it)."""
        (project / ".tmt").mkdir()
        (project / ".tmt" / "config.json").write_text('{"tmt_dir": ".custom"}')

        @tmt_recorder(name="picked")
        def run() -> dict:
            return {"x": 1}

        run()
        assert (project / ".custom" / "runs").is_dir()
        assert not (project / ".tmt" / "runs").exists()
        manager = TmtManager()
        assert manager.set_entry_by_name("picked").metrics == {"x": 1}

    def test_config_path_argument(self, project: Path) -> None:
        """config_path and config= name a file anywhere."""
        cfg = project / "conf" / "config.json"
        cfg.parent.mkdir()
        cfg.write_text(README_CONFIG)

        @tmt_recorder("custom_config", config_path=str(cfg))
        def run() -> dict:
            return {"f1": 0.5}

        run()
        manager = TmtManager(config=str(cfg))
        manager.set_entry_by_name("custom_config")
        assert dict(manager.get_metrics()) == {"f1": 0.5}


class TestErrors:
    def test_malformed_json_names_file_line_and_column(self, project: Path) -> None:
        """Malformed JSON is one line naming the file and where."""
        (project / "bad.json").write_text('{\n  "tmt_dir": ".x",,\n}')
        with pytest.raises(ConfigError) as err:
            Configs.from_config("bad.json")
        message = str(err.value)
        assert message.startswith("bad.json: not valid JSON at line 2")
        assert "\n" not in message

    def test_wrong_type_names_file_and_key(self, project: Path) -> None:
        """A value of the wrong type is an error naming the file and the key."""
        (project / "bad.json").write_text('{"results_path": 3}')
        with pytest.raises(ConfigError, match=r"bad\.json: key 'results_path' must be a string"):
            Configs.from_config("bad.json")

    def test_not_an_object(self, project: Path) -> None:
        (project / "bad.json").write_text("[1, 2]")
        with pytest.raises(ConfigError, match="expected a JSON object"):
            Configs.from_config("bad.json")

    def test_missing_file(self, project: Path) -> None:
        with pytest.raises(ConfigError, match=r"nope\.json: configuration file not found"):
            Configs.from_config("nope.json")

    def test_unknown_key_is_a_warning_naming_it(self, project: Path) -> None:
        """An unknown key (a typo, usually) warns and is otherwise ignored."""
        (project / "c.json").write_text('{"tmt_dri": ".x"}')
        with pytest.warns(UserWarning, match="unknown key 'tmt_dri'"):
            c = Configs.from_config("c.json")
        assert c.tmt_dir == str(project / ".tmt")

    def test_recorder_raises_before_running_the_function(self, project: Path) -> None:
        """A broken config stops the run before any work is done, with the config error."""
        calls = []
        (project / "bad.json").write_text("{")

        @tmt_recorder("x", config_path="bad.json")
        def run() -> None:
            calls.append(1)

        with pytest.raises(ConfigError):
            run()
        assert calls == []


class TestValuesThatCannotBe:
    @pytest.mark.parametrize(
        "key", ["tmt_dir", "results_path", "gitignore_path", "snapshot_max_file_size"]
    )
    def test_null_is_an_error_naming_the_key(self, project: Path, key: str) -> None:
        (project / "c.json").write_text(json.dumps({key: None}))
        with pytest.raises(ConfigError, match=rf"c\.json: key '{key}' is null"):
            Configs.from_config("c.json")

    def test_a_nul_character_is_an_error_naming_the_key(self, project: Path) -> None:
        (project / "c.json").write_text(json.dumps({"results_path": "res\0ults"}))
        with pytest.raises(ConfigError, match=r"key 'results_path' holds a NUL character"):
            Configs.from_config("c.json")

    def test_a_size_too_large_for_a_number_is_a_config_error(self, project: Path) -> None:
        (project / "c.json").write_text(json.dumps({"snapshot_max_file_size": "9" * 400}))
        with pytest.raises(ConfigError, match="'snapshot_max_file_size' is too large"):
            Configs.from_config("c.json")

    def test_nothing_is_written_before_the_error(self, project: Path) -> None:
        """The recorder reads the configuration before it creates anything."""
        (project / "c.json").write_text(json.dumps({"tmt_dir": ".x", "json_db_path": None}))
        with pytest.raises(ConfigError):
            tmt_recorder("x", config_path="c.json")(lambda: 1)()
        assert not (project / ".x").exists()

    @pytest.mark.parametrize(
        ("config", "key", "what"),
        [
            ({"results_path": ".."}, "results_path", "is the working folder"),
            ({"results_path": "."}, "results_path", "contains"),
            ({"tmt_dir": "."}, "tmt_dir", "is the working folder"),
            ({"tmt_dir": ".."}, "tmt_dir", "contains the working folder"),
            ({"snapshot_target": "../.."}, "snapshot_target", "contains the working folder"),
            ({"json_db_path": "../db.json"}, "json_db_path", "is the working folder"),
            ({"results_path": "../src"}, "results_path", "is the snapshot source"),
            ({"snapshot_target": "results"}, "snapshot_target", "two of tmt's folders"),
            ({"results_path": "runs"}, "json_db_path", "two of tmt's folders"),
            ({"results_path": "envs"}, "tmt_dir", "two of tmt's folders"),
        ],
    )
    def test_a_location_that_would_hold_the_project_is_refused(
        self, project: Path, config: dict, key: str, what: str
    ) -> None:
        """tmt deletes what it does not recognise in its own folders: they must be its own."""
        (project / "src").mkdir()
        config = {"snapshot_source": "src", **config}
        (project / ".tmt").mkdir()
        (project / ".tmt" / "config.json").write_text(json.dumps(config))
        with pytest.raises(ConfigError, match=rf"key.* '{key}'.*{what}"):
            Configs.load()

    def test_a_link_to_the_project_counts_as_the_project(self, project: Path) -> None:
        (project / ".tmt").mkdir()
        os.symlink("..", project / ".tmt" / "elsewhere")
        (project / ".tmt" / "config.json").write_text('{"results_path": "elsewhere"}')
        with pytest.raises(ConfigError, match=r"'results_path'.*is the working folder"):
            Configs.load()

    def test_locations_outside_the_project_are_fine(self, project: Path, tmp_path: Path) -> None:
        (project / "c.json").write_text(json.dumps({"results_path": str(tmp_path / "scratch")}))
        assert Configs.from_config("c.json").results_path == str(tmp_path / "scratch")


class TestStripComments:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ('{"a": "http://x"} // c', '{"a": "http://x"}     '),
            ('{"a": 1 /* c */}', '{"a": 1        }'),
            ('{"a": "\\" // not"}', '{"a": "\\" // not"}'),
            ("// only\n{}", "       \n{}"),
        ],
    )
    def test_comments_outside_strings_become_spaces(self, text: str, expected: str) -> None:
        """Comments are blanked; text inside strings (URLs, escaped quotes) is untouched."""
        assert strip_comments(text) == expected
