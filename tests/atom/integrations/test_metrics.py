"""Call metrics: the app's ``MetricsRecorder`` buffers one stat per call and writes them in
batches."""
from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from atom.extensions import db
from atom.integrations.errors import UpstreamError
from atom.integrations.http import ClientSettings
from atom.integrations.http import IntegrationClient
from atom.integrations.outbound import OutboundPolicy
from atom.models import CallRecord
from atom.state import get_state
from tests.fakes import reply
from tests.fakes import wait_until


def _client(server, clock, recorder, conn_id=3):
    return IntegrationClient(integration="fake", connection_id=conn_id, recorder=recorder,
                             settings=ClientSettings(base_url=server.url), clock=clock,
                             policy=OutboundPolicy(allow_private=True))


def _rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CallRecord))


def test_recorder_buffers_then_flush_writes_one_batch(app, server, clock):
    recorder = get_state(app).recorder
    server.always("/ok", reply(200))
    server.always("/down", reply(503))
    client = _client(server, clock, recorder)
    for _ in range(5):
        client.get("/ok")
    with pytest.raises(UpstreamError):
        client.get("/down", operation="down")
    client.close()

    assert recorder.pending() == 6
    assert _rows(app) == 0  # nothing written on the hot path

    inserts = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO CALL_RECORDS"):
            inserts.append(executemany)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert recorder.flush() == 6
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert inserts == [True]  # one executemany, not a statement per call
    assert recorder.pending() == 0
    assert _rows(app) == 6
    with app.app_context():
        failed = db.session.scalars(select(CallRecord).where(CallRecord.ok.is_(False))).one()
    assert (failed.integration, failed.connection_id, failed.operation) == ("fake", 3, "down")
    assert (failed.status, failed.attempts, failed.error_class) == (503, 4, "upstream")
    assert recorder.flush() == 0


def test_background_thread_flushes_when_the_batch_fills(app_factory, server, clock, monkeypatch,
                                                        tmp_path):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    app = app_factory(METRICS_FLUSH_BATCH=4)
    recorder = get_state(app).recorder
    server.always("/ok", reply(200))
    client = _client(server, clock, recorder)
    for _ in range(4):
        client.get("/ok")
    client.close()

    assert wait_until(lambda: _rows(app) == 4)
    assert recorder.pending() == 0


def test_listeners_see_every_stat(app, server, clock):
    recorder = get_state(app).recorder
    seen = []
    recorder.listeners.append(seen.append)
    server.always("/ok", reply(200))
    client = _client(server, clock, recorder, conn_id=9)
    client.get("/ok")
    client.close()
    assert [(s.connection_id, s.ok, s.status) for s in seen] == [(9, True, 200)]


def test_a_failed_flush_keeps_the_records_for_the_next_one(app, monkeypatch):
    import pytest

    from atom.extensions import db
    from atom.models import CallRecord
    from atom.state import get_state

    from datetime import datetime

    from atom.integrations.metrics import CallStat

    recorder = get_state(app).recorder
    for _ in range(3):
        recorder.record(CallStat(datetime(2026, 1, 1), "http", 1, "GET /x", 200, True, 1.0, 1, None))
    real_execute = db.session.execute

    def broken(*args, **kwargs):
        raise RuntimeError("database is away")

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        with pytest.raises(RuntimeError):
            recorder.flush()
        monkeypatch.setattr(db.session, "execute", real_execute)
    assert recorder.pending() == 3
    assert recorder.flush() == 3
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(CallRecord.id))) == 3
