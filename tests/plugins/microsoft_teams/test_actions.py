"""What the Teams actions send to Graph and return, with Graph faked at the HTTP seam.

Graph's answers below follow the examples of its reference pages (chatmessage-post,
channel-post, user-list-joinedteams, subscription-post-subscriptions).
"""
from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.microsoft_teams.conftest import CHANNEL
from tests.plugins.microsoft_teams.conftest import CHANNEL_PATH
from tests.plugins.microsoft_teams.conftest import CLIENT_STATE
from tests.plugins.microsoft_teams.conftest import GRAPH
from tests.plugins.microsoft_teams.conftest import TEAM
from tests.plugins.microsoft_teams.conftest import TOKEN

POSTED = {
    "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#teams('{TEAM}')"
                      f"/channels('{CHANNEL}')/messages/$entity",
    "id": "1616990032035", "replyToId": None, "etag": "1616990032035",
    "messageType": "message", "createdDateTime": "2021-03-29T03:53:52.035Z",
    "lastModifiedDateTime": "2021-03-29T03:53:52.035Z", "lastEditedDateTime": None,
    "deletedDateTime": None, "subject": None, "summary": None, "chatId": None,
    "importance": "normal", "locale": "en-us",
    "webUrl": "https://teams.microsoft.com/l/message/"
              "19%3A4a95f7d8db4c4e7fae857bcebe0623e6%40thread.tacv2/1616990032035",
    "from": {"application": None, "device": None, "user": {
        "id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "displayName": "Robin Kline",
        "userIdentityType": "aadUser"}},
    "body": {"contentType": "text", "content": "Hello World"},
    "channelIdentity": {"teamId": TEAM, "channelId": CHANNEL},
    "attachments": [], "mentions": [], "reactions": [],
}
MESSAGE = {"team_id": TEAM, "channel_id": CHANNEL, "text": "Hello World"}


def sent(call) -> dict:
    return json.loads(call.request.body)


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_send_channel_message_posts_the_body_with_the_bearer_token(fake_graph, teams_connection,
                                                                   run_action):
    fake_graph.post(f"{CHANNEL_PATH}/messages", json=POSTED)
    r = run_action(teams_connection(), "send_channel_message",
                   {**MESSAGE, "subject": "Deploy", "importance": "high"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "id": "1616990032035", "message_type": "message",
        "created_at": "2021-03-29T03:53:52.035Z", "last_modified_at": "2021-03-29T03:53:52.035Z",
        "subject": None, "content_type": "text", "content": "Hello World",
        "from_user_id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2", "from_name": "Robin Kline",
        "reply_to_id": None, "team_id": TEAM, "channel_id": CHANNEL, "chat_id": None,
        "web_url": POSTED["webUrl"]}
    (call,) = fake_graph.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent(call) == {"body": {"contentType": "text", "content": "Hello World"},
                          "subject": "Deploy", "importance": "high"}


def test_html_content_is_sent_as_html(fake_graph, teams_connection, run_action):
    fake_graph.post(f"{CHANNEL_PATH}/messages", json=POSTED)
    run_action(teams_connection(), "send_channel_message",
               {**MESSAGE, "text": "<b>Deploy</b> finished", "content_type": "html"})
    assert sent(fake_graph.calls[0]) == {"body": {"contentType": "html",
                                                  "content": "<b>Deploy</b> finished"}}


def test_a_reply_goes_to_the_thread_of_the_message(fake_graph, teams_connection, run_action):
    reply = {**POSTED, "id": "1616990171266", "replyToId": "1616989510408"}
    fake_graph.post(f"{CHANNEL_PATH}/messages/1616989510408/replies", json=reply)
    r = run_action(teams_connection(), "reply_to_message",
                   {**MESSAGE, "message_id": "1616989510408", "text": "Rolled back"})

    out = r.get_json()["output"]
    assert (out["id"], out["reply_to_id"]) == ("1616990171266", "1616989510408")
    assert sent(fake_graph.calls[0]) == {"body": {"contentType": "text", "content": "Rolled back"}}


def test_a_chat_message_goes_to_the_chat(fake_graph, teams_connection, run_action):
    chat = "19:2da4c29f6d7041eca70b638b43d45437@thread.v2"
    fake_graph.post(f"{GRAPH}/chats/19%3A2da4c29f6d7041eca70b638b43d45437%40thread.v2/messages",
                    json={**POSTED, "chatId": chat, "channelIdentity": None})
    r = run_action(teams_connection(), "send_chat_message", {"chat_id": chat, "text": "hi"})
    out = r.get_json()["output"]
    assert (out["chat_id"], out["team_id"], out["channel_id"]) == (chat, None, None)


@pytest.mark.parametrize("action, body, field", [
    ("send_channel_message", {**MESSAGE, "team_id": "../me"}, "team_id"),
    ("send_channel_message", {**MESSAGE, "channel_id": "19:abc/../../me?x=1"}, "channel_id"),
    ("send_channel_message", {**MESSAGE, "channel_id": "general"}, "channel_id"),
    ("send_channel_message", {"team_id": TEAM, "channel_id": CHANNEL}, "text"),
    ("send_channel_message", {**MESSAGE, "content_type": "markdown"}, "content_type"),
    ("send_channel_message", {**MESSAGE, "importance": "critical"}, "importance"),
    ("send_channel_message", {**MESSAGE, "mentions": []}, "mentions"),
    ("reply_to_message", {**MESSAGE, "message_id": "1616989510408/replies"}, "message_id"),
    ("send_chat_message", {"chat_id": "19:x#y", "text": "hi"}, "chat_id"),
    ("create_channel", {"team_id": TEAM, "display_name": "a/b"}, "display_name"),
    ("create_channel", {"team_id": TEAM, "display_name": "_hidden"}, "display_name"),
    ("create_channel", {"team_id": TEAM, "display_name": "x" * 51}, "display_name"),
    ("create_channel", {"team_id": TEAM, "display_name": "ops",
                        "owner_user_id": "8ea0e38b-efb3-4757-924a-5f94061cf8c2"}, "owner_user_id"),
    ("subscribe_channel_messages", {"team_id": TEAM, "channel_id": CHANNEL,
                                    "notification_url": "http://atom.example.com/hooks/x"},
     "notification_url"),
    ("subscribe_channel_messages", {"team_id": TEAM, "channel_id": CHANNEL,
                                    "notification_url": "https://atom.example.com/h",
                                    "expiration_minutes": 4320}, "expiration_minutes"),
    ("renew_subscription", {"subscription_id": "../../me"}, "subscription_id"),
    ("list_joined_teams", {"max_items": 0}, "max_items"),
])
def test_invalid_input_is_refused_before_calling_graph(fake_graph, teams_connection, run_action,
                                                       action, body, field):
    r = run_action(teams_connection(), action, body)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert len(fake_graph.calls) == 0


def _teams_page(ids, next_link=None):
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#teams",
            "value": [{"id": i, "displayName": f"Team {i[:4]}", "description": None,
                       "isArchived": False, "visibility": "private",
                       "webUrl": f"https://teams.microsoft.com/l/team/{i}"} for i in ids]}
    if next_link:
        page["@odata.nextLink"] = next_link
    return page


