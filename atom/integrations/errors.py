"""The errors every integration call can raise; each carries its policy.

``code`` is the stable error class shown to users and recorded in metrics: ``auth``,
``rate_limited``, ``timeout``, ``upstream``, ``validation``, ``circuit_open``, ``blocked``,
``cursor_expired``.
"""
from __future__ import annotations

from typing import Any


class IntegrationError(Exception):
    """A call to a service failed.

    :param permanent: retrying the same call cannot succeed.
    :param retry_after: seconds the service asked us to wait, if it said.
    :param status: the HTTP status of the last response, if any.
    """

    code = "upstream"
    http_status = 502
    # Set by IntegrationClient for the attempt that raised: may the call be retried?
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.status is not None:
            body["upstream_status"] = self.status
        if self.retry_after is not None:
            body["retry_after"] = round(self.retry_after, 3)
        if self.details:
            body["errors"] = self.details
        return body


class UpstreamError(IntegrationError):
    """The service answered with an error (5xx transient, other 4xx permanent)."""


class AuthError(IntegrationError):
    """Credentials were refused; the connection needs re-authorisation."""

    code = "auth"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("permanent", True)
        super().__init__(message, **kwargs)


class RateLimited(IntegrationError):
    """The service (or our own bucket) says to wait ``retry_after`` seconds."""

    code = "rate_limited"
    http_status = 429


class IntegrationTimeout(IntegrationError):
    """Connecting or reading took longer than the configured timeout."""

    code = "timeout"
    http_status = 504


class ValidationFailed(IntegrationError):
    """Input or output did not match the action's schema; ``details`` names the fields."""

    code = "validation"
    http_status = 422

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("permanent", True)
        super().__init__(message, **kwargs)


class CircuitOpen(IntegrationError):
    """The connection's circuit breaker is open: failing fast without touching the network."""

    code = "circuit_open"
    http_status = 503


class Blocked(IntegrationError):
    """The outbound address policy denies the destination: nothing was sent.

    Permanent (the same address stays denied until an operator changes the policy), so never
    retried, and neutral for the circuit breaker: the service did not fail.
    """

    code = "blocked"
    http_status = 422

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("permanent", True)
        super().__init__(message, **kwargs)


class CursorExpired(UpstreamError):
    """A poll trigger's stored cursor is no longer valid at the service (Google Calendar's and
    Drive's 410 Gone for an old ``syncToken``/``pageToken``, Gmail's 404 for a ``historyId``
    older than its history): raised by a plugin's ``poll_<x>`` method (or its
    ``raise_for_response``), the poller then re-primes with a full resync (``cursor=None``):
    items it has seen stay seen, new ones fire.

    Permanent (the same cursor never works again), so the client does not retry it, and neutral
    for the circuit breaker.
    """

    code = "cursor_expired"
    http_status = 410

    def __init__(self, message: str = "the poll cursor expired", **kwargs: Any) -> None:
        kwargs.setdefault("permanent", True)
        super().__init__(message, **kwargs)


UNEXPECTED = (KeyError, IndexError, TypeError, ValueError)


def unexpected_answer(service: str, exc: BaseException) -> UpstreamError:
    """The error for a reply without the shape the plugin expects (a field missing, a list
    where an object was expected): the service's answer, not a bug in ATOM. ``upstream`` and
    permanent: the same request gets the same answer, and retrying a post that went through
    would post it twice.
    """
    if isinstance(exc, KeyError) and exc.args:
        what = f"the reply has no field {exc.args[0]!r}"
    elif isinstance(exc, IndexError):
        what = "the reply has fewer items than expected"
    else:
        what = f"the reply is not shaped as expected ({exc})"
    return UpstreamError(f"unexpected answer from {service}: {what} ({type(exc).__name__})",
                         permanent=True, details={"reply": [what]})


ERROR_CLASSES = ("auth", "rate_limited", "timeout", "upstream", "validation", "circuit_open",
                 "blocked", "cursor_expired")


def error_class(exc: BaseException) -> str:
    """Return the error class of any exception (``upstream`` for unexpected ones)."""
    return exc.code if isinstance(exc, IntegrationError) else "upstream"
