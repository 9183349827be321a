"""Credentials, settings and action inputs of the AWS plugin.

Names follow AWS's own rules: bucket names
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html), object keys
(up to 1,024 bytes of UTF-8:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html),
SNS topic ARNs, SQS queue URLs and message limits (256 KiB:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html).
Everything that reaches a URL is checked here and percent-encoded by the integration.
"""
from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates
from marshmallow import validates_schema

from plugins.aws.sigv4 import REGION

MESSAGE_LIMIT = 262_144  # SNS and SQS: 256 KiB
TOPIC_ARN = re.compile(r"^arn:aws(-[a-z]+)*:sns:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                       r"(?P<name>[A-Za-z0-9_-]{1,256}(\.fifo)?)$")
# A topic ARN, or every topic of an account and region (``arn:aws:sns:eu-west-1:123456789012:*``).
TOPIC_PATTERN = re.compile(r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]{1,256}"
                           r"(\.fifo)?|\*)$")
QUEUE_PATH = re.compile(r"^/(?P<account>\d{12})/(?P<name>[A-Za-z0-9_-]{1,80}(\.fifo)?)$")
BUCKET_NAME = validate.Regexp(
    r"^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    error="an S3 bucket name: 3-63 lower-case letters, digits, dots and hyphens")
_ATTR_NAME = re.compile(r"^(?!aws\.|amazon\.)[A-Za-z0-9_.-]{1,256}$", re.IGNORECASE)
_META_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,127}$")
_ALIAS = "AKIAIOSFODNN7EXAMPLE"


def _region(value: str) -> None:
    if not REGION.match(value):
        raise ValidationError("an AWS region such as us-east-1 or eu-west-2")


class AwsCredentials(Schema):
    """An IAM access key (and, for temporary credentials from STS, the session token)."""

    access_key_id = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Z0-9]{16,128}$",
                                                error="an access key id (AKIA... or ASIA...)"),
        metadata={"description": "IAM access key id", "example": _ALIAS})
    secret_access_key = fields.String(
        required=True, validate=validate.Length(min=16, max=128),
        metadata={"secret": True, "description": "IAM secret access key",
                  "example": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})
    session_token = fields.String(
        validate=validate.Length(min=16, max=8192),
        metadata={"secret": True,
                  "description": "Session token of temporary credentials (ASIA... keys from "
                                 "STS); they expire, and the connection then needs new ones"})
    sns_topic_arns = fields.String(
        validate=validate.Length(min=1, max=4000),
        metadata={"description": "SNS topics whose messages this connection's webhook accepts "
                                 "(topic ARNs, or arn:aws:sns:<region>:<account>:* for all of "
                                 "an account's topics), separated by spaces or commas. SNS "
                                 "signs every message, but any AWS account can subscribe a URL "
                                 "to its own topic: only these are accepted",
                  "example": "arn:aws:sns:us-east-1:123456789012:atom-events"})

    @validates("sns_topic_arns")
    def _topics(self, value: str, **kwargs: Any) -> None:
        bad = [t for t in topic_list(value) if not TOPIC_PATTERN.match(t)]
        if bad or not topic_list(value):
            raise ValidationError(f"not an SNS topic ARN: {(bad or [value])[0][:80]}")


def topic_list(value: str | None) -> list[str]:
    return [t for t in re.split(r"[\s,]+", value or "") if t]


class AwsSettings(Schema):
    region = fields.String(
        load_default="us-east-1", validate=_region,
        metadata={"description": "AWS region of the buckets, topics and queues (us-east-1)",
                  "destination": True})
    endpoint_url = fields.Url(
        require_tld=False, schemes={"http", "https"},
        metadata={"description": "One endpoint for every service instead of AWS's regional "
                                 "ones (LocalStack, moto, an S3-compatible store); path-style "
                                 "S3 addressing", "destination": True})

    @validates_schema
    def _partition(self, data: dict[str, Any], **kwargs: Any) -> None:
        region = data.get("region") or ""
        if (region.startswith("cn-") or "-iso" in region) and not data.get("endpoint_url") \
                and not data.get("base_url"):
            # Their hosts are not {service}.{region}.amazonaws.com (amazonaws.com.cn, ...).
            raise ValidationError("the China and ISO partitions need endpoint_url",
                                  field_name="endpoint_url")


