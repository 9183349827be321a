"""A small stateful OneDrive, at the HTTP seam (``responses``): what Prism cannot answer.

Behaviour and shapes follow Microsoft's Graph references:

- items by id and by parent and name (``items/{parent-id}:/{name}:/content``), simple upload
  answering 201 with the driveItem (https://learn.microsoft.com/graph/api/driveitem-put-content),
  ``@microsoft.graph.conflictBehavior`` fail (409 ``nameAlreadyExists``), replace, rename
  ("name 1.txt");
- upload sessions (https://learn.microsoft.com/graph/api/driveitem-createuploadsession):
  ``createUploadSession`` answers an ``uploadUrl`` on another host; each PUT carries
  ``Content-Range: bytes a-b/total`` and must start at the first missing byte (else 416
  ``invalidRange``), be a multiple of 320 KiB unless it ends the file, and come WITHOUT
  ``Authorization`` (else 401, as the page's remarks say); 202 with ``nextExpectedRanges``
  until the last byte, then 201 with the item; a failed request's bytes are all ignored;
  ``GET uploadUrl`` gives the status; an unknown session is 404;
- children (https://learn.microsoft.com/graph/api/driveitem-list-children): ``$top`` pages
  with ``@odata.nextLink`` carrying ``$skiptoken``; folders by POST children;
- download (https://learn.microsoft.com/graph/api/driveitem-get-content): 302 to a
  pre-authenticated URL on another host;
- createLink (https://learn.microsoft.com/graph/api/driveitem-createlink): 201 with a
  permission, 200 with the same one for a repeat of the same type and scope;
- delete: 204, 404 ``itemNotFound`` when absent;
- delta (https://learn.microsoft.com/graph/api/driveitem-delta): ``token=latest`` answers no
  items and a deltaLink; later rounds page with ``@odata.nextLink`` and end with a deltaLink;
  an item changed twice appears once per change; an expired token is 410 ``resyncRequired``;
- errors as ``{"error": {"code", "message", "innerError"}}`` (https://learn.microsoft.com/graph/errors).
"""
from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlsplit

import requests
import responses

GRAPH = "https://graph.microsoft.com/v1.0"
UPLOAD_HOST = "https://contoso-my.sharepoint.com"
DOWNLOAD_HOST = "https://public.dm.files.1drv.com"
UNIT = 320 * 1024


def _json(status: int, body: dict | None = None, **headers: str):
    if body is None:
        return status, headers, ""
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body)


def error(status: int, code: str, message: str, **headers: str):
    return _json(status, {"error": {"code": code, "message": message, "innerError": {
        "date": "2024-05-31T16:08:37", "request-id": "b7e3c0f5-8d8e-4a9b-9d7e-1f2a3b4c5d6e"}}},
        **headers)


