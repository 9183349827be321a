"""AWS: S3 objects (and S3 as a files source and sink), SNS publish, SQS send, STS identity;
verified SNS HTTP(S) deliveries.

References: S3 REST API https://docs.aws.amazon.com/AmazonS3/latest/API/ (PutObject,
GetObject, ListObjectsV2, CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ErrorResponses); SNS Publish and ConfirmSubscription
https://docs.aws.amazon.com/sns/latest/api/ (query protocol, version 2010-03-31); SQS
SendMessage https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/ (AWS JSON
1.0 protocol, ``X-Amz-Target: AmazonSQS.SendMessage``); STS GetCallerIdentity
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html (needs no IAM
permission: the health check); error codes after botocore's ``retries/standard.py``.

Requests go to ``endpoint_url`` when it is set (every service on that one origin, S3
path-style), else to AWS's regional endpoints ``https://{service}.{region}.amazonaws.com``
(S3 path-style there too: virtual-hosted bucket hosts would be a new origin per bucket, which
the client's origin check rightly refuses; AWS still serves path-style requests (verify for
buckets created after its announced deprecation)). AWS has no idempotency-key header: a POST
is retried after a server error only when the call is naturally idempotent (FIFO messages with
a deduplication id, GetCallerIdentity).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any
from typing import Iterator
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests
from marshmallow import ValidationError
from botocore.utils import percent_encode_sequence

from atom.integrations import files
from atom.integrations.base import InboundEvent
from atom.integrations.base import Integration
from atom.integrations.errors import AuthError
from atom.integrations.errors import RateLimited
from atom.integrations.errors import UpstreamError
from atom.integrations.errors import ValidationFailed
from atom.integrations.http import parse_retry_after
from atom.integrations.webhooks import WebhookRequest
from plugins.aws import payloads
from plugins.aws.schemas import BUCKET_NAME
from plugins.aws.schemas import QUEUE_PATH
from plugins.aws.schemas import TOPIC_ARN
from plugins.aws.schemas import check_key
from plugins.aws.sigv4 import SERVICE_HEADER

# Credentials refused (the connection needs new ones).
_AUTH = frozenset({
    "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken",
    "ExpiredTokenException", "InvalidToken", "UnrecognizedClientException",
    "IncompleteSignature", "MissingAuthenticationToken", "AuthFailure", "InvalidSecurity",
    "AWS.SimpleQueueService.InvalidSecurity", "RequestExpired", "InvalidSignatureException"})
# Credentials accepted, action not allowed by the IAM (or bucket/topic/queue) policy.
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError",
                     "AuthorizationErrorException", "KMSAccessDenied", "KMSAccessDeniedException"})
# botocore/retries/standard.py, THROTTLING_ERROR_CODES.
_THROTTLED = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", "KMSThrottlingException", "KMSThrottling",
    "AWS.SimpleQueueService.RequestThrottled"})
_TRANSIENT = frozenset({"RequestTimeout", "RequestTimeoutException", "InternalError",
                        "InternalFailure", "ServiceUnavailable", "InternalErrorException"})
# What was not found, by the input field that named it.
_NOT_FOUND = {"NoSuchBucket": "bucket", "NoSuchKey": "key", "NotFound": "topic_arn",
              "NotFoundException": "topic_arn", "QueueDoesNotExist": "queue_url",
              "AWS.SimpleQueueService.NonExistentQueue": "queue_url", "NoSuchUpload": "_request",
              "NonExistentQueue": "queue_url"}
_BY_CODE = {"InvalidBucketName": "bucket", "KeyTooLongError": "key", "EntityTooLarge": "content",
            "MetadataTooLarge": "metadata", "InvalidMessageContents": "body",
            "AWS.SimpleQueueService.InvalidMessageContents": "body",
            "InvalidMessageContents.": "body", "InvalidRange": "_request",
            "InvalidAttributeName": "attributes", "InvalidAttributeValue": "attributes",
            "AWS.SimpleQueueService.UnsupportedOperation": "queue_url",
            "InvalidStorageClass": "_request"}
# AWS parameter names in a validation message, by our input field (longest first).
_PARAMS = (("MessageDeduplicationId", "deduplication_id"), ("MessageGroupId", "message_group_id"),
           ("MessageAttributes", "attributes"), ("MessageAttribute", "attributes"),
           ("MessageBody", "body"), ("DelaySeconds", "delay_seconds"), ("QueueUrl", "queue_url"),
           ("TopicArn", "topic_arn"), ("Subject", "subject"), ("Message", "message"),
           ("ContinuationToken", "continuation_token"), ("continuation-token",
                                                         "continuation_token"),
           ("max-keys", "max_items"), ("Prefix", "prefix"), ("Content-Type", "content_type"),
           ("BucketName", "bucket"), ("Bucket", "bucket"), ("Key", "key"))
_REDIRECTS = frozenset({"PermanentRedirect", "TemporaryRedirect", "AuthorizationHeaderMalformed",
                        "IllegalLocationConstraintException", "Redirect"})
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


def _service_of(response: requests.Response) -> str:
    auth = response.request.headers.get("Authorization", "") if response.request else ""
    match = _CREDENTIAL.search(auth)
    return match.group(1).upper() if match else "AWS"


def _field_in(message: str) -> str | None:
    return next((name for param, name in _PARAMS if re.search(rf"\b{re.escape(param)}\b",
                                                              message)), None)


class AwsIntegration(Integration):
    # Parts of a multipart upload (S3: 5 MiB to 5 GiB, at most 10,000 parts): at 8 MiB a file of
    # up to 78 GiB fits; one part is held in memory at a time.
    PART_SIZE = 8 << 20
    LIST_PAGE = 1000  # ListObjectsV2's max-keys limit

    # -- where requests go ---------------------------------------------------------------

    def region(self) -> str:
        return self.connection.settings.get("region") or "us-east-1"

    def _endpoint(self) -> str:
        settings = self.connection.settings
        return (settings.get("endpoint_url") or settings.get("base_url") or "").rstrip("/")

    def service_url(self, service: str) -> str:
        return self._endpoint() or f"https://{service}.{self.region()}.amazonaws.com"

    def base_url(self) -> str:
        return self.service_url("sts")

    def extra_origins(self) -> list[str]:
        if self._endpoint():
            return []
        return [self.service_url(s) for s in ("s3", "sns", "sqs")]

    def _request(self, service: str, method: str, url: str, *,
                 query: list[tuple[str, str]] | None = None, operation: str,
                 headers: dict[str, str] | None = None, data: bytes | None = None,
                 idempotent: bool | None = None, stream: bool = False) -> requests.Response:
        if query:
            url += "?" + percent_encode_sequence(query)
        return self.http.request(method, url, headers={SERVICE_HEADER: service, **(headers or {})},
                                 data=data, idempotent=idempotent, operation=operation,
                                 stream=stream)

    def _query(self, service: str, action: str, version: str, params: list[tuple[str, str]],
               *, idempotent: bool = False) -> Any:
        """A query-protocol call (SNS, STS): a form POST answered in XML (the form encoded as
        botocore's AWSRequest encodes it: ``urlencode``, spaces as ``+``)."""
        body = urlencode([("Action", action), ("Version", version), *params])
        response = self._request(service, "POST", self.service_url(service) + "/",
                                 data=body.encode(), operation=f"{service} {action}",
                                 headers={"Content-Type": "application/x-www-form-urlencoded; "
                                                          "charset=utf-8"},
                                 idempotent=idempotent)
        return payloads.xml(response)

    def _object_url(self, bucket: str, key: str = "") -> str:
        url = f"{self.service_url('s3')}/{bucket}"
        return f"{url}/{quote(key, safe='/~')}" if key else url

    # -- errors --------------------------------------------------------------------------

    def raise_for_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 300 or (status < 400 and not response.content):
            return
        code, text = payloads.error_of(response)
        service = _service_of(response)
        message = f"AWS {service} {code or status}" + (f": {text}" if text else "")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if code in _REDIRECTS or (300 <= status < 400):
            where = response.headers.get("x-amz-bucket-region")
            hint = (f"the bucket is in {where}: set the connection's region to it" if where
                    else "the bucket is in another region than the connection's")
            raise ValidationFailed(message, status=status, details={"bucket": [hint]})
        if code in _AUTH:
            raise AuthError(f"{message} (the access key was refused: enter valid credentials)",
                            status=status)
        if code in _DENIED:
            raise AuthError(f"{message} (the IAM policy does not allow this action)",
                            status=status)
        if code in _THROTTLED or status == 429:
            raise RateLimited(message, status=status, retry_after=retry_after)
        if code in _TRANSIENT or status == 408 or status >= 500:
            raise UpstreamError(message, status=status, retry_after=retry_after)
        if code in _NOT_FOUND or status == 404:
            name = _NOT_FOUND.get(code, "_request")
            raise ValidationFailed(message, status=status,
                                   details={name: [f"not found ({code or status})"]})
        if status in (401, 403):
            raise AuthError(message, status=status)
        if code in _BY_CODE or code.startswith("Invalid") or code.startswith("Missing") \
                or status in (400, 409, 411, 412, 413, 422):
            name = _BY_CODE.get(code) or _field_in(text) or "_request"
            raise ValidationFailed(message, status=status, details={name: [text or code]})
        raise UpstreamError(message, status=status, permanent=True)

    # -- STS -----------------------------------------------------------------------------

    def health_check(self) -> None:
        if not self.sts_get_caller_identity({}).get("account"):
            raise UpstreamError("GetCallerIdentity answered without an account; is the "
                                "endpoint AWS's?", permanent=True)

    def sts_get_caller_identity(self, data: dict[str, Any]) -> dict[str, Any]:
        root = self._query("sts", "GetCallerIdentity", "2011-06-15", [], idempotent=True)
        identity = payloads.caller(root)
        expected = data.get("expected_account")
        if expected and identity["account"] != expected:
            raise ValidationFailed(f"the credentials are of account {identity['account']}",
                                   details={"expected_account": [
                                       f"the credentials belong to {identity['account']}"]})
        return identity

    # -- S3 ------------------------------------------------------------------------------

    def put_object(self, data: dict[str, Any]) -> dict[str, Any]:
        if data["encoding"] == "base64":
            try:
                content = base64.b64decode(data["content"], validate=True)
            except ValueError:
                raise ValidationFailed("content is not base64",
                                       details={"content": ["not valid base64"]}) from None
            mime = data.get("content_type") or "application/octet-stream"
        else:
            content = data["content"].encode("utf-8")
            mime = data.get("content_type") or "text/plain; charset=utf-8"
        stream = files.from_bytes(content, data["key"].rsplit("/", 1)[-1], mime)
        return self._upload(stream, data["bucket"], data["key"], data.get("metadata") or {})

    def get_object(self, data: dict[str, Any]) -> dict[str, Any]:
        bucket, key, limit = data["bucket"], data["key"], data["max_bytes"]
        response = self._request("s3", "GET", self._object_url(bucket, key),
                                 operation="s3 GetObject", stream=True)
        too_big = ValidationFailed(
            f"s3://{bucket}/{key} is larger than max_bytes ({limit} bytes)",
            details={"max_bytes": [f"the object is larger than {limit} bytes: raise max_bytes "
                                   f"(at most 5 MiB) or copy it with copy_file"]})
        try:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise too_big
            content = bytearray()
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > limit:
                    raise too_big
        finally:
            response.close()
        out: dict[str, Any] = {
            "bucket": bucket, "key": key, "size": len(content), "encoding": data["encoding"],
            "content_type": response.headers.get("Content-Type"),
            "etag": (response.headers.get("ETag") or "").strip('"') or None,
            "last_modified": response.headers.get("Last-Modified"),
            "version_id": response.headers.get("x-amz-version-id"),
            "metadata": payloads.metadata_of(response.headers)}
        if data["encoding"] == "base64":
            out["content"] = base64.b64encode(bytes(content)).decode()
        else:
            try:
                out["content"] = bytes(content).decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed(f"s3://{bucket}/{key} is not UTF-8 text", details={
                    "encoding": ["the object is binary: use encoding=base64"]}) from None
        return out

    def list_objects(self, data: dict[str, Any]) -> dict[str, Any]:
        bucket, wanted = data["bucket"], data["max_items"]
        objects: list[dict[str, Any]] = []
        prefixes: list[str] = []
        token, seen, truncated = data.get("continuation_token"), set(), False
        while True:
            page = min(self.LIST_PAGE, wanted - len(objects))
            query = [("list-type", "2"), ("max-keys", str(page))]
            for name, param in (("prefix", "prefix"), ("delimiter", "delimiter"),
                                ("start_after", "start-after")):
                if data.get(name):
                    query.append((param, data[name]))
            if token:
                query.append(("continuation-token", token))
            root = payloads.xml(self._request("s3", "GET", self._object_url(bucket),
                                              query=query, operation="s3 ListObjectsV2"))
            objects += [payloads.object_entry(n) for n in root.findall("Contents")]
            prefixes += [p for p in (payloads.text(n, "Prefix") for n in
                                     root.findall("CommonPrefixes")) if p]
            truncated = payloads.text(root, "IsTruncated") == "true"
            token = payloads.text(root, "NextContinuationToken")
            if not truncated or not token or len(objects) >= wanted:
                break
            if token in seen:
                raise UpstreamError("ListObjectsV2 returned the same continuation token twice")
            seen.add(token)
        return {"bucket": bucket, "objects": objects[:wanted], "count": len(objects[:wanted]),
                "common_prefixes": prefixes, "is_truncated": truncated,
                "next_continuation_token": token if truncated else None}

    # -- S3 as files -----------------------------------------------------------------------

    def _split_id(self, value: str, field: str, need_key: bool) -> tuple[str, str]:
        bucket, _, key = value.lstrip("/").removeprefix("s3://").partition("/")
        try:
            BUCKET_NAME(bucket)
            if key or need_key:
                check_key(key or "")
            if need_key and not key:
                raise ValidationError("give bucket/key")
        except ValidationError as exc:
            raise ValidationFailed(f"{field}: not an S3 {'object' if need_key else 'folder'}",
                                   details={field: [f"bucket/key: {m}" for m in
                                                    exc.messages][:3]}) from None
        return bucket, key

    def open_file(self, file_id: str) -> files.FileStream:
        """Read ``bucket/key`` as a streamed GetObject."""
        bucket, key = self._split_id(file_id, "source_file_id", need_key=True)
        response = self._request("s3", "GET", self._object_url(bucket, key),
                                 operation="s3 GetObject", stream=True)
        return files.from_response(response, key.rsplit("/", 1)[-1])

    def save_file(self, stream: files.FileStream, folder_id: str | None,
                  name: str) -> dict[str, Any]:
        """Write ``stream`` to ``folder_id`` (``bucket`` or ``bucket/prefix``) as ``name``."""
        if not folder_id:
            raise ValidationFailed("S3 needs a bucket to save into", details={
                "folder_id": ["give the bucket (bucket or bucket/prefix)"]})
        bucket, prefix = self._split_id(folder_id, "folder_id", need_key=False)
        key = f"{prefix.rstrip('/')}/{name}" if prefix.strip("/") else name
        try:
            check_key(key)
        except ValidationError as exc:
            raise ValidationFailed("not a valid S3 key", details={"name": exc.messages}) from None
        return self._upload(stream, bucket, key, {})

    def _upload(self, stream: files.FileStream, bucket: str, key: str,
                metadata: dict[str, str]) -> dict[str, Any]:
        """PutObject up to one part's size, else a multipart upload, one part in memory."""
        headers = {"Content-Type": stream.mime_type or "application/octet-stream",
                   **{f"x-amz-meta-{k}": v for k, v in metadata.items()}}
        url = self._object_url(bucket, key)
        pieces = stream.pieces(self.PART_SIZE)
        first = next(pieces, b"")
        second = next(pieces, None) if stream.size is None or stream.size > len(first) else None
        if second is None:
            response = self._request("s3", "PUT", url, data=first, headers=headers,
                                     operation="s3 PutObject")
            return payloads.file_entry(bucket, key, len(first), response.headers.get("ETag"),
                                       stream.mime_type, response.headers.get("x-amz-version-id"))
        return self._multipart(url, bucket, key, headers, stream.mime_type,
                               _chain(first, second, pieces))

    def _multipart(self, url: str, bucket: str, key: str, headers: dict[str, str],
                   mime: str, parts: Iterator[bytes]) -> dict[str, Any]:
        root = payloads.xml(self._request("s3", "POST", url, query=[("uploads", "")],
                                          headers=headers,
                                          operation="s3 CreateMultipartUpload"))
        upload_id = payloads.text(root, "UploadId")
        if not upload_id:
            raise UpstreamError("CreateMultipartUpload answered without an UploadId")
        done: list[tuple[int, str]] = []
        size = 0
        try:
            for number, piece in enumerate(parts, start=1):
                response = self._request("s3", "PUT", url, data=piece,
                                         query=[("partNumber", str(number)),
                                                ("uploadId", upload_id)],
                                         operation="s3 UploadPart")
                done.append((number, response.headers.get("ETag") or ""))
                size += len(piece)
            body = "<CompleteMultipartUpload>" + "".join(
                f"<Part><PartNumber>{n}</PartNumber><ETag>{_xml_escape(tag)}</ETag></Part>"
                for n, tag in done) + "</CompleteMultipartUpload>"
            response = self._request("s3", "POST", url, query=[("uploadId", upload_id)],
                                     data=body.encode(),
                                     headers={"Content-Type": "application/xml"},
                                     operation="s3 CompleteMultipartUpload")
            result = payloads.xml(response)
            if result.tag == "Error":  # S3 may answer 200 and fail in the body
                code = payloads.text(result, "Code") or "InternalError"
                raise UpstreamError(f"AWS S3 CompleteMultipartUpload {code}: "
                                    f"{payloads.text(result, 'Message') or ''}",
                                    permanent=code not in _TRANSIENT)
        except BaseException:
            self._abort(url, upload_id)
            raise
        return payloads.file_entry(bucket, key, size, payloads.text(result, "ETag"), mime,
                                   response.headers.get("x-amz-version-id"))

    def _abort(self, url: str, upload_id: str) -> None:
        """Best effort: parts of an upload left behind are billed until a lifecycle rule
        removes them."""
        try:
            self._request("s3", "DELETE", url, query=[("uploadId", upload_id)],
                          operation="s3 AbortMultipartUpload")
        except Exception as exc:  # the upload's own error is the one to report
            self.log.warning("could not abort S3 multipart upload: %s", exc)

    # -- SNS and SQS -----------------------------------------------------------------------

    def _same_region(self, region: str, field: str) -> None:
        if region != self.region():
            raise ValidationFailed(f"{field} is in {region}, the connection in {self.region()}",
                                   details={field: [f"in region {region}: use a connection "
                                                    f"for {region}"]})

    def sns_publish(self, data: dict[str, Any]) -> dict[str, Any]:
        arn = data["topic_arn"]
        self._same_region(TOPIC_ARN.match(arn)["region"], "topic_arn")
        params = [("TopicArn", arn), ("Message", data["message"])]
        for name, param in (("subject", "Subject"), ("message_group_id", "MessageGroupId"),
                            ("deduplication_id", "MessageDeduplicationId")):
            if data.get(name):
                params.append((param, data[name]))
        for n, (name, value) in enumerate(sorted((data.get("attributes") or {}).items()), 1):
            params += [(f"MessageAttributes.entry.{n}.Name", name),
                       (f"MessageAttributes.entry.{n}.Value.DataType", "String"),
                       (f"MessageAttributes.entry.{n}.Value.StringValue", value)]
        root = self._query("sns", "Publish", "2010-03-31", params,
                           idempotent=bool(data.get("deduplication_id")))
        result = root.find("PublishResult")
        return {"message_id": payloads.text(result, "MessageId"), "topic_arn": arn,
                "sequence_number": payloads.text(result, "SequenceNumber")}

    def sqs_send_message(self, data: dict[str, Any]) -> dict[str, Any]:
        queue_url = data["queue_url"]
        self._check_queue(queue_url)
        body = {"QueueUrl": queue_url, "MessageBody": data["body"]}
        if data.get("delay_seconds") is not None:
            body["DelaySeconds"] = data["delay_seconds"]
        if data.get("attributes"):
            body["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v}
                                         for k, v in data["attributes"].items()}
        for name, param in (("message_group_id", "MessageGroupId"),
                            ("deduplication_id", "MessageDeduplicationId")):
            if data.get(name):
                body[param] = data[name]
        response = self._request(
            "sqs", "POST", self.service_url("sqs") + "/", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/x-amz-json-1.0",
                     "X-Amz-Target": "AmazonSQS.SendMessage"},
            operation="sqs SendMessage", idempotent=bool(data.get("deduplication_id")))
        answer = response.json()
        digest = hashlib.md5(data["body"].encode(), usedforsecurity=False).hexdigest()
        if answer.get("MD5OfMessageBody") not in (None, digest):
            # botocore checks the same (its SQS MD5 check): the body was altered in transit.
            raise UpstreamError("SQS stored a message whose MD5 differs from the body sent",
                                permanent=True)
        return {"message_id": answer.get("MessageId"), "queue_url": queue_url,
                "md5_of_body": answer.get("MD5OfMessageBody"),
                "sequence_number": answer.get("SequenceNumber")}

    def _check_queue(self, queue_url: str) -> None:
        parts = urlsplit(queue_url)
        if not QUEUE_PATH.match(parts.path):
            raise ValidationFailed("not a queue URL", details={"queue_url": ["not a queue URL"]})
        if self._endpoint():
            return  # the endpoint's own queue URLs (moto, LocalStack) name its host
        host = (parts.hostname or "").lower()
        match = re.fullmatch(r"(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com", host)
        region = (match.group(1) or match.group(2)) if match else (
            "us-east-1" if host == "queue.amazonaws.com" else None)
        if region is None or parts.scheme != "https":
            raise ValidationFailed("not an SQS queue URL", details={
                "queue_url": ["https://sqs.<region>.amazonaws.com/<account>/<queue>"]})
        self._same_region(region, "queue_url")

    # -- SNS HTTP(S) subscriptions ---------------------------------------------------------

    def webhook_challenge(self, req: WebhookRequest, payload: Any) -> Any | None:
        """Verified confirmations: a SubscriptionConfirmation is confirmed with the
        ConfirmSubscription API (signed, to this connection's SNS endpoint, with
        ``AuthenticateOnUnsubscribe``: only this account may then unsubscribe), never by
        fetching whatever ``SubscribeURL`` names; an UnsubscribeConfirmation is acknowledged.
        https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html"""
        kind = payload.get("Type") if isinstance(payload, dict) else None
        if kind == "SubscriptionConfirmation":
            arn, token = str(payload.get("TopicArn", "")), str(payload.get("Token", ""))
            match = TOPIC_ARN.match(arn)
            if not match or not re.fullmatch(r"[A-Za-z0-9]{16,2048}", token):
                raise ValidationFailed("the confirmation has no topic or token",
                                       details={"_body": ["TopicArn and Token"]})
            self._same_region(match["region"], "TopicArn")
            root = self._query("sns", "ConfirmSubscription", "2010-03-31",
                               [("TopicArn", arn), ("Token", token),
                                ("AuthenticateOnUnsubscribe", "true")], idempotent=True)
            result = root.find("ConfirmSubscriptionResult")
            self.log.info("confirmed the SNS subscription of %s", arn)
            return {"confirmed": True, "topic_arn": arn,
                    "subscription_arn": payloads.text(result, "SubscriptionArn")}
        if kind == "UnsubscribeConfirmation":
            self.log.info("SNS unsubscribed this endpoint from %s", payload.get("TopicArn"))
            return {"unsubscribed": True, "topic_arn": payload.get("TopicArn")}
        return None

    def parse_webhook(self, req: WebhookRequest, payload: Any) -> list[InboundEvent]:
        if not isinstance(payload, dict) or payload.get("Type") != "Notification":
            return []
        return [InboundEvent("sns_message", str(payload["MessageId"]),
                             payloads.sns_event(payload))]


def _chain(first: bytes, second: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield second
    yield from rest


def _xml_escape(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
