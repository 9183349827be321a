"""The file-added trigger, polled through a connection against a stateful fake Drive
(``fake.py``): priming with the folder's files, new and moved-in files, the cursor advancing,
and an expired page token."""
from __future__ import annotations

import pytest
import responses

from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import ValidationFailed
from tests.plugins.google_drive.fake import FakeDrive

FOLDER = "0B9xYzFolderWatched"
OTHER = "0B9xYzFolderOther"


@pytest.fixture
def drive():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeDrive(rsps)


@pytest.fixture
def integ(drive_connection, live):
    return live(drive_connection())


def poll(integ, cursor, folder=FOLDER):
    return integ.poll_file_added({"folder_id": folder}, cursor)


def names(page) -> list[str]:
    return [item["name"] for item in page.items]


def test_priming_takes_the_start_token_then_the_folders_files(drive, integ):
    drive.add("a.pdf", FOLDER)
    drive.add("b.pdf", FOLDER)
    drive.add("c.pdf", FOLDER)
    drive.add("elsewhere.pdf", OTHER)
    page = poll(integ, None)

    assert names(page) == ["a.pdf", "b.pdf", "c.pdf"]  # seen, not fired
    assert page.cursor == str(len(drive.changes) + 1)
    paths = [path for path, _ in drive.requests]
    assert paths == ["/drive/v3/changes/startPageToken", "/drive/v3/files", "/drive/v3/files"]


def test_a_new_file_in_the_folder_fires_and_the_cursor_advances(drive, integ):
    cursor = poll(integ, None).cursor
    drive.add("elsewhere.pdf", OTHER)
    drive.add("invoice.pdf", FOLDER)
    drive.add("receipt.pdf", FOLDER)

    page = poll(integ, cursor)
    assert names(page) == ["invoice.pdf", "receipt.pdf"]
    assert page.items[0]["parents"] == [FOLDER]
    assert page.cursor == str(len(drive.changes) + 1)
    query = drive.requests[-1][1]
    assert query["includeRemoved"] == ["false"] and query["includeItemsFromAllDrives"] == ["true"]
    assert "file(" in query["fields"][0]

    assert poll(integ, page.cursor).items == []
    drive.add("third.pdf", FOLDER)
    assert names(poll(integ, page.cursor)) == ["third.pdf"]


def test_a_file_moved_into_the_folder_is_added(drive, integ):
    moved = drive.add("draft.docx", OTHER)
    cursor = poll(integ, None).cursor
    drive.move(moved, FOLDER)
    assert names(poll(integ, cursor)) == ["draft.docx"]


def test_trashed_deleted_and_non_file_changes_are_left_out(drive, integ):
    kept = drive.add("kept.pdf", FOLDER)
    gone = drive.add("gone.pdf", FOLDER)
    cursor = poll(integ, None).cursor
    drive.trash(kept)
    drive.delete(gone)
    drive.shared_drive_change()
    binned = drive.add("binned.pdf", FOLDER)
    drive.trash(binned)
    assert poll(integ, cursor).items == []


def test_a_file_changed_twice_is_one_item(drive, integ):
    cursor = poll(integ, None).cursor
    new = drive.add("new.pdf", FOLDER)
    drive.edit(new)
    page = poll(integ, cursor)
    assert [item["id"] for item in page.items] == [new]


@pytest.mark.parametrize("status", [404, 410, 400])
def test_an_expired_page_token_asks_for_priming_again(drive, integ, status):
    cursor = poll(integ, None).cursor
    drive.add("x.pdf", FOLDER)
    drive.expire_status = status
    drive.expire_tokens()
    with pytest.raises(IntegrationError) as info:
        poll(integ, cursor)
    assert isinstance(info.value, CursorExpired) and info.value.message.startswith("cursor expired")
    primed = poll(integ, None)
    assert names(primed) == ["x.pdf"]
    drive.add("y.pdf", FOLDER)
    assert names(poll(integ, primed.cursor)) == ["y.pdf"]


def test_a_long_backlog_is_read_over_several_polls(drive, integ, monkeypatch):
    monkeypatch.setattr("plugins.google_drive.integration.MAX_CHANGE_PAGES", 2)
    cursor = poll(integ, None).cursor
    added = [f"f{i}.pdf" for i in range(7)]  # 7 changes, 2 a page, 2 pages a poll
    for name in added:
        drive.add(name, FOLDER)
    seen = []
    for _ in range(3):
        page = poll(integ, cursor)
        seen += names(page)
        cursor = page.cursor
    assert seen == added
    assert cursor == str(len(drive.changes) + 1)


def test_the_folder_is_required(integ):
    with pytest.raises(ValidationFailed) as info:
        integ.poll_file_added({}, None)
    assert "folder_id" in info.value.details
