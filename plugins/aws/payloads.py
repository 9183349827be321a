"""AWS answers as ATOM outputs: XML (S3's REST API, SNS's and STS's query protocol) and JSON
(SQS's AWS JSON 1.0 protocol) read into plain dicts.

Error bodies: S3 ``<Error><Code/><Message/></Error>``
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html); query protocol
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``
(https://docs.aws.amazon.com/sns/latest/api/CommonErrors.html); JSON protocol
``{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": ...}`` with the query-protocol
code in ``x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender``
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import requests

from atom.integrations.errors import UpstreamError

_XML_LIMIT = 2_000_000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml(response: requests.Response) -> ET.Element:
    """The answer's XML root, namespaces dropped from every tag."""
    raw = response.content
    if len(raw) > _XML_LIMIT or b"<!DOCTYPE" in raw[:2048] or b"<!ENTITY" in raw:
        raise UpstreamError("AWS answered an XML document ATOM will not parse", permanent=True)
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise UpstreamError(f"AWS answered invalid XML: {exc}", permanent=True) from None
    for node in root.iter():
        node.tag = _local(node.tag)
    return root


def text(node: ET.Element | None, path: str, default: str | None = None) -> str | None:
    found = node.find(path) if node is not None else None
    return found.text if found is not None and found.text is not None else default


def error_of(response: requests.Response) -> tuple[str, str]:
    """``(code, message)`` of an AWS error answer; ``("", "")`` when it has none."""
    query_error = response.headers.get("x-amzn-query-error", "")
    content = response.content or b""
    if content.lstrip()[:1] == b"<":
        try:
            root = xml(response)
        except UpstreamError:
            return "", ""
        err = root if root.tag == "Error" else root.find(".//Error")
        return (text(err, "Code", "") or "", (text(err, "Message", "") or "")[:300])
    if content.lstrip()[:1] == b"{":
        try:
            body = response.json()
        except ValueError:
            body = {}
        if isinstance(body, dict):
            kind = str(body.get("__type") or body.get("code") or "")
            code = query_error.split(";")[0] or kind.rsplit("#", 1)[-1]
            message = body.get("message") or body.get("Message") or ""
            return code, str(message)[:300]
    if query_error:
        return query_error.split(";")[0], ""
    return response.headers.get("x-amzn-ErrorType", "").split(":")[0], ""


def caller(root: ET.Element) -> dict[str, Any]:
    result = root.find("GetCallerIdentityResult")
    return {"account": text(result, "Account"), "arn": text(result, "Arn"),
            "user_id": text(result, "UserId")}


def object_entry(node: ET.Element) -> dict[str, Any]:
    size = text(node, "Size")
    return {"key": text(node, "Key"), "size": int(size) if size and size.isdigit() else None,
            "etag": (text(node, "ETag") or "").strip('"') or None,
            "last_modified": text(node, "LastModified"),
            "storage_class": text(node, "StorageClass")}


def metadata_of(headers: Any) -> dict[str, str]:
    return {k[len("x-amz-meta-"):].lower(): v for k, v in headers.items()
            if k.lower().startswith("x-amz-meta-")}


def file_entry(bucket: str, key: str, size: int | None, etag: str | None,
               content_type: str | None, version_id: str | None = None) -> dict[str, Any]:
    """An S3 object as the files section describes files (``id`` = ``bucket/key``)."""
    return {"id": f"{bucket}/{key}", "bucket": bucket, "key": key,
            "name": key.rsplit("/", 1)[-1], "size": size,
            "etag": (etag or "").strip('"') or None, "content_type": content_type,
            "version_id": version_id}


def sns_event(message: dict[str, Any]) -> dict[str, Any]:
    """A verified SNS notification as the ``sns_message`` trigger hands it to workflows."""
    attributes = message.get("MessageAttributes")
    return {
        "message_id": message.get("MessageId"),
        "topic_arn": message.get("TopicArn"),
        "subject": message.get("Subject"),
        "message": message.get("Message"),
        "timestamp": message.get("Timestamp"),
        "attributes": {name: (value or {}).get("Value") for name, value in attributes.items()
                       if isinstance(value, dict)} if isinstance(attributes, dict) else {},
        "unsubscribe_url": message.get("UnsubscribeURL"),
    }
