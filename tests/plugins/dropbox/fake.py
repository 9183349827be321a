"""A documented, stateful fake of Dropbox API v2 on 127.0.0.1 (two ports: two origins).

Dropbox publishes no OpenAPI description (see shared/specs/README.md), so this fake is the
plugin's contract. Every behaviour below follows the HTTP reference,
https://www.dropbox.com/developers/documentation/http/documentation ("the reference"), and
its sections cited by name; what the reference leaves open is marked (verify).

Hosts ("Request and response formats"). Every route is a POST.

- The API host (``api_url``, for ``https://api.dropboxapi.com/2/``) serves RPC routes: the
  argument is the JSON request body (``Content-Type: application/json``; a route without an
  argument takes no body, or ``null`` as the official SDK sends it), the answer a JSON body.
- The content host (``content_url``, for ``https://content.dropboxapi.com/2/``), a distinct
  origin, serves upload and download routes: the argument is JSON in the ``Dropbox-API-Arg``
  header, which must be ASCII: "characters 0x7F and all non-ASCII characters must be escaped"
  as ``\\uXXXX`` (a header with other bytes is a 400 here); uploads send the bytes as the body
  (``Content-Type: application/octet-stream``), downloads answer the bytes with the metadata
  as JSON in the ``Dropbox-API-Result`` header (escaped the same way). A route called on the
  wrong host is a 400 (verify the real host's answer: it is some 4xx).

Authentication ("Authorization" and the OAuth guide, https://developers.dropbox.com/oauth-guide):
``Authorization: Bearer <token>``. A token :meth:`FakeDropbox.expire` made stale is answered
401 ``{"error_summary": "expired_access_token/..", "error": {".tag": "expired_access_token"}}``;
an unknown one 401 ``invalid_access_token``. ``POST /oauth2/token`` on the API host takes
``grant_type=refresh_token`` (with ``client_id``, and ``client_secret`` unless PKCE) and
answers ``{"access_token": "sl....", "token_type": "bearer", "expires_in": 14400}``; a refresh
token it does not know is 400 ``{"error": "invalid_grant"}``. Tests reach it through
:meth:`FakeDropbox.token_answer` (the plugin's token URL is the real one, faked with
``responses``).

Errors ("Errors"): 400 bad input, as plain text ("Error in call to API function ..."); 401
bad or expired token; 409 endpoint-specific errors as ``{"error_summary": "<tag>/<tag>/..",
"error": {".tag": ...}}`` (the summary ends in ``/..`` or ``/...``: not to be parsed beyond
the tags); 429 ``too_many_requests`` / ``too_many_write_operations`` with ``Retry-After`` (s)
and ``error.retry_after``; 5xx. :meth:`FakeDropbox.push` scripts answers served before the
routes (429s, 5xx); :meth:`FakeDropbox.lose_answer` does a request, then answers 500 (an
answer lost on the way back, for retries).

Routes (the reference's section per route):

- ``users/get_current_account``: ``{"account_id": "dbid:...", "name": {...}, "email": ...}``.
- ``files/upload`` (content host): ``commit`` fields ``path``, ``mode`` (``add``,
  ``overwrite``; ``update`` is not faked), ``autorename``, ``mute``, ``strict_conflict``; at
  most 150 MB (413 above: verify the status); answers FileMetadata without ``.tag``. Mode add
  over an existing file with other bytes: with autorename ``name (1).ext``, else 409
  ``path/conflict/file/..`` (``{".tag": "path", "reason": {".tag": "conflict", "conflict":
  {".tag": "file"}}, "upload_session_id": ...}``); the same bytes again are no conflict and
  answer the file as it is (verify). A file's parent folders are made as needed.
- ``files/upload_session/start`` (``close``) → ``{"session_id"}``;
  ``files/upload_session/append_v2`` (``cursor: {session_id, offset}``, ``close``) → null; the
  offset must be the bytes received so far, else 409 ``incorrect_offset/..`` with
  ``correct_offset`` (also when only part of a chunk arrived: :meth:`FakeDropbox.keep_partly`);
  an unknown session is 409 ``not_found/..``, a closed one ``closed/..``.
  ``files/upload_session/finish`` (``cursor``, ``commit``) with the last bytes → FileMetadata;
  a wrong offset is 409 ``lookup_failed/incorrect_offset/..``. Each request's body is at most
  150 MB; sessions keep a byte count and a content hash, and the bytes themselves only while
  they are small (:data:`KEEP_BYTES`), so a test may upload many chunks.
- ``files/download`` (content host, empty body) → the bytes and ``Dropbox-API-Result``; a
  folder is 409 ``path/not_file/..``, a missing path ``path/not_found/..``.
- ``files/create_folder_v2`` (``path``, ``autorename``) → ``{"metadata": FolderMetadata}``; a
  taken path 409 ``path/conflict/folder/..``.
- ``files/list_folder`` (``path``: ``""`` for the root, ``"/"`` is a 400; ``recursive``,
  ``include_deleted``, ``limit`` 1..2000) → ``{"entries", "cursor", "has_more"}``; entries
  carry ``.tag``; recursive listings include the folder itself (verify). A missing folder is
  409 ``path/not_found/..``, a file ``path/not_folder/..``.
- ``files/list_folder/continue`` (``cursor``) → the next page, or once listed every change
  since: added or modified entries as they are now and removed ones as ``{".tag":
  "deleted"}``. A cursor :meth:`FakeDropbox.reset_cursors` invalidated is 409 ``reset/..``.
- ``files/list_folder/get_latest_cursor`` (as ``list_folder``) → ``{"cursor"}``.
- ``files/get_metadata`` (``path`` or ``id:``) → metadata with ``.tag``; 409
  ``path/not_found/..``.
- ``files/delete_v2`` (``path``) → ``{"metadata"}``; 409 ``path_lookup/not_found/..``.
- ``sharing/create_shared_link_with_settings`` (``path``, ``settings``: ``audience``,
  ``expires``, ``allow_download``) → SharedLinkMetadata; a second link to the same file is
  409 ``shared_link_already_exists/..`` carrying the existing link's metadata; an expiry in
  the past 409 ``settings_error/invalid_settings/..``.
- ``sharing/list_shared_links`` (``path``, ``direct_only``) → ``{"links", "has_more"}``.

Webhooks (https://www.dropbox.com/developers/reference/webhooks): :func:`notification` builds
the body (``{"list_folder": {"accounts": [...]}, "delta": {"users": [...]}}``) and
:func:`signature` its ``X-Dropbox-Signature`` (hex HMAC-SHA256 with the app secret).

Content hashes follow https://www.dropbox.com/developers/reference/content-hash (SHA-256 of
the concatenated SHA-256 of each 4 MiB block).
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Iterator
from urllib.parse import parse_qs

from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from tests.plugins.fake_server import LoopbackFake
from tests.plugins.fake_server import Recorded
from tests.plugins.fake_server import Reply

TOKEN = "sl.fake-dropbox-access-token-0123456789abcdef"
REFRESH_TOKEN = "fake-dropbox-refresh-token-0123456789"
APP_KEY = "fakeappkey0123"
APP_SECRET = "fake-app-secret-0123456789"
ACCOUNT_ID = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"
KEEP_BYTES = 4 * 1024 * 1024
MAX_REQUEST_BYTES = 150 * 1024 * 1024
BLOCK = 4 * 1024 * 1024


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    """``X-Dropbox-Signature``: hex HMAC-SHA256 of the raw body with the app secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(*accounts: str) -> bytes:
    """A notification body as the webhook reference shows it."""
    return json.dumps({"list_folder": {"accounts": list(accounts or [ACCOUNT_ID])},
                       "delta": {"users": [12345678]}}).encode()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ContentHash:
    """Dropbox's content hash, computed as bytes arrive."""

    def __init__(self) -> None:
        self._blocks = hashlib.sha256()
        self._block = hashlib.sha256()
        self._in_block = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(BLOCK - self._in_block, len(view))
            self._block.update(view[:take])
            self._in_block += take
            view = view[take:]
            if self._in_block == BLOCK:
                self._blocks.update(self._block.digest())
                self._block, self._in_block = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        blocks = self._blocks.copy()
        if self._in_block:
            blocks.update(self._block.digest())
        return blocks.hexdigest()


