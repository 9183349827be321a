"""Dropbox API v2: uploads (one request, or an upload session in chunks), folders, listings
with cursors, metadata, shared links, deletes, streamed downloads; file-added and
file-changed triggers polled from a ``list_folder`` cursor, made due at once by a signed
webhook notification.

HTTP reference: https://www.dropbox.com/developers/documentation/http/documentation
Webhooks: https://www.dropbox.com/developers/reference/webhooks
OAuth guide: https://developers.dropbox.com/oauth-guide

The two hosts, uploads and downloads are in :mod:`plugins.dropbox.transfer`; the error
mapping in :mod:`plugins.dropbox.errors`. Dropbox publishes no rate-limit numbers (verify):
429s and write contention are waited for as they come.
"""
from __future__ import annotations

import json
from datetime import UTC
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import requests
from marshmallow import ValidationError

from atom.integrations import files
from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import PollPage
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.dropbox import payloads
from plugins.dropbox.errors import DropboxError
from plugins.dropbox.errors import body
from plugins.dropbox.errors import classify
from plugins.dropbox.schemas import FileParams
from plugins.dropbox.transfer import DropboxTransfer

SIGNATURE = "X-Dropbox-Signature"
MAX_UPLOAD_MB = 25
# list_folder's ``limit`` is 1..2000 and approximate ("slightly more entries" may come: verify).
PAGE_LIMIT = 2000
# Pages a poll reads (the rest waits for the next poll) and a priming listing reads.
MAX_POLL_PAGES = 20
MAX_PRIME_PAGES = 20


