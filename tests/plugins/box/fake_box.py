"""A documented, stateful fake of Box on loopback: three origins, as Box has them.

- the API (``https://api.box.com``: ``/oauth2/token`` and ``/2.0/...``),
- the upload API (``https://upload.box.com/api/2.0/...``),
- the download host (``https://dl.boxcloud.com``) that ``GET /files/{id}/content`` redirects
  to with a 302 (https://developer.box.com/guides/downloads/file/, "Download URL"); it records
  whether a request carried an ``Authorization`` header (it must not: the redirect leaves the
  connection's origin).

Behaviour follows Box's reference (https://developer.box.com/reference/):

- Errors are ``{"type": "error", "status", "code", "message", "context_info", "request_id"}``
  (https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/); a name
  already in a folder is 409 ``item_name_in_use`` with ``context_info.conflicts`` (the item in
  the way); 429 carries ``Retry-After``
  (https://developer.box.com/guides/api-calls/permissions-and-errors/rate-limits/).
- Folder items page with markers (``usemarker=true``, ``marker``, ``limit`` -> ``next_marker``,
  null at the end) or offsets (``offset``, ``limit`` -> ``total_count``)
  (https://developer.box.com/guides/api-calls/pagination/).
- Direct uploads: ``POST /files/content`` multipart with ``attributes`` BEFORE ``file``
  (``metadata_after_file_contents`` otherwise), optional ``content-md5`` = the file's SHA1
  (https://developer.box.com/reference/post-files-content/).
- Chunked uploads (https://developer.box.com/guides/uploads/chunked/): ``POST
  /files/upload_sessions`` -> ``part_size``, ``total_parts``, ``session_endpoints``; ``PUT
  /files/upload_sessions/{id}`` with ``Content-Range: bytes a-b/total`` and ``Digest:
  sha=<base64 SHA1 of the part>`` -> ``{"part": {part_id, offset, size, sha1}}``; every part but
  the last is exactly ``part_size``; ``POST .../commit`` with ``{"parts": [...]}`` and the
  whole file's ``Digest`` -> 201 Files (202 + Retry-After while parts are processed);
  ``DELETE`` aborts. Box refuses sessions under 20 MB; the fake takes ``min_session_size`` so
  tests can use small files (a test setting lowers the plugin's threshold to match).
- Tokens (https://developer.box.com/guides/authentication/): authorization-code refresh tokens
  are single use and each refresh returns a new pair; Client Credentials Grant
  (``box_subject_type``/``box_subject_id``); JWT assertions verified RS256 with the app's
  public key (``kid``, ``iss``, ``sub``, ``box_sub_type``, ``aud``, ``exp`` <= 60 s, ``jti``
  used once).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

TOKEN = "box-test-access-token-0123456789abcdef"
CLIENT_ID = "fake-box-client-id-0123"
CLIENT_SECRET = "fake-box-client-secret-0123456789"
ENTERPRISE = "9876543"


def error(status: int, code: str, message: str, **context: Any) -> Response:
    body = {"type": "error", "status": status, "code": code, "message": message,
            "context_info": context or None, "request_id": "abcdef123456",
            "help_url": "https://developer.box.com/guides/api-calls/permissions-and-errors/"
                        "common-errors/"}
    return Response(json.dumps(body), status=status, mimetype="application/json")


def ok(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json",
                    headers=headers)


@dataclass
class Session:
    id: str
    folder_id: str
    name: str
    size: int
    part_size: int
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)
    content: dict[int, bytes] = field(default_factory=dict)


class FakeBox:
    def __init__(self, part_size: int = 8 * 1024 * 1024, min_session_size: int = 0) -> None:
        self.part_size = part_size
        self.min_session_size = min_session_size
        self.items: dict[str, dict[str, Any]] = {
            "0": {"id": "0", "type": "folder", "name": "All Files", "parent": None}}
        self.blobs: dict[str, bytes] = {}
        self.sessions: dict[str, Session] = {}
        self.aborted: list[str] = []
        self.webhooks: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str, dict[str, str]]] = []  # origin, method, path
        self.download_auth: list[str | None] = []
        self.tokens = {TOKEN}
        self.refresh_tokens: dict[str, bool] = {}  # token -> still usable
        self.public_keys: dict[str, Any] = {}  # kid -> public key (JWT apps)
        self.jtis: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.fail: list[tuple[str, Response]] = []  # (path regex, answer) served once each
        self.commit_processing = 0  # commits answered 202 before the file is made
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._servers = {role: make_server("127.0.0.1", 0, self._app(role), threaded=True)
                         for role in ("api", "upload", "dl")}
        self._threads = [threading.Thread(target=s.serve_forever, args=(0.02,), daemon=True)
                         for s in self._servers.values()]

    # -- lifecycle -------------------------------------------------------------------------

    def origin(self, role: str) -> str:
        return f"http://127.0.0.1:{self._servers[role].server_port}"

    @property
    def api_root(self) -> str:  # base_url's origin: /oauth2/token lives at its root
        return self.origin("api")

    @property
    def base_url(self) -> str:
        return self.origin("api") + "/2.0/"

    @property
    def upload_url(self) -> str:
        return self.origin("upload") + "/api/2.0/"

    def start(self) -> FakeBox:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        for s in self._servers.values():
            s.shutdown()
            s.server_close()

    # -- what users do in Box ------------------------------------------------------------------

    def add_folder(self, name: str, parent: str = "0") -> str:
        fid = str(next(self._ids))
        self.items[fid] = {"id": fid, "type": "folder", "name": name, "parent": parent}
        return fid

    def add_file(self, name: str, content: bytes, parent: str = "0") -> str:
        fid = str(next(self._ids))
        self.items[fid] = {"id": fid, "type": "file", "name": name, "parent": parent,
                           "size": len(content), "sha1": hashlib.sha1(content).hexdigest()}
        self.blobs[fid] = content
        return fid

    def children(self, folder: str) -> list[dict[str, Any]]:
        return [i for i in self.items.values() if i.get("parent") == folder
                and not i.get("trashed")]

    def view(self, item: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in item.items() if k not in ("parent", "trashed")}
        out.update(etag="0", sequence_id="0", item_status="trashed" if item.get("trashed")
                   else "active", created_at="2024-05-31T09:08:37-07:00",
                   modified_at="2024-05-31T09:08:37-07:00")
        parent = self.items.get(item.get("parent") or "")
        if parent is not None:
            out["parent"] = {"type": "folder", "id": parent["id"], "name": parent["name"]}
            chain, at = [], parent
            while at is not None:
                chain.insert(0, {"type": "folder", "id": at["id"], "name": at["name"]})
                at = self.items.get(at.get("parent") or "")
            out["path_collection"] = {"total_count": len(chain), "entries": chain}
        out.setdefault("shared_link", None)
        return out

    # -- the WSGI app ----------------------------------------------------------------------------

    def _app(self, role: str):
        def app(environ, start_response):
            request = Request(environ)
            self.requests.append((role, request.method, request.path, dict(request.headers)))
            with self._lock:
                response = self._route(role, request)
            return response(environ, start_response)

        return app

    def _route(self, role: str, req: Request) -> Response:
        for n, (pattern, answer) in enumerate(self.fail):
            if re.search(pattern, f"{role}:{req.method} {req.path}"):
                del self.fail[n]
                return answer
        if role == "dl":
            self.download_auth.append(req.headers.get("Authorization"))
            fid = req.path.rsplit("/", 1)[-1]
            if fid not in self.blobs:
                return Response(status=404)
            return Response(self.blobs[fid], mimetype="application/octet-stream")
        if role == "api" and req.path == "/oauth2/token":
            return self._token(req)
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return error(401, "unauthorized", "Unauthorized")
        path = req.path
        if role == "upload":
            return self._upload(req, path.removeprefix("/api/2.0"))
        path = path.removeprefix("/2.0")
        if path == "/webhooks" and req.method == "POST":
            body = req.get_json()
            hook = {"id": str(next(self._ids)), "type": "webhook", "target": body["target"],
                    "address": body["address"], "triggers": body["triggers"],
                    "created_at": "2024-05-31T09:08:37-07:00"}
            self.webhooks.append(hook)
            return ok(hook, 201)
        if path == "/users/me":
            return ok({"type": "user", "id": "17738362", "login": "ada@example.com"})
        if path == "/folders" and req.method == "POST":
            return self._create_folder(req.get_json())
        m = re.fullmatch(r"/folders/([0-9]+)/items", path)
        if m:
            return self._items(m.group(1), req.args)
        m = re.fullmatch(r"/files/([0-9]+)(/content)?", path)
        if m:
            return self._file(req, m.group(1), bool(m.group(2)))
        return error(404, "not_found", "Not Found")

    # -- api -------------------------------------------------------------------------------------

    def _conflict(self, folder: str, name: str) -> Response | None:
        for item in self.children(folder):
            if item["name"].lower() == name.lower():
                return error(409, "item_name_in_use", "Item with the same name already exists",
                             conflicts=[{"type": item["type"], "id": item["id"],
                                         "name": item["name"]}])
        return None

    def _create_folder(self, body: dict[str, Any]) -> Response:
        parent = (body.get("parent") or {}).get("id")
        if not body.get("name") or parent is None:
            return error(400, "bad_request", "Bad Request", errors=[
                {"reason": "missing_parameter", "name": "parent" if body.get("name") else "name",
                 "message": "'parent' is required" if body.get("name") else "'name' is required"}])
        if parent not in self.items or self.items[parent]["type"] != "folder":
            return error(404, "not_found", "Not Found")
        clash = self._conflict(parent, body["name"])
        if clash:
            return clash
        return ok(self.view(self.items[self.add_folder(body["name"], parent)]), 201)

    def _items(self, folder: str, args: Any) -> Response:
        if folder not in self.items:
            return error(404, "not_found", "Not Found")
        entries = sorted(self.children(folder), key=lambda i: int(i["id"]))
        limit = int(args.get("limit", 100))
        if args.get("usemarker") == "true":
            start = int(base64.b64decode(args["marker"])) if args.get("marker") else 0
            page = entries[start:start + limit]
            more = start + limit < len(entries)
            return ok({"entries": [self.view(e) for e in page], "limit": limit,
                       "next_marker": base64.b64encode(str(start + limit).encode()).decode()
                       if more else None})
        if args.get("sort") == "name":
            entries.sort(key=lambda i: i["name"], reverse=args.get("direction") == "DESC")
        offset = int(args.get("offset", 0))
        return ok({"entries": [self.view(e) for e in entries[offset:offset + limit]],
                   "total_count": len(entries), "offset": offset, "limit": limit})

    def _file(self, req: Request, fid: str, content: bool) -> Response:
        item = self.items.get(fid)
        if item is None or item["type"] != "file" or item.get("trashed"):
            return error(404, "not_found", "Not Found")
        if content:
            return Response(status=302, headers={"Location": f"{self.origin('dl')}/d/1/{fid}"})
        if req.method == "GET":
            return ok(self.view(item))
        if req.method == "DELETE":
            item["trashed"] = True
            return Response(status=204)
        if req.method == "PUT":
            link = (req.get_json() or {}).get("shared_link")
            if link is not None:
                if link.get("password") and link.get("access") != "open":
                    return error(400, "bad_request", "Bad Request", errors=[
                        {"name": "password", "message": "password needs open access",
                         "reason": "invalid_parameter"}])
                item["shared_link"] = {
                    "url": f"https://app.box.com/s/{fid}abc", "download_url": None,
                    "access": link.get("access", "open"),
                    "effective_access": link.get("access", "open"),
                    "unshared_at": link.get("unshared_at"),
                    "is_password_enabled": bool(link.get("password")),
                    "permissions": {"can_download": (link.get("permissions") or {})
                                    .get("can_download", True), "can_preview": True}}
            fields = req.args.get("fields", "")
            view = self.view(item)
            if fields:
                wanted = {*fields.split(","), "id", "type"}
                view = {k: v for k, v in view.items() if k in wanted}
            return ok(view)
        return error(405, "method_not_allowed", "Method Not Allowed")

    # -- uploads ---------------------------------------------------------------------------------

    def _new_file(self, folder: str, name: str, content: bytes) -> Response:
        fid = self.add_file(name, content, folder)
        return ok({"total_count": 1, "entries": [self.view(self.items[fid])]}, 201)

    def _upload(self, req: Request, path: str) -> Response:
        if path == "/files/content" and req.method == "POST":
            return self._direct(req)
        if path == "/files/upload_sessions" and req.method == "POST":
            return self._open_session(req.get_json())
        m = re.fullmatch(r"/files/upload_sessions/([0-9A-F]+)(/commit)?", path)
        if not m or m.group(1) not in self.sessions:
            return error(404, "not_found", "Not Found")
        session = self.sessions[m.group(1)]
        if m.group(2):
            return self._commit(req, session)
        if req.method == "PUT":
            return self._part(req, session)
        if req.method == "DELETE":
            del self.sessions[session.id]
            self.aborted.append(session.id)
            return Response(status=204)
        return error(405, "method_not_allowed", "Method Not Allowed")

    def _direct(self, req: Request) -> Response:
        raw = req.get_data()
        order = [m.group(1) for m in re.finditer(rb'name="([a-z]+)"', raw)]
        if order[:1] != [b"attributes"]:
            return error(400, "metadata_after_file_contents", "attributes must come first")
        attributes = json.loads(req.form["attributes"])
        upload = req.files["file"].read()
        folder = (attributes.get("parent") or {}).get("id")
        if folder not in self.items:
            return error(404, "not_found", "Not Found")
        md5 = req.headers.get("Content-MD5")
        if md5 and md5 != hashlib.sha1(upload).hexdigest():
            return error(400, "sha1_mismatch", "The file's SHA1 does not match content-md5")
        return self._conflict(folder, attributes["name"]) or \
            self._new_file(folder, attributes["name"], upload)

    def _open_session(self, body: dict[str, Any]) -> Response:
        if body.get("folder_id") not in self.items:
            return error(404, "not_found", "Not Found")
        if int(body.get("file_size", 0)) < self.min_session_size:
            return error(400, "file_size_too_small", "File size is less than minimum allowed")
        clash = self._conflict(body["folder_id"], body.get("file_name", ""))
        if clash:
            return clash
        sid = f"F{next(self._ids):031X}"
        size = int(body["file_size"])
        session = Session(sid, body["folder_id"], body["file_name"], size, self.part_size)
        self.sessions[sid] = session
        url = f"{self.upload_url}files/upload_sessions/{sid}"
        return ok({"id": sid, "type": "upload_session", "part_size": self.part_size,
                   "total_parts": -(-size // self.part_size), "num_parts_processed": 0,
                   "session_expires_at": "2030-01-01T00:00:00Z",
                   "session_endpoints": {"upload_part": url, "commit": f"{url}/commit",
                                         "abort": url, "list_parts": f"{url}/parts",
                                         "status": url, "log_event": f"{url}/log"}}, 201)

    def _part(self, req: Request, s: Session) -> Response:
        m = re.fullmatch(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)", req.headers.get("Content-Range", ""))
        data = req.get_data()
        if not m or int(m.group(3)) != s.size:
            return error(416, "range_not_satisfiable", "Content-Range does not fit the session")
        start, end = int(m.group(1)), int(m.group(2))
        last = end + 1 == s.size
        if start % s.part_size or end - start + 1 != len(data) or \
                (len(data) != s.part_size and not last) or end >= s.size:
            return error(416, "range_not_satisfiable", "Parts must be part_size long")
        digest = base64.b64encode(hashlib.sha1(data).digest()).decode()
        if req.headers.get("Digest") != f"sha={digest}":
            return error(412, "precondition_failed", "The part's Digest does not match")
        part = {"part_id": f"{start // s.part_size:08X}", "offset": start, "size": len(data),
                "sha1": hashlib.sha1(data).hexdigest()}
        s.parts[start], s.content[start] = part, data
        return ok({"part": part})

    def _commit(self, req: Request, s: Session) -> Response:
        if self.commit_processing > 0:
            self.commit_processing -= 1
            return Response(status=202, headers={"Retry-After": "2"})
        listed = (req.get_json() or {}).get("parts")
        if listed != [s.parts[o] for o in sorted(s.parts)]:
            return error(400, "bad_request", "The parts do not match those uploaded")
        content = b"".join(s.content[o] for o in sorted(s.content))
        digest = base64.b64encode(hashlib.sha1(content).digest()).decode()
        if len(content) != s.size or req.headers.get("Digest") != f"sha={digest}":
            return error(422, "unprocessable_entity", "The file's Digest does not match")
        del self.sessions[s.id]
        return self._new_file(s.folder_id, s.name, content)

    # -- tokens ----------------------------------------------------------------------------------

    def issue(self, refresh: bool = True) -> dict[str, Any]:
        token = f"box-minted-{next(self._ids)}"
        self.tokens.add(token)
        out = {"access_token": token, "expires_in": 3600, "token_type": "bearer",
               "restricted_to": []}
        if refresh:
            rt = f"box-refresh-{next(self._ids)}"
            self.refresh_tokens[rt] = True
            out["refresh_token"] = rt
        return out

    def _token(self, req: Request) -> Response:
        form = req.form.to_dict()
        self.token_requests.append(form)
        bad = ok({"error": "invalid_grant", "error_description": "Grant invalid"}, 400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return ok({"error": "invalid_client",
                       "error_description": "The client credentials are invalid"}, 400)
        grant = form.get("grant_type")
        if grant == "refresh_token":
            if not self.refresh_tokens.get(form.get("refresh_token", "")):
                return bad
            self.refresh_tokens[form["refresh_token"]] = False  # single use
            return ok(self.issue())
        if grant == "client_credentials":
            if form.get("box_subject_type") != "enterprise" or \
                    form.get("box_subject_id") != ENTERPRISE:
                return bad
            return ok(self.issue(refresh=False))
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return ok(self.issue(refresh=False)) if self._assertion_ok(
                form.get("assertion", "")) else bad
        return ok({"error": "unsupported_grant_type"}, 400)

    def _assertion_ok(self, assertion: str) -> bool:
        import jwt

        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
            claims = jwt.decode(assertion, self.public_keys[kid], algorithms=["RS256"],
                                audience=f"{self.api_root}/oauth2/token", issuer=CLIENT_ID)
        except (KeyError, jwt.InvalidTokenError):
            return False
        fresh = claims["exp"] - time.time() <= 60 and claims.get("jti") not in self.jtis
        self.jtis.add(claims.get("jti"))
        return fresh and claims.get("sub") == ENTERPRISE and \
            claims.get("box_sub_type") == "enterprise"