T1, T2, T3 = ("02bd9fd6-8f93-4758-87c3-1fb73740a315", "13be6971-79db-4f33-9d41-b25589ca25af",
              "8090c93e-ba7c-433e-9f39-08c7ba07c0b3")


def test_list_joined_teams_follows_the_next_link_as_given(fake_graph, teams_connection,
                                                          run_action):
    nxt = f"{GRAPH}/me/joinedTeams?$skiptoken=X%274453707402000100000017%27"
    fake_graph.get(f"{GRAPH}/me/joinedTeams", json=_teams_page([T1, T2], nxt))
    fake_graph.get(nxt, json=_teams_page([T3]))
    r = run_action(teams_connection(), "list_joined_teams", {})

    out = r.get_json()["output"]
    assert [t["id"] for t in out["teams"]] == [T1, T2, T3] and out["count"] == 3
    assert out["teams"][0] == {"id": T1, "display_name": "Team 02bd", "description": None,
                               "visibility": "private", "is_archived": False,
                               "web_url": f"https://teams.microsoft.com/l/team/{T1}"}
    first, second = fake_graph.calls
    assert urlsplit(first.request.url).query == ""  # joinedTeams takes no OData parameters
    assert second.request.url == nxt


def test_a_listing_stops_at_max_items_without_fetching_more(fake_graph, teams_connection,
                                                            run_action):
    fake_graph.get(f"{GRAPH}/me/joinedTeams",
                   json=_teams_page([T1, T2], f"{GRAPH}/me/joinedTeams?$skiptoken=abc"))
    r = run_action(teams_connection(), "list_joined_teams", {"max_items": 2})
    assert r.get_json()["output"]["count"] == 2
    assert len(fake_graph.calls) == 1


def test_a_next_link_to_another_host_is_not_followed(fake_graph, teams_connection, run_action):
    fake_graph.get(f"{GRAPH}/me/joinedTeams",
                   json=_teams_page([T1], "https://graph.evil.example/v1.0/me/joinedTeams?x=1"))
    r = run_action(teams_connection(), "list_joined_teams", {})
    assert r.status_code == 502
    assert "another host" in r.get_json()["message"]
    assert len(fake_graph.calls) == 1