class CallerIdentityInput(Schema):
    expected_account = fields.String(
        validate=validate.Regexp(r"^\d{12}$", error="a 12-digit AWS account id"),
        metadata={"description": "Fail unless the credentials belong to this account (a guard "
                                 "against a connection to the wrong account)"})


class _Bucket(Schema):
    bucket = fields.String(required=True, validate=BUCKET_NAME,
                           metadata={"description": "S3 bucket name"})


def _key(required: bool = True) -> fields.String:
    return fields.String(required=required, validate=validate.Length(min=1, max=1024),
                         metadata={"description": "Object key (path in the bucket)"})


def check_key(value: str) -> None:
    if len(value.encode("utf-8")) > 1024:
        raise ValidationError("at most 1,024 bytes of UTF-8")
    if any(seg in (".", "..") for seg in value.split("/")):
        # HTTP clients collapse "a/../b" to "b": the request would name another object.
        raise ValidationError("no '.' or '..' path segments")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValidationError("no control characters")


class PutObjectInput(_Bucket):
    key = _key()
    content = fields.String(required=True, validate=validate.Length(max=7_000_000),
                            metadata={"description": "The object's content: text, or base64 "
                                                     "with encoding=base64"})
    encoding = fields.String(load_default="text", validate=validate.OneOf(["text", "base64"]),
                             metadata={"description": "How content is given"})
    content_type = fields.String(validate=validate.Regexp(r"^[\w.+-]+/[\w.+-]+(;.{1,200})?$"),
                                 metadata={"description": "MIME type (text/plain; charset=utf-8 "
                                                          "for text by default)"})
    metadata = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(
        max=2048)), metadata={"description": "User metadata (x-amz-meta-*), lower-case names"})

    @validates("key")
    def _key_ok(self, value: str, **kwargs: Any) -> None:
        check_key(value)

    @validates("metadata")
    def _meta(self, value: dict[str, str], **kwargs: Any) -> None:
        bad = [k for k in value if not _META_NAME.match(k)]
        if bad:
            raise ValidationError(f"metadata names are lower-case letters, digits, - and _: "
                                  f"{bad[0][:60]!r}")
        if sum(len(k) + len(v.encode()) for k, v in value.items()) > 2048:
            raise ValidationError("S3 user metadata is at most 2 KB in all")
        if any(not v.isascii() or any(ord(c) < 0x20 for c in v) for v in value.values()):
            raise ValidationError("metadata values are printable ASCII")


class GetObjectInput(_Bucket):
    key = _key()
    encoding = fields.String(load_default="text", validate=validate.OneOf(["text", "base64"]),
                             metadata={"description": "text (UTF-8) or base64 for binary "
                                                      "objects"})
    max_bytes = fields.Integer(load_default=1_048_576,
                               validate=validate.Range(min=1, max=5_242_880),
                               metadata={"description": "Refuse objects larger than this "
                                                        "(at most 5 MiB; use copy_file for "
                                                        "large files)"})

    @validates("key")
    def _key_ok(self, value: str, **kwargs: Any) -> None:
        check_key(value)


class ListObjectsInput(_Bucket):
    prefix = fields.String(validate=validate.Length(max=1024),
                           metadata={"description": "Only keys starting with this"})
    delimiter = fields.String(validate=validate.Length(min=1, max=8),
                              metadata={"description": "Group keys by this (\"/\" for "
                                                       "folders)"})
    start_after = fields.String(validate=validate.Length(min=1, max=1024),
                                metadata={"description": "List keys after this one"})
    continuation_token = fields.String(validate=validate.Length(min=1, max=4096),
                                       metadata={"description": "next_continuation_token of a "
                                                                "previous listing"})
    max_items = fields.Integer(load_default=100, validate=validate.Range(min=1, max=10_000),
                               metadata={"description": "Stop after this many objects"})


