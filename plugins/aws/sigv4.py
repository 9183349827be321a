"""AWS Signature Version 4 on ATOM's own requests, with botocore's signer.

``botocore.auth.SigV4Auth`` (``S3SigV4Auth`` for S3) signs each request ``IntegrationClient``
prepares, just before it is sent; botocore's HTTP stack and retries are not used (ATOM's client
owns retries, rate limits and the breaker). References: the SigV4 pages of the IAM user guide,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html;
S3's ``x-amz-content-sha256``:
https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html.

Which service and region a request is signed for:

- The plugin names the service of every request in the :data:`SERVICE_HEADER` header
  (``X-Atom-Aws-Service: s3``). The signer removes it before signing, so AWS never sees it; it
  is also one of the auth's header names, so the client drops it on a redirect to another
  origin. With one ``endpoint_url`` for every service (moto, LocalStack, an S3-compatible
  store) it is the only way to tell the services apart.
- On a real endpoint, ``{service}.{region}.amazonaws.com``, the host says both; a marker that
  disagrees with the host is refused (nothing is signed for a service it was not meant for).
- The region is otherwise the connection's ``region`` setting.

Payloads are always signed (the body's SHA-256 in ``x-amz-content-sha256`` for S3): every body
ATOM sends is bytes already in memory, at most one multipart part, so ``UNSIGNED-PAYLOAD`` would
save nothing.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from botocore.auth import S3SigV4Auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from atom.integrations.auth import Auth
from atom.integrations.auth import NoAuth
from atom.integrations.errors import ValidationFailed

SERVICE_HEADER = "X-Atom-Aws-Service"
SERVICES = frozenset({"s3", "sns", "sqs", "sts"})
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
_AWS_HOST = re.compile(r"^(?P<service>[a-z0-9-]+)\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
# Hop-by-hop headers a proxy may rewrite, and ones the transport sets or changes after signing:
# never signed (botocore's own blacklist covers user-agent, expect and transfer-encoding).
_UNSIGNED = frozenset({"connection", "keep-alive", "proxy-authorization", "proxy-connection",
                       "te", "trailer", "upgrade", "accept-encoding", "user-agent",
                       "transfer-encoding", "expect", SERVICE_HEADER.lower()})


def service_of(url: str, marker: str | None, region: str) -> tuple[str, str]:
    """``(service, region)`` a request to ``url`` is signed for."""
    host = (urlsplit(url).hostname or "").lower()
    real = _AWS_HOST.match(host)
    if real:
        service, host_region = real["service"], real["region"]
        if marker and marker != service:
            raise ValidationFailed(f"a request for {marker} was about to go to {host}")
        return service, host_region
    if not marker:
        raise ValidationFailed(f"cannot tell which AWS service {host} is: the request names none")
    return marker, region


class SigV4(Auth):
    """Signs every request of a connection with its access key (and session token)."""

    def __init__(self, access_key_id: str, secret_access_key: str, session_token: str | None,
                 region: str) -> None:
        self.credentials = Credentials(access_key_id, secret_access_key, session_token or None)
        self.region = region

    def header_names(self) -> frozenset[str]:
        return frozenset({SERVICE_HEADER, "Authorization", "X-Amz-Date",
                          "X-Amz-Security-Token", "X-Amz-Content-SHA256"})

    def token_fingerprint(self) -> str | None:
        return self.credentials.access_key

    def request_signer(self) -> requests.auth.AuthBase:
        return _Signer(self)

    def sign(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
             service: str, region: str) -> dict[str, str]:
        """The headers botocore adds for this request: ``Authorization``, ``X-Amz-Date``,
        ``X-Amz-Security-Token`` (temporary credentials), ``X-Amz-Content-SHA256`` (S3)."""
        signed = {k: v for k, v in headers.items() if k.lower() not in _UNSIGNED}
        request = AWSRequest(method=method, url=url, data=body or b"", headers=signed)
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(self.credentials, service, region).add_auth(request)
        return {k: v for k, v in request.headers.items()
                if k.lower() in ("authorization", "x-amz-date", "x-amz-security-token",
                                 "x-amz-content-sha256")}


class _Signer(requests.auth.AuthBase):
    def __init__(self, auth: SigV4) -> None:
        self.auth = auth

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        marker = prepared.headers.pop(SERVICE_HEADER, None)
        service, region = service_of(prepared.url or "", marker, self.auth.region)
        if service not in SERVICES:
            raise ValidationFailed(f"ATOM does not sign requests for the AWS service {service}")
        body = prepared.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            # A generator or file would be read to hash it, then sent empty.
            raise TypeError("SigV4 requests need a body in memory (bytes)")
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token",
                     "X-Amz-Content-SHA256"):
            prepared.headers.pop(name, None)
        prepared.headers.update(self.auth.sign(prepared.method or "GET", prepared.url or "",
                                               dict(prepared.headers), body, service, region))
        return prepared


def signer(credentials: dict[str, Any], settings: dict[str, Any]) -> Auth:
    """The ``custom`` AuthScheme's signer (``plugins.aws.sigv4:signer``)."""
    key, secret = credentials.get("access_key_id"), credentials.get("secret_access_key")
    if not key or not secret:  # the credentials schema requires both: nothing to sign with
        return NoAuth()
    return SigV4(key, secret, credentials.get("session_token"),
                 settings.get("region") or "us-east-1")