def test_list_channels_returns_compact_channels(fake_graph, teams_connection, run_action):
    fake_graph.get(f"{GRAPH}/teams/{TEAM}/channels", json={"value": [{
        "id": CHANNEL, "createdDateTime": "2020-05-27T19:22:25.692Z", "displayName": "General",
        "description": "General channel", "email": "", "isFavoriteByDefault": None,
        "membershipType": "standard", "tenantId": "b33cbe9f-8ebe-4f2a-912b-7e2a427f477f",
        "webUrl": "https://teams.microsoft.com/l/channel/19%3A4a95%40thread.tacv2/General"}]})
    r = run_action(teams_connection(), "list_channels", {"team_id": TEAM})
    assert r.get_json()["output"] == {"team_id": TEAM, "count": 1, "channels": [{
        "id": CHANNEL, "display_name": "General", "description": "General channel",
        "membership_type": "standard", "email": "",
        "web_url": "https://teams.microsoft.com/l/channel/19%3A4a95%40thread.tacv2/General",
        "created_at": "2020-05-27T19:22:25.692Z"}]}


def test_list_channel_messages_asks_for_a_page_of_max_items(fake_graph, teams_connection,
                                                            run_action):
    fake_graph.get(f"{CHANNEL_PATH}/messages", json={"value": [POSTED]})
    r = run_action(teams_connection(), "list_channel_messages",
                   {"team_id": TEAM, "channel_id": CHANNEL, "max_items": 10})
    out = r.get_json()["output"]
    assert (out["count"], out["messages"][0]["id"]) == (1, "1616990032035")
    assert query_of(fake_graph.calls[0]) == {"$top": ["10"]}


def test_list_channel_messages_never_asks_for_more_than_fifty(fake_graph, teams_connection,
                                                              run_action):
    fake_graph.get(f"{CHANNEL_PATH}/messages", json={"value": []})
    run_action(teams_connection(), "list_channel_messages",
               {"team_id": TEAM, "channel_id": CHANNEL, "max_items": 500})
    assert query_of(fake_graph.calls[0]) == {"$top": ["50"]}


def test_create_channel_sends_name_description_and_type(fake_graph, teams_connection,
                                                        run_action):
    fake_graph.post(f"{GRAPH}/teams/{TEAM}/channels", json={
        "id": "19:33b76eea88574bd1969dca37e2b7a819@thread.skype",
        "createdDateTime": "2020-05-27T19:22:25.692Z", "displayName": "Architecture Discussion",
        "description": "This channel is where we debate all future architecture plans",
        "membershipType": "standard", "webUrl": None, "email": None})
    r = run_action(teams_connection(), "create_channel", {
        "team_id": TEAM, "display_name": "Architecture Discussion",
        "description": "This channel is where we debate all future architecture plans"})

    assert r.get_json()["output"]["id"] == "19:33b76eea88574bd1969dca37e2b7a819@thread.skype"
    assert r.get_json()["output"]["team_id"] == TEAM
    assert sent(fake_graph.calls[0]) == {
        "displayName": "Architecture Discussion", "membershipType": "standard",
        "description": "This channel is where we debate all future architecture plans"}


def test_a_private_channel_names_its_owner(fake_graph, teams_connection, run_action):
    fake_graph.post(f"{GRAPH}/teams/{TEAM}/channels",
                    json={"id": "19:private@thread.tacv2", "displayName": "Leads",
                          "membershipType": "private"})
    owner = "62855810-484b-4823-9e01-60667f8b12ae"
    run_action(teams_connection(), "create_channel", {
        "team_id": TEAM, "display_name": "Leads", "membership_type": "private",
        "owner_user_id": owner})
    assert sent(fake_graph.calls[0])["members"] == [{
        "@odata.type": "#microsoft.graph.aadUserConversationMember",
        "user@odata.bind": f"https://graph.microsoft.com/v1.0/users('{owner}')",
        "roles": ["owner"]}]


SUBSCRIPTION = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
    "id": "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c",
    "resource": f"/teams/{TEAM}/channels/{CHANNEL}/messages",
    "applicationId": "24d3b144-21ae-4080-943f-7067b395b913", "changeType": "created",
    "clientState": None,
    "notificationUrl": "https://atom.example.com/hooks/microsoft_teams/1",
    "expirationDateTime": "2021-02-02T11:26:41Z",
    "creatorId": "8ee44408-0679-472c-bc2a-692812af3437", "latestSupportedTlsVersion": "v1_2",
    "includeResourceData": False,
}