def content_hash(data: bytes) -> str:
    h = ContentHash()
    h.update(data)
    return h.hexdigest()


def endpoint_error(summary: str, error: dict[str, Any]) -> Reply:
    """A 409: the summary's tags, then ``/..`` (what the reference shows)."""
    return Reply(409, {"error_summary": f"{summary}/..", "error": error})


def bad_input(route: str, message: str) -> Reply:
    return Reply(400, text=f'Error in call to API function "{route}": {message}')


def _tagged(*tags: str, **extra: Any) -> dict[str, Any]:
    """``path/not_found`` as the nested union ``{".tag": "path", "path": {".tag": ...}}``."""
    inner: dict[str, Any] = {".tag": tags[-1], **extra}
    for tag in reversed(tags[:-1]):
        inner = {".tag": tag, tag: inner}
    return inner


@dataclass
class Node:
    tag: str
    path_display: str
    id: str
    rev: str = ""
    size: int = 0
    content: bytes | None = None
    hash: str = ""
    modified: str = field(default_factory=_now)
    generated: bool = False

    @property
    def path_lower(self) -> str:
        return self.path_display.lower()

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]

    def metadata(self, tag: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if tag:
            out[".tag"] = self.tag
        out.update(name=self.name, id=self.id, path_lower=self.path_lower,
                   path_display=self.path_display)
        if self.tag == "file":
            out.update(client_modified=self.modified, server_modified=self.modified,
                       rev=self.rev, size=self.size, is_downloadable=True,
                       content_hash=self.hash)
        return out


@dataclass
class Session:
    offset: int = 0
    hasher: ContentHash = field(default_factory=ContentHash)
    kept: bytearray | None = field(default_factory=bytearray)
    closed: bool = False
    appends: list[tuple[int, int]] = field(default_factory=list)


class FakeDropbox(LoopbackFake):
    """Two servers: ``api`` (RPC routes) and ``content`` (upload and download routes)."""

    poll_interval = 0.02
    requests: list[Recorded]  # host, route, headers, arg, size, raw_arg (and method, path)
    scripted: list[tuple[str | None, Reply]]  # (only for this route, or any; the answer)

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}  # by path_lower
        self.changes: list[str] = []  # path_lower of each change, in order
        self.sessions: dict[str, Session] = {}
        self.links: dict[str, dict[str, Any]] = {}  # by path_lower
        self.tokens = {TOKEN}
        self.expired: set[str] = set()
        self.refresh_tokens = {REFRESH_TOKEN}
        self.lost: list[str] = []
        self.partly: list[int] = []
        self.deleted: dict[str, str] = {}  # path_display of removed entries, by path_lower
        self.generation = 0
        self._ids = itertools.count(1)
        self._revs = itertools.count(0x15B0F6E8D0)
        self._lock = threading.RLock()
        super().__init__(api=self._wsgi("api"), content=self._wsgi("content"))

    # -- lifecycle (start, stop, with: LoopbackFake) ---------------------------------------------

    @property
    def api_url(self) -> str:
        return f"{self.origin('api')}/2/"

    @property
    def content_url(self) -> str:
        return f"{self.origin('content')}/2/"

    # -- scripting and seeding -----------------------------------------------------------------

    def push(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
             route: str | None = None, text: str | None = None) -> None:
        """Answer the next request (of ``route``, when given) with this, before the routes."""
        self.scripted.append((route, Reply(status, body, headers, text)))

    def lose_answer(self, route: str) -> None:
        """Do the next ``route`` request, then answer 500 (the answer "lost" on the way)."""
        self.lost.append(route)

    def keep_partly(self, keep: int) -> None:
        """The next ``append_v2`` keeps only its first ``keep`` bytes and answers
        ``incorrect_offset`` with the offset reached (Dropbox does this when a chunk arrived
        in part: rclone's fix for it, https://forum.rclone.org/t/dropbox-rate-limiting-for-upload/29779)."""
        self.partly.append(keep)

    def rate_limit(self, retry_after: int = 2, route: str | None = None,
                   reason: str = "too_many_requests") -> None:
        self.push(429, {"error_summary": f"{reason}/..",
                        "error": {"reason": {".tag": reason}, "retry_after": retry_after}},
                  {"Retry-After": str(retry_after)}, route=route)

    def expire(self, token: str = TOKEN) -> None:
        self.expired.add(token)

    def reset_cursors(self) -> None:
        """Every cursor handed out so far is answered ``reset`` (as after a server-side
        change Dropbox cannot express as a delta)."""
        self.generation += 1

    def calls(self, route: str) -> list[Recorded]:  # type: ignore[override]
        return [r for r in self.requests if r.route == route]

    def add_folder(self, path: str) -> Node:
        with self._lock:
            return self._folder(path)

    def add_file(self, path: str, content: bytes = b"hello", id_: str | None = None) -> Node:
        with self._lock:
            node = self._write(path, content, len(content), content_hash(content))
            if id_ is not None:
                node.id = id_
            return node

    def add_generated(self, path: str, size: int) -> Node:
        """A file of ``size`` bytes of a repeating pattern, made as it is downloaded (for
        tests that move large files without holding them)."""
        with self._lock:
            node = self._write(path, None, size, "generated")
            node.generated = True
            return node

    def edit(self, path: str, content: bytes) -> Node:
        with self._lock:
            return self._write(path, content, len(content), content_hash(content))

    def remove(self, path: str) -> None:
        with self._lock:
            self._delete(self._lookup(path, ("path_lookup",)))

    def get(self, path: str) -> Node | None:
        return self.nodes.get(path.lower())

    # -- the token endpoint (OAuth guide) --------------------------------------------------------

    def token_answer(self, form: str | bytes) -> tuple[int, dict[str, str], str]:
        """``POST /oauth2/token`` as a ``responses`` callback answer."""
        text = form.decode() if isinstance(form, bytes) else (form or "")
        fields = {k: v[0] for k, v in parse_qs(text).items()}
        if fields.get("grant_type") != "refresh_token" or \
                fields.get("refresh_token") not in self.refresh_tokens:
            return 400, {}, json.dumps({"error": "invalid_grant",
                                        "error_description": "refresh token is invalid"})
        token = f"sl.fake-refreshed-{next(self._ids)}-0123456789abcdef"
        self.tokens.add(token)
        return 200, {}, json.dumps({"access_token": token, "token_type": "bearer",
                                    "expires_in": 14400})

    # -- the WSGI side -----------------------------------------------------------------------

    def _wsgi(self, host: str) -> Any:
        @Request.application
        def app(request: Request) -> Response:
            return self._serve(host, request)

        return app

    def _serve(self, host: str, request: Request) -> Response:
        route = request.path.removeprefix("/2/").strip("/")
        raw_arg = request.headers.get("Dropbox-API-Arg")
        record = Recorded(method=request.method, path=request.path, host=host, route=route,
                          headers=dict(request.headers), raw_arg=raw_arg)
        with self._lock:
            self.requests.append(record)
            scripted = next(((i, r) for i, (only, r) in enumerate(self.scripted)
                             if only in (None, route)), None)
            if scripted is not None:
                del self.scripted[scripted[0]]
        try:
            if scripted is not None:
                request.get_data()  # read the body, as a server would
                raise scripted[1]
            if request.method != "POST":
                raise Reply(405, text="Only POST is allowed")
            self._authorise(request)
            answer = (self._content if host == "content" else self._rpc)(route, request, record)
            with self._lock:
                if route in self.lost:
                    self.lost.remove(route)
                    raise Reply(500, text="fake: the answer was lost")
            return answer
        except Reply as reply:
            if reply.text is not None:
                return Response(reply.text, reply.status, reply.headers,
                                content_type="text/plain; charset=utf-8")
            return Response(json.dumps(reply.body), reply.status, reply.headers,
                            content_type="application/json")

    def _authorise(self, request: Request) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token in self.expired:
            raise Reply(401, {"error_summary": "expired_access_token/..",
                              "error": {".tag": "expired_access_token"}})
        if token not in self.tokens:
            raise Reply(401, {"error_summary": "invalid_access_token/..",
                              "error": {".tag": "invalid_access_token"}})

    # -- RPC routes (API host) -----------------------------------------------------------------

    RPC = frozenset({"users/get_current_account", "files/create_folder_v2", "files/list_folder",
                     "files/list_folder/continue", "files/list_folder/get_latest_cursor",
                     "files/get_metadata", "files/delete_v2",
                     "sharing/create_shared_link_with_settings", "sharing/list_shared_links"})

    def _rpc(self, route: str, request: Request, record: Recorded) -> Response:
        if route not in self.RPC:
            raise bad_input(route, "Unknown API function" if route not in CONTENT
                            else "this function is served by content.dropboxapi.com")
        raw = request.get_data()
        record.size = len(raw)
        arg: Any = None
        if raw:
            if (request.mimetype or "") != "application/json":
                raise bad_input(route, f'Bad HTTP "Content-Type" header: '
                                       f'"{request.content_type}". Expecting "application/json".')
            try:
                arg = json.loads(raw)
            except ValueError:
                raise bad_input(route, "request body: could not decode input as JSON") from None
        record.arg = arg
        with self._lock:
            answer = getattr(self, "_" + route.replace("/", "_"))(route, arg or {})
        return Response(json.dumps(answer), 200, content_type="application/json")

    def _users_get_current_account(self, route: str, arg: dict) -> dict:
        return {"account_id": ACCOUNT_ID, "email": "ada@example.com", "email_verified": True,
                "name": {"given_name": "Ada", "surname": "Lovelace",
                         "display_name": "Ada Lovelace", "familiar_name": "Ada",
                         "abbreviated_name": "AL"},
                "disabled": False, "country": "GB", "locale": "en",
                "account_type": {".tag": "basic"}}

    def _files_create_folder_v2(self, route: str, arg: dict) -> dict:
        path = self._path(route, arg, "path")
        if path.lower() in self.nodes:
            if not arg.get("autorename"):
                raise endpoint_error("path/conflict/folder",
                                     _tagged("path", "conflict", "folder"))
            path = self._free_name(path)
        return {"metadata": self._folder(path).metadata(tag=False)}

    def _files_list_folder(self, route: str, arg: dict) -> dict:
        path = self._folder_path(route, arg)
        limit = arg.get("limit", 2000)
        if not isinstance(limit, int) or not 1 <= limit <= 2000:
            raise bad_input(route, "request body: limit: must be 1..2000")
        state = {"g": self.generation, "p": path.lower(), "r": bool(arg.get("recursive")),
                 "d": bool(arg.get("include_deleted")), "n": limit, "at": len(self.changes),
                 "o": 0}
        return self._page(state)

    def _files_list_folder_continue(self, route: str, arg: dict) -> dict:
        cursor = arg.get("cursor")
        try:
            state = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
            assert isinstance(state, dict)
        except Exception:
            raise bad_input(route, "request body: cursor: invalid") from None
        if state.get("g") != self.generation:
            raise endpoint_error("reset", {".tag": "reset"})
        return self._page(state)

    def _files_list_folder_get_latest_cursor(self, route: str, arg: dict) -> dict:
        path = self._folder_path(route, arg)
        return {"cursor": _cursor({"g": self.generation, "p": path.lower(),
                                   "r": bool(arg.get("recursive")),
                                   "d": bool(arg.get("include_deleted")), "n": 2000,
                                   "at": len(self.changes), "o": None})}

    def _files_get_metadata(self, route: str, arg: dict) -> dict:
        self._path(route, arg, "path", ids=True)
        return self._lookup(arg["path"], ("path",)).metadata()

    def _files_delete_v2(self, route: str, arg: dict) -> dict:
        self._path(route, arg, "path", ids=True)
        node = self._lookup(arg["path"], ("path_lookup",))
        meta = node.metadata()
        self._delete(node)
        return {"metadata": meta}

    def _sharing_create_shared_link_with_settings(self, route: str, arg: dict) -> dict:
        self._path(route, arg, "path", ids=True)
        node = self._lookup(arg["path"], ("path",))
        settings = arg.get("settings") or {}
        if node.path_lower in self.links:
            raise endpoint_error("shared_link_already_exists", {
                ".tag": "shared_link_already_exists",
                "shared_link_already_exists": {".tag": "metadata",
                                               "metadata": self.links[node.path_lower]}})
        expires = settings.get("expires")
        if expires is not None and str(expires) < _now():
            raise endpoint_error("settings_error/invalid_settings",
                                 _tagged("settings_error", "invalid_settings"))
        audience = settings.get("audience", "public")
        if isinstance(audience, dict):
            audience = audience.get(".tag")
        link = {".tag": node.tag, "url": f"https://www.dropbox.com/scl/fi/{node.id[3:]}/"
                                         f"{node.name}?rlkey=fake{len(self.links)}&dl=0",
                "name": node.name, "id": node.id, "path_lower": node.path_lower,
                "link_permissions": {"can_revoke": True,
                                     "resolved_visibility": {".tag": audience},
                                     "allow_download": settings.get("allow_download", True)},
                "preview_type": "document"}
        if expires is not None:
            link["expires"] = expires
        if node.tag == "file":
            link.update(rev=node.rev, size=node.size, client_modified=node.modified,
                        server_modified=node.modified)
        self.links[node.path_lower] = link
        return link

    def _sharing_list_shared_links(self, route: str, arg: dict) -> dict:
        if "path" in arg:
            node = self._lookup(arg["path"], ("path",))
            found = [self.links[node.path_lower]] if node.path_lower in self.links else []
        else:
            found = list(self.links.values())
        return {"links": found, "has_more": False}

    # -- content routes (content host) ---------------------------------------------------------

    def _content(self, route: str, request: Request, record: Recorded) -> Response:
        if route not in CONTENT:
            raise bad_input(route, "Unknown API function" if route not in self.RPC
                            else "this function is served by api.dropboxapi.com")
        raw = request.headers.get("Dropbox-API-Arg")
        if raw is None:
            raise bad_input(route, 'Missing "Dropbox-API-Arg" header')
        if not raw.isascii() or "\x7f" in raw:
            raise bad_input(route, 'Bad HTTP header "Dropbox-API-Arg": characters 0x7F and '
                                   'above must be escaped as \\uXXXX')
        try:
            arg = json.loads(raw)
        except ValueError:
            raise bad_input(route, 'HTTP header "Dropbox-API-Arg": could not decode input as '
                                   'JSON') from None
        record.arg = arg
        if route == "files/download":
            if request.content_length:
                raise bad_input(route, "the request body must be empty")
            return self._download(route, arg)
        if (request.mimetype or "") not in ("application/octet-stream", "text/plain"):
            raise bad_input(route, f'Bad HTTP "Content-Type" header: "{request.content_type}". '
                                   f'Expecting one of "application/octet-stream", "text/plain".')
        return Response(json.dumps(self._upload(route, arg, request.stream, record)), 200,
                        content_type="application/json")

    def _upload(self, route: str, arg: dict, body: Any, record: Recorded) -> Any:
        hasher, kept, size = ContentHash(), bytearray(), 0
        session: Session | None = None
        if route in ("files/upload_session/append_v2", "files/upload_session/finish"):
            cursor = arg.get("cursor") or {}
            with self._lock:
                session = self.sessions.get(str(cursor.get("session_id")))
                if session is None:
                    tags = ("lookup_failed", "not_found") if route.endswith("finish") \
                        else ("not_found",)
                    raise endpoint_error("/".join(tags), _tagged(*tags))
                if session.closed and route.endswith("append_v2"):
                    raise endpoint_error("closed", {".tag": "closed"})
                if cursor.get("offset") != session.offset:
                    tags = ("lookup_failed", "incorrect_offset") if route.endswith("finish") \
                        else ("incorrect_offset",)
                    raise endpoint_error("/".join(tags), _tagged(
                        *tags, correct_offset=session.offset))
            hasher, kept = session.hasher, session.kept
        elif route == "files/upload":
            self._commit_checks(route, arg)
        keep = None
        if route.endswith("append_v2"):
            with self._lock:
                keep = self.partly.pop(0) if self.partly else None
        while keep is None or size < keep:
            piece = body.read(1 << 16 if keep is None else min(1 << 16, keep - size))
            if not piece:
                break
            size += len(piece)
            if size > MAX_REQUEST_BYTES:
                raise Reply(413, text="request body larger than 150 MB")
            hasher.update(piece)
            if kept is not None:
                kept += piece
                if len(kept) > KEEP_BYTES:
                    kept = None
                    if session is not None:
                        session.kept = None
        record.size = size
        with self._lock:
            if keep is not None:
                body.read()  # the rest never arrived
                assert session is not None
                session.appends.append((session.offset, size))
                session.offset += size
                raise endpoint_error("incorrect_offset", _tagged(
                    "incorrect_offset", correct_offset=session.offset))
            if route == "files/upload":
                return self._commit(route, arg, bytes(kept) if kept is not None else None,
                                    size, hasher.hexdigest())
            if route == "files/upload_session/start":
                sid = f"pid_upload_session:ABIJ{next(self._ids):06d}"
                session = Session(offset=size, hasher=hasher,
                                  kept=kept if kept is not None else None,
                                  closed=bool(arg.get("close")))
                session.appends.append((0, size))
                self.sessions[sid] = session
                return {"session_id": sid}
            assert session is not None
            session.appends.append((session.offset, size))
            session.offset += size
            if route.endswith("append_v2"):
                session.closed = bool(arg.get("close"))
                return None
            commit = arg.get("commit") or {}
            self._commit_checks(route, commit)
            del self.sessions[str(arg["cursor"]["session_id"])]
            content = bytes(session.kept) if session.kept is not None else None
            return self._commit(route, commit, content, session.offset, hasher.hexdigest())

    def _commit_checks(self, route: str, commit: dict) -> None:
        path = commit.get("path")
        if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
            raise bad_input(route, f"path: '{path}' did not match pattern")
        if commit.get("mode", "add") not in ("add", "overwrite", {".tag": "add"},
                                             {".tag": "overwrite"}):
            raise bad_input(route, "mode: unknown or not faked")

    def _commit(self, route: str, commit: dict, content: bytes | None, size: int,
                digest: str) -> dict:
        path, mode = commit["path"], commit.get("mode", "add")
        mode = mode.get(".tag") if isinstance(mode, dict) else mode
        existing = self.nodes.get(path.lower())
        if existing is not None and existing.tag == "folder":
            raise endpoint_error("path/conflict/folder", {
                ".tag": "path", "reason": _tagged("conflict", "folder"),
                "upload_session_id": "pid_upload_session:none"})
        if existing is not None and mode == "add":
            if existing.hash == digest and existing.size == size:
                return existing.metadata(tag=False)
            if not commit.get("autorename"):
                raise endpoint_error("path/conflict/file", {
                    ".tag": "path", "reason": _tagged("conflict", "file"),
                    "upload_session_id": "pid_upload_session:none"})
            path = self._free_name(path)
        return self._write(path, content, size, digest).metadata(tag=False)

    def _download(self, route: str, arg: dict) -> Response:
        with self._lock:
            node = self._lookup(str(arg.get("path")), ("path",))
            if node.tag != "file":
                raise endpoint_error("path/not_file", _tagged("path", "not_file"))
            meta = node.metadata(tag=False)
        header = json.dumps(meta, ensure_ascii=True)
        headers = {"Dropbox-API-Result": header, "Content-Length": str(node.size)}
        if node.generated:
            return Response(_pattern(node.size), 200, headers,
                            content_type="application/octet-stream", direct_passthrough=True)
        if node.content is None:
            raise Reply(500, text="fake: the bytes of this file were not kept (too large)")
        return Response(node.content, 200, headers, content_type="application/octet-stream")

    # -- the tree ------------------------------------------------------------------------------

    def _path(self, route: str, arg: dict, name: str, ids: bool = False) -> str:
        path = arg.get(name)
        ok = isinstance(path, str) and (path.startswith("/") and not path.endswith("/")
                                        or ids and path.startswith(("id:", "rev:")))
        if not ok:
            raise bad_input(route, f"request body: {name}: '{path}' did not match pattern "
                                   f"'(/(.|[\\r\\n])*)|(ns:[0-9]+(/.*)?)|(id:.*)'")
        return path

    def _folder_path(self, route: str, arg: dict) -> str:
        path = arg.get("path")
        if path == "/":
            raise bad_input(route, 'request body: path: Specify the root folder as an empty '
                                   'string rather than as "/".')
        if path == "":
            return ""
        node = self._lookup(self._path(route, arg, "path", ids=True), ("path",))
        if node.tag != "folder":
            raise endpoint_error("path/not_folder", _tagged("path", "not_folder"))
        return node.path_display

    def _lookup(self, ref: str, tags: tuple[str, ...]) -> Node:
        if ref.startswith("id:"):
            node = next((n for n in self.nodes.values() if n.id == ref.split("/", 1)[0]), None)
            if node is not None and "/" in ref:
                node = self.nodes.get(f"{node.path_lower}/{ref.split('/', 1)[1].lower()}")
        else:
            node = self.nodes.get(ref.lower())
        if node is None:
            raise endpoint_error("/".join((*tags, "not_found")), _tagged(*tags, "not_found"))
        return node

    def _folder(self, path: str) -> Node:
        parent = path.rsplit("/", 1)[0]
        if parent and parent.lower() not in self.nodes:
            self._folder(parent)
        node = self.nodes.get(path.lower())
        if node is None:
            node = Node("folder", path, f"id:fakeFolder{next(self._ids):06d}")
            self.nodes[node.path_lower] = node
            self.changes.append(node.path_lower)
        return node

    def _write(self, path: str, content: bytes | None, size: int, digest: str) -> Node:
        parent = path.rsplit("/", 1)[0]
        if parent:
            self._folder(parent)
        node = self.nodes.get(path.lower())
        if node is None:
            node = Node("file", path, f"id:fakeFile{next(self._ids):08d}")
            self.nodes[node.path_lower] = node
        node.rev, node.size, node.content, node.hash = f"{next(self._revs):x}", size, \
            content, digest
        node.modified = _now()
        self.changes.append(node.path_lower)
        return node

    def _delete(self, node: Node) -> None:
        for key in [k for k in self.nodes if k == node.path_lower
                    or k.startswith(node.path_lower + "/")]:
            gone = self.nodes.pop(key)
            self.links.pop(key, None)
            self.changes.append(gone.path_lower)
            self.deleted[gone.path_lower] = gone.path_display

    def _free_name(self, path: str) -> str:
        head, _, name = path.rpartition("/")
        stem, dot, ext = name.rpartition(".") if "." in name[1:] else (name, "", "")
        for n in itertools.count(1):
            candidate = f"{head}/{stem} ({n}){dot}{ext}"
            if candidate.lower() not in self.nodes:
                return candidate
        raise AssertionError("unreachable")

    def _under(self, key: str, folder: str, recursive: bool) -> bool:
        if recursive:
            return key.startswith(folder + "/") or (folder != "" and key == folder)
        return key.rsplit("/", 1)[0] == folder and key != folder

    def _page(self, state: dict) -> dict:
        """A page of a listing (``o`` is the offset into it) or, once listed, of the changes
        since change number ``at``."""
        folder, recursive, limit = state["p"], state["r"], state["n"]
        if state["o"] is not None:
            listed = sorted(k for k in self.nodes if self._under(k, folder, recursive))
            page = listed[state["o"]:state["o"] + limit]
            more = state["o"] + limit < len(listed)
            entries = [self.nodes[k].metadata() for k in page]
            following = {**state, "o": state["o"] + limit} if more else {**state, "o": None}
            return {"entries": entries, "cursor": _cursor(following), "has_more": more}
        changed = list(dict.fromkeys(k for k in self.changes[state["at"]:]
                                     if self._under(k, folder, recursive)))
        taken = changed[:limit]
        # How far into the change log this page reaches.
        at = state["at"]
        if len(changed) > limit:
            left = set(changed[limit:])
            for i, key in enumerate(self.changes[state["at"]:], start=state["at"]):
                if key in left:
                    at = i
                    break
        else:
            at = len(self.changes)
        entries = []
        for key in taken:
            node = self.nodes.get(key)
            if node is not None:
                entries.append(node.metadata())
            else:
                display = self.deleted.get(key, key)
                entries.append({".tag": "deleted", "name": display.rsplit("/", 1)[-1],
                                "path_lower": key, "path_display": display})
        return {"entries": entries, "cursor": _cursor({**state, "at": at, "o": None}),
                "has_more": len(changed) > limit}


