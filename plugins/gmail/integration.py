"""Gmail API v1: send mail and drafts (RFC 2822 built with the stdlib ``email`` package),
search and read messages, labels; a poll trigger on the mailbox history.

API reference: https://developers.google.com/workspace/gmail/api/reference/rest
Sync with history.list: https://developers.google.com/workspace/gmail/api/guides/sync
Search with epoch seconds: https://developers.google.com/workspace/gmail/api/guides/filtering
Quota (units per call): https://developers.google.com/workspace/gmail/api/reference/quota

``messages.send`` has no idempotency key: a send that may have reached Gmail is never sent
twice (the client retries a POST only after a rate limit, when Gmail did not process it).
"""
from __future__ import annotations

import base64
import binascii
from itertools import islice
from typing import Any
from typing import Iterator

import requests
from marshmallow import ValidationError

from atom.integrations import files
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import IntegrationError
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.pagination import PageTokenPaginator
from plugins.gmail import payloads
from plugins.gmail.schemas import NewMessageParams
from plugins.gmail.schemas import mailbox
from plugins.google_common import GoogleErrors
from plugins.google_common import body
from plugins.google_common import cursor_expired
from plugins.google_common import flag
from plugins.google_common import load_params
from plugins.google_common import segment

USER = "users/me"
PAGE_SIZE = 500
# One poll fetches the metadata of at most this many new messages (5 quota units each); the
# rest wait for the next poll (the cursor then stops at the last history record handled).
MAX_NEW_PER_POLL = 100
MAX_HISTORY_PAGES = 20
# Gmail's system labels; anything else given as a label is looked up by name.
SYSTEM_LABELS = frozenset({
    "INBOX", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT", "SENT", "DRAFT", "CHAT",
    "CATEGORY_PERSONAL", "CATEGORY_SOCIAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
})

ERRORS = GoogleErrors(
    "Gmail",
    locations={"q": "query", "labelIds": "label_ids", "id": "id", "threadId": "thread_id"},
    messages={"Invalid To header": "to", "Invalid Cc header": "cc", "Invalid Bcc header": "bcc",
              "Recipient address required": "to", "Invalid label": "add",
              "Invalid id value": "id", "Invalid thread_id value": "thread_id"},
)


