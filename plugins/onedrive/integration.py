"""OneDrive through Microsoft Graph v1.0 (references in ``plugins/onedrive/__init__.py``).

Every request addresses the drive as ``drives/{drive-id}``: a connection whose ``drive`` is
``me`` looks its drive id up once (``GET /me/drive``). New files are addressed by their parent
and name (``items/{parent-id}:/{name}:/content``, ``…:/createUploadSession``), existing items
by id.

Files up to ``simple_upload_max_kib`` (4 MiB by default, held in memory) go in one PUT; larger
ones through an upload session: fragments of ``upload_chunk_kib`` (a multiple of 320 KiB) PUT
in order to the session's ``uploadUrl``, which is pre-authenticated and on another host, so it
is sent by a client without this connection's credentials
(:meth:`IntegrationClient.without_credentials`). After a failed fragment the session's status
(``GET uploadUrl`` → ``nextExpectedRanges``) says where to go on from.

Downloads (``open_file``) GET ``…/content``, which redirects (302) to a pre-authenticated URL
on another host; the client follows it without credentials and leaves the body unread
(``stream=True``).
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from itertools import islice
from typing import Any
from typing import Iterator

import requests

from atom.integrations import files
from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import IntegrationTimeout
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import compact
from atom.integrations.helpers import json_or_empty
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.microsoft_common import GraphErrors
from plugins.microsoft_common import NextLinkPaginator
from plugins.microsoft_common import graph_time
from plugins.microsoft_common import parse_time
from plugins.microsoft_common import same_origin
from plugins.microsoft_common import segment
from plugins.microsoft_common import validation_handshake
from plugins.onedrive import payloads
from plugins.onedrive.schemas import DEFAULT_CHUNK_KIB
from plugins.onedrive.schemas import KIB
from plugins.onedrive.schemas import SIMPLE_UPLOAD_KIB
from plugins.onedrive.schemas import FileParams

# Children come 200 a page at most here (Graph pages them itself past that).
PAGE_SIZE = 200
# A delta round that has not ended after this many pages goes on at the next poll.
DELTA_PAGES = 20
# Files created in this window before the trigger was primed count as new (clock skew).
PRIME_WINDOW = timedelta(minutes=5)
# Failed fragments of one upload followed by a status query and a resend, at most.
MAX_RESUMES = 3
ITEM_FIELDS = ("id,name,size,file,folder,webUrl,createdDateTime,lastModifiedDateTime,"
               "createdBy,lastModifiedBy,parentReference,eTag,cTag")
ERRORS = GraphErrors(
    "Microsoft Graph (OneDrive)",
    # Properties Graph names in a 400 message, and codes about one input.
    fields={"name": "name", "conflictBehavior": "conflict_behavior",
            "notificationUrl": "notification_url", "expirationDateTime": "expiration_minutes",
            "scope": "scope", "type": "type"},
    codes={"nameAlreadyExists": "name", "invalidRange": "content_base64",
           "quotaLimitReached": "content_base64"},
)


class OneDriveIntegration(Integration):
    _drive_id: str | None = None

    def raise_for_response(self, response: requests.Response) -> None:
        ERRORS.check(response)

    def health_check(self) -> None:
        """Read the drive: ``GET /me/drive`` or ``GET /drives/{id}``."""
        setting = self.connection.settings.get("drive") or "me"
        path = "me/drive" if setting == "me" else f"drives/{segment(setting)}"
        body = self._body(self.http.get(path, params={"$select": "id"}, operation="get drive"),
                          "drive")
        self._drive_id = str(body["id"]) if setting == "me" else setting

    # -- actions ---------------------------------------------------------------------------

    def upload_file(self, data: dict[str, Any]) -> dict[str, Any]:
        """Text or base64 content as a new file (or new content of ``file_id``), through
        :meth:`save_file`: one upload path for every size."""
        text = data.get("content_text")
        content = text.encode() if text is not None else data["content_base64"]
        name = data.get("name") or "upload"
        stream = files.from_bytes(content, name, "text/plain" if text is not None
                                  else "application/octet-stream")
        if data.get("file_id"):
            with _about("file_id"):
                return self._save(stream, None, None, data["file_id"], "replace")
        with _about("folder_id"):
            return self._save(stream, data.get("folder_id"), name, None,
                              data["conflict_behavior"])

    def create_folder(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"name": data["name"], "folder": {},
                "@microsoft.graph.conflictBehavior": data["conflict_behavior"]}
        # Graph answers 201 with the folder; a repeat with "fail" is a 409, with "rename" a
        # second folder: retried only with "replace".
        with _about("folder_id"):
            created = self.http.post(f"{self._item(data.get('folder_id'))}/children", json=body,
                                     idempotent=data["conflict_behavior"] == "replace",
                                     operation="create folder")
        return payloads.item(self._body(created))

    def list_children(self, data: dict[str, Any]) -> dict[str, Any]:
        folder = data.get("folder_id") or "root"
        with _about("folder_id"):
            found = self.http.paginate(f"{self._item(folder)}/children", NextLinkPaginator(),
                                       params={"$top": min(data["max_items"], PAGE_SIZE)},
                                       operation="list children")
            items = [payloads.item(i) for i in islice(found, data["max_items"])
                     if isinstance(i, dict) and i.get("id")]
        return {"folder_id": folder, "items": items, "count": len(items)}

    def get_item(self, data: dict[str, Any]) -> dict[str, Any]:
        with _about("item_id"):
            return payloads.item(self._get_item(data["item_id"]))

    def create_share_link(self, data: dict[str, Any]) -> dict[str, Any]:
        """A sharing link; Graph returns the existing link when the item already has one of
        that type and scope (200 rather than 201), so a repeat makes no second link."""
        body = compact(type=data["type"], scope=data["scope"],
                       expirationDateTime=graph_time(data["expires_at"].astimezone(UTC))
                       if data.get("expires_at") else None)
        with _about("item_id"):
            made = self.http.post(f"{self._item(data['item_id'])}/createLink", json=body,
                                  idempotent=True, operation="create sharing link")
        return payloads.share_link(self._body(made, "permission"), data["item_id"])

    def delete_item(self, data: dict[str, Any]) -> dict[str, Any]:
        """Move an item to the recycle bin (204). An item already gone (404) counts as
        deleted, so a retry after a lost answer is not an error; ``found`` says which."""
        try:
            self.http.delete(self._item(data["item_id"]), operation="delete item")
        except ValidationFailed as exc:
            if exc.status != 404:
                raise
            return {"id": data["item_id"], "deleted": True, "found": False}
        return {"id": data["item_id"], "deleted": True, "found": True}

    def subscribe_changes(self, data: dict[str, Any]) -> dict[str, Any]:
        """A Graph subscription on the drive's root (``updated``, the one change type
        driveItems have): each notification makes the file triggers poll at once."""
        secret = self.webhook_secret()
        if not secret:
            raise ValidationFailed("set the connection's client_state before subscribing",
                                   details={"client_state": ["required to subscribe"]})
        body = {"changeType": "updated", "notificationUrl": data["notification_url"],
                "resource": f"/drives/{self._drive()}/root",
                "expirationDateTime": self._expiry(data["expiration_minutes"]),
                "clientState": secret}
        made = self.http.post("subscriptions", json=body, operation="create subscription")
        return payloads.subscription(self._body(made, "subscription"))

    def renew_subscription(self, data: dict[str, Any]) -> dict[str, Any]:
        body = {"expirationDateTime": self._expiry(data["expiration_minutes"])}
        with _about("subscription_id"):
            renewed = json_or_empty(self.http.patch(
                f"subscriptions/{segment(data['subscription_id'])}", json=body,
                idempotent=True, operation="renew subscription"))
        return payloads.subscription({"id": data["subscription_id"], **renewed})

    # -- files (copy_file) -------------------------------------------------------------------

    def open_file(self, file_id: str) -> files.FileStream:
        with _about("source_file_id"):
            meta = self._get_item(file_id, "id,name,size,file,folder")
            if "folder" in meta or "file" not in meta:
                raise ValidationFailed(f"{file_id} is not a file",
                                       details={"source_file_id": ["a folder, not a file"]})
            response = self.http.get(f"{self._item(file_id)}/content", stream=True,
                                     operation="download")
        mime = (meta.get("file") or {}).get("mimeType")
        size = payloads.item(meta)["size"]
        return files.from_response(response, str(meta.get("name") or file_id), mime, size)

    def save_file(self, stream: files.FileStream, folder_id: str | None, name: str
                  ) -> dict[str, Any]:
        with _about("folder_id"):
            return self._save(stream, folder_id, name, None, "rename")

    # -- triggers ----------------------------------------------------------------------------

    def poll_file_added(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """Files created (uploaded, copied in) since the trigger was primed; each fires once."""
        def pick(i: dict[str, Any], since: datetime) -> dict[str, Any] | None:
            created = parse_time(i.get("createdDateTime"))
            return payloads.item(i) if created is not None and created > since else None

        return self._poll(params, cursor, pick)

    def poll_file_changed(self, params: dict[str, Any] | None, cursor: str | None) -> PollPage:
        """Files modified (content or metadata) after they were made; each version fires
        once (``change_key``)."""
        def pick(i: dict[str, Any], since: datetime) -> dict[str, Any] | None:
            return payloads.changed_file(i) if payloads.edited_after_creation(i) else None

        return self._poll(params, cursor, pick)

    def _poll(self, params: dict[str, Any] | None, cursor: str | None, pick: Any) -> PollPage:
        """The drive's delta feed from the stored link.

        Priming asks for ``token=latest`` (no items, just a deltaLink: "from now on"). Later
        polls follow the link to the next deltaLink (at most :data:`DELTA_PAGES` pages, else
        the nextLink is kept). Graph may list an item more than once: its last state counts.
        Folders and deleted items never fire. A 410 (the token expired: ``resyncRequired``)
        is an expired cursor, and the trigger primes again.
        """
        p = FileParams().load(params or {})
        if cursor is None:
            folder = p.get("folder_id")
            if folder == "root":
                folder = str(self._get_item("root", "id")["id"])
            since = graph_time(self._now() - PRIME_WINDOW)
            _, link = self._delta(f"drives/{segment(self._drive())}/root/delta",
                                  {"token": "latest"})
            return PollPage([], json.dumps(compact(link=link, since=since, folder=folder)))
        state = _cursor(cursor)
        changed, link = self._delta(state["link"], None)
        since = parse_time(state["since"]) or self._now()
        latest: dict[str, dict[str, Any]] = {}
        for i in changed:
            latest.pop(str(i["id"]), None)
            latest[str(i["id"])] = i
        out = []
        for i in latest.values():
            if "file" not in i or "deleted" in i or "@removed" in i:
                continue
            if state.get("folder") and (i.get("parentReference") or {}).get("id") != state["folder"]:
                continue
            shaped = pick(i, since)
            if shaped is not None:
                out.append(shaped)
        out.sort(key=lambda x: (x["modified_at"] or "", x["id"]))
        return PollPage(out, json.dumps({**state, "link": link}))

    def _delta(self, url: str, query: dict[str, Any] | None) -> tuple[list[dict], str]:
        changed: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(DELTA_PAGES):
            try:
                response = self.http.get(url, params=query, operation="drive delta")
            except UpstreamError as exc:
                if exc.status == 410:
                    raise CursorExpired("the delta token expired (410 resyncRequired); the "
                                        "trigger primes again", status=410) from exc
                raise
            body = json_or_empty(response)
            changed += [i for i in body.get("value") or [] if isinstance(i, dict) and i.get("id")]
            if body.get("@odata.deltaLink"):
                return changed, same_origin(response.url, str(body["@odata.deltaLink"]),
                                            "@odata.deltaLink")
            link = body.get("@odata.nextLink")
            if not link or link in seen:
                raise UpstreamError("the delta round ended without a deltaLink", permanent=True)
            seen.add(link)
            url, query = same_origin(response.url, str(link), "@odata.nextLink"), None
        return changed, url

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Graph's ``validationToken`` check of the notification URL; then change
        notifications, which say only that something in the drive changed: one whose every
        ``clientState`` is the connection's secret gets 202 and makes the file triggers poll
        now (the delta feed says what changed). Anything else goes on to the receiver's
        verification, which refuses it."""
        answer = validation_handshake(req)
        if answer is not None or req.method != "POST":
            return answer
        try:
            verify("graph_client_state", req, self.webhook_secret())
        except SignatureError:
            return None
        return Handshake(status=202, poll_now=tuple(t.name for t in self.manifest.poll_triggers()))

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        """Notifications carry no events (see :meth:`webhook_handshake`)."""
        return []

    # -- helpers -----------------------------------------------------------------------------

    def _drive(self) -> str:
        """The drive id: the ``drive`` setting, or ``me``'s drive looked up once."""
        if self._drive_id is None:
            setting = self.connection.settings.get("drive") or "me"
            if setting == "me":
                body = self._body(self.http.get("me/drive", params={"$select": "id"},
                                                operation="get my drive"), "drive")
                setting = str(body["id"])
            self._drive_id = setting
        return self._drive_id

    def _item(self, item_id: str | None) -> str:
        return f"drives/{segment(self._drive())}/items/{segment(item_id or 'root')}"

    def _new(self, folder_id: str | None, name: str) -> str:
        """A new item addressed by its parent and name (``items/{parent-id}:/{name}:``)."""
        return f"{self._item(folder_id)}:/{segment(name)}:"

    def _get_item(self, item_id: str, select: str = ITEM_FIELDS) -> dict[str, Any]:
        return self._body(self.http.get(self._item(item_id), params={"$select": select},
                                        operation="get item"))

    @staticmethod
    def _body(response: requests.Response, what: str = "driveItem") -> dict[str, Any]:
        body = json_or_empty(response)
        if not body.get("id"):
            raise UpstreamError(f"Graph answered {response.status_code} without the {what}",
                                status=response.status_code, permanent=True)
        return body

    def _save(self, stream: files.FileStream, folder_id: str | None, name: str | None,
              file_id: str | None, conflict: str) -> dict[str, Any]:
        """Write ``stream`` as a new file (``folder_id``, ``name``) or as ``file_id``'s new
        content: one PUT when small, else an upload session."""
        limit = self._setting("simple_upload_max_kib", SIMPLE_UPLOAD_KIB) * KIB
        pieces = stream.pieces(self._setting("upload_chunk_kib", DEFAULT_CHUNK_KIB) * KIB)
        if stream.size is None:
            # A session needs the total size up front: only small content of unknown size.
            head = b"".join(islice(files.rechunk(stream, limit + 1), 1))
            if len(head) > limit:
                raise ValidationFailed(
                    "the source did not say the file's size, and OneDrive's upload sessions "
                    "need it for files this large", details={"source_file_id": ["size unknown"]})
            return self._simple(head, folder_id, name, file_id, conflict)
        if stream.size <= limit:
            return self._simple(b"".join(pieces), folder_id, name, file_id, conflict)
        return self._session(pieces, stream.size, folder_id, name, file_id, conflict)

    def _simple(self, content: bytes, folder_id: str | None, name: str | None,
                file_id: str | None, conflict: str) -> dict[str, Any]:
        path = (f"{self._item(file_id)}/content" if file_id
                else f"{self._new(folder_id, name or 'upload')}/content")
        params = None if file_id else {"@microsoft.graph.conflictBehavior": conflict}
        # A repeated PUT makes a second file under "rename" and fails under "fail".
        response = self.http.put(path, data=content, params=params,
                                 headers={"Content-Type": "application/octet-stream"},
                                 idempotent=bool(file_id) or conflict == "replace",
                                 operation="upload content")
        body = json_or_empty(response)
        if not body.get("id") and file_id:
            # Graph answers the item (200/201); the trimmed spec declares 204: read it.
            body = self._get_item(file_id)
        return payloads.item(self._body_of(body, response))

    def _session(self, pieces: Iterator[bytes], total: int, folder_id: str | None,
                 name: str | None, file_id: str | None, conflict: str) -> dict[str, Any]:
        """Upload ``total`` bytes in ``pieces`` through an upload session."""
        if file_id:
            path, item = f"{self._item(file_id)}/createUploadSession", {
                "@microsoft.graph.conflictBehavior": "replace"}
        else:
            path, item = f"{self._new(folder_id, name or 'upload')}/createUploadSession", {
                "@microsoft.graph.conflictBehavior": conflict, "name": name}
        opened = json_or_empty(self.http.post(path, json={"item": item}, idempotent=True,
                                              operation="create upload session"))
        url = opened.get("uploadUrl")
        if not isinstance(url, str) or not url.lower().startswith("https://"):
            raise UpstreamError("Graph opened no upload session (no https uploadUrl)",
                                permanent=True)
        # Pre-authenticated and on another host: no Authorization goes there.
        upload = self.http.without_credentials(url)
        offset, resumes = 0, 0
        for piece in pieces:
            end = offset + len(piece)
            pos = offset
            while pos < end:
                try:
                    # Not retried by the client: after a failure, ask the session what it kept.
                    response = upload.put(url, data=piece[pos - offset:], idempotent=False,
                                          headers={"Content-Range": f"bytes {pos}-{end - 1}/{total}",
                                                   "Content-Type": "application/octet-stream"},
                                          operation="upload fragment")
                except (UpstreamError, IntegrationTimeout, ValidationFailed) as exc:
                    if exc.status == 404:
                        raise UpstreamError("the upload session expired or was cancelled; "
                                            "upload again", status=404, permanent=True) from exc
                    resumable = exc.status == 416 or not exc.permanent
                    if not resumable or resumes >= MAX_RESUMES:
                        raise
                    resumes += 1
                    status = json_or_empty(upload.get(url, operation="upload session status"))
                    pos = _next_start(status, offset, end, total)
                    continue
                if response.status_code in (200, 201):
                    done = json_or_empty(response)
                    if end != total:
                        raise UpstreamError("the upload session finished before the last byte",
                                            permanent=True)
                    return payloads.item(self._body_of(done, response))
                pos = _next_start(json_or_empty(response), offset, end, total)
            offset = end
        raise UpstreamError("the upload session took every byte but returned no item",
                            permanent=True)

    def _body_of(self, body: dict[str, Any], response: requests.Response) -> dict[str, Any]:
        if not body.get("id"):
            raise UpstreamError(f"Graph answered {response.status_code} without the driveItem",
                                status=response.status_code, permanent=True)
        return body

    def _setting(self, name: str, default: int) -> int:
        value = self.connection.settings.get(name)
        return int(value) if value is not None else default

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.http.clock.time(), UTC)

    def _expiry(self, minutes: int) -> str:
        return graph_time(self._now() + timedelta(minutes=minutes))


