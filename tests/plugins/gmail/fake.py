"""A small stateful Gmail, at the HTTP seam, for the poll trigger's tests.

It follows the Gmail API reference for the calls the trigger makes:
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users/getProfile ,
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.history/list
(records after ``startHistoryId``, oldest first, ``nextPageToken`` paging, the mailbox's
current ``historyId`` on every page, 404 for a ``startHistoryId`` older than the history kept),
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/get
(``format=metadata`` with ``metadataHeaders``) and
https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages/list
(newest first; this fake understands only the ``from:``, ``subject:`` and ``after:<epoch s>``
search operators, joined by spaces, with an optional pair of parentheses).
"""
from __future__ import annotations

import json
import re
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses

BASE = "https://gmail.googleapis.com/gmail/v1/users/me"


class FakeGmail:
    def __init__(self, rsps: responses.RequestsMock, page_size: int = 2) -> None:
        self.history_id = 1000
        self.oldest_kept = 0  # history before this id has been discarded
        self.records: list[dict] = []
        self.messages: dict[str, dict] = {}
        self.page_size = page_size
        self.clock_ms = 1_717_171_717_000
        self.calls: list[str] = []
        pattern = re.compile(re.escape(BASE) + r"/.*")
        rsps.add_callback(responses.GET, pattern, callback=self._handle)

    # -- what happens in the mailbox -------------------------------------------------------

    def deliver(self, sender: str, subject: str, labels: tuple[str, ...] = ("INBOX", "UNREAD"),
                ) -> str:
        """A message arrives: one ``messageAdded`` history record."""
        self.history_id += 7  # history ids increase with gaps
        self.clock_ms += 60_000
        message_id = f"18f{self.history_id:013x}"
        self.messages[message_id] = {
            "id": message_id, "threadId": message_id, "labelIds": list(labels),
            "snippet": f"about {subject}", "historyId": str(self.history_id),
            "internalDate": str(self.clock_ms), "sizeEstimate": 2048,
            "payload": {"mimeType": "text/plain", "headers": [
                {"name": "From", "value": sender}, {"name": "To", "value": "me@example.com"},
                {"name": "Subject", "value": subject},
                {"name": "Message-ID", "value": f"<{message_id}@mail.example.com>"}]}}
        self.records.append({"id": str(self.history_id), "messages": [
            {"id": message_id, "threadId": message_id}],
            "messagesAdded": [{"message": {"id": message_id, "threadId": message_id,
                                           "labelIds": list(labels)}}]})
        return message_id

    def label(self, message_id: str, label: str) -> None:
        """A label is added (a history record the trigger does not ask for)."""
        self.history_id += 3
        self.messages[message_id]["labelIds"].append(label)
        self.records.append({"id": str(self.history_id), "labelsAdded": [
            {"message": {"id": message_id}, "labelIds": [label]}]})

    def delete(self, message_id: str) -> None:
        del self.messages[message_id]

    def forget_history(self) -> None:
        """Gmail keeps about a week of history; older start ids get a 404."""
        self.oldest_kept = self.history_id + 1

    # -- the API ---------------------------------------------------------------------------

    def _handle(self, request):
        url = urlsplit(request.url)
        query = parse_qs(url.query)
        path = url.path.removeprefix(urlsplit(BASE).path)
        self.calls.append(path)
        if path == "/profile":
            return self._ok({"emailAddress": "me@example.com", "messagesTotal": 12,
                             "threadsTotal": 9, "historyId": str(self.history_id)})
        if path == "/history":
            return self._history(query)
        if path == "/messages":
            return self._list(query)
        if path.startswith("/messages/"):
            return self._get(path.rsplit("/", 1)[1], query)
        return self._error(404, "notFound", "Not Found")

    def _history(self, query):
        start = int(query["startHistoryId"][0])
        if start < self.oldest_kept:
            return self._error(404, "notFound", "Requested entity was not found.")
        assert query.get("historyTypes") == ["messageAdded"]
        wanted = [r for r in self.records if int(r["id"]) > start and "messagesAdded" in r]
        if "labelId" in query:
            wanted = [r for r in wanted
                      if query["labelId"][0] in r["messagesAdded"][0]["message"]["labelIds"]]
        offset = int(query.get("pageToken", ["0"])[0])
        size = min(self.page_size, int(query.get("maxResults", ["100"])[0]))
        page = {"history": wanted[offset:offset + size], "historyId": str(self.history_id)}
        if offset + size < len(wanted):
            page["nextPageToken"] = str(offset + size)
        return self._ok(page)

    def _get(self, message_id, query):
        message = self.messages.get(message_id)
        if message is None:
            return self._error(404, "notFound", "Requested entity was not found.")
        assert query.get("format") == ["metadata"]
        wanted = {h.lower() for h in query.get("metadataHeaders", [])}
        headers = [h for h in message["payload"]["headers"] if h["name"].lower() in wanted]
        return self._ok({**message, "payload": {**message["payload"], "headers": headers}})

    def _list(self, query):
        terms = query.get("q", [""])[0].replace("(", " ").replace(")", " ").split()
        found = sorted(self.messages.values(), key=lambda m: -int(m["internalDate"]))
        for term in terms:
            name, _, value = term.partition(":")
            if name == "after":
                found = [m for m in found if int(m["internalDate"]) // 1000 > int(value)]
            else:
                found = [m for m in found if any(
                    h["name"].lower() == name and value.lower() in h["value"].lower()
                    for h in m["payload"]["headers"])]
        return self._ok({"messages": [{"id": m["id"], "threadId": m["threadId"]} for m in found],
                         "resultSizeEstimate": len(found)})

    @staticmethod
    def _ok(body):
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    @staticmethod
    def _error(code, reason, message):
        return code, {"Content-Type": "application/json"}, json.dumps({"error": {
            "code": code, "message": message, "status": "NOT_FOUND",
            "errors": [{"message": message, "domain": "global", "reason": reason}]}})
