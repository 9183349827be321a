"""What the Gmail actions send and return, with Gmail faked at the HTTP seam."""
from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.plugins.gmail.conftest import GMAIL
from tests.plugins.gmail.conftest import TOKEN
from tests.plugins.gmail.conftest import sent_mail

SENT = {"id": "18f4c6d2a7b3e901", "threadId": "18f4c6d2a7b3e901", "labelIds": ["SENT"]}


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("latin-1")).decode().rstrip("=")


def test_send_email_posts_an_rfc_2822_message_with_the_oauth_token(fake_gmail, gmail_connection,
                                                                    run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    r = run_action(gmail_connection(), "send_email", {
        "to": ["ada@example.com", "Grace Hopper <grace@example.com>"], "cc": "ops@example.com",
        "bcc": ["audit@example.com"], "reply_to": "noreply@example.com",
        "subject": "Deploy finished", "text": "Version 1.4.2 is live.",
        "html": "<p>Version <b>1.4.2</b> is live.</p>"})

    assert r.status_code == 200, r.get_json()
    assert r.get_json()["output"] == SENT
    (call,) = fake_gmail.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert set(json.loads(call.request.body)) == {"raw"}
    mail = sent_mail(call)
    assert mail["To"] == "ada@example.com, Grace Hopper <grace@example.com>"
    assert (mail["Cc"], mail["Bcc"], mail["Reply-To"]) == (
        "ops@example.com", "audit@example.com", "noreply@example.com")
    assert mail["Subject"] == "Deploy finished"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("plain",)).get_content().strip() == "Version 1.4.2 is live."
    assert "<b>1.4.2</b>" in mail.get_body(("html",)).get_content()


