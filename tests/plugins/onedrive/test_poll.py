"""The file_added and file_changed triggers against the fake's delta feed: priming with
``token=latest``, new files firing once (over several pages), versions of a changed file,
restarts, the folder filter, and a 410 resync (CursorExpired: the poller primes again)."""
from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from plugins.onedrive.manifest import MANIFEST


@pytest.fixture
def poll(fake, conn, live):
    """Poll a trigger. The fake's clock starts a day back (files made before priming are
    old); priming brings it to now, so files made afterwards are new."""
    fake.now = datetime.now(UTC) - timedelta(days=1)

    def run(trigger: str, cursor: str | None, params: dict | None = None):
        method = MANIFEST.trigger(trigger).delivery.method
        page = getattr(live(conn), method)(params or {}, cursor)
        if cursor is None:
            fake.now = max(fake.now, datetime.now(UTC))
        return page

    run.conn = conn
    return run


def delta_calls(fake) -> list[str]:
    return [c.path_url for c in fake.calls if "/root/delta" in c.path_url]


def test_priming_asks_for_latest_and_fires_nothing(fake, poll):
    fake.add_file("old.txt")
    page = poll("file_added", None)
    assert page.items == []
    state = json.loads(page.cursor)
    assert state["link"].endswith("/root/delta?token=1")
    assert delta_calls(fake)[0].endswith("/root/delta?token=latest")


def test_new_files_fire_once_across_pages_and_folders_never(fake, poll):
    old = fake.add_file("old.txt")
    cursor = poll("file_added", None).cursor
    new = [fake.add_file(f"new{i}.txt") for i in range(3)]
    fake.add_folder("A folder")
    fake.edit(old)  # an old file edited: not new
    page = poll("file_added", cursor)
    assert [i["id"] for i in page.items] == new
    assert page.items[0]["name"] == "new0.txt" and page.items[0]["is_folder"] is False
    assert sum("skip=" in url for url in delta_calls(fake)) == 2  # 5 changes, 2 a page
    again = poll("file_added", page.cursor)
    assert again.items == []


def test_a_file_listed_twice_counts_once_in_its_last_state(fake, poll):
    cursor = poll("file_changed", None).cursor
    f = fake.add_file("a.txt")
    fake.edit(f, b"v2")
    fake.edit(f, b"v3")
    page = poll("file_changed", cursor)
    assert [(i["id"], i["size"]) for i in page.items] == [(f, 2)]
    assert page.items[0]["change_key"] == f"{f}@" + fake.items[f]["eTag"]


def test_each_version_of_a_changed_file_fires_and_new_uploads_do_not(fake, poll):
    f = fake.add_file("a.txt")
    cursor = poll("file_changed", None).cursor
    fake.add_file("fresh.txt")  # a new upload: file_added's, not a change
    fake.edit(f, b"v2")
    first = poll("file_changed", cursor)
    assert [i["id"] for i in first.items] == [f]
    fake.edit(f, b"v3")
    second = poll("file_changed", first.cursor)
    assert [i["id"] for i in second.items] == [f]
    assert first.items[0]["change_key"] != second.items[0]["change_key"]


def test_deleted_files_do_not_fire(fake, poll):
    cursor = poll("file_added", None).cursor
    f = fake.add_file("oops.txt")
    fake.remove(f)
    assert poll("file_added", cursor).items == []


def test_the_folder_filter_keeps_direct_children(fake, poll):
    folder = fake.add_folder("Invoices")
    cursor = poll("file_added", None, {"folder_id": folder}).cursor
    inside = fake.add_file("inv.pdf", parent=folder)
    fake.add_file("elsewhere.pdf")
    page = poll("file_added", cursor, {"folder_id": folder})
    assert [i["id"] for i in page.items] == [inside]


def test_root_as_the_folder_is_resolved_when_priming(fake, poll):
    cursor = poll("file_added", None, {"folder_id": "root"}).cursor
    assert json.loads(cursor)["folder"] == fake.root["id"]
    top = fake.add_file("top.txt")
    fake.add_file("deep.txt", parent=fake.add_folder("Sub"))
    assert [i["id"] for i in poll("file_added", cursor, {"folder_id": "root"}).items] == [top]


def test_a_restart_continues_from_the_stored_cursor(app, fake, poll):
    from atom.state import get_state

    cursor = poll("file_added", None).cursor
    mid = fake.add_file("while we were down.txt")
    get_state(app).runtime.forget(poll.conn["id"])  # a new process builds the client again
    assert [i["id"] for i in poll("file_added", cursor).items] == [mid]


def test_a_long_round_continues_at_the_next_poll(fake, poll, monkeypatch):
    from plugins.onedrive import integration

    monkeypatch.setattr(integration, "DELTA_PAGES", 1)
    cursor = poll("file_added", None).cursor
    ids = [fake.add_file(f"burst{i}.txt") for i in range(3)]
    page = poll("file_added", cursor)
    assert [i["id"] for i in page.items] == ids[:2]
    assert "skip=" in json.loads(page.cursor)["link"]
    rest = poll("file_added", page.cursor)
    assert [i["id"] for i in rest.items] == ids[2:]


def test_an_expired_token_is_a_cursor_expired(fake, poll):
    cursor = poll("file_added", None).cursor
    fake.add_file("a.txt")
    fake.expire()
    with pytest.raises(CursorExpired) as info:
        poll("file_added", cursor)
    assert info.value.status == 410 and info.value.permanent


def test_a_cursor_that_is_not_ours_is_refused(fake, poll):
    with pytest.raises(IntegrationError) as info:
        poll("file_added", "CAEQAA")
    assert "prime it again" in info.value.message


def test_a_delta_link_to_another_host_is_never_called(fake, poll):
    forged = json.dumps({"link": "https://evil.example/v1.0/steal", "since": "2024-05-31T16:00:00Z"})
    with pytest.raises(IntegrationError):
        poll("file_added", forged)
    assert delta_calls(fake) == []
