"""Every Webex action and the health check against the local stateful fake that follows Webex's
REST reference (tests/plugins/webex/fake_webex.py): what is sent, what comes back, Link
paging, and input validation before anything is sent."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from plugins.webex.manifest import MANIFEST
from tests.plugins.webex.conftest import WEBHOOK_SECRET
from tests.plugins.webex.fake_webex import TOKEN


def test_the_health_check_reads_people_me(webex, connect, check_connection):
    result = check_connection(connect()).get_json()
    assert result["ok"] is True, result
    (call,) = webex.requests
    assert (call.method, call.path) == ("GET", "/v1/people/me")
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_a_refused_token_fails_the_health_check_as_auth(webex, connect, check_connection,
                                                        client, keys):
    conn = connect(token="NotTheRightToken_0123456789abcdef")
    result = check_connection(conn).get_json()
    assert (result["ok"], result["error_class"]) == (False, "auth")
    assert "401" in result["message"] and "trackingId ROUTER_" in result["message"]
    row = client.get(f"/api/v2/connections/{conn['id']}", headers=keys["viewer"]).get_json()
    assert row["status"] == "needs_reauth"


def test_every_example_runs_against_the_fake(webex, connect, run_action):
    """Each action's ``example`` (seeded where it names existing ids) is accepted."""
    from plugins.webex.samples import ROOM_ID

    webex.rooms[ROOM_ID] = {"id": ROOM_ID, "title": "Project Unicorn", "type": "group",
                            "isLocked": False, "lastActivity": "2015-10-18T14:26:16.000Z",
                            "creatorId": webex.me["id"], "created": "2015-10-18T14:26:16.000Z"}
    webex.messages.append({"id": MANIFEST.action("get_message").example["message_id"],
                           "roomId": ROOM_ID, "roomType": "group", "text": "hi",
                           "personId": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9m",
                           "created": "2015-10-18T14:26:16.000Z"})
    conn = connect()
    for action in MANIFEST.actions:
        r = run_action(conn, action.name, dict(action.example))
        assert r.status_code == 200, (action.name, r.get_json())
        errors = list(Draft202012Validator(dict(action.output)).iter_errors(r.get_json()["output"]))
        assert not errors, (action.name, errors[0].message)


def test_send_message_to_a_room_in_markdown(webex, connect, run_action):
    room = webex.add_room("Project Unicorn")
    r = run_action(connect(), "send_message", {"room_id": room, "markdown": "**Deploy** done",
                                               "text": "Deploy done"})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["room_id"], out["room_type"], out["markdown"], out["text"]) == (
        room, "group", "**Deploy** done", "Deploy done")
    assert out["person_email"] == "atom-bot@webex.bot"
    assert webex.calls("POST", "/v1/messages")[0].json == {
        "roomId": room, "text": "Deploy done", "markdown": "**Deploy** done"}


def test_send_message_directly_to_a_person_by_email(webex, connect, run_action):
    r = run_action(connect(), "send_message", {"to_person_email": "matt@example.com",
                                               "text": "Your report is ready"})
    out = r.get_json()["output"]
    assert out["room_type"] == "direct" and out["to_person_email"] == "matt@example.com"
    assert webex.calls("POST", "/v1/messages")[0].json == {
        "toPersonEmail": "matt@example.com", "text": "Your report is ready"}


def test_a_reply_goes_in_the_thread(webex, connect, run_action):
    room = webex.add_room("Ops")
    parent = webex.add_message(room, "Deploy?")
    r = run_action(connect(), "send_message", {"room_id": room, "parent_id": parent,
                                               "text": "Done"})
    assert r.get_json()["output"]["parent_id"] == parent


@pytest.mark.parametrize("body, field", [
    ({"text": "nobody to send to"}, "room_id"),
    ({"room_id": "Y2lzY29zcGFyazovL3VzL1JPT00vYmJj", "to_person_email": "a@example.com",
      "text": "two targets"}, "room_id"),
    ({"room_id": "Y2lzY29zcGFyazovL3VzL1JPT00vYmJj"}, "text"),
    ({"to_person_email": "not-an-email", "text": "x"}, "to_person_email"),
    ({"to_person_email": "a@example.com", "parent_id": "Y2lzY29zcGFyazovL3VzL01FU1NB",
      "text": "x"}, "parent_id"),
    ({"room_id": "../rooms?x", "text": "x"}, "room_id"),
    ({"room_id": "Y2lzY29zcGFyazovL3VzL1JPT00vYmJj", "text": "x", "files": ["a"]}, "files"),
])
def test_invalid_messages_are_refused_before_calling_webex(webex, connect, run_action, body,
                                                           field):
    r = run_action(connect(), "send_message", body)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]
    assert webex.requests == []


