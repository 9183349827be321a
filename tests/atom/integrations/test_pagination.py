"""Pagination strategies driven through ``IntegrationClient.paginate`` against a local fake."""
from __future__ import annotations

import pytest

from atom.integrations.errors import UpstreamError
from atom.integrations.pagination import CursorPaginator
from atom.integrations.pagination import LinkHeaderPaginator
from atom.integrations.pagination import OffsetPaginator
from atom.integrations.pagination import PageTokenPaginator
from tests.fakes import reply


def _queries(server, path):
    return [{k: v[0] for k, v in c.query.items()} for c in server.calls(path)]


def test_cursor_in_body(server, clock, make_client):
    server.script("/users.list",
                  reply(200, {"members": [1, 2], "response_metadata": {"next_cursor": "c2"}}),
                  reply(200, {"members": [3], "response_metadata": {"next_cursor": "c3"}}),
                  reply(200, {"members": [4], "response_metadata": {"next_cursor": ""}}))
    pager = CursorPaginator(items="members", cursor_path="response_metadata.next_cursor")

    items = list(make_client().paginate("/users.list", pager, params={"limit": 2}))

    assert items == [1, 2, 3, 4]
    assert _queries(server, "/users.list") == [
        {"limit": "2"}, {"limit": "2", "cursor": "c2"}, {"limit": "2", "cursor": "c3"}]


def test_first_page_only_stops_after_one_request_even_on_a_repeating_cursor(server, clock, make_client):
    from atom.integrations.pagination import first_page_only

    server.always("/users.list", reply(200, {"members": [1, 2], "response_metadata": {"next_cursor": "same"}}))
    pager = CursorPaginator(items="members", cursor_path="response_metadata.next_cursor")
    with first_page_only():
        assert list(make_client().paginate("/users.list", pager)) == [1, 2]
    assert server.count("/users.list") == 1
    with pytest.raises(UpstreamError, match="came back twice"):  # outside it: the loop guard
        list(make_client().paginate("/users.list", pager))


def test_cursor_has_more_false_stops(server, clock, make_client):
    server.script("/v1/customers",
                  reply(200, {"data": [{"id": "a"}], "has_more": True, "next": "a"}),
                  reply(200, {"data": [{"id": "b"}], "has_more": False, "next": "b"}))
    pager = CursorPaginator(items="data", cursor_path="next", cursor_param="starting_after",
                            has_more="has_more")
    items = list(make_client().paginate("/v1/customers", pager))
    assert [i["id"] for i in items] == ["a", "b"]
    assert server.count("/v1/customers") == 2
    assert _queries(server, "/v1/customers")[1] == {"starting_after": "a"}


def test_page_token(server, clock, make_client):
    server.script("/files",
                  reply(200, {"files": ["f1"], "nextPageToken": "t2"}),
                  reply(200, {"files": ["f2"]}))
    items = list(make_client().paginate("/files", PageTokenPaginator(items="files")))
    assert items == ["f1", "f2"]
    assert _queries(server, "/files") == [{}, {"pageToken": "t2"}]


def test_link_header(server, clock, make_client):
    nxt = (f'<{server.url}/repos/o/r/issues?page=2&per_page=1>; rel="next", '
           f'<{server.url}/x>; rel="last"')
    server.script("/repos/o/r/issues",
                  reply(200, [{"n": 1}], headers={"Link": nxt}),
                  reply(200, [{"n": 2}]))
    pager = LinkHeaderPaginator()

    items = list(make_client().paginate("/repos/o/r/issues", pager, params={"per_page": 1}))

    assert items == [{"n": 1}, {"n": 2}]
    # The next URL carries its own query; the original params are not sent again.
    assert _queries(server, "/repos/o/r/issues") == [
        {"per_page": "1"}, {"page": "2", "per_page": "1"}]