def test_the_raw_message_is_base64url_with_crlf_line_ends(fake_gmail, gmail_connection,
                                                          run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    run_action(gmail_connection(), "send_email", {"to": "ada@example.com", "subject": "x",
                                                  "text": "a" * 300})
    raw = json.loads(fake_gmail.calls[0].request.body)["raw"]
    assert set(raw) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    decoded = base64.urlsafe_b64decode(raw)
    assert b"\r\n\r\n" in decoded and b"\n" not in decoded.replace(b"\r\n", b"")


def test_a_reply_carries_the_thread_and_its_message_ids(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    run_action(gmail_connection(), "send_email", {
        "to": "ada@example.com", "subject": "Re: Q3 report", "text": "Thanks!",
        "thread_id": "18f4c6d2a7b3e901", "in_reply_to": "<CAF8y3Rb@mail.gmail.com>",
        "references": ["<first@mail.gmail.com>"]})

    call = fake_gmail.calls[0]
    assert json.loads(call.request.body)["threadId"] == "18f4c6d2a7b3e901"
    mail = sent_mail(call)
    assert mail["In-Reply-To"] == "<CAF8y3Rb@mail.gmail.com>"
    assert mail["References"] == "<first@mail.gmail.com> <CAF8y3Rb@mail.gmail.com>"
    assert mail.get_content_type() == "text/plain"


def test_non_ascii_subjects_and_names_are_encoded(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    run_action(gmail_connection(), "send_email", {
        "to": '"Zoë Lovelace, PhD" <zoe@example.com>', "subject": "Résumé ✓", "text": "Grüße"})

    raw = base64.urlsafe_b64decode(json.loads(fake_gmail.calls[0].request.body)["raw"])
    assert raw.isascii()  # RFC 2047 words and a transfer encoding, not 8-bit headers
    mail = sent_mail(fake_gmail.calls[0])
    assert mail["Subject"] == "Résumé ✓"
    assert mail["To"].addresses[0].display_name == "Zoë Lovelace, PhD"
    assert mail.get_content().strip() == "Grüße"


@pytest.mark.parametrize("body, field", [
    ({"to": "ada@example.com", "subject": "hi\r\nBcc: evil@example.com", "text": "x"}, "subject"),
    ({"to": "ada@example.com", "subject": "hi\nBcc: evil@example.com", "text": "x"}, "subject"),
    ({"to": "ada@example.com", "subject": "hi\n", "text": "x"}, "subject"),
    ({"to": "ada@example.com", "subject": "hi\u2028there", "text": "x"}, "subject"),
    ({"to": "ada@example.com\r\nBcc: evil@example.com", "text": "x"}, "to"),
    ({"to": ["ada@example.com\nBcc: evil@example.com"], "text": "x"}, "to"),
    ({"to": ["ada@example.com, evil@example.com"], "text": "x"}, "to"),
    ({"to": "not an address", "text": "x"}, "to"),
    ({"to": [], "text": "x"}, "to"),
    ({"to": "ada@example.com", "cc": "x@", "text": "x"}, "cc"),
    ({"to": "ada@example.com", "reply_to": "a@b.com\rX-Evil: 1", "text": "x"}, "reply_to"),
    ({"to": "ada@example.com", "text": "x", "in_reply_to": "<a@b>\r\nBcc: e@f.com"},
     "in_reply_to"),
    ({"to": "ada@example.com", "text": "x", "in_reply_to": "no-angle-brackets"}, "in_reply_to"),
    ({"to": "ada@example.com", "text": "x", "thread_id": "../labels"}, "thread_id"),
    ({"to": "ada@example.com", "subject": "no body"}, "text"),
    ({"text": "no recipient"}, "to"),
    ({"to": "ada@example.com", "text": "x", "from": "ceo@example.com"}, "from"),
])
def test_header_injection_and_bad_input_are_refused_before_calling_gmail(
        fake_gmail, gmail_connection, run_action, body, field):
    r = run_action(gmail_connection(), "send_email", body)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["code"] == "validation"
    assert field in r.get_json()["errors"]
    assert len(fake_gmail.calls) == 0


def test_a_comma_separated_string_is_several_recipients(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    run_action(gmail_connection(), "send_email", {
        "to": '"Lovelace, Ada" <ada@example.com>, grace@example.com', "text": "x"})
    mail = sent_mail(fake_gmail.calls[0])
    assert [a.addr_spec for a in mail["To"].addresses] == ["ada@example.com", "grace@example.com"]


def test_create_draft_wraps_the_message(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/drafts", json={"id": "r-5213817427313545421", "message": SENT})
    r = run_action(gmail_connection(), "create_draft",
                   {"to": "ada@example.com", "subject": "Draft", "html": "<p>hi</p>"})

    assert r.get_json()["output"] == {"id": "r-5213817427313545421", "message": SENT}
    mail = sent_mail(fake_gmail.calls[0])
    assert mail.get_content_type() == "text/html"


def test_notify_emails_the_channel_with_the_first_line_as_subject(fake_gmail, gmail_connection,
                                                                  app, live):
    fake_gmail.post(f"{GMAIL}/messages/send", json=SENT)
    integ = live(gmail_connection())
    out = integ.notify("oncall@example.com", "\nDisk almost full on db-1\nused: 97%")

    assert out["id"] == SENT["id"]
    mail = sent_mail(fake_gmail.calls[0])
    assert (mail["To"], mail["Subject"]) == ("oncall@example.com", "Disk almost full on db-1")
    assert "used: 97%" in mail.get_content()


@pytest.mark.parametrize("channel", [None, "#ops", "a@b.com\r\nBcc: x@y.com"])
def test_notify_needs_an_address(fake_gmail, gmail_connection, live, channel):
    from atom.integrations.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        live(gmail_connection()).notify(channel, "hello")
    assert "channel" in info.value.details
    assert not fake_gmail.calls


def test_list_messages_searches_pages_and_fetches_metadata(fake_gmail, gmail_connection,
                                                           run_action):
    fake_gmail.get(f"{GMAIL}/messages", json={
        "messages": [{"id": "m1", "threadId": "t1"}, {"id": "m2", "threadId": "t1"}],
        "nextPageToken": "page-2", "resultSizeEstimate": 3})
    fake_gmail.get(f"{GMAIL}/messages", json={"messages": [{"id": "m3", "threadId": "t3"}],
                                              "resultSizeEstimate": 3})
    for mid in ("m1", "m2", "m3"):
        fake_gmail.get(f"{GMAIL}/messages/{mid}", json={
            "id": mid, "threadId": "t1", "labelIds": ["INBOX"], "snippet": "hello",
            "historyId": "99", "internalDate": "1717171717000", "sizeEstimate": 10,
            "payload": {"headers": [{"name": "From", "value": "ada@example.com"},
                                    {"name": "Message-ID", "value": f"<{mid}@x>"}]}})
    r = run_action(gmail_connection(), "list_messages",
                   {"query": "from:ada@example.com", "label_ids": ["INBOX", "Label_12"],
                    "max_items": 3})

    out = r.get_json()["output"]
    assert out["count"] == 3
    assert out["messages"][0] == {
        "id": "m1", "threadId": "t1", "labelIds": ["INBOX"], "snippet": "hello",
        "historyId": "99", "internalDate": "1717171717000", "sizeEstimate": 10,
        "headers": {"from": "ada@example.com", "message_id": "<m1@x>"}}
    lists = [c for c in fake_gmail.calls if urlsplit(c.request.url).path.endswith("/messages")]
    first, second = (query_of(c) for c in lists)
    assert first == {"q": ["from:ada@example.com"], "labelIds": ["INBOX", "Label_12"],
                     "includeSpamTrash": ["false"], "maxResults": ["3"]}
    assert second == {**first, "pageToken": ["page-2"]}
    meta = query_of(fake_gmail.calls[1])
    assert urlsplit(fake_gmail.calls[1].request.url).path.endswith("/messages/m1")
    assert meta["format"] == ["metadata"]
    assert meta["metadataHeaders"] == ["From", "To", "Cc", "Reply-To", "Subject", "Date",
                                       "Message-ID", "In-Reply-To", "References"]


def test_list_messages_without_metadata_makes_one_call(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/messages", json={
        "messages": [{"id": "m1", "threadId": "t1"}, {"id": "m2", "threadId": "t2"}],
        "nextPageToken": "more"})
    r = run_action(gmail_connection(), "list_messages", {"metadata": False, "max_items": 2})

    assert r.get_json()["output"] == {"count": 2, "messages": [
        {"id": "m1", "threadId": "t1"}, {"id": "m2", "threadId": "t2"}]}
    assert len(fake_gmail.calls) == 1


def test_get_message_decodes_the_bodies_and_names_the_attachments(fake_gmail, gmail_connection,
                                                                  run_action):
    fake_gmail.get(f"{GMAIL}/messages/18f4c6d2a7b3e901", json={
        "id": "18f4c6d2a7b3e901", "threadId": "18f4c6d2a7b3e901", "labelIds": ["INBOX"],
        "snippet": "Grüße", "payload": {
            "mimeType": "multipart/mixed", "headers": [{"name": "Subject", "value": "Q3"}],
            "parts": [
                {"mimeType": "multipart/alternative", "parts": [
                    {"mimeType": "text/plain", "body": {"size": 6, "data": b64("Grüße")},
                     "headers": [{"name": "Content-Type",
                                  "value": 'text/plain; charset="ISO-8859-1"'}]},
                    {"mimeType": "text/html",
                     "body": {"size": 12, "data": base64.urlsafe_b64encode(
                         "<p>Grüße</p>".encode()).decode()}}]},
                {"mimeType": "application/pdf", "filename": "q3.pdf",
                 "body": {"size": 48213, "attachmentId": "ANGjdJ8"}}]}})
    r = run_action(gmail_connection(), "get_message", {"id": "18f4c6d2a7b3e901"})

    out = r.get_json()["output"]
    assert (out["text"], out["html"]) == ("Grüße", "<p>Grüße</p>")
    assert out["attachments"] == [{"filename": "q3.pdf", "mimeType": "application/pdf",
                                   "size": 48213, "attachmentId": "ANGjdJ8"}]
    assert out["headers"] == {"subject": "Q3"}
    assert query_of(fake_gmail.calls[0]) == {"format": ["full"]}


@pytest.mark.parametrize("bad", ["../profile", "a/b", "m?x=1", "", "a b", "m1\n", "m%2F1"])
def test_ids_that_could_leave_the_path_are_refused(fake_gmail, gmail_connection, run_action, bad):
    r = run_action(gmail_connection(), "get_message", {"id": bad})
    assert r.status_code == 422
    assert "id" in r.get_json()["errors"]
    assert not fake_gmail.calls


def test_modify_labels_resolves_label_names(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/labels", json={"labels": [
        {"id": "INBOX", "name": "INBOX", "type": "system"},
        {"id": "Label_7", "name": "Customers/Acme", "type": "user"}]})
    fake_gmail.post(f"{GMAIL}/messages/m1/modify",
                    json={"id": "m1", "threadId": "t1", "labelIds": ["Label_7", "STARRED"]})
    r = run_action(gmail_connection(), "modify_labels",
                   {"id": "m1", "add": ["customers/acme", "STARRED"], "remove": ["INBOX"]})

    assert r.get_json()["output"] == {"id": "m1", "threadId": "t1",
                                      "labelIds": ["Label_7", "STARRED"]}
    assert json.loads(fake_gmail.calls[1].request.body) == {
        "addLabelIds": ["Label_7", "STARRED"], "removeLabelIds": ["INBOX"]}


def test_modify_labels_with_ids_only_needs_no_lookup(fake_gmail, gmail_connection, run_action):
    fake_gmail.post(f"{GMAIL}/messages/m1/modify", json={"id": "m1", "labelIds": []})
    r = run_action(gmail_connection(), "modify_labels", {"id": "m1", "remove": ["UNREAD"]})
    assert r.status_code == 200
    assert len(fake_gmail.calls) == 1
    assert json.loads(fake_gmail.calls[0].request.body) == {"removeLabelIds": ["UNREAD"]}


def test_an_unknown_label_name_is_a_validation_error(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/labels", json={"labels": [{"id": "INBOX", "name": "INBOX"}]})
    r = run_action(gmail_connection(), "modify_labels", {"id": "m1", "add": ["Invoices"]})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {"add": ["no label named 'Invoices'"]}
    assert len(fake_gmail.calls) == 1


def test_modify_labels_needs_a_change(fake_gmail, gmail_connection, run_action):
    r = run_action(gmail_connection(), "modify_labels", {"id": "m1"})
    assert r.status_code == 422 and "add" in r.get_json()["errors"]


def test_list_labels_filters_by_type(fake_gmail, gmail_connection, run_action):
    fake_gmail.get(f"{GMAIL}/labels", json={"labels": [
        {"id": "INBOX", "name": "INBOX", "type": "system"},
        {"id": "Label_7", "name": "Acme", "type": "user", "messagesTotal": 4}]})
    r = run_action(gmail_connection(), "list_labels", {"type": "user"})
    assert r.get_json()["output"] == {"count": 1, "labels": [
        {"id": "Label_7", "name": "Acme", "type": "user", "messagesTotal": 4,
         "messagesUnread": None}]}


def test_a_connection_needs_an_access_token(client, keys):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": "gmail", "label": "no token", "credentials": {}})
    assert r.status_code == 422
    assert "access_token" in r.get_json()["errors"]["credentials"]


def test_tokens_are_masked(gmail_connection):
    conn = gmail_connection(refresh_token="1//0gmail-refresh-token-abcdef")
    assert TOKEN not in json.dumps(conn)
    assert "1//0gmail-refresh-token-abcdef" not in json.dumps(conn)


@pytest.mark.parametrize("alias", ["e-mail", "Google Mail", "gmail inbox"])
def test_the_integration_is_found_by_its_aliases(client, keys, alias):
    r = client.post("/api/v2/connections", headers=keys["editor"], json={
        "integration": alias, "label": "by alias", "credentials": {"access_token": TOKEN}})
    assert r.status_code == 201
    assert r.get_json()["integration"] == "gmail"
