"""``atom health``, ``atom test`` and ``atom anomaly scan``."""
from __future__ import annotations

import json

from atom.cli import main
from tests.fakes import reply


def test_atom_health_prints_every_connection_and_exits_0_when_none_is_unhealthy(runner, connect,
                                                                                service):
    connect("/health", label="orders api")
    result = runner.invoke(main, ["health", "--check"])
    assert result.exit_code == 0, result.output
    header, row = result.output.strip().splitlines()
    assert header.split()[:5] == ["ID", "INTEGRATION", "LABEL", "STATUS", "SCORE"]
    assert "orders api" in row and "healthy" in row and "100" in row


def test_atom_health_exits_1_when_a_connection_is_unhealthy(runner, connect, service, run):
    service.always("/b", reply(500, {}))
    connect("/health", label="fine")
    connect("/b", label="broken")
    run()
    result = runner.invoke(main, ["health"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert any("broken" in line and "unhealthy" in line and "upstream" in line for line in lines)
    as_json = runner.invoke(main, ["health", "--json"])
    statuses = {c["label"]: c["status"] for c in json.loads(as_json.output)["connections"]}
    assert statuses == {"fine": "healthy", "broken": "unhealthy"}


def test_atom_test_writes_json_and_html_reports(runner, connect, create_connection, service,
                                                tmp_path):
    service.always("/ping", reply(200, {}))
    service.always("/slow", reply(200, {}, delay=1.2))
    service.always("/denied", reply(401, {}))
    service.always("/lookup/abc", reply(200, {}))
    service.always("/lookup/gone", reply(404, {}))  # the example's id is not in this account
    create_connection("probe", {"base_url": service.url}, label="probe <one>")
    connect("/slow", label="slow one")
    connect("/denied", label="denied one")
    out_json, out_html = tmp_path / "report.json", tmp_path / "report.html"

    result = runner.invoke(main, ["test", "--json", str(out_json), "--html", str(out_html)])

    assert result.exit_code == 1, result.output  # the 401 fails
    report = json.loads(out_json.read_text())
    assert report["summary"]["connections"] == 3 and report["summary"]["checks_failed"] == 1
    assert report["integrations"]["http"]["checks"] == {"passed": 1, "total": 2}
    assert report["integrations"]["probe"]["checks"] == {"passed": 1, "total": 1}
    probe = next(c for c in report["connections"] if c["integration"] == "probe")
    actions = {a["name"]: a for a in probe["actions"]}
    assert actions["ping"]["status"] == "passed"
    # No input loads empty: each runs with its example, when that loads.
    assert actions["lookup"]["status"] == "passed"
    assert actions["find"]["status"] == "skipped" and "key" in actions["find"]["message"]
    assert actions["fetch"]["status"] == "skipped"
    assert "does not know the example" in actions["fetch"]["message"]
    http_recs = report["integrations"]["http"]["recommendations"]
    assert any("re-authorise" in r for r in http_recs)
    assert any("took" in r and "slow" in r for r in http_recs)
    assert report["integrations"]["http"]["latency_ms"]["max"] >= 1200
    html = out_html.read_text()
    assert "probe &lt;one&gt;" in html and "<one>" not in html
    assert "re-authorise" in html
    assert "2 health check(s) passed, 1 failed" in result.output


def test_atom_test_exits_0_when_everything_passes(runner, connect, service, tmp_path):
    # The http plugin's read-only `get` runs its example (GET /status): a real server that has
    # no such path answers 404, which skips the action rather than failing it.
    service.always("/status", reply(404, {}))
    connect("/health")
    result = runner.invoke(main, ["test", "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["ok"] is True


def test_atom_anomaly_scan_writes_flagged_timestamps_per_relative_path(runner, tmp_path):
    folder = tmp_path / "series" / "sub"
    folder.mkdir(parents=True)
    rows = ["timestamp,value"]
    for i in range(1200):
        value = 100 + (i % 7) * 0.5 + (500 if i == 1000 else 0)
        rows.append(f"2024-01-01 {i // 60:02d}:{i % 60:02d}:00,{value}")
    (folder / "latency.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "detections.json"

    result = runner.invoke(main, ["anomaly", "scan", "--input", str(tmp_path / "series"),
                                  "--output", str(out)])

    assert result.exit_code == 0, result.output
    detections = json.loads(out.read_text())
    assert list(detections) == ["sub/latency.csv"]
    assert "2024-01-01 16:40:00" in detections["sub/latency.csv"]
