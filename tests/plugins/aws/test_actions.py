"""The AWS actions through the API against moto in server mode (conftest.py), with moto's IAM
authentication on: every request below was SigV4-signed by the plugin and accepted by moto,
which recomputes the signature. What moto stored is read back with boto3."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest
from jsonschema import Draft202012Validator

from plugins.aws.integration import AwsIntegration
from plugins.aws.manifest import BUCKET
from plugins.aws.manifest import MANIFEST
from plugins.aws.samples import TOPIC_ARN


def fits(action: str, output: dict) -> None:
    schema = dict(MANIFEST.action(action).output)
    errors = list(Draft202012Validator(schema).iter_errors(output))
    assert not errors, (action, errors[0].message)


@pytest.fixture
def conn(aws_connection):
    return aws_connection()


def _subscribed_queue(moto, topic_arn: str) -> str:
    """An SQS queue subscribed to the topic (raw delivery off): what SNS published lands there."""
    queue_url = moto.queue()
    sqs = moto.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    moto.client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return queue_url


def _received(moto, queue_url: str, **kw) -> list[dict]:
    return moto.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                              MessageAttributeNames=["All"],
                                              AttributeNames=["All"], **kw).get("Messages", [])


def test_every_action_runs_its_example_against_moto(moto, conn, run_action):
    """The contract run: each example as it is, the output checked against its schema."""
    s3 = moto.client("s3")
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
    moto.topic("atom-events")
    moto.client("sqs").create_queue(QueueName="atom-jobs")
    ran = set()
    for action in MANIFEST.actions:
        if action.name == "copy_file":  # needs a source connection: test_copy_file_* below
            continue
        r = run_action(conn, action.name, dict(action.example))
        assert r.status_code == 200, (action.name, r.get_json())
        fits(action.name, r.get_json()["output"])
        ran.add(action.name)
    assert ran == {a.name for a in MANIFEST.actions} - {"copy_file"}


def test_the_health_check_is_get_caller_identity(moto, conn, check_connection, run_action):
    assert check_connection(conn).get_json()["ok"] is True
    out = run_action(conn, "sts_get_caller_identity", {}).get_json()["output"]
    assert out["account"] == "123456789012"
    assert out["arn"].startswith("arn:aws:iam::123456789012:user/admin-")


def test_put_then_get_an_object_with_metadata(moto, conn, run_action):
    bucket = moto.bucket()
    key = "reports/2024 Q2/sales+returns~é.csv"
    r = run_action(conn, "put_object", {"bucket": bucket, "key": key,
                                           "content": "day,orders\n", "content_type": "text/csv",
                                           "metadata": {"source": "atom", "run-id": "42"}})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out == {"id": f"{bucket}/{key}", "bucket": bucket, "key": key,
                   "name": "sales+returns~é.csv", "size": 11,
                   "etag": hashlib.md5(b"day,orders\n").hexdigest(), "content_type": "text/csv",
                   "version_id": None}
    head = moto.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["Metadata"] == {"source": "atom", "run-id": "42"}
    assert head["ContentType"] == "text/csv"

    got = run_action(conn, "get_object", {"bucket": bucket, "key": key}).get_json()["output"]
    assert (got["content"], got["encoding"], got["size"]) == ("day,orders\n", "text", 11)
    assert got["metadata"] == {"source": "atom", "run-id": "42"}
    fits("get_object", got)


def test_binary_content_goes_as_base64_both_ways(moto, conn, run_action):
    bucket, blob = moto.bucket(), bytes(range(256)) * 4
    r = run_action(conn, "put_object", {"bucket": bucket, "key": "blob.bin",
                                           "content": base64.b64encode(blob).decode(),
                                           "encoding": "base64"})
    assert r.status_code == 200, r.get_json()
    assert moto.client("s3").get_object(Bucket=bucket, Key="blob.bin")["Body"].read() == blob
    as_text = run_action(conn, "get_object", {"bucket": bucket, "key": "blob.bin"})
    assert as_text.status_code == 422
    assert "base64" in as_text.get_json()["errors"]["encoding"][0]
    out = run_action(conn, "get_object", {"bucket": bucket, "key": "blob.bin",
                                             "encoding": "base64"}).get_json()["output"]
    assert base64.b64decode(out["content"]) == blob
    bad = run_action(conn, "put_object", {"bucket": bucket, "key": "x", "content": "@@@",
                                             "encoding": "base64"})
    assert bad.status_code == 422 and "content" in bad.get_json()["errors"]


def test_get_object_refuses_an_object_larger_than_max_bytes(moto, conn, run_action):
    bucket = moto.bucket()
    moto.client("s3").put_object(Bucket=bucket, Key="big.txt", Body=b"x" * 5000)
    r = run_action(conn, "get_object", {"bucket": bucket, "key": "big.txt", "max_bytes": 4999})
    assert r.status_code == 422
    assert "copy_file" in r.get_json()["errors"]["max_bytes"][0]
    ok = run_action(conn, "get_object", {"bucket": bucket, "key": "big.txt", "max_bytes": 5000})
    assert ok.get_json()["output"]["size"] == 5000


def test_list_objects_pages_with_the_continuation_token(moto, conn, run_action, monkeypatch):
    bucket = moto.bucket()
    s3 = moto.client("s3")
    keys = [f"logs/{n:02d}.txt" for n in range(7)] + ["other/a.txt", "logs/sub/deep.txt"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    first = run_action(conn, "list_objects", {"bucket": bucket, "prefix": "logs/",
                                                 "max_items": 3}).get_json()["output"]
    assert [o["key"] for o in first["objects"]] == ["logs/00.txt", "logs/01.txt", "logs/02.txt"]
    assert first["is_truncated"] is True and first["next_continuation_token"]
    rest = run_action(conn, "list_objects", {
        "bucket": bucket, "prefix": "logs/", "max_items": 100,
        "continuation_token": first["next_continuation_token"]}).get_json()["output"]
    assert [o["key"] for o in rest["objects"]] == [f"logs/{n:02d}.txt" for n in range(3, 7)] + [
        "logs/sub/deep.txt"]
    assert (rest["is_truncated"], rest["next_continuation_token"]) == (False, None)
    folders = run_action(conn, "list_objects", {"bucket": bucket, "prefix": "logs/",
                                                   "delimiter": "/"}).get_json()["output"]
    assert folders["common_prefixes"] == ["logs/sub/"] and folders["count"] == 7


def test_one_listing_follows_several_pages(moto, conn, run_action, monkeypatch):
    bucket = moto.bucket()
    for n in range(5):
        moto.client("s3").put_object(Bucket=bucket, Key=f"k{n}", Body=b"x")
    monkeypatch.setattr(AwsIntegration, "LIST_PAGE", 2)
    out = run_action(conn, "list_objects", {"bucket": bucket, "max_items": 4}).get_json()[
        "output"]
    assert [o["key"] for o in out["objects"]] == ["k0", "k1", "k2", "k3"]
    assert out["is_truncated"] is True


def test_sns_publish_reaches_the_topics_subscribers(moto, conn, run_action):
    topic = moto.topic()
    queue = _subscribed_queue(moto, topic)
    r = run_action(conn, "sns_publish", {"topic_arn": topic, "message": "Deploy finished",
                                         "subject": "Deploy", "attributes": {"severity": "high"}})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    (msg,) = _received(moto, queue)
    envelope = json.loads(msg["Body"])
    assert (envelope["Message"], envelope["Subject"]) == ("Deploy finished", "Deploy")
    assert envelope["MessageId"] == out["message_id"]
    assert envelope["MessageAttributes"]["severity"] == {"Type": "String", "Value": "high"}


def test_sns_publish_to_a_fifo_topic_sends_group_and_deduplication_ids(moto, conn, run_action):
    topic = moto.topic(f"atom-{hashlib.md5(b'f').hexdigest()[:8]}.fifo", FifoTopic="true")
    queue = moto.queue(fifo=True)
    sqs = moto.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    moto.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                                 Attributes={"RawMessageDelivery": "true"})
    r = run_action(conn, "sns_publish", {"topic_arn": topic, "message": "m",
                                         "message_group_id": "orders",
                                         "deduplication_id": "order-42"})
    assert r.status_code == 200, r.get_json()
    (msg,) = _received(moto, queue)
    assert msg["Attributes"]["MessageGroupId"] == "orders"
    assert msg["Attributes"]["MessageDeduplicationId"] == "order-42"
    missing = run_action(conn, "sns_publish", {"topic_arn": topic, "message": "m"})
    assert "message_group_id" in missing.get_json()["errors"]


def test_a_topic_in_another_region_is_refused_before_sending(moto, conn, run_action):
    r = run_action(conn, "sns_publish", {"topic_arn": TOPIC_ARN.replace("us-east-1", "eu-west-1"),
                                         "message": "m"})
    assert r.status_code == 422
    assert "eu-west-1" in r.get_json()["errors"]["topic_arn"][0]


def test_sqs_send_message_with_attributes_and_delay(moto, conn, run_action):
    queue = moto.queue()
    r = run_action(conn, "sqs_send_message", {"queue_url": queue, "body": '{"job": 1}',
                                              "attributes": {"kind": "resize"}})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert out["md5_of_body"] == hashlib.md5(b'{"job": 1}').hexdigest()
    (msg,) = _received(moto, queue)
    assert (msg["Body"], msg["MessageId"]) == ('{"job": 1}', out["message_id"])
    assert msg["MessageAttributes"]["kind"] == {"StringValue": "resize", "DataType": "String"}
    delayed = run_action(conn, "sqs_send_message", {"queue_url": queue, "body": "later",
                                                    "delay_seconds": 600})
    assert delayed.status_code == 200
    assert _received(moto, queue) == []  # not visible for 10 minutes


def test_sqs_fifo_queue_gets_the_group_and_deduplication_id(moto, conn, run_action):
    queue = moto.queue(fifo=True)
    body = {"queue_url": queue, "body": "b", "message_group_id": "g1", "deduplication_id": "d1"}
    first = run_action(conn, "sqs_send_message", body).get_json()["output"]
    assert run_action(conn, "sqs_send_message", body).status_code == 200
    assert first["sequence_number"]
    (msg,) = _received(moto, queue)  # the second send was de-duplicated
    assert msg["Attributes"]["MessageGroupId"] == "g1"
    assert msg["Attributes"]["MessageDeduplicationId"] == "d1"
    r = run_action(conn, "sqs_send_message", {"queue_url": queue, "body": "b", "delay_seconds": 3,
                                              "message_group_id": "g"})
    assert "delay_seconds" in r.get_json()["errors"]


@pytest.mark.parametrize("body, field", [
    ({"bucket": "Bad_Bucket", "key": "k", "content": "x"}, "bucket"),
    ({"bucket": "ok-bucket", "key": "a/../b", "content": "x"}, "key"),
    ({"bucket": "ok-bucket", "key": "../../etc/passwd", "content": "x"}, "key"),
    ({"bucket": "ok-bucket", "key": "k" * 1025, "content": "x"}, "key"),
    ({"bucket": "ok-bucket", "key": "k", "content": "x", "metadata": {"Bad Name": "v"}},
     "metadata"),
])
def test_put_object_input_is_checked_before_anything_is_sent(moto, conn, run_action, body, field):
    r = run_action(conn, "put_object", body)
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()


@pytest.mark.parametrize("url", [
    "https://evil.example.com/123456789012/q",  # not an SQS host (real endpoints)
    "https://sqs.eu-west-1.amazonaws.com/123456789012/q",  # another region
    "http://sqs.us-east-1.amazonaws.com/123456789012/q",  # not https
])
def test_a_queue_url_must_be_an_sqs_queue_of_the_connections_region(create_connection, run_action,
                                                                     moto, url):
    conn = create_connection("aws", {"region": "us-east-1"}, dict(moto.admin))
    r = run_action(conn, "sqs_send_message", {"queue_url": url, "body": "b"})
    assert r.status_code == 422 and "queue_url" in r.get_json()["errors"], r.get_json()


def test_no_secret_is_echoed_in_outputs(moto, conn, run_action):
    bucket = moto.bucket()
    secret = moto.admin["secret_access_key"]
    run_action(conn, "put_object", {"bucket": bucket, "key": "k", "content": secret})
    r = run_action(conn, "get_object", {"bucket": bucket, "key": "k"})
    assert secret not in json.dumps(r.get_json())


# -- S3 as files: copy_file, streamed download and multipart upload ------------------------------


def test_copy_file_between_two_aws_connections_in_parts(moto, aws_connection, run_action,
                                                        monkeypatch):
    """A multi-part file (5 MiB parts, S3's minimum) streamed from one connection's bucket into
    another's: GetObject streamed, CreateMultipartUpload, three UploadParts, Complete."""
    monkeypatch.setattr(AwsIntegration, "PART_SIZE", 5 << 20)
    source_bucket, target_bucket = moto.bucket(), moto.bucket()
    blob = hashlib.sha256(b"seed").digest() * ((11 << 20) // 32 + 5)
    moto.client("s3").put_object(Bucket=source_bucket, Key="in/video.bin", Body=blob)
    source = aws_connection(label="source")
    target = aws_connection(label="target")
    r = run_action(target, "copy_file", {"source_connection_id": source["id"],
                                         "source_file_id": f"{source_bucket}/in/video.bin",
                                         "folder_id": f"{target_bucket}/backup/"})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()["output"]
    assert (out["id"], out["size"]) == (f"{target_bucket}/backup/video.bin", len(blob))
    fits("copy_file", out)
    copied = moto.client("s3").get_object(Bucket=target_bucket, Key="backup/video.bin")
    assert copied["Body"].read() == blob
    assert copied["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert moto.client("s3").list_multipart_uploads(Bucket=target_bucket).get("Uploads") is None


def test_a_small_file_is_one_put(moto, aws_connection, run_action):
    bucket = moto.bucket()
    moto.client("s3").put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    conn = aws_connection()
    r = run_action(conn, "copy_file", {"source_connection_id": conn["id"],
                                       "source_file_id": f"{bucket}/a.txt",
                                       "folder_id": bucket, "name": "b.txt"})
    assert r.status_code == 200, r.get_json()
    assert not moto.client("s3").get_object(Bucket=bucket, Key="b.txt")["ETag"].count("-")
    assert r.get_json()["output"]["key"] == "b.txt"


def test_a_failed_multipart_upload_is_aborted(moto, aws_connection, run_action, monkeypatch):
    monkeypatch.setattr(AwsIntegration, "PART_SIZE", 5 << 20)
    bucket = moto.bucket()
    moto.client("s3").put_object(Bucket=bucket, Key="big", Body=b"z" * (11 << 20))
    conn = aws_connection()
    real = AwsIntegration._request

    def failing(self, service, method, url, **kw):
        if dict(kw.get("query") or []).get("partNumber") == "2":
            from atom.integrations.errors import UpstreamError
            raise UpstreamError("dropped", permanent=True)
        return real(self, service, method, url, **kw)

    monkeypatch.setattr(AwsIntegration, "_request", failing)
    r = run_action(conn, "copy_file", {"source_connection_id": conn["id"],
                                       "source_file_id": f"{bucket}/big", "folder_id": bucket,
                                       "name": "copy"})
    assert r.status_code >= 400
    assert moto.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads") is None


@pytest.mark.parametrize("folder", [None, "Bad_Bucket", "ok-bucket/../x"])
def test_copy_file_needs_a_valid_bucket_to_save_into(moto, aws_connection, run_action, folder):
    conn = aws_connection()
    bucket = moto.bucket()
    moto.client("s3").put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    body = {"source_connection_id": conn["id"], "source_file_id": f"{bucket}/a.txt"}
    if folder:
        body["folder_id"] = folder
    r = run_action(conn, "copy_file", body)
    assert r.status_code == 422 and "folder_id" in r.get_json()["errors"], r.get_json()


def test_get_caller_identity_can_insist_on_an_account(moto, conn, run_action):
    r = run_action(conn, "sts_get_caller_identity", {"expected_account": "210987654321"})
    assert r.status_code == 422
    assert "123456789012" in r.get_json()["errors"]["expected_account"][0]
