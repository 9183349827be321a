"""Tableau REST API: workbooks, views, extract refreshes, jobs and view exports; site webhooks.

References in ``plugins/tableau/__init__.py``. Every call is signed in (plugins.tableau.session:
``X-Tableau-Auth``, renewed once on a 401) and site-scoped: ``api/{version}/sites/{site LUID}/``.
Errors are ``{"error": {"summary", "detail", "code"}}``: 400xxx bad request, 401xxx sign-in
(401001) or expired/invalid session (401002), 403xxx forbidden, 404xxx not found (the path's
resource), 409xxx conflict (409093: a refresh of it is already queued; verify), 429 (Tableau
Cloud; Retry-After when given: verify), 5xx. Tableau has no idempotency key: a refresh is not
retried after an ambiguous failure (a second one would be refused as already queued anyway).
"""
from __future__ import annotations

import base64
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import requests

from atom.integrations.base import Handshake
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet
from atom.integrations.webhooks import SignatureError
from atom.integrations.webhooks import WebhookRequest
from atom.integrations.webhooks import verify
from plugins.tableau import payloads
from plugins.tableau.session import TableauSession
from plugins.tableau.session import tableau_error

PAGE_SIZE = 1000  # Tableau's largest pageSize
CHUNK = 64 * 1024
# The path segment of a not-found resource -> our input field.
_RESOURCES = {"workbooks": "workbook_id", "views": "view_id", "datasources": "datasource_id",
              "jobs": "job_id"}