def test_get_message_fetches_the_text_a_webhook_leaves_out(webex, connect, run_action):
    room = webex.add_room("Ops")
    mid = webex.add_message(room, "the text")
    r = run_action(connect(), "get_message", {"message_id": mid})
    assert r.get_json()["output"]["text"] == "the text"


@pytest.mark.parametrize("message_id", ["../../people/me", "abc/def", "x?y=1", "short"])
def test_a_message_id_that_could_leave_the_path_is_refused(webex, connect, run_action,
                                                           message_id):
    r = run_action(connect(), "get_message", {"message_id": message_id})
    assert r.status_code == 422 and "message_id" in r.get_json()["errors"]
    assert webex.requests == []


def test_list_messages_follows_the_link_header(webex, connect, run_action):
    room = webex.add_room("Ops")
    ids = [webex.add_message(room, f"m{i}") for i in range(5)]
    r = run_action(connect(), "list_messages", {"room_id": room, "max_items": 4})

    out = r.get_json()["output"]
    assert [m["id"] for m in out["messages"]] == list(reversed(ids))[:4]
    calls = webex.calls("GET", "/v1/messages")
    assert len(calls) == 1 and calls[0].query == {"roomId": room, "max": "4"}


def test_pages_are_followed_to_the_end(webex, connect, run_action, monkeypatch):
    from plugins.webex import integration

    monkeypatch.setattr(integration, "PAGE_SIZE", 2)
    room = webex.add_room("Ops")
    for i in range(5):
        webex.add_message(room, f"m{i}")
    r = run_action(connect(), "list_messages", {"room_id": room})
    assert r.get_json()["output"]["count"] == 5
    assert [c.query.get("cursor") for c in webex.calls("GET", "/v1/messages")] == [None, "2", "4"]


def test_a_parameter_the_next_link_drops_is_put_back(webex, connect, run_action, monkeypatch):
    from plugins.webex import integration

    monkeypatch.setattr(integration, "PAGE_SIZE", 1)
    webex.drop_from_next = {"mentionedPeople"}
    room = webex.add_room("Ops")
    webex.add_message(room, "not for me")
    mentions = [webex.add_message(room, f"@bot {i}", mentions_me=True) for i in range(2)]
    r = run_action(connect(), "list_messages", {"room_id": room, "mentioned_me": True})
    assert [m["id"] for m in r.get_json()["output"]["messages"]] == list(reversed(mentions))
    assert all(c.query.get("mentionedPeople") == "me" for c in webex.calls("GET", "/v1/messages"))


def test_list_rooms_filters_and_sorts(webex, connect, run_action):
    webex.add_room("Direct with Matt", "direct")
    group = webex.add_room("Project Unicorn", teamId="Y2lzY29zcGFyazovL3VzL1RFQU0vMTIz")
    r = run_action(connect(), "list_rooms", {"type": "group", "sort_by": "lastactivity"})
    out = r.get_json()["output"]
    assert [room["id"] for room in out["rooms"]] == [group]
    assert out["rooms"][0]["team_id"] == "Y2lzY29zcGFyazovL3VzL1RFQU0vMTIz"
    assert webex.calls("GET", "/v1/rooms")[0].query == {"type": "group", "sortBy": "lastactivity",
                                                        "max": "100"}


def test_create_room_and_add_a_member(webex, connect, run_action):
    conn = connect()
    room = run_action(conn, "create_room", {"title": "Incident 42", "is_locked": True})
    room_id = room.get_json()["output"]["id"]
    assert room.get_json()["output"]["is_locked"] is True
    member = run_action(conn, "add_member", {"room_id": room_id,
                                             "person_email": "matt@example.com",
                                             "is_moderator": True})
    assert member.get_json()["output"]["person_email"] == "matt@example.com"
    assert webex.calls("POST", "/v1/memberships")[0].json == {
        "roomId": room_id, "personEmail": "matt@example.com", "isModerator": True}

    again = run_action(conn, "add_member", {"room_id": room_id, "person_email": "matt@example.com"})
    assert again.status_code == 422
    assert again.get_json()["errors"] == {"_request": ["Person is already in the room."]}


def test_add_member_needs_one_person(webex, connect, run_action):
    r = run_action(connect(), "add_member", {"room_id": "Y2lzY29zcGFyazovL3VzL1JPT00vYmJj"})
    assert r.status_code == 422 and "person_email" in r.get_json()["errors"]


