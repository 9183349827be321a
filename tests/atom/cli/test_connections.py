"""``atom connections list|test``: the API's view of connections, and its connection test
(recorded on the connection), one by id or all, with a live count and a summary."""
from __future__ import annotations

import json

from tests.atom.cli.conftest import assert_one_line_error
from tests.fakes import reply


def _three(create_connection, fake):
    fake.always("/down", reply(500, {}))
    ok = create_connection("http", {"base_url": fake.url, "health_path": "/health",
                                    "max_attempts": 1}, label="orders api")
    bad = create_connection("http", {"base_url": fake.url, "health_path": "/down",
                                     "max_attempts": 1}, label="billing")
    off = create_connection("http", {"base_url": fake.url, "max_attempts": 1}, label="old one")
    return ok, bad, off


def _disable(client, keys, conn_id):
    response = client.patch(f"/api/v2/connections/{conn_id}", headers=keys["editor"],
                            json={"enabled": False})
    assert response.status_code == 200, response.get_json()


def test_list_shows_connections_as_the_api_does(atom, create_connection, fake, client, keys, tty):
    ok, bad, _ = _three(create_connection, fake)
    lines = atom("connections", "list").stdout.splitlines()
    assert [line.split("\t")[:5] for line in lines] == [
        [str(ok["id"]), "http", "orders api", "yes", "active"],
        [str(bad["id"]), "http", "billing", "yes", "active"],
        [str(bad["id"] + 1), "http", "old one", "yes", "active"]]
    as_json = json.loads(atom("connections", "list", "--json").stdout)
    assert as_json == client.get("/api/v2/connections", headers=keys["viewer"]).get_json()
    assert atom("connections", "list", "--integration", "slack").stdout == ""
    tty("stdout")
    table = atom("connections", "list").stdout.splitlines()
    assert table[0].split() == ["ID", "INTEGRATION", "LABEL", "ENABLED", "STATUS", "HEALTH",
                                "LAST", "TEST"]


def test_list_shows_the_health_the_monitoring_computes_beside_the_status(atom, create_connection,
                                                                         fake, client, keys):
    _, bad, _ = _three(create_connection, fake)
    for _ in range(3):
        client.post("/api/v2/monitoring/checks/run", headers=keys["editor"])
    health = {c["id"]: c for c in json.loads(atom("health", "--json").stdout)["connections"]}
    row = next(line.split("\t") for line in atom("connections", "list").stdout.splitlines()
               if line.startswith(f"{bad['id']}\t"))
    # "active" is the connection's own status (its credentials); its health is not hidden.
    expected = health[bad["id"]]
    assert row[4] == "active"
    assert row[5] == f"{expected['status']} {expected['health_score']:.0f}"
    assert expected["status"] != "healthy"
    assert row[6].startswith("failed (upstream)")


def test_test_all_prints_each_result_and_a_summary_and_exits_1_on_a_failure(
        atom, create_connection, fake, client, keys):
    ok, bad, off = _three(create_connection, fake)
    _disable(client, keys, off["id"])
    result = atom("connections", "test")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    by_id = {line.split("\t")[1]: line.split("\t") for line in lines[:-1]}
    assert by_id[str(ok["id"])][0] == "ok" and by_id[str(ok["id"])][3] == "orders api"
    assert by_id[str(bad["id"])][0] == "FAILED" and by_id[str(bad["id"])][5].startswith("upstream: ")
    assert str(off["id"]) not in by_id
    assert lines[-1] == (f"2 connections tested: 1 ok, 1 failed (1 disabled connection not "
                         f"tested: {off['id']})")
    recorded = client.get(f"/api/v2/connections/{bad['id']}", headers=keys["viewer"]).get_json()
    assert recorded["last_test"]["ok"] is False and recorded["last_test"]["error_class"] == "upstream"


def test_test_one_by_id(atom, create_connection, fake, client, keys):
    ok, bad, off = _three(create_connection, fake)
    result = atom("connections", "test", ok["id"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "1 connection tested: 1 ok, 0 failed"
    assert atom("connections", "test", bad["id"]).exit_code == 1
    _disable(client, keys, off["id"])
    refused = atom("connections", "test", off["id"])
    assert refused.exit_code == 1 and f"connection {off['id']} is disabled" in refused.stdout


def test_test_as_json(atom, create_connection, fake):
    ok, bad, _ = _three(create_connection, fake)
    result = atom("connections", "test", ok["id"], bad["id"], "--json")
    body = json.loads(result.stdout)
    assert body["summary"] == {"tested": 2, "ok": 1, "failed": 1, "disabled_not_tested": []}
    assert [(r["id"], r["ok"]) for r in body["results"]] == [(ok["id"], True), (bad["id"], False)]
    assert body["results"][1]["error_class"] == "upstream" and body["results"][0]["latency_ms"] >= 0


def test_test_on_a_terminal_shows_a_live_count(atom, create_connection, fake, tty):
    _three(create_connection, fake)
    tty("stderr", "stdout")
    result = atom("connections", "test")
    assert "\r" in result.stderr and "testing connections [" in result.stderr
    assert "3/3" in result.stderr and "(1 failed)" in result.stderr
    assert result.stderr.endswith("\r\x1b[2K")  # the live line is cleared at the end
    first = result.stdout.splitlines()[0]
    assert first.startswith(("ok ", "FAILED ")) and "\t" not in first


def test_nothing_to_test(atom):
    assert_one_line_error(atom("connections", "test"), "no connections to test")


def test_a_plugin_bug_is_a_failed_result_and_its_logged_traceback_stays_off_the_console(
        atom, conn, monkeypatch, tmp_path):
    import io
    import logging

    def bug(self):
        return 1 / 0  # a bug (a missing field in the reply, a KeyError, is "upstream")

    monkeypatch.setattr("plugins.http.integration.HttpIntegration.health_check", bug)
    console = io.StringIO()
    handler = logging.StreamHandler(console)
    logging.getLogger().addHandler(handler)
    try:
        result = atom("connections", "test")
    finally:
        logging.getLogger().removeHandler(handler)
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "plugin error: ZeroDivisionError" in result.stdout
    logged = console.getvalue()
    assert "health check of http connection" in logged and "Traceback" not in logged
    assert "ATOM_CLI_TRACEBACK=1 shows it" in logged