class DropboxIntegration(DropboxTransfer):
    # -- client wiring ----------------------------------------------------------------------

    def raise_for_response(self, response: requests.Response) -> None:
        classify(response)

    def health_check(self) -> None:
        account = self._rpc("users/get_current_account", None)
        if not account.get("account_id"):
            raise UpstreamError("users/get_current_account answered without an account_id; "
                                "is base_url Dropbox's API (https://api.dropboxapi.com/2/)?",
                                permanent=True)

    def oauth_connected(self) -> dict[str, Any]:
        """The account the tokens belong to: webhook notifications name accounts."""
        base = self.base_url().rstrip("/") + "/"
        response = self.http.post(base + "users/get_current_account", data=b"null",
                                  headers={"Content-Type": "application/json"}, idempotent=True,
                                  operation="users/get_current_account")
        account = body(response, "users/get_current_account").get("account_id")
        return {"account_id": account} if isinstance(account, str) and account else {}

    # -- actions ----------------------------------------------------------------------------

    def upload_file(self, data: dict[str, Any]) -> dict[str, Any]:
        text = data.get("content_text")
        content = text.encode() if text is not None else data["content_base64"]
        field = "content_text" if text is not None else "content_base64"
        limit = int(self.connection.settings.get("max_upload_mb") or MAX_UPLOAD_MB) << 20
        if len(content) > limit:
            raise ValidationFailed(f"the content is larger than this connection's "
                                   f"{limit >> 20} MB upload limit",
                                   details={field: [f"at most {limit >> 20} MB"]})
        name = data["path"].rsplit("/", 1)[-1]
        stream = files.from_bytes(content, name, "text/plain" if text is not None
                                  else "application/octet-stream")
        return self._save(stream, data["path"], mode=data["mode"],
                          autorename=data["autorename"], mute=data["mute"])

    def create_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        made = self._rpc("files/create_folder_v2", {"path": data["path"],
                                                    "autorename": data["autorename"]})
        return payloads.entry(made.get("metadata") or {}, "folder")

    def list_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        """Pages of ``list_folder`` and ``list_folder/continue`` up to ``max_items``. When a
        later page is cut short, the cursor returned is the one that page was read with, so a
        listing continued from it may repeat entries but never skips one."""
        wanted = data["max_items"]
        if data.get("cursor"):
            page = self._rpc("files/list_folder/continue", {"cursor": data["cursor"]},
                             idempotent=True)
        else:
            page = self._rpc("files/list_folder", {
                "path": data["path"], "recursive": data["recursive"],
                "include_deleted": data["include_deleted"],
                "limit": min(wanted, PAGE_LIMIT)}, idempotent=True)
        entries: list[dict[str, Any]] = []
        before = data.get("cursor")
        while True:
            listed = [e for e in page.get("entries") or [] if isinstance(e, dict)]
            room = wanted - len(entries)
            # The first page of a new listing has no earlier cursor to come back to: it is
            # kept whole (Dropbox's limit is approximate: it may hold a few more).
            if len(listed) > room and before is not None:
                entries += listed[:room]
                cursor, more = before, True
                break
            entries += listed
            cursor, more = page.get("cursor"), bool(page.get("has_more"))
            if not more or len(entries) >= wanted:
                break
            before = cursor
            page = self._rpc("files/list_folder/continue", {"cursor": cursor}, idempotent=True)
        out = [payloads.entry(e) for e in entries]
        return {"entries": out, "count": len(out), "cursor": cursor, "has_more": more}

    def get_metadata(self, data: dict[str, Any]) -> dict[str, Any]:
        return payloads.entry(self._rpc("files/get_metadata", {
            "path": data["path"], "include_deleted": data["include_deleted"]}, idempotent=True))

    def delete(self, data: dict[str, Any]) -> dict[str, Any]:
        gone = self._rpc("files/delete_v2", {"path": data["path"]})
        return payloads.entry(gone.get("metadata") or {})

    def create_shared_link(self, data: dict[str, Any]) -> dict[str, Any]:
        """``sharing/create_shared_link_with_settings``; when the file already has a link,
        Dropbox answers 409 ``shared_link_already_exists`` (with the link's metadata in newer
        answers): that link is returned as it is, whatever settings were asked for."""
        settings: dict[str, Any] = {}
        if data.get("audience"):
            settings["audience"] = data["audience"]
        if data.get("expires") is not None:
            settings["expires"] = data["expires"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if data.get("allow_download") is not None:
            settings["allow_download"] = data["allow_download"]
        arg: dict[str, Any] = {"path": data["path"]}
        if settings:
            arg["settings"] = settings
        try:
            # Safe to repeat: a second call finds the link the first made.
            return payloads.shared_link(self._rpc("sharing/create_shared_link_with_settings",
                                                  arg, idempotent=True))
        except DropboxError as exc:
            if not exc.tags or exc.tags[0] != "shared_link_already_exists":
                raise
            found = (exc.error.get("shared_link_already_exists") or {}).get("metadata")
            if isinstance(found, dict) and found.get("url"):
                return payloads.shared_link(found)
        links = self._rpc("sharing/list_shared_links", {"path": data["path"],
                                                         "direct_only": True}, idempotent=True)
        for link in links.get("links") or []:
            if isinstance(link, dict) and link.get("url"):
                return payloads.shared_link(link)
        raise UpstreamError("Dropbox says the file has a shared link but lists none",
                            permanent=True)

    # -- triggers ---------------------------------------------------------------------------

    def poll_file_added(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        return self._poll("added", params, cursor)

    def poll_file_changed(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        return self._poll("changed", params, cursor)

    def _poll(self, kind: str, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """Files under the folder since the ``list_folder`` cursor ``cursor``.

        Priming: file_added lists the folder (its files are the current state: seen, not
        fired; a later edit of one never fires as added), its final cursor the next one; a
        folder too large to list in :data:`MAX_PRIME_PAGES` pages takes
        ``list_folder/get_latest_cursor`` instead. file_changed takes the latest cursor
        (each revision fires once, so nothing needs to be seen). Later polls read
        ``list_folder/continue`` (files only: folders and deletions are left out); a cursor
        Dropbox answers ``reset`` is expired: the trigger primes again.
        """
        try:
            p = FileParams().load(dict(params or {}))
        except ValidationError as exc:
            raise ValidationFailed("invalid trigger parameters",
                                   details=exc.normalized_messages()) from exc
        arg = {"path": p["path"], "recursive": p["recursive"], "include_deleted": False}
        if cursor is None:
            if kind == "changed":
                return PollPage([], self._latest_cursor(arg))
            page = self._rpc("files/list_folder", {**arg, "limit": PAGE_LIMIT}, idempotent=True)
            seen = _files(page)
            for _ in range(MAX_PRIME_PAGES - 1):
                if not page.get("has_more"):
                    return PollPage(seen, str(page["cursor"]))
                page = self._continue(str(page["cursor"]))
                seen += _files(page)
            if not page.get("has_more"):
                return PollPage(seen, str(page["cursor"]))
            return PollPage(seen, self._latest_cursor(arg))
        found: list[dict[str, Any]] = []
        for _ in range(MAX_POLL_PAGES):
            page = self._continue(cursor)
            found += _files(page)
            cursor = str(page["cursor"])
            if not page.get("has_more"):
                break
        if kind == "added":  # added then edited within one poll: one item, its last state
            latest: dict[str, dict[str, Any]] = {}
            for f in found:
                latest.pop(f["id"], None)
                latest[f["id"]] = f
            found = list(latest.values())
        return PollPage(found, cursor)

    def _latest_cursor(self, arg: dict[str, Any]) -> str:
        got = self._rpc("files/list_folder/get_latest_cursor", arg, idempotent=True)
        if not got.get("cursor"):
            raise UpstreamError("get_latest_cursor answered without a cursor", permanent=True)
        return str(got["cursor"])

    def _continue(self, cursor: str) -> dict[str, Any]:
        try:
            return self._rpc("files/list_folder/continue", {"cursor": cursor}, idempotent=True)
        except DropboxError as exc:
            if exc.tags[:1] == ["reset"]:
                raise CursorExpired("cursor expired: Dropbox reset the list_folder cursor",
                                    status=409) from exc
            raise

    # -- webhooks ---------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Dropbox's two requests (https://www.dropbox.com/developers/reference/webhooks):

        - the verification ``GET ?challenge=...``: the challenge is echoed as it is, as
          ``text/plain`` with ``X-Content-Type-Options: nosniff`` (so no browser reads it as
          HTML);
        - a notification ``POST`` signed with ``X-Dropbox-Signature`` (hex HMAC-SHA256 of the
          body with the app secret) that lists the accounts with changes
          (``{"list_folder": {"accounts": [...]}, "delta": {"users": [...]}}``) and no more:
          when it is genuine and names this connection's account (or the account is not
          known), the file triggers poll now. The changes reach workflows through the polls.

        A notification that fails the signature goes on to the receiver, which refuses it.
        Dropbox signs no timestamp; a replayed notification only makes the triggers poll
        again, which fires nothing new. A Dropbox app has one webhook URI for all its users:
        it names one connection's receiver, and notifications for the accounts of other
        connections of that app make no poll there (their triggers keep their interval).
        """
        if req.method == "GET":
            values = parse_qs(urlsplit(req.url).query).get("challenge") or []
            challenge = values[0] if len(values) == 1 else ""
            if not challenge or len(challenge) > 512 or not challenge.isascii() \
                    or not challenge.isprintable():
                return None
            return Handshake(status=200, body=challenge, headers={
                "Content-Type": "text/plain", "X-Content-Type-Options": "nosniff"})
        if req.method != "POST" or SIGNATURE not in req.headers:
            return None
        try:
            verify("dropbox_sha256", req, self.webhook_secret())
        except SignatureError:
            return None
        try:
            body = json.loads(req.body)
        except ValueError:
            return Handshake(status=200)
        accounts = (body.get("list_folder") or {}).get("accounts") if isinstance(body, dict) \
            else None
        mine = self.connection.settings.get("account_id")
        if mine and isinstance(accounts, list) and mine not in accounts:
            return Handshake(status=200)
        return Handshake(status=200,
                         poll_now=tuple(t.name for t in self.manifest.poll_triggers()))

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """Notifications carry no events (see :meth:`webhook_handshake`)."""
        return []


def _files(page: dict[str, Any]) -> list[dict[str, Any]]:
    if not page.get("cursor"):
        raise UpstreamError("list_folder answered without a cursor", permanent=True)
    return [payloads.entry(e) for e in page.get("entries") or []
            if isinstance(e, dict) and e.get(".tag") == "file" and e.get("id")]
