"""Pagination strategies for ``IntegrationClient.paginate``.

Each strategy knows how to ask for the next page and where the items are. All of them stop
on a repeated cursor (a server bug that would loop forever) and after ``max_pages``; inside
:func:`first_page_only` (``atom test``'s smoke run of read-only actions: one request each is
enough to show an action works, and spares the service a full listing) after the first page.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from typing import Callable
from typing import Iterator
from urllib.parse import urljoin
from urllib.parse import urlsplit

import jmespath

from atom.integrations.errors import UpstreamError


_FIRST_PAGE_ONLY: ContextVar[bool] = ContextVar("atom_first_page_only", default=False)


@contextmanager
def first_page_only() -> Iterator[None]:
    """Listings in this block stop after their first page."""
    token = _FIRST_PAGE_ONLY.set(True)
    try:
        yield
    finally:
        _FIRST_PAGE_ONLY.reset(token)


def first_page_wanted() -> bool:
    """Whether listings should stop after their first page (inside :func:`first_page_only`)."""
    return _FIRST_PAGE_ONLY.get()


def _get(body: Any, path: str | None) -> Any:
    if path is None:
        return body
    return jmespath.search(path, body)


@dataclass
class _Base:
    items: str | None = None
    max_pages: int = 100

    def iterate(self, client: Any, method: str, path: str, params: dict[str, Any],
                **kw: Any) -> Iterator[Any]:
        seen: set[Any] = set()
        url: str | None = path
        for _ in range(self.max_pages):
            response = client.request(method, url, params=params, **kw)
            body = response.json() if response.content else None
            yield from (_get(body, self.items) or [])
            token = self.next(response, body, params)
            if token is None or _FIRST_PAGE_ONLY.get():
                return
            if token in seen:
                raise UpstreamError(f"pagination loop: token {token!r} came back twice")
            seen.add(token)
            url = self.next_url(token, url)

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def next_url(self, token: Any, url: str | None) -> str | None:
        return url


@dataclass
class CursorPaginator(_Base):
    """A cursor in the body sent back as a parameter (Slack, HubSpot, Stripe, Notion).

    ``cursor_path`` is a JMESPath to the next cursor (``response_metadata.next_cursor``);
    an empty or missing cursor ends the listing. ``has_more`` optionally names a boolean.
    """

    cursor_path: str = "next_cursor"
    cursor_param: str = "cursor"
    has_more: str | None = None

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        if self.has_more and not _get(body, self.has_more):
            return None
        token = _get(body, self.cursor_path)
        if not token:
            return None
        params[self.cursor_param] = token
        return token


@dataclass
class PageTokenPaginator(CursorPaginator):
    """Google's and Jira's ``nextPageToken`` style."""

    cursor_path: str = "nextPageToken"
    cursor_param: str = "pageToken"


@dataclass
class LinkHeaderPaginator(_Base):
    """RFC 8288 ``Link: <url>; rel="next"`` (GitHub, GitLab); the next URL replaces the path."""

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        nxt = response.links.get("next", {}).get("url")
        if not nxt:
            return None
        params.clear()  # the next URL carries its own query
        # RFC 8288: a relative reference resolves against the URL that was requested.
        absolute = urljoin(response.url, nxt)
        if urlsplit(absolute)[:2] != urlsplit(response.url)[:2]:
            # The server's answer is at fault, not the caller's input; credentials never follow.
            raise UpstreamError(f"next page link points at another host ({urlsplit(absolute).netloc})",
                                permanent=True)
        return absolute

    def next_url(self, token: Any, url: str | None) -> str | None:
        return token


@dataclass
class OffsetPaginator(_Base):
    """``startAt``/``maxResults`` (Jira) or ``offset``/``limit``; ends on a short page,
    ``isLast``, or reaching ``total``."""

    offset_param: str = "startAt"
    limit_param: str = "maxResults"
    page_size: int = 50
    total_path: str | None = "total"
    last_path: str | None = "isLast"
    count: Callable[[Any], int] | None = None

    def iterate(self, client: Any, method: str, path: str, params: dict[str, Any],
                **kw: Any) -> Iterator[Any]:
        params.setdefault(self.offset_param, 0)
        params.setdefault(self.limit_param, self.page_size)
        return super().iterate(client, method, path, params, **kw)

    def next(self, response: Any, body: Any, params: dict[str, Any]) -> Any:
        got = len(_get(body, self.items) or [])
        if got == 0 or (self.last_path and _get(body, self.last_path) is True):
            return None
        offset = int(params[self.offset_param]) + got
        total = _get(body, self.total_path) if self.total_path else None
        if isinstance(total, int) and offset >= total:
            return None
        if total is None and got < int(params[self.limit_param]):
            return None
        params[self.offset_param] = offset
        return offset