class FakeOneDrive:
    def __init__(self, rsps: responses.RequestsMock, drive_id: str = "b!fakeDrive0001",
                 page_size: int = 2) -> None:
        self.rsps = rsps
        self.drive_id = drive_id
        self.page_size = page_size
        self.items: dict[str, dict] = {}
        self.content: dict[str, bytes] = {}
        self.changes: list[str] = []  # item ids, one per change, in order
        self.expired_below = 0  # delta tokens below this answer 410
        self.sessions: dict[str, dict] = {}
        self.links: dict[tuple, dict] = {}
        self.fragments: list[tuple[str, str | None]] = []  # (Content-Range, Authorization)
        self.upload_requests: list[tuple[str, str | None]] = []  # (method, Authorization)
        self.fail_fragments: set[int] = set()  # these PUTs (1-based) drop the connection
        self.short_fragments: dict[int, int] = {}  # PUT n: keep only this many of its bytes
        self.sessions_expire_after: int | None = None  # sessions vanish after n fragments
        self.downloads: list[str | None] = []  # Authorization seen by the download host
        self.calls: list[requests.PreparedRequest] = []
        self.subscriptions: list[dict] = []
        self.fail_next: list[tuple] = []  # canned answers for the next Graph requests
        self._n = 0
        self.now = datetime(2024, 5, 31, 16, 0, tzinfo=UTC)
        self.root = self._add({"name": "root", "folder": {"childCount": 0}, "root": {}}, None,
                              item_id="01ROOTFAKE0000000000000000")
        base = re.escape(GRAPH)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            rsps.add_callback(method, re.compile(base + r"/.*"), callback=self._graph)
        for method in ("GET", "PUT", "DELETE"):
            rsps.add_callback(method, re.compile(re.escape(UPLOAD_HOST) + r"/up/.*"),
                              callback=self._upload)
        rsps.add_callback("GET", re.compile(re.escape(DOWNLOAD_HOST) + r"/.*"),
                          callback=self._download)

    # -- what users do in the drive ------------------------------------------------------------

    def _stamp(self) -> str:
        self.now += timedelta(seconds=30)
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _add(self, fields: dict, parent: str | None, item_id: str | None = None) -> dict:
        self._n += 1
        item_id = item_id or f"01FAKEITEM{self._n:016d}"
        when = self._stamp()
        item = {"id": item_id, "createdDateTime": when, "lastModifiedDateTime": when,
                "eTag": f'"{{{item_id}}},1"', "cTag": f'"c:{{{item_id}}},1"',
                "webUrl": f"https://contoso-my.sharepoint.com/doc/{item_id}",
                "createdBy": {"user": {"displayName": "Ada Lovelace"}},
                "lastModifiedBy": {"user": {"displayName": "Ada Lovelace"}}, **fields}
        if parent is not None:
            item["parentReference"] = {"id": parent, "driveId": self.drive_id,
                                       "path": "/drive/root:"}
        self.items[item_id] = item
        return item

    def add_file(self, name: str, parent: str | None = None, content: bytes = b"hello",
                 mime: str = "text/plain") -> str:
        item = self._add({"name": name, "size": len(content), "file": {"mimeType": mime}},
                         parent or self.root["id"])
        self.content[item["id"]] = content
        self.changes.append(item["id"])
        return item["id"]

    def add_folder(self, name: str, parent: str | None = None) -> str:
        item = self._add({"name": name, "folder": {"childCount": 0}}, parent or self.root["id"])
        self.changes.append(item["id"])
        return item["id"]

    def edit(self, item_id: str, content: bytes = b"edited") -> None:
        item = self.items[item_id]
        version = int(item["eTag"].rsplit(",", 1)[1].rstrip('"')) + 1
        item.update(lastModifiedDateTime=self._stamp(), size=len(content),
                    eTag=f'"{{{item_id}}},{version}"', cTag=f'"c:{{{item_id}}},{version}"')
        self.content[item_id] = content
        self.changes.append(item_id)

    def remove(self, item_id: str) -> None:
        item = self.items.pop(item_id)
        self.content.pop(item_id, None)
        self.deleted = getattr(self, "deleted", {})
        self.deleted[item_id] = {"id": item_id, "name": item["name"], "deleted": {},
                                 "file": item.get("file"),
                                 "parentReference": item.get("parentReference")}
        self.changes.append(item_id)

    def expire(self) -> None:
        self.expired_below = len(self.changes) + 1

    def children_of(self, parent: str) -> list[dict]:
        return [i for i in self.items.values()
                if (i.get("parentReference") or {}).get("id") == parent]

    # -- Graph ---------------------------------------------------------------------------------

    def _graph(self, request: requests.PreparedRequest):
        self.calls.append(request)
        if self.fail_next:
            return self.fail_next.pop(0)
        if request.headers.get("Authorization", "").split(" ")[0] != "Bearer":
            return error(401, "InvalidAuthenticationToken", "Access token is empty.")
        url = urlsplit(request.url)
        path = unquote(url.path[len(urlsplit(GRAPH).path):])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        method = request.method
        if path == "/me/drive" and method == "GET":
            return _json(200, {"id": self.drive_id, "driveType": "business"})
        if path == "/subscriptions" and method == "POST":
            body = json.loads(request.body)
            self.subscriptions.append(body)
            return _json(201, {**{k: v for k, v in body.items() if k != "clientState"},
                               "id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"})
        found = re.match(r"^/drives/([^/]+)(/.*)$", path)
        if not found:
            return error(400, "invalidRequest", f"Invalid request: {path}")
        if found.group(1) != self.drive_id:
            return error(404, "itemNotFound", "The drive could not be found.")
        rest = found.group(2)
        if rest == "/root/delta" and method == "GET":
            return self._delta(query)
        by_name = re.match(r"^/items/([^/:]+):/([^/]+):/(content|createUploadSession)$", rest)
        if by_name:
            parent, name, what = by_name.groups()
            if parent == "root":
                parent = self.root["id"]
            if parent not in self.items:
                return error(404, "itemNotFound", "The resource could not be found.")
            if what == "content" and method == "PUT":
                return self._put_new(parent, name, request.body or b"",
                                     query.get("@microsoft.graph.conflictBehavior", "fail"))
            if what == "createUploadSession" and method == "POST":
                item = json.loads(request.body or b"{}").get("item") or {}
                return self._open_session(parent=parent, name=name,
                                          conflict=item.get("@microsoft.graph.conflictBehavior",
                                                            "fail"))
        by_id = re.match(r"^/items/([^/:]+)(?:/(children|content|createUploadSession|createLink))?$",
                         rest)
        if not by_id:
            return error(400, "invalidRequest", f"Invalid request: {rest}")
        item_id, what = by_id.groups()
        if item_id == "root":
            item_id = self.root["id"]
        item = self.items.get(item_id)
        if item is None:
            return error(404, "itemNotFound", "The resource could not be found.")
        if what is None and method == "GET":
            return _json(200, self._select(item, query.get("$select")))
        if what is None and method == "DELETE":
            self.remove(item_id)
            return _json(204)
        if what == "children" and method == "GET":
            return self._children(item_id, query, request.url)
        if what == "children" and method == "POST":
            body = json.loads(request.body or b"{}")
            name = self._free_name(item_id, body["name"],
                                   body.get("@microsoft.graph.conflictBehavior", "fail"))
            if name is None:
                return error(409, "nameAlreadyExists",
                             "The specified item name already exists.")
            made = self._add({"name": name, "folder": {"childCount": 0}}, item_id)
            self.changes.append(made["id"])
            return _json(201, made)
        if what == "content" and method == "PUT":
            self.content[item_id] = bytes(request.body or b"")
            self.edit(item_id, self.content[item_id])
            return _json(200, item)
        if what == "content" and method == "GET":
            return 302, {"Location": f"{DOWNLOAD_HOST}/y4m{item_id}?tempauth=v1.abcdef"}, ""
        if what == "createUploadSession" and method == "POST":
            return self._open_session(item_id=item_id)
        if what == "createLink" and method == "POST":
            body = json.loads(request.body)
            key = (item_id, body.get("type"), body.get("scope"))
            if key in self.links:
                return _json(200, self.links[key])
            link = {"id": f"perm{len(self.links) + 1}",
                    "roles": ["write" if body.get("type") == "edit" else "read"],
                    "link": {"type": body.get("type"), "scope": body.get("scope"),
                             "webUrl": f"https://1drv.ms/{'e' if body.get('type') == 'edit' else 'v'}"
                                       f"/s!{item_id[-8:]}",
                             "application": {"id": "1234", "displayName": "Sample"}}}
            if body.get("expirationDateTime"):
                link["expirationDateTime"] = body["expirationDateTime"]
            self.links[key] = link
            return _json(201, link)
        return error(405, "invalidRequest", "Method not allowed")

    @staticmethod
    def _select(item: dict, select: str | None) -> dict:
        if not select:
            return item
        keep = set(select.split(","))
        return {k: v for k, v in item.items() if k in keep or k == "id"}

    def _free_name(self, parent: str, name: str, conflict: str) -> str | None:
        taken = {i["name"] for i in self.children_of(parent)}
        if name not in taken or conflict == "replace":
            return name
        if conflict == "fail":
            return None
        stem, dot, ext = name.rpartition(".")
        stem, ext = (stem, f".{ext}") if dot else (name, "")
        n = 1
        while f"{stem} {n}{ext}" in taken:
            n += 1
        return f"{stem} {n}{ext}"

    def _put_new(self, parent: str, name: str, content: bytes, conflict: str):
        final = self._free_name(parent, name, conflict)
        if final is None:
            return error(409, "nameAlreadyExists", "The specified item name already exists.")
        existing = next((i for i in self.children_of(parent) if i["name"] == final), None)
        if existing is not None:
            self.edit(existing["id"], content)
            return _json(200, existing)
        item = self._add({"name": final, "size": len(content),
                          "file": {"mimeType": "application/octet-stream"}}, parent)
        self.content[item["id"]] = bytes(content)
        self.changes.append(item["id"])
        return _json(201, item)

    def _children(self, parent: str, query: dict, url: str):
        top = int(query.get("$top", 200))
        start = int(query.get("$skiptoken", 0))
        found = self.children_of(parent)
        page = found[start:start + top]
        body: dict = {"value": page}
        if start + top < len(found):
            base = url.split("?")[0]
            body["@odata.nextLink"] = f"{base}?$top={top}&$skiptoken={start + top}"
        return _json(200, body)

    def _delta(self, query: dict):
        base = f"{GRAPH}/drives/{self.drive_id}/root/delta"
        latest = len(self.changes)
        if query.get("token") == "latest":
            return _json(200, {"value": [], "@odata.deltaLink": f"{base}?token={latest}"})
        try:
            token = int(query.get("token", ""))
        except ValueError:
            return error(400, "invalidRequest", "Invalid token")
        if token < self.expired_below:
            return error(410, "resyncRequired", "Resync required. Replace any local items "
                         "with the server's version (including deletes).",
                         Location=f"{base}?token=resync")
        skip = int(query.get("skip", 0))
        ids = self.changes[token:]
        page = ids[skip:skip + self.page_size]
        deleted = getattr(self, "deleted", {})
        value = [dict(self.items[i]) if i in self.items else deleted[i] for i in page]
        if skip + self.page_size < len(ids):
            return _json(200, {"value": value,
                               "@odata.nextLink": f"{base}?token={token}&skip={skip + self.page_size}"})
        return _json(200, {"value": value, "@odata.deltaLink": f"{base}?token={latest}"})

    # -- upload sessions ----------------------------------------------------------------------

    def _open_session(self, item_id: str | None = None, parent: str | None = None,
                      name: str | None = None, conflict: str = "replace"):
        key = f"sess{len(self.sessions) + 1}"
        self.sessions[key] = {"item_id": item_id, "parent": parent, "name": name,
                              "conflict": conflict, "received": bytearray(), "total": None}
        return _json(200, {"uploadUrl": f"{UPLOAD_HOST}/up/{key}?tempauth=eyJ0eXAiOi.sess",
                           "expirationDateTime": "2024-06-07T16:08:37Z",
                           "nextExpectedRanges": ["0-"]})

    def _upload(self, request: requests.PreparedRequest):
        self.upload_requests.append((request.method, request.headers.get("Authorization")))
        key = urlsplit(request.url).path.rsplit("/", 1)[1]
        if self.sessions_expire_after is not None and len(self.fragments) >= self.sessions_expire_after:
            self.sessions.clear()
            self.fragments.append((request.headers.get("Content-Range", ""),
                                   request.headers.get("Authorization")))
        session = self.sessions.get(key)
        if session is None:
            return error(404, "itemNotFound", "The upload session was not found.")
        received = session["received"]
        if request.method == "GET":
            return _json(200, {"expirationDateTime": "2024-06-07T16:08:37Z",
                               "nextExpectedRanges": [f"{len(received)}-"]})
        if request.method == "DELETE":
            del self.sessions[key]
            return _json(204)
        auth = request.headers.get("Authorization")
        span = request.headers.get("Content-Range", "")
        self.fragments.append((span, auth))
        n = len(self.fragments)
        if auth:
            return error(401, "unauthenticated", "Do not send Authorization to the uploadUrl")
        found = re.match(r"^bytes (\d+)-(\d+)/(\d+)$", span)
        if not found:
            return error(400, "invalidRequest", "Content-Range is required")
        start, end, total = map(int, found.groups())
        body = bytes(request.body or b"")
        if n in self.fail_fragments:
            raise requests.ConnectionError("connection reset by peer")  # bytes ignored
        if start != len(received) or len(body) != end - start + 1:
            return error(416, "invalidRange", "The uploaded fragment overlaps with data that "
                         "has already been received.")
        if end + 1 != total and len(body) % UNIT:
            return error(400, "invalidRequest", "Fragment size must be a multiple of 320 KiB")
        if session["total"] not in (None, total):
            return error(400, "invalidRequest", "The total size changed")
        session["total"] = total
        received += body[:self.short_fragments.get(n, len(body))]
        if len(received) < total:
            return _json(202, {"expirationDateTime": "2024-06-07T16:08:37Z",
                               "nextExpectedRanges": [f"{len(received)}-{total - 1}"]})
        del self.sessions[key]
        if session["item_id"]:
            self.content[session["item_id"]] = bytes(received)
            self.edit(session["item_id"], bytes(received))
            return _json(200, self.items[session["item_id"]])
        status, headers, text = self._put_new(session["parent"], session["name"], bytes(received),
                                              session["conflict"])
        return status, headers, text

    # -- download host ---------------------------------------------------------------------------

    def _download(self, request: requests.PreparedRequest):
        self.downloads.append(request.headers.get("Authorization"))
        item_id = urlsplit(request.url).path.lstrip("/").removeprefix("y4m")
        content = self.content.get(item_id)
        if content is None:
            return 404, {}, ""
        return 200, {"Content-Type": "application/octet-stream",
                     "Content-Length": str(len(content))}, content
