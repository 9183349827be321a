"""Workday REST API (workers) and Reports-as-a-Service (custom reports as JSON); new hires by
polling a hires report. References in the package docstring (``plugins/workday/__init__.py``).
"""
from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

import requests

from atom.integrations.base import Integration
from atom.integrations.base import PollPage
from atom.integrations.errors import AuthError
from atom.integrations.errors import CursorExpired
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.helpers import json_or_empty
from atom.integrations.http import parse_retry_after
from atom.integrations.http import snippet

REPORTS = "/ccx/service/customreport2"
# No published rate-limit scheme; a 429 without Retry-After waits this long (verify).
DEFAULT_WAIT_S = 2.0
# RaaS answers {"Report_Entry": [...]} (verify: the root key for format=json).
ROWS = "Report_Entry"
# Workday's query parameter -> our input field it comes from.
OUR_FIELDS = {"limit": "page_size", "offset": "_request", "search": "search"}


def _reasons(response: requests.Response) -> tuple[str, dict[str, list[str]]]:
    """The message and per-field errors of a Workday REST error body
    ``{"error": "...", "errors": [{"error": "...", "field": "..."}]}`` (verify: shape seen in
    third-party connectors); RaaS answers XML or text, of which a snippet is kept."""
    body = json_or_empty(response)
    message = str(body.get("error") or body.get("message") or "")[:300]
    fields: dict[str, list[str]] = {}
    for item in body.get("errors") or []:
        if isinstance(item, dict) and item.get("error"):
            name = str(item.get("field") or "_request")
            name = OUR_FIELDS.get(name, name)
            fields.setdefault(name, []).append(str(item["error"])[:300])
    return message or snippet(response), fields