class GmailIntegration(Integration):
    def raise_for_response(self, response: requests.Response) -> None:
        ERRORS.check(response)

    def health_check(self) -> None:
        # users.getProfile costs 1 quota unit.
        if "emailAddress" not in self._get(f"{USER}/profile", "users.getProfile"):
            raise UpstreamError("users.getProfile answered without emailAddress; is base_url "
                                "Gmail's API?", permanent=True)

    # -- actions ---------------------------------------------------------------------------

    def send_email(self, data: dict[str, Any]) -> dict[str, Any]:
        sent = body(self.http.post(f"{USER}/messages/send", json=_outgoing(data),
                                   operation="messages.send"), "Gmail")
        return {"id": sent["id"], "threadId": sent.get("threadId"),
                "labelIds": list(sent.get("labelIds") or [])}

    def open_file(self, file_id: str) -> files.FileStream:
        """An attachment, named ``<message id>/<attachment id>`` (the ``attachmentId`` of
        ``get_message``'s ``attachments``); Gmail returns it base64url-encoded in JSON, at most
        25 MB, so it is decoded once and then streamed like any file.

        https://developers.google.com/workspace/gmail/api/reference/rest/v1/users.messages.attachments/get
        """
        message_id, _, attachment_id = file_id.partition("/")
        if not message_id or not attachment_id:
            raise ValidationFailed("a Gmail attachment is <message id>/<attachment id>",
                                   details={"source_file_id": ["<message id>/<attachment id>"]})
        attachments = payloads.with_bodies(self._message(message_id, metadata=False))["attachments"]
        # Gmail may hand out a new attachment id on each read of a message (verify); the id
        # still fetches the bytes, and the name is then the only thing lost.
        meta = next((a for a in attachments if a.get("attachmentId") == attachment_id),
                    attachments[0] if len(attachments) == 1 else {})
        got = self._get(f"{USER}/messages/{segment(message_id)}/attachments/"
                        f"{segment(attachment_id)}", "messages.attachments.get")
        data = str(got.get("data") or "")
        try:
            content = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        except (binascii.Error, ValueError) as exc:
            raise UpstreamError("Gmail answered an attachment that is not base64url",
                                permanent=True) from exc
        return files.from_bytes(content, meta.get("filename") or "attachment",
                                meta.get("mimeType") or "application/octet-stream")

    def notify(self, channel: str | None, message: str) -> dict[str, Any]:
        """E-mail ``message`` to the address ``channel``; its first line is the subject."""
        try:
            to = mailbox(channel or "")
        except ValidationError as exc:
            raise ValidationFailed("a Gmail notification needs an e-mail address as its "
                                   "channel", details={"channel": exc.messages}) from exc
        first = next((line.strip() for line in message.splitlines() if line.strip()), "")
        subject = "".join(c for c in first if c.isprintable())[:120] or "ATOM notification"
        return self.send_email({"to": [to], "subject": subject, "text": message or subject})

    def create_draft(self, data: dict[str, Any]) -> dict[str, Any]:
        draft = body(self.http.post(f"{USER}/drafts", json={"message": _outgoing(data)},
                                    operation="drafts.create"), "Gmail")
        msg = draft.get("message") or {}
        return {"id": draft["id"], "message": {"id": msg.get("id"),
                                               "threadId": msg.get("threadId"),
                                               "labelIds": list(msg.get("labelIds") or [])}}

    def list_messages(self, data: dict[str, Any]) -> dict[str, Any]:
        refs = islice(self._search(data.get("query"), data.get("label_ids"),
                                   data["include_spam_trash"], data["max_items"]),
                      data["max_items"])
        if data["metadata"]:
            found = (self._metadata(ref["id"]) for ref in refs)
            messages = [payloads.message(m) for m in found if m is not None]
        else:
            messages = [payloads.reference(ref) for ref in refs]
        return {"messages": messages, "count": len(messages)}

    def get_message(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["format"] == "metadata":
            return payloads.message(self._message(data["id"], metadata=True))
        return payloads.with_bodies(self._message(data["id"], metadata=False))

    def modify_labels(self, data: dict[str, Any]) -> dict[str, Any]:
        request = compact(addLabelIds=self._label_ids(data["add"], "add") or None,
                          removeLabelIds=self._label_ids(data["remove"], "remove") or None)
        # Adding a label a message has (or removing one it lacks) changes nothing: retry-safe.
        msg = body(self.http.post(f"{USER}/messages/{segment(data['id'])}/modify", json=request,
                                  idempotent=True, operation="messages.modify"), "Gmail")
        return {"id": msg["id"], "threadId": msg.get("threadId"),
                "labelIds": list(msg.get("labelIds") or [])}

    def list_labels(self, data: dict[str, Any]) -> dict[str, Any]:
        labels = [payloads.label(lb) for lb in self._labels()
                  if not data.get("type") or lb.get("type") == data["type"]]
        return {"labels": labels, "count": len(labels)}

    # -- trigger -----------------------------------------------------------------------------

    def poll_new_message(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """New messages since the ``historyId`` cursor (history.list, ``messageAdded``).

        Priming reads the current ``historyId`` from users.getProfile (no items). Then each new
        message's metadata is fetched (it is the payload) and filtered: drafts never, mail this
        account sent only with ``include_sent``, ``label_ids`` against its current labels, and
        ``query`` by listing the messages matching it (bounded with ``after:`` the oldest new
        message) and keeping the new ones in that list: Gmail's search syntax is only
        evaluated by Gmail. A 404 means the ``startHistoryId`` is too old (Gmail keeps about a
        week of history): the cursor is expired and the trigger primes again.
        """
        p = load_params(NewMessageParams, params)
        if cursor is None:
            profile = self._get(f"{USER}/profile", "users.getProfile")
            return PollPage([], str(profile["historyId"]))
        ids, next_cursor = self._added_since(cursor, (p.get("label_ids") or [None])[0])
        found = [m for m in (self._metadata(i) for i in ids) if m is not None and _wanted(m, p)]
        if p.get("query") and found:
            matching = self._matching(p["query"], found)
            found = [m for m in found if m["id"] in matching]
        return PollPage([payloads.message(m) for m in found], next_cursor)

    # -- helpers ----------------------------------------------------------------------------

    def _get(self, path: str, operation: str, params: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        return body(self.http.get(path, params=params, operation=operation), "Gmail")

    def _search(self, query: str | None, label_ids: list[str] | None, spam_trash: bool,
                limit: int) -> Iterator[dict[str, Any]]:
        params = compact(q=query, labelIds=label_ids, includeSpamTrash=flag(spam_trash),
                         maxResults=min(limit, PAGE_SIZE))
        return self.http.paginate(f"{USER}/messages", PageTokenPaginator(items="messages"),
                                  params=params, operation="messages.list")

    def _message(self, message_id: str, metadata: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"format": "full"}
        if metadata:
            params = {"format": "metadata", "metadataHeaders": list(payloads.METADATA_HEADERS)}
        return self._get(f"{USER}/messages/{segment(message_id)}", "messages.get", params)

    def _metadata(self, message_id: str) -> dict[str, Any] | None:
        """A message's metadata, or None when it was deleted since it was listed."""
        try:
            return self._message(message_id, metadata=True)
        except IntegrationError as exc:
            if exc.status == 404:
                return None
            raise

    def _labels(self) -> list[dict[str, Any]]:
        return [lb for lb in self._get(f"{USER}/labels", "labels.list").get("labels") or []
                if isinstance(lb, dict) and lb.get("id")]

    def _label_ids(self, given: list[str], field: str) -> list[str]:
        """Label ids for ``given`` ids or names (user labels are looked up by name)."""
        if all(g in SYSTEM_LABELS or g.startswith("Label_") for g in given):
            return given
        by_name = {str(lb.get("name", "")).lower(): lb["id"] for lb in self._labels()}
        ids, missing = [], []
        for g in given:
            if g in SYSTEM_LABELS or g.startswith("Label_"):
                ids.append(g)
            elif g.lower() in by_name:
                ids.append(by_name[g.lower()])
            else:
                missing.append(g)
        if missing:
            raise ValidationFailed(f"Gmail has no label {missing[0]!r}",
                                   details={field: [f"no label named {m!r}" for m in missing]})
        return ids

    def _added_since(self, cursor: str, label_id: str | None) -> tuple[list[str], str]:
        """Ids of the messages added after history ``cursor`` (oldest first) and the cursor
        to poll from next."""
        params = compact(startHistoryId=cursor, historyTypes="messageAdded", labelId=label_id,
                         maxResults=PAGE_SIZE)
        ids: dict[str, None] = {}
        last_record = cursor
        for _ in range(MAX_HISTORY_PAGES):
            try:
                page = self._get(f"{USER}/history", "history.list", params)
            except IntegrationError as exc:
                if exc.status == 404:
                    raise cursor_expired("Gmail", "startHistoryId", exc.status) from exc
                raise
            for record in page.get("history") or []:
                for added in record.get("messagesAdded") or []:
                    message_id = (added.get("message") or {}).get("id")
                    if message_id:
                        ids.setdefault(message_id)
                last_record = str(record.get("id") or last_record)
                if len(ids) >= MAX_NEW_PER_POLL:
                    return list(ids), last_record
            token = page.get("nextPageToken")
            if not token or token == params.get("pageToken"):
                return list(ids), str(page.get("historyId") or last_record)
            params["pageToken"] = token
        return list(ids), last_record

    def _matching(self, query: str, messages: list[dict[str, Any]]) -> set[str]:
        """Ids of the messages matching ``query`` among those received since the oldest of
        ``messages`` (a minute of margin)."""
        dates = [int(m["internalDate"]) // 1000 for m in messages
                 if str(m.get("internalDate") or "").isdigit()]
        bounded = f"({query}) after:{min(dates) - 60}" if dates else query
        limit = PAGE_SIZE * 5
        return {ref["id"] for ref in islice(self._search(bounded, None, False, limit), limit)}


def _outgoing(data: dict[str, Any]) -> dict[str, Any]:
    return compact(raw=payloads.build_raw(data), threadId=data.get("thread_id"))


def _wanted(message: dict[str, Any], params: dict[str, Any]) -> bool:
    labels = set(message.get("labelIds") or [])
    if "DRAFT" in labels or ("SENT" in labels and not params["include_sent"]):
        return False
    return set(params.get("label_ids") or []) <= labels
