"""The record triggers, polled against the fake org: priming reads only the newest record,
new records fire once in (time, Id) order even when many share a second, a change of a record
is one event, restarts keep the cursor, a cursor not ours re-primes."""
from __future__ import annotations

from datetime import datetime
from datetime import timedelta

import pytest

from atom.engine.polling import get_poller
from atom.engine.polling import run_polls
from atom.extensions import db
from atom.integrations.errors import CursorExpired
from atom.models import Execution
from tests.atom.engine.conftest import close_engine
from tests.conftest import make_key
from tests.fakes import FakeClock
from tests.plugins.salesforce.fake import TOKEN

PARAMS = {"object": "Lead", "field_names": None, "max_per_poll": 200}


@pytest.fixture
def integ(connect, live):
    return live(connect())


def ids(page) -> list[str]:
    return [item["Id"] for item in page.items]


def test_priming_reads_only_the_newest_record(sf, integ):
    sf.add("Lead", LastName="old", Company="A")
    sf.advance(5)
    newest = sf.add("Lead", LastName="new", Company="A")
    page = integ.poll_record_created(PARAMS, None)
    assert ids(page) == [newest]
    assert page.cursor == f"2026-03-02T09:00:05.000+0000|{newest}"
    [call] = sf.calls("GET")
    assert call.query["q"] == ("SELECT FIELDS(STANDARD) FROM Lead ORDER BY CreatedDate DESC, "
                               "Id DESC LIMIT 1")


def test_an_empty_object_primes_at_the_epoch_and_then_fires_everything(sf, integ):
    page = integ.poll_record_created(PARAMS, None)
    assert page.items == [] and page.cursor.startswith("1970-01-01")
    first = sf.add("Lead", LastName="first", Company="A")
    assert ids(integ.poll_record_created(PARAMS, page.cursor)) == [first]


def test_records_sharing_a_second_are_neither_skipped_nor_repeated(sf, integ):
    cursor = integ.poll_record_created(PARAMS, None).cursor
    sf.advance(1)
    made = sorted(sf.add("Lead", LastName=f"bulk{n}", Company="A") for n in range(5))
    small = {**PARAMS, "max_per_poll": 2}
    seen: list[str] = []
    for _ in range(4):
        page = integ.poll_record_created(small, cursor)
        seen += ids(page)
        cursor = page.cursor
    assert seen == made  # 2 + 2 + 1 + 0, in Id order
    later = sf.add("Lead", LastName="same second, later", Company="A")
    assert ids(integ.poll_record_created(small, cursor)) == [later]
    soql = sf.calls("GET")[-1].query["q"]
    assert "(CreatedDate > 2026-03-02T09:00:01Z OR (CreatedDate = 2026-03-02T09:00:01Z AND Id >" in soql
    assert soql.endswith("ORDER BY CreatedDate ASC, Id ASC LIMIT 2")


def test_each_change_of_a_record_is_one_event(sf, integ):
    lead = sf.add("Lead", LastName="Lovelace", Company="A")
    cursor = integ.poll_record_updated(PARAMS, None).cursor
    sf.advance(60)
    sf.touch("Lead", lead, Status="Working - Contacted")
    page = integ.poll_record_updated(PARAMS, cursor)
    assert [i["change_id"] for i in page.items] == [f"{lead}@2026-03-02T09:01:00.000+0000"]
    assert page.items[0]["Status"] == "Working - Contacted" and "attributes" not in page.items[0]
    assert integ.poll_record_updated(PARAMS, page.cursor).items == []
    sf.advance(60)
    sf.touch("Lead", lead, Title="CTO")
    again = integ.poll_record_updated(PARAMS, page.cursor)
    assert [i["change_id"] for i in again.items] == [f"{lead}@2026-03-02T09:02:00.000+0000"]


def test_named_fields_are_selected_with_the_cursor_fields(sf, integ):
    integ.poll_record_created({**PARAMS, "field_names": ["Email"]}, None)
    assert sf.calls("GET")[0].query["q"].startswith(
        "SELECT Id, CreatedDate, SystemModstamp, Email FROM Lead")


@pytest.mark.parametrize("cursor", ["garbage", "2026-03-02T09:00:00.000+0000|../x' OR Id != '"])
def test_a_cursor_not_written_here_asks_for_priming_again(sf, integ, cursor):
    with pytest.raises(CursorExpired):
        integ.poll_record_created(PARAMS, cursor)
    assert sf.requests == []


class Clock(FakeClock):
    START = datetime(2026, 3, 2, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.START + timedelta(seconds=self.elapsed)


def _app(app_factory, clock, **config):
    app = app_factory(**config)
    get_poller(app).clock = clock
    return app


def test_new_leads_start_the_workflow_once_across_a_restart(app_factory, monkeypatch, tmp_path,
                                                             sf):
    monkeypatch.setenv("ATOM_INSTANCE_PATH", str(tmp_path / "instance"))
    clock = Clock()
    app = _app(app_factory, clock)
    headers = {"Authorization": f"Bearer {make_key(app, 'editor')}"}
    client = app.test_client()
    conn = client.post("/api/v2/connections", headers=headers, json={
        "integration": "salesforce", "label": "org", "credentials": {"access_token": TOKEN},
        "settings": {"instance_url": sf.url, "max_attempts": 1}}).get_json()
    wf = client.post("/api/v2/ai-workflows", headers=headers, json={
        "name": "new lead", "trigger": {"type": "event", "service": "salesforce",
                                        "event": "record_created", "connection_id": conn["id"],
                                        "params": {"object": "Lead"}},
        "steps": [{"id": "look", "type": "action", "service": "salesforce",
                   "action": "get_record", "connection": conn["id"],
                   "parameters": {"object": "Lead", "record_id": "{{ trigger.Id }}"}}]})
    assert wf.status_code == 201, wf.get_json()
    sf.add("Lead", LastName="before", Company="A")
    [primed] = run_polls(app)
    assert primed.outcome == "primed" and primed.fired == 0

    sf.advance(1)
    first = sf.add("Lead", LastName="first", Company="A")
    clock.advance(60)
    [result] = run_polls(app)
    assert result.fired == 1

    # A new process on the same database: the cursor and the seen ids are kept.
    close_engine(app)
    again = _app(app_factory, clock, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    sf.advance(1)
    second = sf.add("Lead", LastName="second", Company="A")
    clock.advance(60)
    [after] = run_polls(again)
    assert after.outcome == "ok" and after.fired == 1
    clock.advance(60)
    assert run_polls(again)[0].fired == 0
    with again.app_context():
        fired = [e.trigger_payload["Id"] for e in db.session.scalars(
            db.select(Execution).order_by(Execution.id))]
    assert fired == [first, second]
    close_engine(again)