class PublishInput(Schema):
    topic_arn = fields.String(required=True, validate=validate.Regexp(
        TOPIC_ARN, error="an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)"),
        metadata={"description": "The topic"})
    message = fields.String(required=True, validate=validate.Length(min=1, max=MESSAGE_LIMIT),
                            metadata={"description": "The message (up to 256 KiB)"})
    subject = fields.String(validate=validate.Regexp(r"^[^\x00-\x1f]{1,100}$",
                                                     error="1-100 printable characters, one "
                                                           "line"),
                            metadata={"description": "E-mail subject"})
    attributes = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(
        min=1, max=MESSAGE_LIMIT)), metadata={"description": "String message attributes "
                                                             "(for subscription filters)"})
    message_group_id = fields.String(validate=validate.Regexp(r"^[\x21-\x7e]{1,128}$"),
                                     metadata={"description": "FIFO topics: the group"})
    deduplication_id = fields.String(validate=validate.Regexp(r"^[\x21-\x7e]{1,128}$"),
                                     # The 5-minute window: AWS's SNS FIFO docs (verify).
                                     metadata={"description": "FIFO topics: the deduplication "
                                                              "id (5-minute window)"})

    @validates("attributes")
    def _attrs(self, value: dict[str, str], **kwargs: Any) -> None:
        _check_attributes(value)

    @validates_schema
    def _fifo(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_fifo(data, data.get("topic_arn", ""), "topic_arn")


class SendMessageInput(Schema):
    queue_url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                           metadata={"description": "The queue's URL "
                                                    "(https://sqs.<region>.amazonaws.com/"
                                                    "<account>/<name>)"})
    body = fields.String(required=True, validate=validate.Length(min=1, max=MESSAGE_LIMIT),
                         metadata={"description": "The message body (up to 256 KiB)"})
    delay_seconds = fields.Integer(validate=validate.Range(min=0, max=900),
                                   metadata={"description": "Deliver after this delay "
                                                            "(0-900 s; not for FIFO queues)"})
    attributes = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(
        min=1, max=MESSAGE_LIMIT)), metadata={"description": "String message attributes"})
    message_group_id = fields.String(validate=validate.Regexp(r"^[\x21-\x7e]{1,128}$"),
                                     metadata={"description": "FIFO queues: the group"})
    deduplication_id = fields.String(validate=validate.Regexp(r"^[\x21-\x7e]{1,128}$"),
                                     metadata={"description": "FIFO queues: the deduplication "
                                                              "id (5-minute window)"})

    @validates("queue_url")
    def _queue(self, value: str, **kwargs: Any) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if not QUEUE_PATH.match(parts.path) or parts.query or parts.fragment:
            raise ValidationError("a queue URL ends in /<12-digit account>/<queue name>")

    @validates("attributes")
    def _attrs(self, value: dict[str, str], **kwargs: Any) -> None:
        _check_attributes(value)

    @validates_schema
    def _fifo(self, data: dict[str, Any], **kwargs: Any) -> None:
        _check_fifo(data, data.get("queue_url", ""), "queue_url")
        if data.get("delay_seconds") and str(data.get("queue_url", "")).endswith(".fifo"):
            raise ValidationError("FIFO queues take no per-message delay",
                                  field_name="delay_seconds")


def _check_attributes(value: dict[str, str]) -> None:
    if len(value) > 10:
        raise ValidationError("at most 10 message attributes")
    bad = [k for k in value if not _ATTR_NAME.match(k) or ".." in k or k.startswith(".")
           or k.endswith(".")]
    if bad:
        raise ValidationError(f"attribute names are letters, digits, _ - and . (not starting "
                              f"with aws. or amazon.): {bad[0][:60]!r}")


def _check_fifo(data: dict[str, Any], target: str, field: str) -> None:
    fifo = str(target).endswith(".fifo")
    if fifo and not data.get("message_group_id"):
        raise ValidationError("a FIFO target needs message_group_id",
                              field_name="message_group_id")
    if not fifo:
        for name in ("message_group_id", "deduplication_id"):
            if data.get(name) and field == "topic_arn":
                raise ValidationError(f"{name} is for FIFO topics (.fifo)", field_name=name)