_RANGE = re.compile(r"^(\d+)-(\d*)$")


def _next_start(status: dict[str, Any], offset: int, end: int, total: int) -> int:
    """Where the next fragment starts, from a session's ``nextExpectedRanges`` (the first
    range's start); it must lie within the piece held (``offset``..``end``): bytes before it
    are gone from memory."""
    ranges = status.get("nextExpectedRanges")
    first = ranges[0] if isinstance(ranges, list) and ranges else None
    found = _RANGE.match(first) if isinstance(first, str) else None
    if found is None:
        if ranges == [] and end == total:
            raise UpstreamError("the upload session expects no more bytes but returned no item",
                                permanent=True)
        raise UpstreamError(f"unreadable nextExpectedRanges {ranges!r}", permanent=True)
    start = int(found.group(1))
    if not offset <= start <= end:
        raise UpstreamError(f"the upload session expects byte {start}, outside the fragment "
                            f"held ({offset}-{end - 1}); upload again", permanent=True)
    return start


@contextmanager
def _about(field: str) -> Iterator[None]:
    """Name ``field`` (the input that gave the id) in a 404 from Graph (``itemNotFound``)."""
    try:
        yield
    except ValidationFailed as exc:
        if exc.status == 404 and "_request" in exc.details:
            exc.details = {field: [*exc.details["_request"], "no such item in this drive"]}
        raise


def _cursor(cursor: str) -> dict[str, str]:
    try:
        state = json.loads(cursor)
        if isinstance(state, dict) and state.get("link") and state.get("since"):
            return {k: str(v) for k, v in state.items() if k in ("link", "since", "folder") and v}
    except ValueError:
        pass
    raise UpstreamError("the stored poll cursor is not this trigger's; prime it again",
                        permanent=True)

