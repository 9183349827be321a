"""The new-hire trigger, polled against the fake tenant's hires report: the window since the
last poll with a look-back, each worker once, a cursor not ours re-primes."""
from __future__ import annotations

from datetime import UTC
from datetime import datetime

import pytest

from atom.integrations.errors import CursorExpired

PARAMS = {"owner": "lmcneil", "report": "New_Hires", "from_prompt": "Start_Date",
          "to_prompt": "End_Date", "id_field": "Employee_ID", "lookback_days": 7, "prompts": {}}


@pytest.fixture
def integ(connect, live, monkeypatch):
    integ = live(connect())
    now = datetime(2026, 3, 8, 12, 0, tzinfo=UTC).timestamp()
    monkeypatch.setattr(integ.http.clock, "time", lambda: now)
    return integ


def test_priming_reads_the_look_back_window_and_the_next_poll_moves_it(wd, integ):
    page = integ.poll_new_hire(PARAMS, None)
    assert [i["worker_id"] for i in page.items] == ["21001"]  # hired 2026-03-02: seen
    assert page.cursor == "2026-03-08"
    call = wd.api_calls()[-1]
    assert (call.query["Start_Date"], call.query["End_Date"]) == (["2026-03-01"], ["2026-03-08"])
    wd.hire("21002", "Teresa Serrano", "2026-03-05")  # entered late: still in the window
    wd.hire("21003", "Too Early", "2026-02-27")  # before the look-back
    again = integ.poll_new_hire(PARAMS, page.cursor)
    # 21001 comes again (the poller keeps each worker id once); 21002 is new.
    assert [i["worker_id"] for i in again.items] == ["21001", "21002"]
    assert again.items[1]["Worker"] == "Teresa Serrano"


def test_rows_without_the_id_column_are_skipped(wd, integ):
    wd.hires.append({"Worker": "No Id", "Hire_Date": "2026-03-09"})
    page = integ.poll_new_hire(PARAMS, "2026-03-09")  # a cursor past today counts as today
    assert [i["worker_id"] for i in page.items] == ["21001"]
    call = wd.api_calls()[-1]
    assert (call.query["Start_Date"], call.query["End_Date"]) == (["2026-03-01"], ["2026-03-08"])


def test_a_cursor_not_written_here_asks_for_priming_again(wd, integ):
    with pytest.raises(CursorExpired):
        integ.poll_new_hire(PARAMS, "last tuesday")
    assert wd.requests == []


def test_new_hires_start_the_workflow_once_across_a_restart(app_factory, monkeypatch, tmp_path, wd):
    """Through the real poller: priming fires nothing, a new hire fires once, and after a new
    process on the same database the next hire fires once while the earlier one (still inside
    the look-back window) does not fire again."""
    from datetime import date
    from datetime import timedelta

    from atom.engine.polling import get_poller
    from atom.engine.polling import run_polls
    from atom.extensions import db
    from atom.models import Execution
    from tests.atom.engine.conftest import close_engine
    from tests.conftest import make_key
    from tests.fakes import FakeClock
    from tests.plugins.workday.fake import CLIENT_ID
    from tests.plugins.workday.fake import CLIENT_SECRET
    from tests.plugins.workday.fake import REFRESH
    from tests.plugins.workday.fake import TENANT

    class Clock(FakeClock):
        START = datetime.now(UTC).replace(tzinfo=None)

        def __call__(self) -> datetime:
            return self.START + timedelta(seconds=self.elapsed)

    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    clock = Clock()

    def start(**config):
        app = app_factory(**config)
        get_poller(app).clock = clock
        return app

    app = start()
    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    client = app.test_client()
    conn = client.post("/api/v2/connections", headers=headers, json={
        "integration": "workday", "label": "tenant",
        "settings": {"host": wd.url, "tenant": TENANT, "max_attempts": 1},
        "credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                        "refresh_token": REFRESH}}).get_json()
    wf = client.post("/api/v2/ai-workflows", headers=headers, json={
        "name": "new hire", "trigger": {"type": "event", "service": "workday", "event": "new_hire",
                                        "connection_id": conn["id"], "params": PARAMS},
        "steps": [{"id": "look", "type": "transform", "mapping": {"name": "trigger.Worker"}}]})
    assert wf.status_code == 201, wf.get_json()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    wd.hire("31001", "Already Here", yesterday)
    [primed] = run_polls(app)
    assert primed.outcome == "primed" and primed.fired == 0

    wd.hire("31002", "First Hire", yesterday)
    clock.advance(3600)
    [result] = run_polls(app)
    assert result.fired == 1

    close_engine(app)
    again = start(SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    wd.hire("31003", "Second Hire", date.today().isoformat())
    clock.advance(3600)
    [after] = run_polls(again)
    assert after.outcome == "ok" and after.fired == 1
    with again.app_context():
        fired = [e.trigger_payload["worker_id"] for e in db.session.scalars(
            db.select(Execution).order_by(Execution.id))]
    assert fired == ["31002", "31003"]
    close_engine(again)