def test_link_header_to_another_host_is_refused(server, clock, make_client):
    evil = '<http://evil.invalid/items?page=2>; rel="next"'
    server.script("/items", reply(200, [1], headers={"Link": evil}))
    gen = make_client().paginate("/items", LinkHeaderPaginator())
    assert next(gen) == 1
    with pytest.raises(UpstreamError) as info:
        next(gen)
    assert info.value.permanent and "another host" in info.value.message
    assert server.count() == 1


def test_offset_with_total(server, clock, make_client):
    server.script("/rest/api/3/search",
                  reply(200, {"issues": ["a", "b"], "startAt": 0, "total": 5}),
                  reply(200, {"issues": ["c", "d"], "startAt": 2, "total": 5}),
                  reply(200, {"issues": ["e"], "startAt": 4, "total": 5}))
    pager = OffsetPaginator(items="issues", page_size=2)

    items = list(make_client().paginate("/rest/api/3/search", pager))

    assert items == ["a", "b", "c", "d", "e"]
    assert _queries(server, "/rest/api/3/search") == [
        {"startAt": "0", "maxResults": "2"}, {"startAt": "2", "maxResults": "2"},
        {"startAt": "4", "maxResults": "2"}]


def test_offset_stops_on_a_short_page_without_total(server, clock, make_client):
    server.script("/list", reply(200, {"values": [1, 2]}), reply(200, {"values": [3]}))
    pager = OffsetPaginator(items="values", page_size=2, offset_param="offset",
                            limit_param="limit", total_path=None)
    assert list(make_client().paginate("/list", pager)) == [1, 2, 3]
    assert server.count("/list") == 2


def test_offset_stops_on_is_last(server, clock, make_client):
    server.script("/board", reply(200, {"values": [1, 2], "isLast": True}))
    pager = OffsetPaginator(items="values", page_size=2, total_path=None)
    assert list(make_client().paginate("/board", pager)) == [1, 2]
    assert server.count("/board") == 1


def test_same_cursor_twice_is_a_loop(server, clock, make_client):
    server.script("/list",
                  reply(200, {"items": [1], "next_cursor": "a"}),
                  reply(200, {"items": [2], "next_cursor": "b"}),
                  reply(200, {"items": [3], "next_cursor": "a"}))
    pager = CursorPaginator(items="items")
    got = []
    with pytest.raises(UpstreamError, match="loop"):
        for item in make_client().paginate("/list", pager):
            got.append(item)
    assert got == [1, 2, 3]
    assert server.count("/list") == 3


def test_same_link_twice_is_a_loop(server, clock, make_client):
    link = {"Link": f'<{server.url}/items?page=2>; rel="next"'}
    server.script("/items", reply(200, [1], headers=link), reply(200, [2], headers=link))
    with pytest.raises(UpstreamError):
        list(make_client().paginate("/items", LinkHeaderPaginator()))
    assert server.count("/items") == 2


def test_max_pages_caps_the_listing(server, clock, make_client):
    counter = iter(range(1000))

    def endless(req):
        n = next(counter)
        return reply(200, {"items": [n], "next_cursor": f"c{n}"})

    server.always("/endless", endless)
    items = list(make_client().paginate("/endless", CursorPaginator(items="items", max_pages=3)))
    assert items == [0, 1, 2]
    assert server.count("/endless") == 3


def test_pages_are_retried_like_any_call(server, clock, make_client):
    server.script("/list",
                  reply(200, {"items": [1], "next_cursor": "x"}),
                  reply(503),
                  reply(200, {"items": [2]}))
    assert list(make_client().paginate("/list", CursorPaginator(items="items"))) == [1, 2]
    assert _queries(server, "/list") == [{}, {"cursor": "x"}, {"cursor": "x"}]


def test_relative_link_resolves_against_the_request_url(server, clock, make_client):
    server.script("/api/v3/items",
                  reply(200, [1], headers={"Link": '</api/v3/items?page=2>; rel="next"'}),
                  reply(200, [2]))
    client = make_client(base_url=server.url + "/api/v3")
    assert list(client.paginate("items", LinkHeaderPaginator())) == [1, 2]
    assert _queries(server, "/api/v3/items") == [{}, {"page": "2"}]