def test_create_meeting_sends_iso_times_and_returns_no_password(webex, connect, run_action):
    r = run_action(connect(), "create_meeting", {
        "title": "Example Daily Meeting", "start": "2030-11-01T20:00:00+08:00",
        "end": "2030-11-01T21:00:00+08:00", "timezone": "Asia/Shanghai",
        "invitees": ["john.andersen@example.com"], "send_email": True, "agenda": "Standup"})

    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["title"] == "Example Daily Meeting" and out["web_link"].startswith("https://")
    assert "BgJep@43" not in r.get_data(as_text=True)
    assert "password" not in out
    assert webex.calls("POST", "/v1/meetings")[0].json == {
        "title": "Example Daily Meeting", "start": "2030-11-01T20:00:00+08:00",
        "end": "2030-11-01T21:00:00+08:00", "timezone": "Asia/Shanghai", "agenda": "Standup",
        "invitees": [{"email": "john.andersen@example.com"}], "sendEmail": True}


@pytest.mark.parametrize("body, field", [
    ({"title": "x", "start": "2030-11-01T21:00:00Z", "end": "2030-11-01T20:00:00Z"}, "end"),
    ({"title": "x", "start": "2030-11-01T20:00:00Z", "end": "2030-11-01T21:00:00"}, "end"),
    ({"title": "x", "start": "tomorrow", "end": "2030-11-01T21:00:00Z"}, "start"),
    ({"title": "x", "start": "2030-11-01T20:00:00Z", "end": "2030-11-01T21:00:00Z",
      "timezone": "Mars/Olympus"}, "timezone"),
    ({"title": "x", "start": "2030-11-01T20:00:00Z", "end": "2030-11-01T21:00:00Z",
      "invitees": ["not-an-email"]}, "invitees"),
    ({"start": "2030-11-01T20:00:00Z", "end": "2030-11-01T21:00:00Z"}, "title"),
])
def test_invalid_meetings_are_refused_before_calling_webex(webex, connect, run_action, body,
                                                           field):
    r = run_action(connect(), "create_meeting", body)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]
    assert webex.requests == []


def test_create_webhook_gives_webex_the_secret_and_returns_none(webex, connect, run_action):
    r = run_action(connect(), "create_webhook", {
        "target_url": "https://atom.example.com/hooks/webex/1", "resource": "messages",
        "event": "created", "filter": "mentionedPeople=me"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"]["signed"] is True
    assert WEBHOOK_SECRET not in r.get_data(as_text=True)
    assert webex.calls("POST", "/v1/webhooks")[0].json == {
        "name": "ATOM", "targetUrl": "https://atom.example.com/hooks/webex/1",
        "resource": "messages", "event": "created", "filter": "mentionedPeople=me",
        "secret": WEBHOOK_SECRET}


def test_create_webhook_needs_a_secret_and_an_https_target(webex, create_connection, connect,
                                                           run_action):
    unsigned = create_connection("webex", {"base_url": f"{webex.url}/v1"}, {"token": TOKEN})
    r = run_action(unsigned, "create_webhook", {"target_url": "https://atom.example.com/h",
                                                "resource": "messages", "event": "created"})
    assert r.status_code == 422 and "webhook_secret" in r.get_json()["errors"]
    r = run_action(connect(), "create_webhook", {"target_url": "http://atom.example.com/h",
                                                 "resource": "messages", "event": "created"})
    assert r.status_code == 422 and "target_url" in r.get_json()["errors"]
    assert webex.requests == []


def test_notify_posts_markdown_to_a_room_or_a_person(app, webex, connect, live):
    room = webex.add_room("Alerts")
    integ = live(connect())
    assert integ.notify(room, "**CPU** above 90%")["room_id"] == room
    assert integ.notify("oncall@example.com", "paged")["to_person_email"] == "oncall@example.com"
    first, second = (c.json for c in webex.calls("POST", "/v1/messages"))
    assert first == {"roomId": room, "markdown": "**CPU** above 90%"}
    assert second == {"toPersonEmail": "oncall@example.com", "markdown": "paged"}


@pytest.mark.parametrize("channel", [None, "", "../people/me", "not an@email"])
def test_notify_refuses_what_is_neither_a_room_nor_an_email(app, webex, connect, live, channel):
    from atom.integrations.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        live(connect()).notify(channel, "hi")
    assert "channel" in info.value.details
    assert webex.requests == []


def test_credentials_are_validated_and_masked(client, keys, connect):
    conn = connect()
    assert conn["credentials"]["token"] != TOKEN
    assert conn["credentials"]["webhook_secret"].startswith("****")
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "webex", "label": "bad", "credentials": {"token": "Bearer abc def"}})
    assert r.status_code == 422 and "token" in r.get_json()["errors"]["credentials"]


@pytest.mark.parametrize("alias", ["webex teams", "Cisco Webex", "webex meetings"])
def test_the_integration_is_found_by_its_aliases(client, keys, alias):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": alias, "label": "by alias", "credentials": {"token": TOKEN}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["integration"] == "webex"
