"""AWS errors into ATOM's classes, the field named. Not-found errors come from moto; throttling,
server errors, redirects and dropped connections, which moto does not produce on demand, from a
small local fake at the HTTP seam answering AWS's documented error bodies: S3's
``<Error><Code>`` (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html), the
query protocol's ``<ErrorResponse>`` (SNS, STS), and the JSON protocol's ``__type`` with
``x-amzn-query-error`` (SQS)."""
from __future__ import annotations

import re

import pytest
import requests
import responses

FAKE = "http://127.0.0.1:9"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def query_error(code: str, message: str, kind: str = "Sender") -> str:
    return (f'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error>'
            f"<Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>9c5b1e2e-0000-0000-0000-000000000000</RequestId></ErrorResponse>")


def s3_error(code: str, message: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>")


# -- from moto -----------------------------------------------------------------------------------


def test_missing_things_name_the_field_that_named_them(moto, aws_connection, run_action):
    conn = aws_connection()
    bucket = moto.bucket()
    cases = [
        ("get_object", {"bucket": "atom-no-such-bucket-1f2e", "key": "k"}, "bucket"),
        ("list_objects", {"bucket": "atom-no-such-bucket-1f2e"}, "bucket"),
        ("get_object", {"bucket": bucket, "key": "missing.txt"}, "key"),
        ("sns_publish", {"topic_arn": "arn:aws:sns:us-east-1:123456789012:nope", "message": "m"},
         "topic_arn"),
        ("sqs_send_message", {"queue_url": f"{moto.url}/123456789012/nope", "body": "b"},
         "queue_url"),
    ]
    for action, body, field in cases:
        r = run_action(conn, action, body)
        assert r.status_code == 422, (action, r.get_json())
        assert field in r.get_json()["errors"], (action, r.get_json())
        assert "not found" in r.get_json()["errors"][field][0]


# -- from the local fake -------------------------------------------------------------------------


@pytest.fixture
def seam():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def conn(create_connection):
    return create_connection("aws", {"endpoint_url": FAKE, "max_attempts": 3},
                             {"access_key_id": "AKIAEXAMPLEEXAMPLE01",
                              "secret_access_key": SECRET})


IDENTITY = ("<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123456789012</Account>"
            "<Arn>arn:aws:iam::123456789012:user/a</Arn><UserId>AIDA</UserId>"
            "</GetCallerIdentityResult></GetCallerIdentityResponse>")


@pytest.mark.parametrize("status, body, headers", [
    (400, query_error("Throttling", "Rate exceeded"), {}),
    (400, query_error("RequestLimitExceeded", "Request limit exceeded."), {}),
    (503, s3_error("SlowDown", "Please reduce your request rate."), {}),
    (400, '{"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"}',
     {"x-amzn-query-error": "AWS.SimpleQueueService.RequestThrottled;Sender"}),
])
def test_throttling_is_rate_limited_and_retried(seam, conn, run_action, sleeps, status, body,
                                                headers):
    seam.add(responses.POST, f"{FAKE}/", status=status, body=body, headers=headers)
    seam.add(responses.POST, f"{FAKE}/", status=200, body=IDENTITY)
    r = run_action(conn, "sts_get_caller_identity", {})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["attempts"] == 2 and len(sleeps) == 1


def test_throttling_that_does_not_end_is_a_rate_limited_error(seam, conn, run_action, sleeps):
    seam.add(responses.POST, f"{FAKE}/", status=400, body=query_error("Throttling", "Rate"))
    body = run_action(conn, "sns_publish", {"topic_arn": TOPIC, "message": "m"}).get_json()
    assert body["code"] == "rate_limited" and "Throttling" in body["message"]
    assert len(seam.calls) == 3  # a throttled request was not processed: retried even as POST


def test_a_server_error_is_retried_for_a_put_but_not_for_a_publish(seam, conn, run_action,
                                                                   sleeps):
    seam.add(responses.PUT, f"{FAKE}/b-bucket/k", status=500,
             body=s3_error("InternalError", "We encountered an internal error."))
    seam.add(responses.PUT, f"{FAKE}/b-bucket/k", status=200, headers={"ETag": '"e"'})
    r = run_action(conn, "put_object", {"bucket": "b-bucket", "key": "k", "content": "x"})
    assert r.status_code == 200 and r.get_json()["attempts"] == 2
    seam.add(responses.POST, f"{FAKE}/", status=500, body=query_error("InternalError", "x",
                                                                      "Receiver"))
    body = run_action(conn, "sns_publish", {"topic_arn": TOPIC, "message": "m"}).get_json()
    assert body["code"] == "upstream"
    assert [c.request.method for c in seam.calls].count("POST") == 1  # a second publish could
    # deliver the message twice: SNS has no idempotency key outside FIFO topics


def test_a_dropped_connection_on_publish_is_not_retried(seam, conn, run_action, sleeps):
    seam.add(responses.POST, f"{FAKE}/", body=requests.ConnectionError("reset by peer"))
    body = run_action(conn, "sns_publish", {"topic_arn": TOPIC, "message": "m"}).get_json()
    assert body["code"] == "upstream" and len(seam.calls) == 1


@pytest.mark.parametrize("message, field", [
    ("Invalid parameter: Subject", "subject"),
    ("Invalid parameter: TopicArn", "topic_arn"),
    ("Invalid parameter: Message too long", "message"),
    ("Invalid parameter: MessageAttributes", "attributes"),
    ("Invalid parameter: something else", "_request"),
])
def test_invalid_parameter_names_our_field(seam, conn, run_action, message, field):
    seam.add(responses.POST, f"{FAKE}/", status=400, body=query_error("InvalidParameter", message))
    r = run_action(conn, "sns_publish", {"topic_arn": TOPIC, "message": "m", "subject": "s"})
    assert r.status_code == 422
    assert r.get_json()["errors"] == {field: [message]}


def test_sqs_json_errors_are_read(seam, conn, run_action):
    seam.add(responses.POST, f"{FAKE}/", status=400,
             json={"__type": "com.amazonaws.sqs#InvalidParameterValueException",
                   "message": "Value 901 for parameter DelaySeconds is invalid."},
             headers={"x-amzn-query-error": "InvalidParameterValue;Sender"})
    r = run_action(conn, "sqs_send_message", {"queue_url": f"{FAKE}/123456789012/q", "body": "b",
                                              "delay_seconds": 900})
    assert r.status_code == 422 and "delay_seconds" in r.get_json()["errors"]


def test_a_bucket_in_another_region_says_which(seam, conn, run_action):
    seam.add(responses.GET, re.compile(rf"{re.escape(FAKE)}/eu-bucket.*"), status=301,
             body=s3_error("PermanentRedirect", "The bucket you are attempting to access must "
                                                "be addressed using the specified endpoint."),
             headers={"x-amz-bucket-region": "eu-central-1"})
    r = run_action(conn, "list_objects", {"bucket": "eu-bucket"})
    assert r.status_code == 422
    assert "eu-central-1" in r.get_json()["errors"]["bucket"][0]


def test_s3_access_denied_and_expired_tokens_are_auth_errors(seam, conn, run_action):
    seam.add(responses.GET, f"{FAKE}/b-bucket/k", status=403,
             body=s3_error("AccessDenied", "Access Denied"))
    seam.add(responses.GET, f"{FAKE}/b-bucket/k", status=400,
             body=s3_error("ExpiredToken", "The provided token has expired."))
    first = run_action(conn, "get_object", {"bucket": "b-bucket", "key": "k"}).get_json()
    assert first["code"] == "auth" and "IAM policy" in first["message"]
    second = run_action(conn, "get_object", {"bucket": "b-bucket", "key": "k"}).get_json()
    assert second["code"] == "auth" and "credentials" in second["message"]


def test_a_complete_multipart_upload_that_fails_in_a_200_is_an_error_and_aborted(
        seam, conn, live, monkeypatch):
    """S3 may answer CompleteMultipartUpload 200 and report the failure in the body."""
    from atom.integrations import files
    from atom.integrations.errors import UpstreamError
    from plugins.aws.integration import AwsIntegration

    monkeypatch.setattr(AwsIntegration, "PART_SIZE", 4)
    url = f"{FAKE}/b-bucket/big"
    seam.add(responses.POST, f"{url}?uploads=", status=200,
             body="<InitiateMultipartUploadResult><UploadId>u-1</UploadId>"
                  "</InitiateMultipartUploadResult>")
    seam.add(responses.PUT, re.compile(re.escape(url) + r"\?partNumber=\d&uploadId=u-1"),
             status=200, headers={"ETag": '"p"'})
    seam.add(responses.POST, f"{url}?uploadId=u-1", status=200,
             body=s3_error("InternalError", "We encountered an internal error."))
    seam.add(responses.DELETE, f"{url}?uploadId=u-1", status=204)
    integ = live(conn)
    with pytest.raises(UpstreamError, match="CompleteMultipartUpload InternalError"):
        integ.save_file(files.from_bytes(b"0123456789", "big"), "b-bucket", "big")
    assert [c.request.method for c in seam.calls] == ["POST", "PUT", "PUT", "PUT", "POST",
                                                      "DELETE"]
    complete = seam.calls[4].request.body.decode()
    assert complete.count("<Part>") == 3 and "<PartNumber>3</PartNumber>" in complete
