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