CONTENT = frozenset({"files/upload", "files/upload_session/start",
                     "files/upload_session/append_v2", "files/upload_session/finish",
                     "files/download"})


def _cursor(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _pattern(size: int) -> Iterator[bytes]:
    block = bytes(range(256)) * 4096  # 1 MiB
    left = size
    while left > 0:
        piece = block[:min(left, len(block))]
        left -= len(piece)
        yield piece


# -- the contract run (tests/plugins/test_spec_contract.py) ------------------------------------

@contextlib.contextmanager
def contract_server() -> Iterator[dict[str, Any]]:
    """A fake seeded for the manifest's examples: the settings and credentials of a
    connection to it."""
    with FakeDropbox() as fake:
        fake.add_file("/Reports/Q3 report.pdf", b"%PDF-1.7 quarterly figures")
        fake.add_file("/Old/draft.txt", b"draft")
        fake.add_file("/Inbox/invoice.pdf", b"%PDF-1.7 invoice", id_="id:1Z7mPq9vXk3LrT0aBcDeFgHiJk")
        # The file_added trigger's sample (template runs copy it).
        fake.add_file("/Homework/math/Prime_Numbers.txt", b"2 3 5 7 11 13",
                      id_="id:a4ayc_80_OEAAAAAAAAAXw")
        yield {"settings": {"base_url": fake.api_url, "content_url": fake.content_url},
               "credentials": {"access_token": TOKEN, "app_secret": APP_SECRET},
               "fake": fake}


def contract_fake():
    from tests.plugins.conftest import as_contract_fake

    return as_contract_fake(contract_server())
