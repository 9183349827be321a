"""``atom alerts list|ack|resolve``: the monitoring API's alert functions, who = ``--by`` or the
OS user."""
from __future__ import annotations

import json

import pytest

from atom.extensions import db
from atom.models import Alert
from atom.models import AuditEvent
from atom.models.base import utcnow
from tests.atom.cli.conftest import assert_one_line_error


@pytest.fixture
def alerts(app):
    """Three alerts: an open critical one, an acknowledged warning, a resolved one."""
    now = utcnow()
    specs = [("consecutive_failures", "critical", "open", 7, "3 consecutive failed health checks"),
             ("response_time", "warning", "acknowledged", 7, "p95 response time 900 ms exceeds 800 ms"),
             ("success_rate", "warning", "resolved", 8, "success rate 70.0% over 10 calls")]
    ids = []
    with app.app_context():
        for rule, severity, status, conn_id, message in specs:
            alert = Alert(rule=rule, subject=f"connection:{conn_id}", integration="http",
                          connection_id=conn_id, severity=severity, status=status, message=message,
                          dedup_key=None if status == "resolved" else f"{rule}:connection:{conn_id}",
                          created_at=now, last_seen_at=now,
                          acknowledged_by="earlier" if status == "acknowledged" else None,
                          acknowledged_at=now if status == "acknowledged" else None,
                          resolved_at=now if status == "resolved" else None,
                          resolved_by="system" if status == "resolved" else None)
            db.session.add(alert)
            db.session.flush()
            ids.append(alert.id)
        db.session.commit()
    return ids


def test_list_filters_as_the_api_does(atom, alerts, client, keys, tty):
    critical, acked, resolved = alerts
    lines = atom("alerts", "list").stdout.splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == [resolved, acked, critical]
    assert lines[-1].split("\t")[1:5] == ["critical", "open", "consecutive_failures", "connection:7"]
    active = atom("alerts", "list", "--status", "active").stdout.splitlines()
    assert [int(line.split("\t")[0]) for line in active] == [acked, critical]
    for args, query in ((["--status", "active"], "status=active"),
                        (["--severity", "warning", "--connection", "7"], "severity=warning&connection_id=7"),
                        (["--rule", "success_rate", "--integration", "http"], "rule=success_rate&integration=http"),
                        (["--limit", "1"], "limit=1")):
        cli = json.loads(atom("alerts", "list", *args, "--json").stdout)
        api = client.get(f"/api/v2/monitoring/alerts?{query}", headers=keys["viewer"]).get_json()
        assert cli == api, args
    tty("stdout")
    header = atom("alerts", "list").stdout.splitlines()[0]
    assert header.split() == ["ID", "SEVERITY", "STATUS", "RULE", "SUBJECT", "MESSAGE", "SINCE", "BY"]


def test_ack_records_who_from_by_or_the_os_user(app, atom, alerts, client, keys, monkeypatch):
    critical, acked, resolved = alerts
    monkeypatch.setattr("getpass.getuser", lambda: "ops-on-call")
    result = atom("alerts", "ack", critical)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (f"acknowledged alert {critical} (critical consecutive_failures "
                                     "on connection:7) as ops-on-call")
    shown = client.get(f"/api/v2/monitoring/alerts/{critical}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "acknowledged" and shown["acknowledged_by"] == "ops-on-call"
    again = atom("alerts", "ack", acked, "--by", "alice@example.com")
    assert again.exit_code == 0 and "acknowledged already (by earlier)" in again.stdout
    assert_one_line_error(atom("alerts", "ack", resolved), f"alert {resolved} is resolved",
                          exit_code=1)
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).filter_by(action="alert.acknowledge")).all()
        assert [(e.actor, e.subject) for e in events] == [("ops-on-call", f"alert:{critical}")]


def test_resolve_records_who_and_refuses_a_resolved_one(app, atom, alerts, client, keys):
    critical, _, resolved = alerts
    result = atom("alerts", "resolve", critical, "--by", "alice@example.com")
    assert result.exit_code == 0, result.output
    assert "resolved alert" in result.stdout and "as alice@example.com" in result.stdout
    shown = client.get(f"/api/v2/monitoring/alerts/{critical}", headers=keys["viewer"]).get_json()
    assert shown["status"] == "resolved" and shown["resolved_by"] == "alice@example.com"
    assert_one_line_error(atom("alerts", "resolve", resolved), "resolved already")
    with app.app_context():
        assert db.session.get(Alert, critical).dedup_key is None  # a new alert may open later


def test_no_alerts(atom):
    result = atom("alerts", "list")
    assert result.exit_code == 0 and result.stdout == "" and "no alerts match" in result.stderr
    assert json.loads(atom("alerts", "list", "--json").stdout) == {"alerts": [], "count": 0, "next_cursor": None}