def test_subscribe_gives_graph_the_client_state_and_returns_no_secret(fake_graph,
                                                                     teams_connection,
                                                                     run_action):
    fake_graph.post(f"{GRAPH}/subscriptions", status=201,
                    json={**SUBSCRIPTION, "clientState": CLIENT_STATE})
    started = datetime.now(UTC)
    r = run_action(teams_connection(), "subscribe_channel_messages", {
        "team_id": TEAM, "channel_id": CHANNEL, "expiration_minutes": 45,
        "notification_url": "https://atom.example.com/hooks/microsoft_teams/1"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == {
        "id": "9f9d1ed0-c9cc-42e7-8d80-a7fc4b0cda3c", "resource": SUBSCRIPTION["resource"],
        "change_type": "created",
        "notification_url": "https://atom.example.com/hooks/microsoft_teams/1",
        "expires_at": "2021-02-02T11:26:41Z"}
    assert CLIENT_STATE not in r.get_data(as_text=True)
    body = sent(fake_graph.calls[0])
    expires = datetime.fromisoformat(body.pop("expirationDateTime").replace("Z", "+00:00"))
    assert timedelta(minutes=44) < expires - started < timedelta(minutes=46)
    assert body == {"changeType": "created",
                    "notificationUrl": "https://atom.example.com/hooks/microsoft_teams/1",
                    "resource": f"/teams/{TEAM}/channels/19%3A4a95f7d8db4c4e7fae857bcebe0623e6"
                                "%40thread.tacv2/messages",
                    "clientState": CLIENT_STATE, "includeResourceData": False}


def test_subscribing_needs_a_client_state(fake_graph, create_connection, run_action):
    conn = create_connection("microsoft_teams", {}, {"access_token": TOKEN})
    r = run_action(conn, "subscribe_channel_messages", {
        "team_id": TEAM, "channel_id": CHANNEL,
        "notification_url": "https://atom.example.com/hooks/microsoft_teams/1"})
    assert r.status_code == 422
    assert "client_state" in r.get_json()["errors"]
    assert len(fake_graph.calls) == 0


def test_renew_patches_the_expiration(fake_graph, teams_connection, run_action):
    sub = SUBSCRIPTION["id"]
    fake_graph.patch(f"{GRAPH}/subscriptions/{sub}",
                     json={**SUBSCRIPTION, "clientState": None,
                           "expirationDateTime": "2021-02-02T12:26:41Z"})
    r = run_action(teams_connection(), "renew_subscription", {"subscription_id": sub})
    assert r.get_json()["output"]["expires_at"] == "2021-02-02T12:26:41Z"
    assert list(sent(fake_graph.calls[0])) == ["expirationDateTime"]


def test_notify_posts_to_team_slash_channel(app, fake_graph, teams_connection, live):
    fake_graph.post(f"{CHANNEL_PATH}/messages", json=POSTED)
    out = live(teams_connection()).notify(f"{TEAM}/{CHANNEL}", "CPU above 90%")
    assert out["id"] == "1616990032035"
    assert sent(fake_graph.calls[0]) == {"body": {"contentType": "text",
                                                  "content": "CPU above 90%"}}


@pytest.mark.parametrize("channel", [None, "", CHANNEL, f"{TEAM}/general", f"x/{CHANNEL}"])
def test_notify_needs_a_team_and_a_channel(app, fake_graph, teams_connection, live, channel):
    from atom.integrations.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        live(teams_connection()).notify(channel, "hi")
    assert "channel" in info.value.details
    assert len(fake_graph.calls) == 0


def test_the_tenant_setting_defaults_to_organizations_and_is_validated(client, keys,
                                                                       teams_connection):
    assert teams_connection()["settings"]["tenant"] == "organizations"
    assert teams_connection({"tenant": "contoso.onmicrosoft.com"})["settings"]["tenant"] == \
        "contoso.onmicrosoft.com"
    for bad in ("contoso/../../evil", "{client_secret}", "evil.example?x="):
        r = client.post("/api/v2/connections", headers=keys["editor"], json={
            "integration": "microsoft_teams", "label": "bad tenant", "settings": {"tenant": bad},
            "credentials": {"access_token": TOKEN}})
        assert r.status_code == 422
        assert "tenant" in r.get_json()["errors"]["settings"]


def test_the_token_url_is_formatted_with_the_tenant():
    from atom.integrations.oauth_store import oauth_url
    from plugins.microsoft_teams.manifest import MANIFEST

    assert oauth_url(MANIFEST.auth.oauth2.token_url, {"tenant": "organizations"}) == \
        "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
    tenant = "2432b57b-0abd-43db-aa7b-16eadd115d34"
    assert oauth_url(MANIFEST.auth.oauth2.authorize_url, {"tenant": tenant}) == \
        f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"


def test_credentials_are_masked(teams_connection):
    creds = teams_connection()["credentials"]
    assert creds["access_token"] != TOKEN and creds["client_state"] != CLIENT_STATE


@pytest.mark.parametrize("alias", ["MS Teams", "teams", "msteams", "Microsoft Teams"])
def test_the_integration_is_found_by_its_aliases(client, keys, alias):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": alias, "label": "by alias", "credentials": {"access_token": TOKEN}})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["integration"] == "microsoft_teams"