class TableauIntegration(Integration):
    """One Tableau site, signed in with a personal access token."""

    def base_url(self) -> str:
        settings = self.connection.settings
        url = settings.get("base_url") or settings.get("server_url") or ""
        return url if not url or url.endswith("/") else url + "/"

    def raise_for_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        code, text = tableau_error(response)
        req = response.request
        path = urlsplit(req.url or "").path if req is not None else ""
        message = f"Tableau {req.method if req is not None else ''} {path}: {status}" + \
            (f" ({code})" if code else "") + f": {text or snippet(response)}"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(message, status=status, retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(message, status=status)
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if status == 404:
            parts = path.rstrip("/").split("/")
            field = next((_RESOURCES[p] for p in reversed(parts) if p in _RESOURCES), "_request")
            raise ValidationFailed(message, status=status, details={field: [text or "not found"]})
        if status in (400, 409):
            field = next((_RESOURCES[p] for p in reversed(path.split("/")) if p in _RESOURCES),
                         "_request") if status == 409 else "_request"
            raise ValidationFailed(message, status=status,
                                   details={field: [text or code or str(status)]})
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        """Sign in and read the site (Query Site)."""
        site = json_or_empty(self.http.get(self._site_path(""), operation="get site")).get("site")
        if not isinstance(site, dict) or not site.get("id"):
            raise UpstreamError("Tableau answered Query Site without a site", permanent=True)

    # -- actions -------------------------------------------------------------------------

    def list_workbooks(self, data: dict[str, Any]) -> dict[str, Any]:
        filters = [f"{field}:eq:{data[name]}" for name, field in (
            ("name", "name"), ("project_name", "projectName"), ("owner_name", "ownerName"),
            ("tag", "tags")) if data.get(name)]
        if data.get("updated_after"):
            stamp = data["updated_after"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            filters.append(f"updatedAt:gt:{stamp}")
        params = {"filter": ",".join(filters)} if filters else {}
        items = self._pages("workbooks", "workbooks.workbook", params, data["max_items"],
                            "list workbooks")
        return {"workbooks": [payloads.workbook(w) for w in items], "count": len(items)}

    def list_views(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("workbook_id"):
            body = json_or_empty(self.http.get(
                self._site_path(f"workbooks/{data['workbook_id']}/views"),
                operation="list workbook views"))
            items = _at(body, "views.view")
            if data.get("name"):
                items = [v for v in items if v.get("name") == data["name"]]
            items = items[:data["max_items"]]
        else:
            params = {"filter": f"name:eq:{data['name']}"} if data.get("name") else {}
            items = self._pages("views", "views.view", params, data["max_items"], "list views")
        return {"views": [payloads.view(v) for v in items], "count": len(items)}

    def refresh_extract(self, data: dict[str, Any]) -> dict[str, Any]:
        kind, luid = (("workbooks", data["workbook_id"]) if data.get("workbook_id")
                      else ("datasources", data["datasource_id"]))
        body = json_or_empty(self.http.post(self._site_path(f"{kind}/{luid}/refresh"), json={},
                                            idempotent=False, operation=f"refresh {kind}"))
        return payloads.job(body["job"])

    def get_job(self, data: dict[str, Any]) -> dict[str, Any]:
        body = json_or_empty(self.http.get(self._site_path(f"jobs/{data['job_id']}"),
                                           operation="get job"))
        return payloads.job(body["job"])

    def export_view_csv(self, data: dict[str, Any]) -> dict[str, Any]:
        raw = self._download(f"views/{data['view_id']}/data", self._export_params(data),
                             data["max_bytes"], "export view data")
        text = raw.decode("utf-8-sig", errors="replace")
        rows = max(0, len(text.splitlines()) - 1)
        return {"view_id": data["view_id"], "csv": text, "rows": rows, "size": len(raw)}

    def export_view_image(self, data: dict[str, Any]) -> dict[str, Any]:
        params = {**self._export_params(data), "resolution": data["resolution"]}
        raw = self._download(f"views/{data['view_id']}/image", params, data["max_bytes"],
                             "export view image")
        if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
            raise UpstreamError("Tableau answered Query View Image with something other than "
                                "a PNG", permanent=True)
        return {"view_id": data["view_id"], "mime_type": "image/png", "size": len(raw),
                "content_base64": base64.b64encode(raw).decode()}

    # -- webhooks ------------------------------------------------------------------------

    def webhook_handshake(self, req: WebhookRequest) -> Handshake | None:
        """Tableau's "Test a Webhook" POSTs an empty body: answered 200 when the URL's token
        is right (nothing stored); anything else goes on to verification."""
        if req.method != "POST" or req.body.strip():
            return None
        try:
            verify(self.manifest.webhook.scheme, req, self.webhook_secret())
        except SignatureError:
            return None
        return Handshake(200, {"accepted": 0, "test": True})

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        found = payloads.event(payload) if isinstance(payload, dict) else None
        if found is None or self.manifest.trigger(found[0]) is None:
            return []
        name, event = found
        return [InboundEvent(name, payloads.delivery_id(req.body), event)]

    # -- helpers ---------------------------------------------------------------------------

    def _session(self) -> TableauSession:
        auth = self.http.auth
        if not isinstance(auth, TableauSession):
            raise AuthError("the Tableau connection is not signed in with a personal access "
                            "token")
        return auth

    def _site_path(self, rest: str) -> str:
        session = self._session()
        path = f"api/{session.version}/sites/{session.site()}"
        return f"{path}/{rest}" if rest else path

    def _pages(self, resource: str, items_at: str, params: dict[str, Any], max_items: int,
               operation: str) -> list[dict[str, Any]]:
        """``pageNumber`` pages until ``totalAvailable`` or ``max_items``."""
        size = min(PAGE_SIZE, max_items)
        found: list[dict[str, Any]] = []
        page = 1
        while len(found) < max_items:
            body = json_or_empty(self.http.get(self._site_path(resource), params={
                **params, "pageSize": size, "pageNumber": page}, operation=operation))
            batch = _at(body, items_at)
            found += batch
            total = payloads._int((body.get("pagination") or {}).get("totalAvailable"))
            if not batch or total is None or page * size >= total:
                break
            page += 1
        return found[:max_items]

    @staticmethod
    def _export_params(data: dict[str, Any]) -> dict[str, Any]:
        params = {f"vf_{name}": value for name, value in (data.get("filters") or {}).items()}
        if data.get("max_age_minutes"):
            params["maxAge"] = data["max_age_minutes"]
        return params

    def _download(self, rest: str, params: dict[str, Any], limit: int, operation: str) -> bytes:
        """The body, read in chunks and refused past ``limit`` bytes."""
        response = self.http.get(self._site_path(rest), params=params, stream=True,
                                 headers={"Accept": "*/*"}, operation=operation)
        try:
            declared = payloads._int(response.headers.get("Content-Length"))
            if declared is not None and declared > limit:
                raise _too_big(limit)
            out = bytearray()
            for piece in response.iter_content(CHUNK):
                out += piece
                if len(out) > limit:
                    raise _too_big(limit)
            return bytes(out)
        finally:
            response.close()


def _too_big(limit: int) -> ValidationFailed:
    return ValidationFailed(f"the export is larger than max_bytes ({limit} bytes)",
                            details={"max_bytes": [f"the export is larger than {limit} bytes"]})


def _at(body: dict[str, Any], path: str) -> list[dict[str, Any]]:
    value: Any = body
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return [v for v in value or [] if isinstance(v, dict)] if isinstance(value, list) else []