class WorkdayIntegration(Integration):
    """Workers and custom reports of one Workday tenant, as an integration system user."""

    def base_url(self) -> str:
        settings = self.connection.settings
        return (settings.get("base_url") or settings.get("host") or "").rstrip("/")

    def _tenant(self) -> str:
        return quote(self.connection.settings.get("tenant", ""), safe="")

    def _workers(self, *rest: str) -> str:
        service = self.connection.settings.get("workers_api") or "v1"
        return "/".join([f"/ccx/api/{service}/{self._tenant()}/workers",
                         *(quote(r, safe="=") for r in rest)])

    def _report(self, owner: str, report: str) -> str:
        return f"{REPORTS}/{self._tenant()}/{quote(owner, safe='@')}/{quote(report, safe='')}"

    def raise_for_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        text, fields = _reasons(response)
        message = f"Workday answered {status}: {text}"
        path = urlsplit(response.request.url or "").path if response.request else ""
        report = path.startswith(REPORTS)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            raise RateLimited(message, retry_after=retry_after or DEFAULT_WAIT_S, status=status)
        if status == 401:
            raise AuthError(message, status=status)
        if status == 403:
            # The integration system user lacks a security domain (or the API client a
            # scope): an admin's fix, not a retry.
            raise UpstreamError(f"{message} (the integration system user may lack the "
                                f"security domain or the API client the scope)", status=status,
                                permanent=True)
        if status == 404:
            raise ValidationFailed(message, status=status, details={
                ("report" if report else "worker_id"): ["not found in the tenant"]})
        if status in (400, 422):
            if report:
                fields = {"prompts": [text]}
            raise ValidationFailed(message, status=status, details=fields or {"_request": [text]})
        if status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        raise UpstreamError(message, status=status, permanent=True)

    def health_check(self) -> None:
        # One cheap authenticated read, after the token refresh (verify: any ISU with the
        # Worker Data domains may read it).
        self.http.get(self._workers(), params={"limit": 1}, operation="health")

    # -- actions ------------------------------------------------------------------------

    def get_worker(self, data: dict[str, Any]) -> dict[str, Any]:
        return self.http.get(self._workers(data["worker_id"]), operation="get_worker").json()

    def _pages(self, path: str, data: dict[str, Any], operation: str,
               **query: Any) -> tuple[list[dict[str, Any]], int]:
        """``limit``/``offset`` pages (at most 100 a page: verify) of ``{"total", "data"}``
        until ``max_items`` or the stated ``total``; returns the items and the total."""
        limit, size = data["max_items"], min(data["page_size"], data["max_items"])
        items: list[dict[str, Any]] = []
        total: int | None = None
        while len(items) < limit:
            params = {**query, "limit": min(size, limit - len(items)), "offset": len(items)}
            body = self.http.get(path, params=params, operation=operation).json()
            page = [w for w in body.get("data") or [] if isinstance(w, dict)]
            if isinstance(body.get("total"), int):
                total = body["total"]
            items += page
            if not page or (total is not None and len(items) >= total):
                break
        items = items[:limit]
        return items, total if total is not None else len(items)

    def list_workers(self, data: dict[str, Any]) -> dict[str, Any]:
        query = {"search": data["search"]} if data.get("search") else {}
        workers, total = self._pages(self._workers(), data, "list_workers", **query)
        return {"workers": workers, "count": len(workers), "total": total}

    def list_organizations(self, data: dict[str, Any]) -> dict[str, Any]:
        """Supervisory organizations: ``/ccx/api/v1/{tenant}/supervisoryOrganizations``
        (verify: the resource of the v1 service)."""
        path = f"/ccx/api/v1/{self._tenant()}/supervisoryOrganizations"
        orgs, total = self._pages(path, data, "list_organizations")
        return {"organizations": orgs, "count": len(orgs), "total": total}

    def _rows(self, owner: str, report: str, prompts: dict[str, Any]) -> list[dict[str, Any]]:
        params: dict[str, Any] = {}
        for name, value in prompts.items():
            values = value if isinstance(value, list) else [value]
            params[name] = [("true" if v else "false") if isinstance(v, bool) else str(v)
                            for v in values]
        params["format"] = "json"
        body = self.http.get(self._report(owner, report), params=params,
                             operation="run_report").json()
        rows = body.get(ROWS) if isinstance(body, dict) else None
        return [r for r in rows or [] if isinstance(r, dict)]

    def run_report(self, data: dict[str, Any]) -> dict[str, Any]:
        """A RaaS custom report as JSON: one request (RaaS has no paging; narrow it with
        prompts, e.g. a date range)."""
        rows = self._rows(data["owner"], data["report"], data["prompts"])
        kept = rows[:data["max_items"]]
        return {"rows": kept, "count": len(kept), "truncated": len(rows) > len(kept)}

    # -- polling --------------------------------------------------------------------------

    def _today(self) -> date:
        return datetime.fromtimestamp(self.http.clock.time(), UTC).date()

    def poll_new_hire(self, params: dict[str, Any], cursor: str | None) -> PollPage:
        """Hires from a custom report with a date-range prompt (``from_prompt``/``to_prompt``,
        e.g. hire date or entry date): the window runs from ``lookback_days`` before the last
        window's end to today, so hires entered late are still seen; the poller keeps each
        worker id once. The cursor is the last window's end (an ISO date).

        Workday's REST workers resource cannot filter by hire date, and no webhooks exist
        (tenant-built outbound integrations only), hence a report (verify: which date the
        tenant's report filters on is the report author's choice).
        """
        today = self._today()
        if cursor is None:
            start = today - timedelta(days=params["lookback_days"])
        else:
            try:
                last = date.fromisoformat(cursor)
            except ValueError:
                raise CursorExpired(f"not a Workday poll cursor: {cursor[:40]!r}") from None
            start = min(last, today) - timedelta(days=params["lookback_days"])
        prompts = {**params["prompts"], params["from_prompt"]: start.isoformat(),
                   params["to_prompt"]: today.isoformat()}
        items = []
        for row in self._rows(params["owner"], params["report"], prompts):
            worker = row.get(params["id_field"])
            if worker in (None, "") or isinstance(worker, (dict, list)):
                self.log.warning("Workday report %s/%s: a row without %s is skipped",
                                 params["owner"], params["report"], params["id_field"])
                continue
            items.append({**row, "worker_id": str(worker)})
        return PollPage(items, today.isoformat())
