"""The file triggers, polled through a connection against the documented fake: priming
(file_added lists the folder, file_changed takes the latest cursor), new files firing once,
``list_folder/continue`` from the stored cursor, a reset cursor re-priming, long backlogs."""
from __future__ import annotations

import pytest

from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationError
from plugins.dropbox.manifest import MANIFEST


@pytest.fixture
def integ(connect, live):
    return live(connect())


def added(integ, cursor, path="/Inbox", **params):
    return integ.poll_file_added({"path": path, **params}, cursor)


def changed(integ, cursor, path="/Inbox", **params):
    return integ.poll_file_changed({"path": path, **params}, cursor)


def names(page) -> list[str]:
    return [item["name"] for item in page.items]


def test_file_added_primes_with_the_folders_files_then_fires_new_ones(dropbox, integ):
    dropbox.add_file("/Inbox/a.pdf")
    dropbox.add_file("/Inbox/b.pdf")
    dropbox.add_file("/Inbox/Sub/deep.pdf")
    dropbox.add_file("/Elsewhere/c.pdf")
    primed = added(integ, None)
    assert names(primed) == ["a.pdf", "b.pdf"]  # seen, not fired (no folders, no subfolder)
    assert [r.route for r in dropbox.requests] == ["files/list_folder"]
    assert dropbox.requests[0].arg == {"path": "/Inbox", "recursive": False,
                                       "include_deleted": False, "limit": 2000}

    dropbox.add_file("/Inbox/new.pdf")
    dropbox.add_file("/Elsewhere/other.pdf")
    dropbox.add_folder("/Inbox/New folder")
    page = added(integ, primed.cursor)
    assert names(page) == ["new.pdf"]
    assert page.items[0]["tag"] == "file" and page.items[0]["id"].startswith("id:")
    assert dropbox.requests[-1].route == "files/list_folder/continue"
    assert dropbox.requests[-1].arg == {"cursor": primed.cursor}
    assert added(integ, page.cursor).items == []


def test_an_edit_is_not_an_added_file_but_a_deletion_and_new_upload_is(dropbox, integ):
    dropbox.add_file("/Inbox/a.pdf", b"1")
    cursor = added(integ, None).cursor
    dropbox.edit("/Inbox/a.pdf", b"2")
    dropbox.remove("/Inbox/a.pdf")
    dropbox.add_file("/Inbox/b.pdf", b"b")
    page = added(integ, cursor)
    # a.pdf comes back only as deleted (left out); its id was seen anyway. b.pdf is new.
    assert names(page) == ["b.pdf"]


def test_a_file_added_then_edited_within_one_poll_is_one_item(dropbox, integ):
    dropbox.add_folder("/Inbox")
    cursor = added(integ, None).cursor
    dropbox.add_file("/Inbox/a.pdf", b"1")
    dropbox.edit("/Inbox/a.pdf", b"22")
    page = added(integ, cursor)
    assert names(page) == ["a.pdf"] and page.items[0]["size"] == 2


def test_recursive_watches_subfolders(dropbox, integ):
    dropbox.add_folder("/Inbox")
    cursor = added(integ, None, recursive=True).cursor
    dropbox.add_file("/Inbox/Sub/deep.pdf")
    assert names(added(integ, cursor, recursive=True)) == ["deep.pdf"]


def test_the_root_is_watched_as_an_empty_path(dropbox, integ):
    cursor = added(integ, None, path="/").cursor
    assert dropbox.requests[0].arg["path"] == ""
    dropbox.add_file("/top.txt")
    assert names(added(integ, cursor, path="/")) == ["top.txt"]


def test_file_changed_primes_with_the_latest_cursor_and_fires_each_revision(dropbox, integ):
    dropbox.add_file("/Inbox/a.pdf", b"1")
    primed = changed(integ, None)
    assert primed.items == []
    assert [r.route for r in dropbox.requests] == ["files/list_folder/get_latest_cursor"]
    dropbox.edit("/Inbox/a.pdf", b"2")
    first = changed(integ, primed.cursor)
    dropbox.edit("/Inbox/a.pdf", b"3")
    dropbox.add_file("/Inbox/b.pdf", b"b")
    second = changed(integ, first.cursor)
    assert names(first) == ["a.pdf"] and names(second) == ["a.pdf", "b.pdf"]
    revs = {item["rev"] for item in first.items + second.items}
    assert len(revs) == 3  # the item id of file_changed: one per revision
    assert MANIFEST.trigger("file_changed").delivery.item_id == "rev"
    assert MANIFEST.trigger("file_added").delivery.item_id == "id"


def test_a_reset_cursor_is_expired_and_priming_again_works(dropbox, integ):
    dropbox.add_file("/Inbox/a.pdf")
    cursor = added(integ, None).cursor
    dropbox.reset_cursors()
    with pytest.raises(IntegrationError) as info:
        added(integ, cursor)
    assert isinstance(info.value, CursorExpired)
    primed = added(integ, None)
    assert names(primed) == ["a.pdf"]
    dropbox.add_file("/Inbox/b.pdf")
    assert names(added(integ, primed.cursor)) == ["b.pdf"]


def test_a_long_backlog_is_read_over_several_polls(dropbox, integ, monkeypatch):
    monkeypatch.setattr("plugins.dropbox.integration.PAGE_LIMIT", 2)
    monkeypatch.setattr("plugins.dropbox.integration.MAX_POLL_PAGES", 2)
    dropbox.add_folder("/Inbox")
    cursor = added(integ, None).cursor
    for i in range(7):
        dropbox.add_file(f"/Inbox/f{i}.pdf")
    seen = []
    for _ in range(3):
        page = added(integ, cursor)
        seen += names(page)
        cursor = page.cursor
    assert seen == [f"f{i}.pdf" for i in range(7)]
    assert len(dropbox.calls("files/list_folder/continue")) == 4 + 1


def test_a_folder_too_large_to_list_primes_with_the_latest_cursor(dropbox, integ, monkeypatch):
    monkeypatch.setattr("plugins.dropbox.integration.PAGE_LIMIT", 2)
    monkeypatch.setattr("plugins.dropbox.integration.MAX_PRIME_PAGES", 2)
    for i in range(6):
        dropbox.add_file(f"/Inbox/f{i}.pdf")
    primed = added(integ, None)
    assert names(primed) == ["f0.pdf", "f1.pdf", "f2.pdf", "f3.pdf"]
    assert dropbox.requests[-1].route == "files/list_folder/get_latest_cursor"
    dropbox.add_file("/Inbox/new.pdf")
    assert names(added(integ, primed.cursor)) == ["new.pdf"]


def test_a_missing_folder_names_the_path(dropbox, integ):
    with pytest.raises(IntegrationError) as info:
        added(integ, None, path="/Nope")
    assert info.value.details == {"path": ["not_found"]}
    with pytest.raises(IntegrationError) as info:
        added(integ, None, path="Nope")
    assert "path" in info.value.details and dropbox.requests[-1].arg["path"] == "/Nope"
