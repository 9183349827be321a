"""Every error of the ``atom`` command is one line on stderr with a non-zero exit, never a
traceback: an unmigrated database, unknown ids, bad JSON, unwritable report paths, usage
errors, app configuration errors, and (as a last resort) unexpected exceptions."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from flask_migrate import downgrade

from atom import create_app
from atom.cli import main
from atom.cli.base import translate
from atom.extensions import db
from atom.settings import ConfigError
from atom.state import get_state
from tests.atom.cli.conftest import assert_one_line_error
from tests.conftest import BASE_SETTINGS

NEEDS_TABLES = [
    ["users", "list"], ["users", "bootstrap"], ["users", "reset-password", "a@example.com"],
    ["users", "create", "--email", "a@example.com"], ["keys", "list"], ["keys", "revoke", "1"],
    ["keys", "create", "--name", "x", "--role", "viewer"], ["connections", "list"],
    ["connections", "test"], ["connections", "test", "1"], ["workflows", "list"],
    ["workflows", "run", "1"], ["executions", "list"], ["executions", "show", "1"],
    ["executions", "retry", "1"], ["executions", "cancel", "1"], ["alerts", "list"],
    ["alerts", "ack", "1"], ["alerts", "resolve", "1"], ["health"], ["test"], ["scheduler"],
]


@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """An app on a database nobody migrated."""
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({**BASE_SETTINGS, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/new.db"})
    yield app
    get_state(app).recorder.close()
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("args", NEEDS_TABLES, ids=" ".join)
def test_an_unmigrated_database_says_to_run_db_upgrade(fresh_app, args):
    result = fresh_app.test_cli_runner().invoke(main, args)
    assert_one_line_error(result, "has no ATOM tables yet", "run `atom db upgrade` first",
                          exit_code=1)


def test_a_database_behind_the_migrations_says_so(app, runner):
    with app.app_context():
        downgrade(revision="0003_monitoring")
    result = runner.invoke(main, ["keys", "list"])
    assert_one_line_error(result, "at migration 0003_monitoring", "not the latest",
                          "run `atom db upgrade` first")


@pytest.mark.parametrize("args, message", [
    (["executions", "show", "999"], "no execution 999"),
    (["executions", "retry", "999"], "no execution 999"),
    (["executions", "cancel", "999"], "no execution 999"),
    (["workflows", "run", "999"], "no workflow 999"),
    (["connections", "test", "999"], "no connection 999"),
    (["alerts", "ack", "999"], "no alert 999"),
    (["alerts", "resolve", "999"], "no alert 999"),
    (["keys", "revoke", "999"], "no API key 999"),
    (["keys", "revoke", "99999999999999999999"], "no API key"),
    (["users", "reset-password", "nobody@example.com"], "no user nobody@example.com"),
])
def test_unknown_ids_are_one_line(runner, args, message):
    assert_one_line_error(runner.invoke(main, args), message, exit_code=1)


def test_bad_json_input_is_one_line(runner, api, tmp_path):
    wf = api.create({"name": "j", "trigger": {"type": "manual"},
                     "steps": [{"id": "a", "type": "transform", "mapping": {"x": "trigger.x"}}]})
    run = ["workflows", "run", str(wf["id"])]
    assert_one_line_error(runner.invoke(main, [*run, "--data", "{nope"]),
                          "--data", "not valid JSON", exit_code=2)
    assert_one_line_error(runner.invoke(main, [*run, "--data", "[1, 2]"]),
                          "--data", "JSON object", exit_code=2)
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    assert_one_line_error(runner.invoke(main, [*run, "--payload", str(broken)]),
                          "--payload", "not valid JSON")
    assert_one_line_error(runner.invoke(main, [*run, "--payload", str(tmp_path / "missing.json")]),
                          "--payload", "cannot read", "No such file")
    fine = tmp_path / "fine.json"
    fine.write_text("{}")
    assert_one_line_error(runner.invoke(main, [*run, "--payload", str(fine), "--data", "{}"]),
                          "not both")


@pytest.mark.parametrize("where", ["missing-folder", "a-directory", "folder-is-a-file"])
def test_an_unwritable_report_path_is_refused_before_the_tests_run(runner, tmp_path, where):
    (tmp_path / "file.txt").write_text("x")
    path = {"missing-folder": tmp_path / "nope" / "r.html", "a-directory": tmp_path,
            "folder-is-a-file": tmp_path / "file.txt" / "r.html"}[where]
    for option in ("--html", "--json"):
        result = runner.invoke(main, ["test", option, str(path)])
        assert_one_line_error(result, option, str(path), exit_code=2)
        assert "connection(s)" not in result.output  # refused before any test ran


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_refused(runner, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert_one_line_error(runner.invoke(main, ["test", "--html", str(folder / "r.html")]),
                              "not writable")
    finally:
        folder.chmod(0o700)


def test_a_write_that_fails_anyway_is_one_line(runner, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "r.html"))

    monkeypatch.setattr("atom.cli.base.Path.write_text", refuse)
    result = runner.invoke(main, ["test", "--html", str(tmp_path / "r.html")])
    assert_one_line_error(result, "r.html: Permission denied", exit_code=1)


def test_anomaly_scan_names_a_csv_that_is_not_a_series(runner, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.csv").write_text("time,latency\n1,2\n")
    result = runner.invoke(main, ["anomaly", "scan", "--input", str(tmp_path / "in"),
                                  "--output", str(tmp_path / "out.json")])
    assert_one_line_error(result, "bad.csv", "no timestamp and no value column")
    result = runner.invoke(main, ["anomaly", "scan", "--input", str(tmp_path / "in"),
                                  "--output", str(tmp_path / "no" / "out.json")])
    assert_one_line_error(result, "--output", "does not exist", exit_code=2)


def test_usage_errors_are_one_line_with_where_to_find_help(runner):
    line = assert_one_line_error(runner.invoke(main, ["executions", "list", "--status", "bogus"]),
                                 "--status", "bogus", exit_code=2)
    assert "see 'atom executions list --help'" in line
    assert_one_line_error(runner.invoke(main, ["executions", "show", "abc"]),
                          "'abc' is not a valid integer", exit_code=2)
    assert_one_line_error(runner.invoke(main, ["alerts", "ack"]), "Missing argument", exit_code=2)
    assert_one_line_error(runner.invoke(main, ["keys", "list", "--bogus"]), "No such option",
                          exit_code=2)
    assert_one_line_error(runner.invoke(main, ["nosuch"]), "No such command", exit_code=2)
    assert_one_line_error(runner.invoke(main, ["--bogus"]), "No such option", exit_code=2)


def test_values_the_api_refuses_are_refused_naming_the_option(runner):
    assert_one_line_error(runner.invoke(main, ["executions", "list", "--limit", "0"]),
                          "--limit", exit_code=2)
    assert_one_line_error(runner.invoke(main, ["executions", "list", "--since", "yesterday"]),
                          "--since", "Not a valid datetime", exit_code=2)
    assert_one_line_error(runner.invoke(main, ["alerts", "list", "--rule", "bogus"]),
                          "--rule", "Must be one of", exit_code=2)
    assert_one_line_error(runner.invoke(main, ["alerts", "list", "--integration", "nosuch"]),
                          "no integration named", exit_code=1)


def test_refused_account_changes_name_the_option(runner):
    assert runner.invoke(main, ["users", "create", "--email", "a@example.com"]).exit_code == 0
    assert_one_line_error(runner.invoke(main, ["users", "create", "--email", "A@example.com"]),
                          "--email", "exists already")
    assert_one_line_error(runner.invoke(main, ["users", "create", "--email", "b@example.com",
                                               "--password", "short"]),
                          "--password", "at least 12")
    assert_one_line_error(runner.invoke(main, ["keys", "create", "--name", " ", "--role", "viewer"]),
                          "--name", "must not be empty")


def test_an_app_that_cannot_start_is_one_line(tmp_path):
    def broken():
        raise ConfigError("ATOM_ENCRYPTION_KEY is required in production")

    runner = CliRunner()
    result = runner.invoke(main, ["keys", "list"], obj=ScriptInfo(create_app=broken))
    assert_one_line_error(result, "ATOM_ENCRYPTION_KEY is required in production")
    helped = runner.invoke(main, ["--help"], obj=ScriptInfo(create_app=broken))
    assert helped.exit_code == 0 and "connections" in helped.stdout
    assert "Traceback" not in helped.output
    assert "cannot load the app's own commands: ATOM_ENCRYPTION_KEY" in helped.stderr


def test_an_unexpected_exception_is_one_line_unless_asked_for_the_traceback(runner, keys,
                                                                              monkeypatch):
    def bug(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("atom.api.admin.present_key", bug)
    result = runner.invoke(main, ["keys", "list"])
    assert_one_line_error(result, "unexpected KeyError", "surprise", "ATOM_CLI_TRACEBACK=1")
    monkeypatch.setenv("ATOM_CLI_TRACEBACK", "1")
    result = runner.invoke(main, ["keys", "list"])
    assert isinstance(result.exception, KeyError)


def test_translate_maps_os_errors_to_their_file_and_reason():
    error = translate(PermissionError(13, "Permission denied", "/srv/report.html"))
    assert error.message == "/srv/report.html: Permission denied"
    assert translate(RuntimeError("x")) is None
